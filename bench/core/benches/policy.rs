//! What central policy adds to a call: `Client::chat` through the in-process mock provider with
//! one deny-topic rule as central policy in force (read from a verified cache file; the
//! collector's address answers nothing) against the same rule in the local config of a client
//! reporting to the same address, in the same run. The difference is the policy stage: the snapshot taken at admission, the budget
//! and rate-limit checks (none apply) and the usage event's version.
//!
//! Run: `cargo bench -p modelplug-bench --bench policy`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use modelplug_core::policy::Signer;
use modelplug_core::{ChatRequest, Client, Config};
use modelplug_schema::policy::PolicyPayload;
use serde_json::json;

const RULE: &str =
    r#"{"name": "no-mergers", "kind": "deny_topics", "topics": ["merger"], "action": "block"}"#;

fn client(config: serde_json::Value) -> Client {
    Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap()
}

fn policy(c: &mut Criterion) {
    let rule: serde_json::Value = serde_json::from_str(RULE).unwrap();
    let models = json!([{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}]);
    // Both report to the same collector address, which nobody listens on: their reporters do
    // the same work (spooling), so the difference is the policy alone.
    let dir = std::env::temp_dir().join(format!("policy-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let collector =
        |name: &str| json!({"url": format!("http://{dead}"), "spool_dir": dir.join(name).to_str().unwrap()});
    let local = client(
        json!({"app": "bench", "models": models, "guardrails": [rule], "collector": collector("local")}),
    );

    // The same rule as central policy: a signed version 1 in the cache file (the client runs
    // on the cached policy).
    let signer = Signer::from_seed(&[3; 32]).unwrap();
    let payload = PolicyPayload {
        kind: "policy".into(),
        version: 1,
        app: "bench".into(),
        team: None,
        issued_ms: 0,
        policy: json!({"guardrails": [rule]}),
        price_catalog: None,
    };
    let envelope = signer.sign(serde_json::to_string(&payload).unwrap());
    let cache = dir.join("policy.json");
    std::fs::write(&cache, serde_json::to_vec(&json!({"policy": envelope})).unwrap()).unwrap();
    let mut with_policy = collector("central");
    with_policy["policy"] = json!({"public_key": signer.public_key(), "cache_file": cache.to_str().unwrap()});
    let central = client(json!({"app": "bench", "models": models, "collector": with_policy}));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let ask = || ChatRequest::new("m", "Give me a short overview of Rust for SDK cores.");
    // Both run the rule: a call about the topic is refused by each.
    assert!(
        rt.block_on(local.chat(ChatRequest::new("m", "the merger")))
            .is_err()
    );
    assert!(
        rt.block_on(central.chat(ChatRequest::new("m", "the merger")))
            .is_err()
    );
    assert_eq!(central.policy_status().unwrap().version, Some(1));

    let mut group = c.benchmark_group("Client::chat, one deny-topic rule");
    group.bench_function("in the local config", |b| {
        b.iter(|| rt.block_on(local.chat(black_box(ask()))).unwrap())
    });
    group.bench_function("as central policy", |b| {
        b.iter(|| rt.block_on(central.chat(black_box(ask()))).unwrap())
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, policy);
criterion_main!(benches);
