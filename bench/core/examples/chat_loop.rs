//! N whole `Client::chat` calls (and N streams) through the mock provider, for instruction
//! counts under `valgrind --tool=callgrind` (a profile that repeats on a noisy machine).

use modelplug_core::{ChatRequest, Client, Config};
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "chat".into());
    let n: usize = args.next().map_or(2000, |s| s.parse().unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = json!({"models": [{"name": "smart", "deployments": [{"provider": "mock", "model": "m", "mock": {"reply": "Sure! Here is a short overview."}}]}]});
    let client = Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap();
    let req = ChatRequest::from_value(json!({"model": "smart", "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Give me a short overview of Rust for SDK cores."}], "temperature": 0.2, "max_tokens": 128})).unwrap();
    runtime.block_on(async {
        for _ in 0..n {
            if what == "chat" {
                client.chat(req.clone()).await.unwrap();
            } else {
                let mut s = client.stream(req.clone());
                while let Some(ev) = s.next().await {
                    ev.unwrap();
                }
            }
        }
    });
}
