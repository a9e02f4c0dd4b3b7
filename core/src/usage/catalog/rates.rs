//! One model's rates as the genai-prices data gives them (flat or tiered by prompt size, with
//! price history by date and time-of-day prices), read from the provider JSON, and what a call
//! with our [`Usage`] costs at them — computed the way the `genai-prices` crate computes it, to
//! the last bit (the catalog's tests check every model in the data against the crate).

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::types::Usage;

const SECONDS_PER_DAY: i64 = 86_400;

/// One model's prices, resolved from the catalog: what a call costs at a given time, and the
/// model's context window.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPrice {
    context_window: Option<u64>,
    /// In data order; the last one in force at a call's time applies (the first when none is).
    periods: Box<[Period]>,
}

#[derive(Debug, Clone, PartialEq)]
struct Period {
    when: Option<When>,
    rates: Rates,
}

/// When a period's prices are in force.
#[derive(Debug, Clone, Copy, PartialEq)]
enum When {
    /// From midnight UTC of a date, as seconds since the Unix epoch.
    From(i64),
    /// Every day between two times, as seconds since midnight UTC (past midnight when
    /// `end < start`).
    Daily { start: f64, end: f64 },
}

/// The rates of the token classes a call reports, in USD per million tokens, and a price per
/// thousand requests. A class without its own rate is billed at its parent's: cache reads
/// and writes as input, reasoning as output.
#[derive(Debug, Clone, Default, PartialEq)]
struct Rates {
    input: Option<Rate>,
    cache_read: Option<Rate>,
    cache_write: Option<Rate>,
    output: Option<Rate>,
    output_reasoning: Option<Rate>,
    requests_per_thousand: Option<Rate>,
}

/// A rate, flat or tiered by the call's prompt tokens (`tiers` sorted by start).
#[derive(Debug, Clone, PartialEq)]
enum Rate {
    Flat(f64),
    Tiered { base: f64, tiers: Box<[(f64, f64)]> },
}

impl Rate {
    /// The rate for a call of `prompt_tokens`: the highest tier the prompt is above.
    fn at(&self, prompt_tokens: f64) -> f64 {
        match self {
            Rate::Flat(r) => *r,
            Rate::Tiered { base, tiers } => tiers
                .iter()
                .rev()
                .find(|(start, _)| prompt_tokens > *start)
                .map_or(*base, |(_, price)| *price),
        }
    }
}

impl ModelPrice {
    /// What a call with `usage`, made at `at`, costs in US dollars; `None` when the model has
    /// no token price in force then (it is billed by some other unit, or the data lists no
    /// price for it): never a made-up 0.
    ///
    /// `usage.input_tokens` counts every prompt token, cache reads and writes included;
    /// `output_tokens` includes reasoning. Counts a provider reports inconsistently (more
    /// cached than prompt tokens) are clamped, as [`Price::cost`](crate::usage::Price::cost)
    /// does. Tiers apply by the whole prompt (`input_tokens`), to every token class.
    pub fn cost(&self, usage: &Usage, at: SystemTime) -> Option<f64> {
        let rates = &self.period_at(at).rates;
        if rates.input.is_none() && rates.output.is_none() {
            return None;
        }
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let written = usage.cache_write_tokens.min(usage.input_tokens - cached);
        let reasoning = usage.reasoning_tokens.min(usage.output_tokens);
        // A class without its own rate stays in its parent's count.
        let cached = if rates.cache_read.is_some() { cached } else { 0 };
        let written = if rates.cache_write.is_some() { written } else { 0 };
        let reasoning = if rates.output_reasoning.is_some() {
            reasoning
        } else {
            0
        };
        let plain = usage.input_tokens - cached - written;
        let generated = usage.output_tokens - reasoning;

        let prompt = usage.input_tokens as f64;
        let priced = |rate: &Option<Rate>, count: u64, per: f64| match rate {
            Some(r) if count > 0 => r.at(prompt) * count as f64 / per,
            _ => 0.0,
        };
        // Summed in the order of the crate (by price key), so both give the same bits.
        let input = priced(&rates.cache_read, cached, 1e6)
            + priced(&rates.cache_write, written, 1e6)
            + priced(&rates.input, plain, 1e6);
        let output = priced(&rates.output, generated, 1e6) + priced(&rates.output_reasoning, reasoning, 1e6);
        let requests = priced(&rates.requests_per_thousand, 1, 1e3);
        Some(requests + (input + output))
    }

    /// The model's context window in tokens, when the data has it.
    pub fn context_window(&self) -> Option<u64> {
        self.context_window
    }

    fn period_at(&self, at: SystemTime) -> &Period {
        let (seconds, nanos) = match at.duration_since(UNIX_EPOCH) {
            Ok(d) => (i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_nanos()),
            Err(e) => {
                let d = e.duration();
                let seconds = i64::try_from(d.as_secs()).unwrap_or(i64::MAX).saturating_neg();
                match d.subsec_nanos() {
                    0 => (seconds, 0),
                    n => (seconds.saturating_sub(1), 1_000_000_000 - n),
                }
            }
        };
        let of_day = seconds.rem_euclid(SECONDS_PER_DAY) as f64 + f64::from(nanos) / 1e9;
        let active = |p: &&Period| match p.when {
            None => true,
            Some(When::From(start)) => seconds >= start,
            Some(When::Daily { start, end }) if end < start => of_day >= start || of_day < end,
            Some(When::Daily { start, end }) => of_day >= start && of_day < end,
        };
        self.periods.iter().rev().find(active).unwrap_or(&self.periods[0])
    }
}

// ---- reading the provider JSON (genai-prices v2 format) ----

/// The part of one provider's JSON the catalog reads.
#[derive(Debug, Deserialize)]
pub(super) struct ProviderData {
    pub(super) id: String,
    #[serde(default)]
    pub(super) models: Vec<ModelData>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ModelData {
    pub(super) id: String,
    #[serde(default)]
    context_window: Option<u64>,
    #[serde(default)]
    prices: Option<PricesData>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PricesData {
    Direct(HashMap<String, RateData>),
    Conditional(Vec<ConditionalData>),
}

#[derive(Debug, Deserialize)]
struct ConditionalData {
    #[serde(default)]
    constraint: Option<ConstraintData>,
    prices: HashMap<String, RateData>,
}

#[derive(Debug, Deserialize)]
struct ConstraintData {
    #[serde(default)]
    start_date: Option<String>,
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    end_time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RateData {
    Flat(f64),
    Tiered { base: f64, tiers: Vec<TierData> },
}

#[derive(Debug, Deserialize)]
struct TierData {
    start: f64,
    price: f64,
}

impl ModelData {
    /// The model's prices, or why they cannot be read.
    pub(super) fn price(&self) -> Result<ModelPrice, String> {
        let periods = match &self.prices {
            None => vec![Period {
                when: None,
                rates: Rates::default(),
            }],
            Some(PricesData::Direct(prices)) => vec![Period {
                when: None,
                rates: rates(prices),
            }],
            Some(PricesData::Conditional(list)) if list.is_empty() => {
                return Err(format!("model {:?} has no conditional prices", self.id));
            }
            Some(PricesData::Conditional(list)) => list
                .iter()
                .map(|c| {
                    let when = c.constraint.as_ref().map(when).transpose()?;
                    Ok(Period {
                        when,
                        rates: rates(&c.prices),
                    })
                })
                .collect::<Result<_, String>>()
                .map_err(|e| format!("model {:?}: {e}", self.id))?,
        };
        Ok(ModelPrice {
            context_window: self.context_window,
            periods: periods.into(),
        })
    }
}

fn rates(prices: &HashMap<String, RateData>) -> Rates {
    let rate = |key: &str| {
        prices.get(key).map(|r| match r {
            RateData::Flat(p) => Rate::Flat(*p),
            RateData::Tiered { base, tiers } => {
                let mut tiers: Vec<(f64, f64)> = tiers.iter().map(|t| (t.start, t.price)).collect();
                tiers.sort_by(|a, b| a.0.total_cmp(&b.0));
                Rate::Tiered {
                    base: *base,
                    tiers: tiers.into(),
                }
            }
        })
    };
    Rates {
        input: rate("input_mtok"),
        cache_read: rate("cache_read_mtok"),
        cache_write: rate("cache_write_mtok"),
        output: rate("output_mtok"),
        output_reasoning: rate("output_reasoning_mtok"),
        requests_per_thousand: rate("requests_kcount"),
    }
}

fn when(c: &ConstraintData) -> Result<When, String> {
    fn text(v: &Option<String>) -> Option<&str> {
        v.as_deref().filter(|s| !s.is_empty())
    }
    match (text(&c.start_date), text(&c.start_time), text(&c.end_time)) {
        (Some(date), None, None) => parse_date(date).map(When::From),
        (None, Some(start), Some(end)) => Ok(When::Daily {
            start: parse_time_of_day(start)?,
            end: parse_time_of_day(end)?,
        }),
        _ => Err("expected a start-date or time-of-day price constraint".to_owned()),
    }
}

/// `YYYY-MM-DD` → its midnight UTC, in seconds since the Unix epoch.
fn parse_date(value: &str) -> Result<i64, String> {
    let bad = || format!("invalid start date {value:?}");
    let b = value.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let year = digits(&b[0..4]).ok_or_else(bad)?;
    let month = digits(&b[5..7]).ok_or_else(bad)?;
    let day = digits(&b[8..10]).ok_or_else(bad)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if year < 1 || !(1..=days_in_month).contains(&day) {
        return Err(bad());
    }
    // Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Ok((era * 146_097 + day_of_era - 719_468) * SECONDS_PER_DAY)
}

/// `HH:MM:SS[.fraction](Z|±HH:MM)` → seconds since midnight UTC.
fn parse_time_of_day(value: &str) -> Result<f64, String> {
    let bad = || format!("invalid time of day {value:?}");
    let b = value.as_bytes();
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return Err(bad());
    }
    let (hour, minute, second) = (
        digits(&b[0..2]).ok_or_else(bad)?,
        digits(&b[3..5]).ok_or_else(bad)?,
        digits(&b[6..8]).ok_or_else(bad)?,
    );
    if hour > 23 || minute > 59 || second > 59 {
        return Err(bad());
    }
    let mut rest = &value[8..];
    let mut fraction = 0.0;
    if let Some(after) = rest.strip_prefix('.') {
        let end = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
        if end == 0 || end > 9 {
            return Err(bad());
        }
        fraction = format!("0.{}", &after[..end]).parse::<f64>().map_err(|_| bad())?;
        rest = &after[end..];
    }
    let offset = match rest.as_bytes() {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (
                digits(&[*h1, *h2]).ok_or_else(bad)?,
                digits(&[*m1, *m2]).ok_or_else(bad)?,
            );
            if h > 23 || m > 59 {
                return Err(bad());
            }
            if *sign == b'-' {
                -(h * 3_600 + m * 60)
            } else {
                h * 3_600 + m * 60
            }
        }
        _ => return Err(bad()),
    };
    let local = hour * 3_600 + minute * 60 + second - offset;
    Ok(local.rem_euclid(SECONDS_PER_DAY) as f64 + fraction)
}

fn digits(bytes: &[u8]) -> Option<i64> {
    bytes
        .iter()
        .try_fold(0, |n, b| b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_of_day() {
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        assert_eq!(parse_date("1970-01-02"), Ok(86_400));
        assert_eq!(parse_date("2000-03-01"), Ok(951_868_800));
        for bad in ["2025-02-29", "2026-13-01", "2026-1-01", "bad", "0000-01-01"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_time_of_day("01:00:00Z"), Ok(3_600.0));
        assert_eq!(parse_time_of_day("00:30:00+01:00"), Ok(84_600.0));
        assert_eq!(parse_time_of_day("23:30:00-01:00"), Ok(1_800.0));
        assert_eq!(parse_time_of_day("12:00:00.5Z"), Ok(43_200.5));
        for bad in ["24:00:00Z", "12:00:00", "12:00:00+0100", "12:00:00.Z"] {
            assert!(parse_time_of_day(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_tier_applies_above_its_start() {
        let r = Rate::Tiered {
            base: 1.0,
            tiers: vec![(200_000.0, 2.0), (500_000.0, 3.0)].into(),
        };
        assert_eq!(r.at(200_000.0), 1.0);
        assert_eq!(r.at(200_001.0), 2.0);
        assert_eq!(r.at(600_000.0), 3.0);
    }
}
