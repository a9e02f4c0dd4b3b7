//! The PII detector against the labelled corpus in `tests/guardrails/pii/` (written by its
//! `generate.py`, plus `handwritten.jsonl`): precision and recall per kind on the tuning set
//! (generated + hand-written) and on the holdout set (its own seed, templates and formats —
//! never tuned against). Prints both tables (`-- --nocapture`) and writes them, with every miss
//! and false positive, to `target/guardrails/pii-corpus.json`.
//!
//! Goal on the tuning set: P ≥ 0.98 and R ≥ 0.95 for every kind; floor on the holdout set:
//! P ≥ 0.95 and R ≥ 0.90.

#[path = "../examples/pii_eval.rs"]
#[allow(dead_code)]
mod pii_eval;

use std::path::{Path, PathBuf};

use serde_json::json;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn pii_corpus_precision_and_recall() {
    let dir = repo().join("tests/guardrails/pii");
    let corpora = [
        (
            "tuning",
            vec![dir.join("tuning.jsonl"), dir.join("handwritten.jsonl")],
            0.98,
            0.95,
        ),
        ("holdout", vec![dir.join("holdout.jsonl")], 0.95, 0.90),
    ];
    let mut report = serde_json::Map::new();
    let mut short = Vec::new();
    for (name, files, min_p, min_r) in corpora {
        let cases = pii_eval::load(&files);
        let score = pii_eval::score(&cases);
        println!(
            "{name} ({} texts; P~/R~ relaxed: overlapping spans count)\n{}",
            cases.len(),
            score.table()
        );
        for e in &score.errors {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            println!(
                "  {name} {} {}: {:?} in {:?}",
                s("kind"),
                s("error"),
                s("value"),
                s("text")
            );
        }
        for (kind, c) in &score.kinds {
            if c.precision() < min_p || c.recall() < min_r {
                short.push(format!(
                    "{name} {kind}: P {:.3} (≥ {min_p}), R {:.3} (≥ {min_r})",
                    c.precision(),
                    c.recall()
                ));
            }
        }
        let mut v = score.json();
        v["texts"] = json!(cases.len());
        v["goal"] = json!({"precision": min_p, "recall": min_r});
        report.insert(name.into(), v);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo().join("target"), PathBuf::from);
    let out = target.join("guardrails");
    std::fs::create_dir_all(&out).unwrap();
    let body = serde_json::to_string_pretty(&report).unwrap();
    std::fs::write(out.join("pii-corpus.json"), body).unwrap();
    assert!(short.is_empty(), "below the goal:\n{}", short.join("\n"));
}
