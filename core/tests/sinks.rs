//! Sinks besides the collector: a rotated JSON-lines file and a callback, both fed off the
//! request path; a panicking callback is contained; no prompt text in the file unless content
//! capture is on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use modelplug_core::{ChatRequest, Client, Config};
use serde_json::{Value, json};

const PROMPT: &str = "draft the merger memo for project heron";

fn config(extra: Value) -> Config {
    let mut c = json!({"app": "sinks-test", "models": [{"name": "m", "deployments": [
        {"provider": "mock", "model": "echo", "mock": {"reply": "A short memo."}}]}]});
    if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    Config::from_json_value(&c, &|_| None).unwrap()
}

fn temp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mp-sinks-{name}-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jsonl_sink_writes_every_event_and_rotates() {
    let dir = temp("jsonl");
    let path = dir.join("usage.jsonl");
    let client = Client::new(config(
        json!({"sinks": [{"kind": "jsonl", "path": path.to_str().unwrap(), "max_mb": 1, "keep": 2}]}),
    ))
    .unwrap();
    for _ in 0..30 {
        client.chat(ChatRequest::new("m", PROMPT)).await.unwrap();
    }
    client.flush(Duration::from_secs(5)).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let written: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let recorded: Vec<String> = client.usage().iter().map(|e| e.id.clone()).collect();
    assert_eq!(
        written
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>(),
        recorded
    );
    assert!(!text.contains("heron"), "no prompt text without content capture");
    client.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_capture_puts_the_text_in_the_jsonl_file() {
    let dir = temp("capture");
    let path = dir.join("usage.jsonl");
    let client = Client::new(config(json!({"capture_content": true,
        "sinks": [{"kind": "jsonl", "path": path.to_str().unwrap()}]})))
    .unwrap();
    client.chat(ChatRequest::new("m", PROMPT)).await.unwrap();
    client.close().await.unwrap();
    let line: Value = serde_json::from_str(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
    assert_eq!(line["content"]["input"][0]["text"], PROMPT);
    assert_eq!(line["content"]["output"], "A short memo.");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_get_every_event_and_a_panicking_one_is_contained() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let into = seen.clone();
    let client = Client::builder()
        .config(config(json!({})))
        .on_usage(move |e| into.lock().unwrap().push(e.id.clone()))
        .on_usage(|_| panic!("a broken callback"))
        .build()
        .unwrap();
    for _ in 0..10 {
        client.chat(ChatRequest::new("m", PROMPT)).await.unwrap();
    }
    client.flush(Duration::from_secs(5)).await.unwrap();
    let recorded: Vec<String> = client.usage().iter().map(|e| e.id.clone()).collect();
    assert_eq!(*seen.lock().unwrap(), recorded);
    client.close().await.unwrap();
}

#[test]
fn a_bad_sink_is_a_config_error_naming_the_field() {
    let c = json!({"sinks": [{"kind": "jsonll", "path": "x"}], "collector": {"url": "ftp://x"}});
    let e = Config::from_json_value(&c, &|_| None).unwrap_err().to_string();
    assert!(
        e.contains("sinks[0].kind") && e.contains("did you mean `jsonl`"),
        "{e}"
    );
    assert!(e.contains("collector.url") && e.contains("http"), "{e}");
}
