//! N `Client::chat` calls, C in flight, against the yardstick's canned nginx upstream
//! (`make bench-upstream`, 127.0.0.1:18080) on a one-worker runtime: for CPU and instruction
//! counts (`valgrind --tool=callgrind`) of the per-call path under concurrency.
//!
//! `conc_loop N C tasks`: C long-lived tasks make the calls one after another.
//! `conc_loop N C spawn`: a host thread spawns one task per call and waits for completions,
//! the way the language bindings run calls.

use std::sync::Arc;
use std::sync::mpsc;

use modelplug_core::{ChatRequest, Client, Config};
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(2000, |s| s.parse().unwrap());
    let c: usize = args.next().map_or(64, |s| s.parse().unwrap());
    let spawn_per_call = args.next().as_deref() == Some("spawn");
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
    if spawn_per_call {
        spawned(&runtime, &client, &req, n, c);
    } else {
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
}

/// One task per call, spawned from this (non-runtime) thread, C kept in flight.
fn spawned(runtime: &tokio::runtime::Runtime, client: &Client, req: &Arc<ChatRequest>, n: usize, c: usize) {
    let (done_tx, done_rx) = mpsc::channel::<bool>();
    let spawn = || {
        let (client, req, done) = (client.clone(), req.clone(), done_tx.clone());
        runtime.spawn(async move {
            let _ = done.send(client.chat((*req).clone()).await.is_ok());
        });
    };
    let mut started = c.min(n);
    for _ in 0..started {
        spawn();
    }
    for _ in 0..n {
        assert!(done_rx.recv().unwrap(), "a call failed");
        if started < n {
            spawn();
            started += 1;
        }
    }
}
