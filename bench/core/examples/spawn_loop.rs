//! N `Client::chat` calls kept C in flight the way the bindings run them: a host thread (not a
//! runtime thread) spawns one task per call on a one-worker runtime and waits for completions,
//! against the yardstick's canned nginx upstream (`make bench-upstream`). For CPU and
//! instruction counts of the per-call path under concurrency.
//!
//! `spawn_loop N C`

use std::sync::Arc;
use std::sync::mpsc;

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
    let (done_tx, done_rx) = mpsc::channel::<bool>();
    let spawn = |client: &Client| {
        let (client, req, done) = (client.clone(), req.clone(), done_tx.clone());
        runtime.spawn(async move {
            let ok = client.chat((*req).clone()).await.is_ok();
            let _ = done.send(ok);
        });
    };
    let (mut started, mut finished) = (0, 0);
    while started < c.min(n) {
        spawn(&client);
        started += 1;
    }
    while finished < n {
        assert!(done_rx.recv().unwrap(), "a call failed");
        finished += 1;
        if started < n {
            spawn(&client);
            started += 1;
        }
    }
}
