//! N `Client::chat` calls, C at a time, against the yardstick's canned nginx upstream
//! (`make bench-upstream`, 127.0.0.1:18080) on a one-worker runtime, as the bindings run them:
//! for instruction counts of the concurrent path under `valgrind --tool=callgrind`.
//!
//! `conc_loop N C`

use std::sync::Arc;

use modelplug_core::{ChatRequest, Client, Config};
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(2000, |s| s.parse().unwrap());
    let c: usize = args.next().map_or(64, |s| s.parse().unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let config = json!({"models": [{"name": "bench", "retry": {"attempts": 0}, "deployments": [{"provider": "openai",
        "model": "gpt-4o-mini", "api_key": "sk-bench-0000000000000000", "base_url": "http://127.0.0.1:18080/v1"}]}]});
    let client = Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap();
    let req = Arc::new(
        ChatRequest::from_value(json!({"model": "bench", "messages": [
        {"role": "user", "content": "Give me a short overview of Rust for SDK cores."}], "max_tokens": 128}))
        .unwrap(),
    );
    runtime.block_on(async {
        let tasks: Vec<_> = (0..c)
            .map(|i| {
                let (client, req) = (client.clone(), req.clone());
                tokio::spawn(async move {
                    for _ in (i..n).step_by(c) {
                        client.chat((*req).clone()).await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}
