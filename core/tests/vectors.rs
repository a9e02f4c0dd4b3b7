//! The Rust runner of the shared behaviour vectors (tests/vectors/*.json; the format is in
//! tests/vectors/README.md). Python, Node and Kotlin run the same files.

mod common;
#[path = "common/host_checks.rs"]
mod host_checks;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mock_upstream::{MockUpstream, Step};
use modelplug_core::{ChatRequest, Client, Config, EmbedRequest, Error};
use serde_json::{Value, json};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn outcome<T: serde::Serialize>(r: Result<T, Error>) -> Value {
    match r {
        Ok(v) => json!({"response": serde_json::to_value(v).unwrap()}),
        Err(e) => json!({"error": common::error_json(&e)}),
    }
}

/// The request as JSON text, with every `{"$float": "NaN"}` written as the bare token (the
/// form in which the Node and Kotlin bindings hand non-finite numbers to the core).
fn request_text(request: &Value) -> String {
    fn mark(v: &Value) -> Value {
        match v {
            Value::Object(o) if o.len() == 1 && o.contains_key("$float") => {
                json!(format!("\u{1}{}\u{1}", o["$float"].as_str().unwrap()))
            }
            Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), mark(v))).collect()),
            Value::Array(a) => Value::Array(a.iter().map(mark).collect()),
            other => other.clone(),
        }
    }
    let text = mark(request).to_string();
    ["NaN", "Infinity", "-Infinity"].iter().fold(text, |t, token| {
        t.replace(&format!("\"\\u0001{token}\\u0001\""), token)
    })
}

/// Runs the case's call; with `cancel`, gives up on it the Rust way (dropping it).
async fn call(client: &Client, case: &Value) -> Value {
    let text = request_text(&case["request"]);
    let cancel = &case["cancel"];
    match case["call"].as_str().unwrap() {
        "chat" | "embed" if cancel.is_object() => {
            let after = Duration::from_millis(cancel["after_ms"].as_u64().unwrap());
            let done = if case["call"] == "chat" {
                let req = ChatRequest::from_json(&text).unwrap();
                tokio::time::timeout(after, async { outcome(client.chat(req).await) }).await
            } else {
                let req = EmbedRequest::from_json(&text).unwrap();
                tokio::time::timeout(after, async { outcome(client.embed(req).await) }).await
            };
            done.unwrap_or_else(|_| json!({"cancelled": true}))
        }
        "chat" => match ChatRequest::from_json(&text) {
            Ok(r) => outcome(client.chat(r).await),
            Err(e) => outcome::<()>(Err(e)),
        },
        "stream" => match ChatRequest::from_json(&text) {
            Ok(r) if cancel.is_object() => {
                let wanted = cancel["after_events"].as_u64().unwrap();
                let mut stream = client.stream(r);
                let (mut read, mut text) = (0, String::new());
                while read < wanted {
                    match stream.next().await {
                        Some(Ok(modelplug_core::StreamEvent::TextDelta { text: t })) => text.push_str(&t),
                        Some(Ok(_)) => {}
                        _ => break,
                    }
                    read += 1;
                }
                drop(stream);
                json!({"cancelled": true, "events_read": read, "text": text})
            }
            Ok(r) => common::collect_stream(client.stream(r)).await,
            Err(e) => json!({"error": common::error_json(&e), "event_counts": {}}),
        },
        "embed" => match EmbedRequest::from_json(&text) {
            Ok(r) => outcome(client.embed(r).await),
            Err(e) => outcome::<()>(Err(e)),
        },
        other => panic!("unknown call {other}"),
    }
}

/// The client's usage events; after a cancellation, waits (up to 5 s) for the first one.
async fn usage(client: &Client, cancelled: bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while cancelled && client.usage().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    serde_json::to_value(client.usage()).unwrap()
}

/// Waits (up to 5 s) until every request of scenario `id` is finished or aborted by the client.
async fn settled(upstream: &MockUpstream, id: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline
        && upstream
            .requests(id)
            .iter()
            .any(|r| !r.finished && !r.client_aborted)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client for `config` with the case's custom guardrails.
fn with_guardrails(config: Config, case: &Value) -> Result<Client, Error> {
    host_checks::custom_guardrails(case)
        .into_iter()
        .fold(Client::builder().config(config), |b, g| b.guardrail(g))
        .build()
}

async fn run_case(upstream: &MockUpstream, case: &Value, scratch: &Path) -> Value {
    let scenario = case.get("upstream").map(|steps| {
        let steps: Vec<Step> = serde_json::from_value(steps.clone()).expect("steps");
        upstream.scenario(steps)
    });
    let base = scenario
        .as_ref()
        .map_or_else(|| upstream.url(), |(_, b)| b.clone());
    let client = if let Some(yaml) = case.get("config_yaml").and_then(Value::as_str) {
        let path = scratch.join("modelplug.yaml");
        std::fs::write(&path, yaml.replace("{upstream}", &base)).unwrap();
        Config::from_file(&path).and_then(|c| with_guardrails(c, case))
    } else {
        let text = case["config"].to_string().replace("{upstream}", &base);
        Config::from_json_value(
            &serde_json::from_str(&text).unwrap(),
            &modelplug_core::config::process_env,
        )
        .and_then(|c| with_guardrails(c, case))
    };
    let mut result = match client {
        Err(e) => json!({"error": common::error_json(&e), "usage": []}),
        Ok(client) => {
            let mut result = call(&client, case).await;
            result["usage"] = usage(&client, case["cancel"].is_object()).await;
            client.close().await.unwrap();
            result
        }
    };
    if let Some((id, _)) = scenario {
        if case["cancel"].is_object() {
            settled(upstream, &id).await;
        }
        result["upstream_requests"] = serde_json::to_value(upstream.requests(&id)).unwrap();
    }
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_vectors() {
    let upstream = MockUpstream::start().await.unwrap();
    let scratch = std::env::temp_dir().join(format!("modelplug-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut ran, mut failures) = (0, Vec::new());
    for file in &files {
        let doc: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        for case in &common::expand_providers(doc["cases"].as_array().unwrap()) {
            let name = format!(
                "{}::{}",
                file.file_stem().unwrap().to_string_lossy(),
                case["name"].as_str().unwrap()
            );
            let result = run_case(&upstream, case, &scratch).await;
            let expect = &case["expect"];
            assert!(
                expect.get("usage").is_some(),
                "{name}: every case states the usage events it records (`expect.usage`, [] for none)"
            );
            let mut verdict = common::matches(expect, &result, "result");
            if verdict.is_ok() && expect.get("error").is_none() && result.get("error").is_some() {
                verdict = Err(format!("unexpected error {}", result["error"]));
            }
            if let Err(why) = verdict {
                failures.push(format!("{name}: {why}\n    result: {result}"));
            }
            ran += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(
        failures.is_empty(),
        "{} of {ran} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(ran >= 60, "only {ran} vectors ran");
}
