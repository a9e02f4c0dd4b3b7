//! Every OpenAI, Azure and OpenAI-compatible recording replays through the adapter: the
//! request is rebuilt from the recorded request body and sent through a `Client`; the mock
//! upstream answers with the recorded bytes; text, tool calls, finish reason and usage are
//! checked against values read straight from the recording (not through the adapter's types),
//! and the body the adapter sent must contain everything the recorded request body did.

mod common;

use std::path::Path;

use mock_upstream::{MockUpstream, Step, recordings};
use modelplug_core::{ChatRequest, Client, Config, EmbedRequest};
use serde_json::{Map, Value, json};

const CHAT_FIELDS: &[&str] = &[
    "messages",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "reasoning_effort",
];

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

/// The recorded request body as a unified request for alias `m` (unmodelled keys → `extra`).
fn chat_request(body: &Value) -> ChatRequest {
    let mut req = Map::new();
    let mut extra = Map::new();
    req.insert("model".into(), "m".into());
    for (k, v) in body.as_object().unwrap() {
        match k.as_str() {
            "model" | "stream" | "stream_options" => {}
            k if CHAT_FIELDS.contains(&k) => {
                req.insert(k.into(), v.clone());
            }
            _ => {
                extra.insert(k.clone(), v.clone());
            }
        }
    }
    req.insert("extra".into(), extra.into());
    ChatRequest::from_value(req.into()).unwrap()
}

/// A Responses API body as a unified request: `instructions` → system, `input` → messages.
fn responses_request(body: &Value) -> ChatRequest {
    let mut messages = Vec::new();
    if let Some(i) = body.get("instructions").and_then(Value::as_str) {
        messages.push(json!({"role": "system", "content": i}));
    }
    messages.extend(body["input"].as_array().unwrap().iter().cloned());
    let mut rest: Map<String, Value> = body.as_object().unwrap().clone();
    for k in ["input", "instructions", "model", "stream", "tools"] {
        rest.remove(k);
    }
    let mut req = json!({"model": "m", "messages": messages, "extra": rest});
    if let Some(tools) = body.get("tools") {
        req["tools"] = tools
            .as_array()
            .unwrap()
            .iter()
            .map(|t| json!({"type": "function", "function": {"name": t["name"], "description": t["description"], "parameters": t["parameters"]}}))
            .collect();
    }
    ChatRequest::from_value(req).unwrap()
}

/// What the recording says the answer was, read from the raw body.
struct Expected {
    text: Option<String>,
    tool_calls: Vec<(Option<String>, String, String)>,
    finish: String,
    usage: [u64; 4],
    model: Option<String>,
    error: Option<(u16, String)>,
}

fn u(v: &Value, ptr: &str) -> u64 {
    v.pointer(ptr).and_then(Value::as_u64).unwrap_or(0)
}

fn chat_usage(usage: &Value) -> [u64; 4] {
    let cached = usage
        .pointer("/prompt_tokens_details/cached_tokens")
        .or_else(|| usage.get("prompt_cache_hit_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    [
        u(usage, "/prompt_tokens"),
        u(usage, "/completion_tokens"),
        cached,
        u(usage, "/completion_tokens_details/reasoning_tokens"),
    ]
}

fn responses_usage(usage: &Value) -> [u64; 4] {
    [
        u(usage, "/input_tokens"),
        u(usage, "/output_tokens"),
        u(usage, "/input_tokens_details/cached_tokens"),
        u(usage, "/output_tokens_details/reasoning_tokens"),
    ]
}

fn nonempty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_owned)
}

fn expected_chat_json(body: &Value) -> Expected {
    let m = &body["choices"][0]["message"];
    Expected {
        text: nonempty(m["content"].as_str()),
        tool_calls: m["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                let args = t["function"]["arguments"].as_str().unwrap_or_default().to_owned();
                (
                    nonempty(t["id"].as_str()),
                    t["function"]["name"].as_str().unwrap().to_owned(),
                    args,
                )
            })
            .collect(),
        finish: body["choices"][0]["finish_reason"].as_str().unwrap().to_owned(),
        usage: chat_usage(&body["usage"]),
        model: body["model"].as_str().map(str::to_owned),
        error: None,
    }
}

fn sse_data(text: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut event = String::from("message");
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
        if let Some(e) = line.strip_prefix("event: ") {
            event = e.to_owned();
        } else if let Some(d) = line.strip_prefix("data: ") {
            if d != "[DONE]" {
                out.push((event.clone(), serde_json::from_str(d).unwrap()));
            }
        } else if line.is_empty() {
            event = "message".into();
        }
    }
    out
}

fn expected_chat_sse(text: &str) -> Expected {
    let mut e = Expected {
        text: None,
        tool_calls: Vec::new(),
        finish: String::new(),
        usage: [0; 4],
        model: None,
        error: None,
    };
    for (_, chunk) in sse_data(text) {
        e.model = e.model.or_else(|| chunk["model"].as_str().map(str::to_owned));
        if let Some(err) = chunk.get("error") {
            e.error = Some((
                err["code"].as_u64().unwrap_or(0) as u16,
                err["message"].as_str().unwrap_or_default().to_owned(),
            ));
        }
        if let Some(c) = chunk["choices"].get(0) {
            if let Some(t) = c["delta"]["content"].as_str().filter(|t| !t.is_empty()) {
                e.text.get_or_insert_with(String::new).push_str(t);
            }
            for tc in c["delta"]["tool_calls"].as_array().into_iter().flatten() {
                let i = tc["index"].as_u64().unwrap() as usize;
                if e.tool_calls.len() <= i {
                    e.tool_calls.push((None, String::new(), String::new()));
                }
                let slot = &mut e.tool_calls[i];
                slot.0 = slot.0.take().or_else(|| nonempty(tc["id"].as_str()));
                if let Some(n) = tc["function"]["name"].as_str() {
                    slot.1 = n.to_owned();
                }
                slot.2
                    .push_str(tc["function"]["arguments"].as_str().unwrap_or_default());
            }
            if let Some(f) = c["finish_reason"].as_str() {
                e.finish = f.to_owned();
            }
        }
        if chunk["usage"].is_object() {
            e.usage = chat_usage(&chunk["usage"]);
        }
    }
    e
}

fn expected_responses(resp: &Value) -> Expected {
    let mut e = Expected {
        text: None,
        tool_calls: Vec::new(),
        finish: "stop".into(),
        usage: responses_usage(&resp["usage"]),
        model: resp["model"].as_str().map(str::to_owned),
        error: None,
    };
    for item in resp["output"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("message") => {
                for c in item["content"].as_array().into_iter().flatten() {
                    if let Some(t) = c["text"].as_str() {
                        e.text.get_or_insert_with(String::new).push_str(t);
                    }
                }
            }
            Some("function_call") => {
                e.finish = "tool_calls".into();
                e.tool_calls.push((
                    nonempty(item["call_id"].as_str()),
                    item["name"].as_str().unwrap().to_owned(),
                    item["arguments"].as_str().unwrap().to_owned(),
                ));
            }
            _ => {}
        }
    }
    e
}

fn expected_responses_sse(text: &str) -> Expected {
    let events = sse_data(text);
    let done = events
        .iter()
        .find(|(e, _)| e == "response.completed")
        .expect("response.completed");
    let mut e = expected_responses(&done.1["response"]);
    // The final event may omit output the deltas carried; rebuild text and calls from the stream.
    let deltas: String = events
        .iter()
        .filter(|(e, _)| e == "response.output_text.delta")
        .filter_map(|(_, d)| d["delta"].as_str())
        .collect();
    e.text = nonempty(Some(&deltas));
    e.tool_calls = events
        .iter()
        .filter(|(ev, d)| ev == "response.output_item.done" && d["item"]["type"] == "function_call")
        .map(|(_, d)| {
            let i = &d["item"];
            (
                nonempty(i["call_id"].as_str()),
                i["name"].as_str().unwrap().to_owned(),
                i["arguments"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    e.finish = if e.tool_calls.is_empty() {
        "stop".into()
    } else {
        "tool_calls".into()
    };
    e
}

fn expected_error_kind(status: u16, body: &Value) -> &'static str {
    let code = body
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match status {
        400 if code == "context_length_exceeded" => "CONTEXT_LENGTH_EXCEEDED",
        400 => "INVALID_REQUEST",
        401 => "AUTHENTICATION",
        404 => "NOT_FOUND",
        429 => "RATE_LIMITED",
        _ => "PROVIDER_UNAVAILABLE",
    }
}

fn check_response(name: &str, e: &Expected, r: &Value) {
    assert_eq!(
        r["message"]["content"]
            .as_str()
            .map(str::to_owned)
            .filter(|s| !s.is_empty()),
        e.text,
        "{name}: text"
    );
    let calls: Vec<(Option<String>, String, String)> = r["message"]["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["id"].as_str().map(str::to_owned),
                t["function"]["name"].as_str().unwrap().to_owned(),
                t["function"]["arguments"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(calls.len(), e.tool_calls.len(), "{name}: tool call count");
    for (got, want) in calls.iter().zip(&e.tool_calls) {
        match &want.0 {
            Some(id) => assert_eq!(got.0.as_deref(), Some(id.as_str()), "{name}: tool call id"),
            None => assert!(
                got.0.as_deref().is_some_and(|id| id.starts_with("call_")),
                "{name}: synthesised id {got:?}"
            ),
        }
        assert_eq!((&got.1, &got.2), (&want.1, &want.2), "{name}: tool call");
    }
    let finish = match e.finish.as_str() {
        "stop" | "tool_calls" | "length" | "content_filter" => e.finish.clone(),
        _ => "other".into(),
    };
    assert_eq!(r["finish_reason"], json!(finish), "{name}: finish reason");
    let usage = [
        r["usage"]["input_tokens"].as_u64().unwrap(),
        r["usage"]["output_tokens"].as_u64().unwrap(),
        r["usage"]["cached_input_tokens"].as_u64().unwrap(),
        r["usage"]["reasoning_tokens"].as_u64().unwrap(),
    ];
    assert_eq!(usage, e.usage, "{name}: usage [input, output, cached, reasoning]");
    if let Some(m) = &e.model {
        assert_eq!(r["model"], json!(m), "{name}: model");
    }
}

/// Drops `null`s and empty lists, which mean the same as leaving the field out.
fn without_empties(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, x)| !x.is_null() && x.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, x)| (k.clone(), without_empties(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_empties).collect()),
        other => other.clone(),
    }
}

/// Everything the recorded request carried is in what the adapter sent.
fn check_request_fidelity(name: &str, recorded: &Value, sent: &Value) {
    let mut expected = without_empties(recorded);
    let o = expected.as_object_mut().unwrap();
    if o.get("stream") == Some(&json!(false)) {
        o.remove("stream"); // false is the default; the adapter leaves it out
    }
    common::matches(&expected, sent, name).unwrap_or_else(|e| panic!("request fidelity: {e}\nsent: {sent}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_openai_family_recording_replays() {
    let upstream = MockUpstream::start().await.unwrap();
    let dir = recordings::default_dir();
    let mut checked = 0;
    for folder in ["openai", "azure-openai", "openai-compatible"] {
        for name in recordings::list(&dir, folder) {
            let recorded = read_json(&dir.join(format!("{name}.request.json")));
            let meta = read_json(&dir.join(format!("{name}.response.meta.json")));
            let status = meta["status"].as_u64().unwrap() as u16;
            let uri = recorded["uri"].as_str().unwrap();
            let body = &recorded["body"];
            let (id, base) = upstream.scenario(vec![Step {
                replay: Some(name.clone()),
                ..Step::default()
            }]);
            let api = if uri.ends_with("/responses") {
                "responses"
            } else {
                "chat"
            };
            let (provider, base_url) = match folder {
                "azure-openai" => ("azure", base.clone()),
                "openai" => ("openai", format!("{base}/v1")),
                _ => ("openai_compatible", format!("{base}/v1")),
            };
            let config = json!({"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [{
                "provider": provider, "model": body["model"], "api_key": "sk-replay-secret-0001",
                "base_url": base_url, "api": api}]}]});
            let client = Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap();
            let streamed = body["stream"] == json!(true);

            let result: Value = if uri.ends_with("/embeddings") {
                let req = EmbedRequest::from_value(
                    json!({"model": "m", "input": body["input"], "dimensions": body["dimensions"]}),
                )
                .unwrap();
                match client.embed(req).await {
                    Ok(r) => json!({"response": serde_json::to_value(r).unwrap()}),
                    Err(e) => json!({"error": e.to_value()}),
                }
            } else {
                let req = if api == "responses" {
                    responses_request(body)
                } else {
                    chat_request(body)
                };
                if streamed {
                    common::collect_stream(client.stream(req)).await
                } else {
                    match client.chat(req).await {
                        Ok(r) => json!({"response": serde_json::to_value(r).unwrap()}),
                        Err(e) => json!({"error": e.to_value()}),
                    }
                }
            };

            let sent = upstream.requests(&id);
            assert_eq!(sent.len(), 1, "{name}: one request (no retries)");
            let mut recorded_body = body.clone();
            if provider == "openai_compatible" {
                // Compatible servers get the widely supported `max_tokens` spelling.
                if let Some(v) = recorded_body
                    .as_object_mut()
                    .unwrap()
                    .remove("max_completion_tokens")
                {
                    recorded_body["max_tokens"] = v;
                }
            }
            if uri.ends_with("/embeddings") {
                // Both forms are valid; the adapter asks OpenAI for base64 like the recording did.
                recorded_body.as_object_mut().unwrap().remove("encoding_format");
            }
            check_request_fidelity(&name, &recorded_body, &sent[0].body);
            let (header, want) = if provider == "azure" {
                ("api-key", "sk-replay-secret-0001")
            } else {
                ("authorization", "Bearer sk-replay-secret-0001")
            };
            assert_eq!(
                sent[0].headers.get(header).map(String::as_str),
                Some(want),
                "{name}: auth header"
            );

            let body_path = |ext: &str| dir.join(format!("{name}.response.{ext}"));
            if status >= 400 {
                let err_body = read_json(&body_path("json"));
                let want_kind = expected_error_kind(status, &err_body);
                let err = &result["error"];
                assert_eq!(err["code"], json!(want_kind), "{name}: {result}");
                assert_eq!(err["status"], json!(status), "{name}");
                let msg = err_body
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap();
                assert!(
                    err["message"]
                        .as_str()
                        .unwrap()
                        .starts_with(&msg[..msg.len().min(40)]),
                    "{name}: {err}"
                );
            } else if uri.ends_with("/embeddings") {
                let raw = read_json(&body_path("json"));
                let vectors = result["response"]["embeddings"].as_array().unwrap();
                assert_eq!(vectors.len(), raw["data"].as_array().unwrap().len(), "{name}");
                let dims = body["dimensions"].as_u64().unwrap() as usize;
                assert_eq!(vectors[0].as_array().unwrap().len(), dims, "{name}: dimensions");
                assert_eq!(
                    result["response"]["usage"]["input_tokens"], raw["usage"]["prompt_tokens"],
                    "{name}"
                );
            } else {
                let expected = match (api, streamed) {
                    ("chat", false) => expected_chat_json(&read_json(&body_path("json"))),
                    ("chat", true) => expected_chat_sse(&std::fs::read_to_string(body_path("sse")).unwrap()),
                    (_, false) => expected_responses(&read_json(&body_path("json"))),
                    (_, true) => expected_responses_sse(&std::fs::read_to_string(body_path("sse")).unwrap()),
                };
                match &expected.error {
                    Some((code, msg)) => {
                        assert_eq!(result["error"]["status"], json!(code), "{name}: {result}");
                        assert_eq!(result["error"]["message"], json!(msg), "{name}");
                    }
                    None => {
                        let r = result
                            .get("response")
                            .unwrap_or_else(|| panic!("{name}: {result}"));
                        check_response(&name, &expected, r);
                        if streamed {
                            assert_eq!(
                                result["text"]
                                    .as_str()
                                    .filter(|t| !t.is_empty())
                                    .map(str::to_owned),
                                expected.text,
                                "{name}: streamed deltas"
                            );
                        }
                    }
                }
            }
            checked += 1;
        }
    }
    let on_disk = ["openai", "azure-openai", "openai-compatible"]
        .iter()
        .flat_map(|f| std::fs::read_dir(dir.join(f)).unwrap())
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".request.json")
        })
        .count();
    assert_eq!(checked, on_disk, "every recording was replayed");
    assert!(checked >= 30);
}
