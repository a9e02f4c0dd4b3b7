//! The Rust runner of the shared behaviour vectors (tests/vectors/*.json; the format is in
//! tests/vectors/README.md). Python, Node and Kotlin run the same files.

mod common;

use std::path::{Path, PathBuf};

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
        Config::from_file(&path).and_then(Client::new)
    } else {
        let text = case["config"].to_string().replace("{upstream}", &base);
        Config::from_json_value(
            &serde_json::from_str(&text).unwrap(),
            &modelplug_core::config::process_env,
        )
        .and_then(Client::new)
    };
    let mut result = match client {
        Err(e) => json!({"error": common::error_json(&e)}),
        Ok(client) => {
            let request = case["request"].clone();
            match case["call"].as_str().unwrap() {
                "chat" => match ChatRequest::from_value(request) {
                    Ok(r) => outcome(client.chat(r).await),
                    Err(e) => outcome::<()>(Err(e)),
                },
                "stream" => match ChatRequest::from_value(request) {
                    Ok(r) => common::collect_stream(client.stream(r)).await,
                    Err(e) => json!({"error": common::error_json(&e), "event_counts": {}}),
                },
                "embed" => match EmbedRequest::from_value(request) {
                    Ok(r) => outcome(client.embed(r).await),
                    Err(e) => outcome::<()>(Err(e)),
                },
                other => panic!("unknown call {other}"),
            }
        }
    };
    if let Some((id, _)) = scenario {
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
        for case in doc["cases"].as_array().unwrap() {
            let name = format!(
                "{}::{}",
                file.file_stem().unwrap().to_string_lossy(),
                case["name"].as_str().unwrap()
            );
            let result = run_case(&upstream, case, &scratch).await;
            let expect = &case["expect"];
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
