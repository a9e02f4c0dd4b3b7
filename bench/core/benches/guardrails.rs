//! The guardrails' cost: the built-in set (PII + 50 deny topics + 10 regexes + the injection
//! set) over a 2 KB prompt, a streamed answer's per-chunk cost through the hold-back filter,
//! and the time to the first text delta of a 19-chunk stream, each with and without
//! guardrails (the in-process mock provider: no network, so the figures are modelplug's own).
//!
//! Run: `cargo bench -p modelplug-bench --bench guardrails`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelplug_core::guardrails::RuleSet;
use modelplug_core::{ChatRequest, Client, Config, StreamEvent};
use serde_json::{Value, json};

/// Fifty deny-topic phrases an organisation might list.
const TOPICS: [&str; 50] = [
    "legal advice",
    "medical diagnosis",
    "insider trading",
    "tax evasion",
    "money laundering",
    "weapons manufacturing",
    "explosives",
    "self harm",
    "suicide methods",
    "gambling tips",
    "election fraud",
    "voter suppression",
    "hate speech",
    "racial slurs",
    "extremist propaganda",
    "drug synthesis",
    "counterfeit money",
    "identity theft",
    "credit card fraud",
    "phishing kit",
    "malware development",
    "ransomware",
    "password cracking",
    "lock picking",
    "stock tips",
    "crypto pump",
    "penny stocks",
    "competitor pricing",
    "merger rumours",
    "layoff plans",
    "salary data",
    "employee discipline",
    "union organising",
    "lawsuit strategy",
    "settlement terms",
    "patent litigation",
    "trade secrets",
    "source code leak",
    "customer list",
    "unreleased product",
    "earnings forecast",
    "quarterly guidance",
    "investment advice",
    "retirement planning",
    "mortgage advice",
    "immigration advice",
    "divorce proceedings",
    "custody dispute",
    "criminal defence",
    "political endorsement",
];

fn rules_json(stage: &str) -> Value {
    let mut rules = vec![
        json!({"name": "pii", "kind": "pii", "stage": stage, "action": "redact"}),
        json!({"name": "topics", "kind": "deny_topics", "stage": stage, "action": "warn", "topics": TOPICS.to_vec()}),
        json!({"name": "injection", "kind": "prompt_injection", "stage": stage, "action": "warn"}),
    ];
    for (i, p) in [
        r"TCK-\d{6}",
        r"INV-\d{4}-\d{5}",
        r"(?i)project\s+(?:falcon|osprey|kestrel)",
        r"\bEMP\d{7}\b",
        r"(?i)confidential",
        r"\bACCT-[A-Z]{2}\d{8}\b",
        r"(?i)internal use only",
        r"\bPO#\d{6,}\b",
        r"\b[A-Z]{3}-\d{3}-[A-Z]{3}\b",
        r"(?i)do not distribute",
    ]
    .iter()
    .enumerate()
    {
        rules.push(json!({"name": format!("regex-{i}"), "kind": "regex", "stage": stage, "action": "redact", "pattern": p}));
    }
    Value::Array(rules)
}

fn rule_set() -> RuleSet {
    let config = json!({"app": "bench", "guardrails": rules_json("input")});
    let config = Config::from_json_value(&config, &|_| None).unwrap();
    RuleSet::compile(&config.guardrails).unwrap()
}

/// A 2 KB support conversation with one email and one phone number in it.
fn prompt() -> String {
    let para = "Hello team, our customer reports that the export job has been failing since the last \
        release. The nightly batch runs at two in the morning and the logs show a timeout after \
        forty seconds while writing the summary table. They would like to know whether the retry \
        policy can be extended and whether a partial export is kept when the job is interrupted. ";
    let mut p = String::new();
    while p.len() < 1800 {
        p.push_str(para);
    }
    p.push_str("Please reply to maria.lopez@example.com or call +44 20 7946 0958 before Friday.");
    p.truncate(2048);
    p
}

fn client(reply: &str, chunk: usize, guardrails: Value) -> Client {
    let config = json!({"app": "bench", "guardrails": guardrails, "models": [{"name": "m",
        "deployments": [{"provider": "mock", "model": "mock-1",
            "mock": {"reply": reply, "chunk_chars": chunk}}]}]});
    Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap()
}

fn guardrails(c: &mut Criterion) {
    let rules = rule_set();
    let text = prompt();
    let mut g = c.benchmark_group("guardrails");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("built-in set on a 2 KB prompt (scan + redact)", |b| {
        b.iter(|| {
            let mut t = text.clone();
            let mut texts = [&mut t];
            black_box(rules.check_texts(&mut texts).unwrap());
        })
    });
    g.bench_function("clone of the 2 KB prompt (subtract from the above)", |b| {
        b.iter(|| black_box(text.clone()))
    });
    // Each part of the set alone, to see where the time goes.
    let all = rules_json("input");
    for (part, pick) in [
        ("pii", 0..1),
        ("50 topics", 1..2),
        ("injection", 2..3),
        ("10 regexes", 3..13),
    ] {
        let config = json!({"app": "bench", "guardrails": all.as_array().unwrap()[pick].to_vec()});
        let part_rules =
            RuleSet::compile(&Config::from_json_value(&config, &|_| None).unwrap().guardrails).unwrap();
        g.bench_function(format!("{part} alone on the 2 KB prompt"), |b| {
            b.iter(|| {
                let mut t = text.clone();
                let mut texts = [&mut t];
                black_box(part_rules.check_texts(&mut texts).unwrap());
            })
        });
    }
    g.finish();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A streamed 2 KB answer in 8-character chunks (256 deltas), with and without the set on
    // the output: the difference over 256 is the cost per chunk.
    let answer = prompt();
    let mut g = c.benchmark_group("guardrails stream of 256 chunks");
    for (name, rules) in [("unguarded", json!([])), ("guarded", rules_json("output"))] {
        let client = client(&answer, 8, rules);
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut s = client.stream(ChatRequest::new("m", "hi"));
                    while let Some(ev) = s.next().await {
                        black_box(ev.unwrap());
                    }
                })
            })
        });
    }
    g.finish();

    // Time to the first text delta of a 19-chunk answer.
    let short = "The quarterly export finished on time; the summary table holds 4,312 rows now.";
    let chunk = short.len().div_ceil(19);
    let mut g = c.benchmark_group("guardrails time to first text of 19 chunks");
    for (name, rules) in [("unguarded", json!([])), ("guarded", rules_json("output"))] {
        let client = client(short, chunk, rules);
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut s = client.stream(ChatRequest::new("m", "hi"));
                    while let Some(ev) = s.next().await {
                        if matches!(ev.unwrap(), StreamEvent::TextDelta { .. }) {
                            break;
                        }
                    }
                })
            })
        });
        // How many provider chunks the hold-back kept before the first text went out (with
        // a real model, each is one inter-token gap of added time to first token).
        let chunks_before_first = rt.block_on(async {
            let mut s = client.stream(ChatRequest::new("m", "hi"));
            match s.next().await {
                Some(Ok(StreamEvent::TextDelta { text })) => text.len().div_ceil(chunk),
                _ => 0,
            }
        });
        eprintln!(
            "{name}: the first text delta carries {chunks_before_first} provider chunk(s) of {chunk} chars"
        );
    }
    g.finish();
}

criterion_group!(benches, guardrails);
criterion_main!(benches);
