//! An independent oracle for the requests the OpenAI adapter builds: Prism
//! (`@stoplight/prism-cli`, installed in tests/oracle by `make test`) serves the official
//! OpenAI OpenAPI spec as a validating mock; every request the adapter sends — chat, tools,
//! tool results, structured output, images, reasoning parameters, streaming, the Responses
//! API and embeddings — must pass its validation (any 4xx fails the test).
//!
//! Prism silently skips validation of schemas it cannot compile; the spec marks 23 schemas
//! `nullable` without a `type`, which its validator rejects, so the test first rewrites those
//! as `anyOf: [schema, {type: null}]` (same meaning) and then checks that an invalid request
//! *is* rejected, so a silently disabled validator cannot pass the test.
//!
//! Run by `make test` as `cargo test --test prism_oracle -- --ignored`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use modelplug_core::config::{Node, parse_yaml};
use modelplug_core::providers::ProviderKind;
use modelplug_core::providers::openai::{
    Quirks, encode_chat_request, encode_embed_request, encode_responses_request,
};
use modelplug_core::{ChatRequest, Client, Config, EmbedRequest, StreamEvent};
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `nullable: true` without `type` → `anyOf: [schema, {type: "null"}]`.
fn fix_nullable(v: Value, rewritten: &mut usize) -> Value {
    match v {
        Value::Object(o) => {
            let mut o: serde_json::Map<String, Value> = o
                .into_iter()
                .map(|(k, x)| (k, fix_nullable(x, rewritten)))
                .collect();
            if o.get("nullable") == Some(&Value::Bool(true)) && !o.contains_key("type") {
                o.remove("nullable");
                *rewritten += 1;
                return json!({"anyOf": [Value::Object(o), {"type": "null"}]});
            }
            Value::Object(o)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(|x| fix_nullable(x, rewritten)).collect()),
        other => other,
    }
}

fn prepared_spec(dir: &Path) -> PathBuf {
    let gz = repo().join("tests/provider-specs/specs/openai/openapi.yaml.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let node: Node = parse_yaml(&text).expect("the OpenAI spec parses");
    let mut rewritten = 0;
    let spec = fix_nullable(node.to_json(), &mut rewritten);
    assert!(
        rewritten > 0,
        "the spec no longer needs the nullable rewrite; drop it"
    );
    let out = dir.join("openapi.json");
    std::fs::write(&out, spec.to_string()).unwrap();
    out
}

struct Prism(Child);

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_prism(spec: &Path) -> (Prism, String) {
    let bin = std::env::var_os("MODELPLUG_PRISM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("tests/oracle/node_modules/.bin/prism"));
    assert!(
        bin.exists(),
        "{} is missing: run `npm ci --prefix tests/oracle` (make test does)",
        bin.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(bin)
        .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
        .arg(spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("prism starts");
    let stdout = child.stdout.take().unwrap();
    let prism = Prism(child);
    let started = Instant::now();
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        assert!(!line.contains("fatal"), "prism failed: {line}");
        if line.contains("Prism is listening") {
            // Keep reading its log: Prism dies writing to a closed pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return (prism, format!("http://127.0.0.1:{port}"));
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "prism did not start"
        );
    }
    panic!("prism exited before listening");
}

fn requests() -> Vec<(&'static str, Value)> {
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false},
        "strict": true}}]);
    vec![
        (
            "plain",
            json!({"model": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}),
        ),
        (
            "sampling",
            json!({"model": "m", "messages": [{"role": "developer", "content": "d"}, {"role": "user", "content": "Hi"}],
            "temperature": 0.3, "top_p": 0.9, "max_tokens": 50, "stop": ["END", "STOP"], "seed": 7,
            "presence_penalty": 0.5, "frequency_penalty": 0.5, "reasoning_effort": "low", "extra": {"user": "u-1"}}),
        ),
        (
            "tools",
            json!({"model": "m", "messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": tools,
            "tool_choice": "required", "parallel_tool_calls": false}),
        ),
        (
            "named_tool_choice",
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": tools,
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
        ),
        (
            "tool_results",
            json!({"model": "m", "tools": tools, "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]}),
        ),
        (
            "json_schema",
            json!({"model": "m", "messages": [{"role": "user", "content": "City?"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "city", "strict": true,
                "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}}}}),
        ),
        (
            "json_object",
            json!({"model": "m", "messages": [{"role": "user", "content": "JSON please"}], "response_format": {"type": "json_object"}}),
        ),
        (
            "images",
            json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
            {"type": "image", "media_type": "image/png", "data": "iVBORw0KGgo="}]}]}),
        ),
    ]
}

async fn post(http: &reqwest::Client, url: &str, body: Vec<u8>) -> (u16, String) {
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-oracle")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node and tests/oracle/node_modules; `make test` runs it"]
async fn adapter_requests_pass_the_openai_spec() {
    let dir = repo().join("target/oracle");
    std::fs::create_dir_all(&dir).unwrap();
    let spec = prepared_spec(&dir);
    let (_prism, base) = start_prism(&spec);
    let http = modelplug_core::http::build_client().unwrap();
    let quirks = Quirks::of(ProviderKind::OpenAi);

    // The validator is live: a request the spec forbids is rejected.
    let (status, _) = post(
        &http,
        &format!("{base}/chat/completions"),
        br#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 422, "prism is not validating requests");

    let config = json!({"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [
        {"provider": "openai", "model": "gpt-4o", "api_key": "sk-oracle", "base_url": base}]},
        {"name": "r", "retry": {"attempts": 0}, "deployments": [
        {"provider": "openai", "model": "gpt-4o", "api_key": "sk-oracle", "base_url": base, "api": "responses"}]}]});
    let client = Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap();

    for (name, req) in requests() {
        let request = ChatRequest::from_value(req).unwrap();
        // Non-streaming, end to end: Prism validates the request and answers with a
        // schema-valid example, which the adapter must also understand.
        let r = client
            .chat(request.clone())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.provider, "openai", "{name}");

        // Streaming: the same request with `stream` and `stream_options`.
        let body = encode_chat_request(&request, "gpt-4o", &quirks, true).unwrap();
        let (status, text) = post(&http, &format!("{base}/chat/completions"), body).await;
        assert!((200..300).contains(&status), "{name} (stream): {status} {text}");
        let mut stream = client.stream(request.clone());
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(StreamEvent::Done { .. }) => break,
                Ok(_) => {}
                // Prism answers streams with a JSON example, not SSE; only a rejection matters.
                Err(e) => {
                    assert!(
                        e.status().is_none_or(|s| s < 400),
                        "{name} (stream through the client): {e}"
                    );
                    break;
                }
            }
        }

        // The Responses API dialect of the same request. A user message whose content is a
        // list of parts matches two branches of the spec's `InputItem` oneOf (EasyInputMessage
        // and InputMessage; the `type` discriminator has no mapping), so no body with image
        // parts can pass this spec's validation: that case is checked by unit tests instead.
        if name == "images" {
            continue;
        }
        let mut responses = request.clone();
        responses.stop.clear();
        responses.seed = None;
        let body = encode_responses_request(&responses, "gpt-4o", false).unwrap();
        let (status, text) = post(&http, &format!("{base}/responses"), body).await;
        assert!(
            (200..300).contains(&status),
            "{name} (responses): {status} {text}"
        );
    }

    for input in [json!("one text"), json!(["a", "b", "c"])] {
        let req = EmbedRequest::from_value(json!({"model": "m", "input": input, "dimensions": 256})).unwrap();
        let body = encode_embed_request(&req, "text-embedding-3-small", true).unwrap();
        let (status, text) = post(&http, &format!("{base}/embeddings"), body).await;
        assert!((200..300).contains(&status), "embeddings: {status} {text}");
        let body = encode_embed_request(&req, "text-embedding-3-small", false).unwrap();
        let (status, text) = post(&http, &format!("{base}/embeddings"), body).await;
        assert!(
            (200..300).contains(&status),
            "embeddings (floats): {status} {text}"
        );
    }
}
