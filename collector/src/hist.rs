//! [`Histogram`]: latency counts in log-scale buckets, so that percentiles of any group over any
//! range come from rollups (summed bucket by bucket) instead of every raw event.
//!
//! Bucket 0 holds values under 10 µs; bucket `i ≥ 1` holds `[2^((i-1)/4), 2^(i/4))` × 10 µs,
//! four buckets per doubling, up to about 8 hours (cache hits answer in microseconds, models in
//! seconds). A percentile is reported as its bucket's geometric middle, within ±9 %
//! of the true value. Stored as little-endian `u32` counts with trailing empty buckets trimmed
//! (SQLite `BLOB`) or as `bigint[]` (PostgreSQL); both databases add two histograms with a
//! function of ours, `mp_hist_add` (see the migrations).

/// The lowest value told apart, in milliseconds.
const MIN_MS: f64 = 0.01;
/// The highest bucket: 2^(126/4) × 10 µs is about 8 hours.
const MAX_BUCKET: usize = 127;

/// Counts per log-scale bucket (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
}

impl Histogram {
    /// The bucket of a value in milliseconds.
    pub fn bucket_of(ms: f64) -> usize {
        if ms.is_nan() || ms < MIN_MS {
            return 0;
        }
        (((ms / MIN_MS).log2() * 4.0).floor() as usize + 1).min(MAX_BUCKET)
    }

    /// Counts one value.
    pub fn record(&mut self, ms: f64) {
        self.add_to_bucket(Self::bucket_of(ms), 1);
    }

    /// Adds `n` to bucket `i`.
    pub fn add_to_bucket(&mut self, i: usize, n: u64) {
        let i = i.min(MAX_BUCKET);
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += n;
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (i, &n) in other.counts.iter().enumerate() {
            if n > 0 {
                self.add_to_bucket(i, n);
            }
        }
    }

    /// How many values were counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `q` quantile (0..=1) in milliseconds: the geometric middle of its bucket; `None` when
    /// empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(Self::middle_of(i));
            }
        }
        None
    }

    /// The geometric middle of bucket `i`, in milliseconds.
    fn middle_of(i: usize) -> f64 {
        if i == 0 {
            MIN_MS / 2.0
        } else {
            MIN_MS * ((i as f64 - 0.5) / 4.0).exp2()
        }
    }

    /// The SQLite form: little-endian `u32` counts, trailing empty buckets trimmed.
    pub fn to_blob(&self) -> Vec<u8> {
        let used = self.counts.iter().rposition(|&n| n > 0).map_or(0, |i| i + 1);
        let mut out = Vec::with_capacity(used * 4);
        for &n in &self.counts[..used] {
            out.extend_from_slice(&(n.min(u64::from(u32::MAX)) as u32).to_le_bytes());
        }
        out
    }

    /// Adds a histogram in the SQLite form.
    pub fn add_blob(&mut self, blob: &[u8]) {
        let n = blob.len() / 4;
        if self.counts.len() < n {
            self.counts.resize(n, 0);
        }
        for (c, b) in self.counts.iter_mut().zip(blob.chunks_exact(4)) {
            *c += u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        }
    }

    /// Reads the SQLite form; a length that is not a multiple of 4 ignores the remainder.
    pub fn from_blob(blob: &[u8]) -> Histogram {
        let counts = blob
            .chunks_exact(4)
            .map(|c| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect();
        Histogram { counts }
    }

    /// The PostgreSQL form, written as an array literal (`{1,0,3}`).
    pub fn to_pg_literal(&self) -> String {
        let used = self.counts.iter().rposition(|&n| n > 0).map_or(0, |i| i + 1);
        let mut out = String::from("{");
        for (i, n) in self.counts[..used].iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&n.to_string());
        }
        out.push('}');
        out
    }

    /// Reads the PostgreSQL form.
    pub fn from_counts(counts: &[i64]) -> Histogram {
        Histogram {
            counts: counts.iter().map(|&n| n.max(0) as u64).collect(),
        }
    }

    /// Adds two SQLite-form histograms (the `mp_hist_add` function SQLite runs).
    pub fn add_blobs(a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut h = Histogram::from_blob(a);
        h.merge(&Histogram::from_blob(b));
        h.to_blob()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_a_quarter_doubling_wide() {
        assert_eq!(Histogram::bucket_of(0.002), 0);
        assert_eq!(Histogram::bucket_of(f64::NAN), 0);
        assert_eq!(Histogram::bucket_of(0.01), 1);
        assert_eq!(Histogram::bucket_of(0.02), 5);
        assert_eq!(Histogram::bucket_of(1e30), MAX_BUCKET);
    }

    #[test]
    fn quantiles_are_within_nine_percent() {
        let mut h = Histogram::default();
        for ms in 1..=1000 {
            h.record(ms as f64);
        }
        for (q, exact) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let got = h.quantile(q).unwrap();
            assert!((got / exact - 1.0).abs() < 0.09, "q{q}: {got} vs {exact}");
        }
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn both_storage_forms_round_trip_and_add() {
        let mut a = Histogram::default();
        a.record(3.0);
        a.record(300.0);
        let mut b = Histogram::default();
        b.record(3.0);
        let sum = Histogram::from_blob(&Histogram::add_blobs(&a.to_blob(), &b.to_blob()));
        assert_eq!(sum.count(), 3);
        let mut in_place = a.clone();
        in_place.add_blob(&b.to_blob());
        assert_eq!(in_place, sum);
        assert_eq!(sum.quantile(0.5), a.quantile(0.0));
        assert_eq!(Histogram::default().to_blob(), Vec::<u8>::new());
        assert_eq!(Histogram::from_counts(&[0, 2]).to_pg_literal(), "{0,2}");
    }
}
