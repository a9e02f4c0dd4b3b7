//! The PII detector on labelled corpus files: precision and recall per kind, and its speed.
//!
//! Run: `cargo run --release -p modelplug-core --example pii_eval -- tests/guardrails/pii/holdout.jsonl`
//! (one or more JSONL files; each line `{"text": "...", "expect": [{"kind", "value"}]}`).
//! Prints one JSON object. `core/tests/pii_corpus.rs` uses the scoring below as a module.
//!
//! Exact: a found span counts when its kind and text equal an expected (kind, value); any other
//! found span is a false positive, any expected value not found a miss. Relaxed: a found span
//! of the kind that overlaps an occurrence of an expected value counts.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use modelplug_core::guardrails::pii::{self, PiiKind};
use serde_json::{Value, json};

/// One labelled text.
pub struct Case {
    /// The text.
    pub text: String,
    /// The expected (kind, value) pairs.
    pub expect: Vec<(String, String)>,
}

/// Cases from JSONL files.
pub fn load(paths: &[impl AsRef<Path>]) -> Vec<Case> {
    let mut cases = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let body = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for line in body.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let expect = v["expect"].as_array().expect("expect: a list").iter();
            cases.push(Case {
                text: v["text"].as_str().expect("text: a string").to_owned(),
                expect: expect
                    .map(|e| {
                        (
                            e["kind"].as_str().unwrap().into(),
                            e["value"].as_str().unwrap().into(),
                        )
                    })
                    .collect(),
            });
        }
    }
    cases
}

/// True positives, false positives and misses, exact and relaxed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Exact.
    pub tp: usize,
    /// Exact.
    pub fp: usize,
    /// Exact.
    pub miss: usize,
    /// Relaxed (overlap).
    pub rtp: usize,
    /// Relaxed.
    pub rfp: usize,
    /// Relaxed.
    pub rmiss: usize,
}

fn ratio(a: usize, b: usize) -> f64 {
    if a + b == 0 {
        1.0
    } else {
        a as f64 / (a + b) as f64
    }
}

impl Counts {
    /// Exact precision (1 when nothing was found).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.fp)
    }
    /// Exact recall (1 when nothing was expected).
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.miss)
    }
    fn add(&mut self, o: &Counts) {
        let Counts {
            tp,
            fp,
            miss,
            rtp,
            rfp,
            rmiss,
        } = *o;
        (self.tp, self.fp, self.miss) = (self.tp + tp, self.fp + fp, self.miss + miss);
        (self.rtp, self.rfp, self.rmiss) = (self.rtp + rtp, self.rfp + rfp, self.rmiss + rmiss);
    }
    fn json(&self) -> Value {
        json!({"tp": self.tp, "fp": self.fp, "fn": self.miss,
               "precision": self.precision(), "recall": self.recall(),
               "relaxed_precision": ratio(self.rtp, self.rfp), "relaxed_recall": ratio(self.rtp, self.rmiss)})
    }
}

/// Counts per kind (every kind present), and each exact miss and false positive.
pub struct Score {
    /// By kind name.
    pub kinds: BTreeMap<&'static str, Counts>,
    /// `{"error": "miss"|"false_positive", "kind", "value", "text"}`.
    pub errors: Vec<Value>,
}

impl Score {
    /// All kinds summed.
    pub fn overall(&self) -> Counts {
        let mut all = Counts::default();
        self.kinds.values().for_each(|c| all.add(c));
        all
    }
    /// Per kind, overall and the errors, as JSON.
    pub fn json(&self) -> Value {
        let kinds: serde_json::Map<String, Value> =
            self.kinds.iter().map(|(k, c)| ((*k).into(), c.json())).collect();
        json!({"kinds": kinds, "overall": self.overall().json(), "errors": self.errors})
    }
    /// A table: kind, counts, exact and relaxed P/R.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:<12} {:>4} {:>4} {:>4}  {:>6} {:>6}  {:>6} {:>6}\n",
            "kind", "tp", "fp", "fn", "P", "R", "P~", "R~"
        );
        let rows = self
            .kinds
            .iter()
            .map(|(k, c)| (*k, *c))
            .chain([("overall", self.overall())]);
        for (k, c) in rows {
            let (rp, rr) = (ratio(c.rtp, c.rfp), ratio(c.rtp, c.rmiss));
            s += &format!(
                "{k:<12} {:>4} {:>4} {:>4}  {:>6.3} {:>6.3}  {rp:>6.3} {rr:>6.3}\n",
                c.tp,
                c.fp,
                c.miss,
                c.precision(),
                c.recall()
            );
        }
        s
    }
}

/// Runs the detector (all kinds) on every case and scores it.
pub fn score(cases: &[Case]) -> Score {
    let mut kinds: BTreeMap<&'static str, Counts> = PiiKind::ALL
        .iter()
        .map(|k| (k.as_str(), Counts::default()))
        .collect();
    let mut errors = Vec::new();
    for case in cases {
        let text = case.text.as_str();
        let found = pii::find(text, &[]);
        let (mut used, mut rused) = (vec![false; found.len()], vec![false; found.len()]);
        for (kind, value) in &case.expect {
            let c = kinds
                .get_mut(kind.as_str())
                .unwrap_or_else(|| panic!("unknown kind {kind}"));
            let same = |i: usize| found[i].kind.as_str() == kind;
            match (0..found.len())
                .find(|&i| !used[i] && same(i) && &text[found[i].start..found[i].end] == value)
            {
                Some(i) => {
                    used[i] = true;
                    c.tp += 1;
                }
                None => {
                    c.miss += 1;
                    errors.push(json!({"error": "miss", "kind": kind, "value": value, "text": text}));
                }
            }
            let overlaps = |i: usize| {
                text.match_indices(value.as_str())
                    .any(|(at, v)| found[i].start < at + v.len() && at < found[i].end)
            };
            match (0..found.len()).find(|&i| !rused[i] && same(i) && overlaps(i)) {
                Some(i) => {
                    rused[i] = true;
                    c.rtp += 1;
                }
                None => c.rmiss += 1,
            }
        }
        for (i, m) in found.iter().enumerate() {
            let c = kinds.get_mut(m.kind.as_str()).unwrap();
            c.rfp += usize::from(!rused[i]);
            if !used[i] {
                c.fp += 1;
                let value = &text[m.start..m.end];
                errors.push(
                    json!({"error": "false_positive", "kind": m.kind.as_str(), "value": value, "text": text}),
                );
            }
        }
    }
    Score { kinds, errors }
}

/// Mean time per text of `pii::find` (all kinds) over the cases, and the bytes per second.
pub fn speed(cases: &[Case]) -> (Duration, f64) {
    let bytes: usize = cases.iter().map(|c| c.text.len()).sum();
    cases
        .iter()
        .for_each(|c| drop(black_box(pii::find(&c.text, &[]))));
    let (started, mut passes) = (Instant::now(), 0u32);
    while passes < 3 || started.elapsed() < Duration::from_secs(1) {
        cases
            .iter()
            .for_each(|c| drop(black_box(pii::find(black_box(&c.text), &[]))));
        passes += 1;
    }
    let took = started.elapsed();
    (
        took / (passes * cases.len() as u32),
        (bytes as f64 * f64::from(passes)) / took.as_secs_f64(),
    )
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: pii_eval FILE.jsonl...");
        std::process::exit(2);
    }
    let cases = load(&files);
    let score = score(&cases);
    let (per_text, bytes_per_s) = speed(&cases);
    let mut out = score.json();
    out["files"] = json!(files);
    out["texts"] = json!(cases.len());
    out["bytes"] = json!(cases.iter().map(|c| c.text.len()).sum::<usize>());
    out["ns_per_text"] = json!(per_text.as_nanos() as u64);
    out["mb_per_s"] = json!((bytes_per_s / 1e6 * 10.0).round() / 10.0);
    println!("{out}");
}
