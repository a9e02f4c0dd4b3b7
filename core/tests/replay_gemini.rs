//! Every Gemini and Vertex AI recording replays through the `gemini` / `vertex` adapters: the
//! unified request is rebuilt from the recorded body (test-side, independent of the adapter),
//! sent through a `Client`, and the mock upstream answers with the recorded bytes (SSE, a
//! streamed JSON array, or JSON). Text, reasoning, tool calls, finish reason and every usage
//! field are checked against values read straight from the recording, and the body the
//! adapter sent must carry the recorded conversation. Also: Google fault envelopes (429
//! RESOURCE_EXHAUSTED with RetryInfo, 503), cross-family failover, streams cut before their
//! finish reason, corrupted streams, Vertex service-account tokens, and Claude on Vertex.

mod common;

use mock_upstream::{MockUpstream, Step, recordings};
use modelplug_core::{ChatRequest, Client, Config, EmbedRequest};
use serde_json::{Map, Value, json};

const KEY: &str = "AIza-replay-secret-0001";
const TOKEN: &str = "ya29.vertex-replay-token-0001";

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

/// The recorded body with protobuf's snake_case field names (which Google accepts too) in
/// the camelCase the adapter writes; JSON inside `args`, `response` and schemas is left alone.
fn camel_case(v: &Value) -> Value {
    const NAMES: [(&str, &str); 8] = [
        ("function_call", "functionCall"),
        ("function_response", "functionResponse"),
        ("thought_signature", "thoughtSignature"),
        ("file_data", "fileData"),
        ("file_uri", "fileUri"),
        ("mime_type", "mimeType"),
        ("inline_data", "inlineData"),
        ("parameters_json_schema", "parametersJsonSchema"),
    ];
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let k = NAMES
                        .iter()
                        .find(|(s, _)| s == k)
                        .map_or(k.as_str(), |(_, c)| c)
                        .to_owned();
                    let v = if matches!(
                        k.as_str(),
                        "args" | "response" | "parametersJsonSchema" | "responseJsonSchema"
                    ) {
                        v.clone()
                    } else {
                        camel_case(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(camel_case).collect()),
        other => other.clone(),
    }
}

/// A `generateContent` body (camelCase) as a unified request for alias `m`.
fn unified_request(body: &Value) -> ChatRequest {
    let mut messages = Vec::new();
    if let Some(parts) = body.pointer("/systemInstruction/parts").and_then(Value::as_array) {
        let text: String = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        messages.push(json!({"role": "system", "content": text}));
    }
    let mut n = 0;
    for c in body["contents"].as_array().unwrap() {
        let role = c["role"].as_str().unwrap_or("user");
        let mut texts = Vec::new();
        let mut calls = Vec::new();
        for p in c["parts"].as_array().unwrap() {
            if let Some(t) = p["text"].as_str() {
                texts.push(json!({"type": "text", "text": t}));
            } else if let Some(call) = p.get("functionCall") {
                n += 1;
                let id = call["id"].as_str().map_or_else(|| format!("c{n}"), str::to_owned);
                let mut c = json!({"id": id, "type": "function",
                    "function": {"name": call["name"], "arguments": call["args"].to_string()}});
                if let Some(sig) = p.get("thoughtSignature") {
                    c["signature"] = sig.clone();
                }
                calls.push(c);
            } else if let Some(r) = p.get("functionResponse") {
                let id = r["id"].as_str().map_or_else(|| format!("c{n}"), str::to_owned);
                let mut content = Vec::new();
                if r["response"] != json!({}) {
                    content.push(json!({"type": "text", "text": r["response"].to_string()}));
                }
                for part in r["parts"].as_array().into_iter().flatten() {
                    content.push(json!({"type": "image", "url": part["fileData"]["fileUri"]}));
                }
                messages.push(json!({"role": "tool", "tool_call_id": id, "content": content}));
            } else {
                panic!("part {p}");
            }
        }
        let role = if role == "model" { "assistant" } else { "user" };
        if !texts.is_empty() || !calls.is_empty() {
            let mut m = json!({"role": role, "content": texts});
            if !calls.is_empty() {
                m["tool_calls"] = calls.into();
            }
            messages.push(m);
        }
    }
    let mut req = json!({"model": "m", "messages": messages});
    let mut extra = Map::new();
    for (k, v) in body.as_object().unwrap() {
        match k.as_str() {
            "contents" | "systemInstruction" => {}
            "tools" => {
                req["tools"] = v[0]["functionDeclarations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| {
                        let schema = d.get("parameters").or_else(|| d.get("parameters_json_schema")).cloned();
                        json!({"type": "function", "function": {"name": d["name"], "description": d["description"],
                            "parameters": schema}})
                    })
                    .collect()
            }
            "generationConfig" => {
                let mut rest = v.as_object().unwrap().clone();
                if let Some(schema) = rest.remove("responseJsonSchema") {
                    rest.remove("responseMimeType");
                    req["response_format"] =
                        json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}});
                }
                if !rest.is_empty() {
                    extra.insert(k.clone(), Value::Object(rest));
                }
            }
            _ => {
                extra.insert(k.clone(), v.clone());
            }
        }
    }
    req["extra"] = extra.into();
    ChatRequest::from_value(req).unwrap()
}

/// What the recording says the answer was.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    text: Option<String>,
    reasoning: Option<String>,
    /// (name, arguments)
    tool_calls: Vec<(String, Value)>,
    finish: &'static str,
    /// [input, output, cached, cache write, reasoning, total]
    usage: [u64; 6],
    model: String,
}

fn push(slot: &mut Option<String>, s: &str) {
    if !s.is_empty() {
        slot.get_or_insert_with(String::new).push_str(s);
    }
}

fn expected_of(chunks: &[Value]) -> Expected {
    let mut e = Expected::default();
    let mut usage = [0u64; 6];
    for c in chunks {
        if let Some(m) = c["modelVersion"].as_str() {
            e.model = m.to_owned();
        }
        let cand = &c["candidates"][0];
        for p in cand["content"]["parts"].as_array().into_iter().flatten() {
            if let Some(call) = p.get("functionCall") {
                e.tool_calls
                    .push((call["name"].as_str().unwrap().to_owned(), call["args"].clone()));
            } else if let Some(t) = p["text"].as_str() {
                if p["thought"] == json!(true) {
                    push(&mut e.reasoning, t);
                } else {
                    push(&mut e.text, t);
                }
            }
        }
        if let Some(f) = cand["finishReason"].as_str() {
            e.finish = match f {
                "STOP" if !e.tool_calls.is_empty() => "tool_calls",
                "STOP" => "stop",
                "MAX_TOKENS" => "length",
                other => panic!("finish {other}: add it to the test"),
            };
        }
        // The counts of the chunk that finishes the answer are final (earlier ones are
        // provisional: stream_sse_text counts its prompt 15, then 13).
        if cand.get("finishReason").is_some() {
            let u = &c["usageMetadata"];
            let g = |k: &str| u[k].as_u64().unwrap_or(0);
            let input = g("promptTokenCount") + g("toolUsePromptTokenCount");
            let output = g("candidatesTokenCount") + g("thoughtsTokenCount");
            usage = [
                input,
                output,
                g("cachedContentTokenCount"),
                0,
                g("thoughtsTokenCount"),
                g("totalTokenCount"),
            ];
        }
    }
    for (_, args) in &mut e.tool_calls {
        if args.is_null() {
            *args = json!({});
        }
    }
    e.usage = usage;
    e
}

fn sse_chunks(text: &str) -> Vec<Value> {
    text.split("\r\n")
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn check_response(name: &str, e: &Expected, r: &Value, provider: &str) {
    assert_eq!(
        r["message"]["content"].as_str().map(str::to_owned),
        e.text,
        "{name}: text"
    );
    assert_eq!(
        r["message"]["reasoning"].as_str().map(str::to_owned),
        e.reasoning,
        "{name}: reasoning"
    );
    let calls: Vec<(String, Value)> = r["message"]["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            assert!(
                !t["id"].as_str().unwrap().is_empty(),
                "{name}: every call has an id"
            );
            (
                t["function"]["name"].as_str().unwrap().to_owned(),
                serde_json::from_str(t["function"]["arguments"].as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(calls, e.tool_calls, "{name}: tool calls");
    assert_eq!(r["finish_reason"], json!(e.finish), "{name}: finish reason");
    let usage = [
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "total_tokens",
    ]
    .map(|k| r["usage"][k].as_u64().unwrap());
    assert_eq!(
        usage, e.usage,
        "{name}: usage [input, output, cached, cache write, reasoning, total]"
    );
    assert_eq!(r["model"], json!(e.model), "{name}: model");
    assert_eq!(r["provider"], json!(provider), "{name}");
}

fn client(config: Value) -> Client {
    Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap()
}

/// The recorded model name and whether the call streamed, from the recorded URI.
fn model_and_method(uri: &str) -> (String, String) {
    let tail = uri.rsplit("/models/").next().unwrap();
    let tail = tail.split('?').next().unwrap();
    let (model, method) = tail.split_once(':').unwrap();
    (model.to_owned(), method.to_owned())
}

fn deployment(family: &str, base: &str, model: &str) -> Value {
    match family {
        "gemini" => json!({"provider": "gemini", "model": model, "api_key": KEY, "base_url": base}),
        _ => json!({"provider": "vertex", "model": model, "api_key": TOKEN, "base_url": base,
                    "project": "pydantic-ai", "location": "global"}),
    }
}

/// Drops what the unified form does not restate: ids the recording's calls lacked, an empty
/// `generationConfig`, the role of a system instruction, and the tool declarations (compared
/// by name: the adapter sends full JSON Schema as `parametersJsonSchema`).
fn comparable(body: &Value, sent: &Value) -> (Value, Value) {
    let mut want = body.clone();
    let mut got = sent.clone();
    for v in [&mut want, &mut got] {
        let o = v.as_object_mut().unwrap();
        o.remove("tools");
        if o.get("generationConfig") == Some(&json!({})) {
            o.remove("generationConfig");
        }
        if let Some(s) = o.get_mut("systemInstruction") {
            s.as_object_mut().unwrap().remove("role");
        }
    }
    // Ids the recording did not send are the adapter's own (it always sends them back).
    let w = want["contents"].as_array().unwrap().clone();
    for (ci, c) in w.iter().enumerate() {
        for (pi, p) in c["parts"].as_array().unwrap().iter().enumerate() {
            for key in ["functionCall", "functionResponse"] {
                if p.get(key).is_some() && p[key].get("id").is_none() {
                    got["contents"][ci]["parts"][pi][key]
                        .as_object_mut()
                        .unwrap()
                        .remove("id");
                }
            }
        }
    }
    (want, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_gemini_and_vertex_recording_replays() {
    let upstream = MockUpstream::start().await.unwrap();
    let dir = recordings::default_dir();
    let mut checked = 0;
    let mut on_disk = 0;
    for family in ["gemini", "vertex"] {
        for name in recordings::list(&dir, family) {
            on_disk += 1;
            let recorded = read_json(&dir.join(format!("{name}.request.json")));
            let meta = read_json(&dir.join(format!("{name}.response.meta.json")));
            let status = meta["status"].as_u64().unwrap() as u16;
            let uri = recorded["uri"].as_str().unwrap();
            let (model, method) = model_and_method(uri);
            if method == "countTokens" {
                // Token counting is not a call modelplug makes (it prices the usage an answer reports).
                continue;
            }
            let body = &camel_case(&recorded["body"]);
            let (id, base) = upstream.scenario(vec![Step {
                replay: Some(name.clone()),
                ..Step::default()
            }]);
            let config = json!({"models": [{"name": "m", "retry": {"attempts": 0},
                "deployments": [deployment(family, &base, &model)]}]});
            let client = client(config);
            let body_path = |ext: &str| dir.join(format!("{name}.response.{ext}"));
            if method == "batchEmbedContents" {
                let texts: Vec<String> = body["requests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["content"]["parts"][0]["text"].as_str().unwrap().to_owned())
                    .collect();
                let r = client.embed(EmbedRequest::new("m", texts.clone())).await.unwrap();
                let want = read_json(&body_path("json"));
                let want: Vec<Vec<f32>> = want["embeddings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| {
                        e["values"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x.as_f64().unwrap() as f32)
                            .collect()
                    })
                    .collect();
                assert_eq!(r.embeddings, want, "{name}");
                let sent = upstream.requests(&id);
                assert_eq!(sent[0].body, *body, "{name}: the batch body");
                assert!(
                    r.usage.input_tokens > 0,
                    "{name}: Gemini counts no embedding tokens: estimated"
                );
                checked += 1;
                continue;
            }
            {
                let req = unified_request(body);
                let streamed = method == "streamGenerateContent";
                let result = if streamed {
                    common::collect_stream(client.stream(req)).await
                } else {
                    match client.chat(req).await {
                        Ok(r) => json!({"response": serde_json::to_value(r).unwrap()}),
                        Err(e) => json!({"error": e.to_value()}),
                    }
                };
                let sent = upstream.requests(&id);
                assert_eq!(sent.len(), 1, "{name}: one request (no retries)");
                let (want, got) = comparable(body, &sent[0].body);
                common::matches(&want, &got, &name)
                    .unwrap_or_else(|e| panic!("request fidelity: {e}\nsent: {}", sent[0].body));
                assert_eq!(
                    want.as_object().unwrap().len(),
                    got.as_object().unwrap().len(),
                    "{name}: fields sent: {got}"
                );
                let names = |v: &Value| -> Vec<String> {
                    v["tools"][0]["functionDeclarations"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|d| d["name"].as_str().unwrap().to_owned())
                        .collect()
                };
                assert_eq!(names(&sent[0].body), names(body), "{name}: tools");
                if family == "gemini" {
                    assert_eq!(
                        sent[0].headers.get("x-goog-api-key").map(String::as_str),
                        Some(KEY)
                    );
                    assert!(!sent[0].headers.contains_key("authorization"));
                } else {
                    assert_eq!(
                        sent[0].headers.get("authorization").map(String::as_str),
                        Some(format!("Bearer {TOKEN}").as_str())
                    );
                    assert_eq!(
                        sent[0].path,
                        format!(
                            "/v1/projects/pydantic-ai/locations/global/publishers/google/models/{model}:{method}"
                        )
                    );
                }
                if streamed {
                    assert_eq!(sent[0].query.as_deref(), Some("alt=sse"), "{name}");
                }
                if status >= 400 {
                    let err_body = read_json(&body_path("json"));
                    let err = &result["error"];
                    let want_code = match status {
                        400 => "INVALID_REQUEST",
                        404 => "NOT_FOUND",
                        429 => "RATE_LIMITED",
                        _ => "PROVIDER_UNAVAILABLE",
                    };
                    assert_eq!(err["code"], json!(want_code), "{name}: {result}");
                    assert_eq!(err["status"], json!(status), "{name}");
                    assert_eq!(err["provider"], json!(family), "{name}");
                    assert_eq!(err["message"], err_body["error"]["message"], "{name}");
                    assert_eq!(err["provider_code"], err_body["error"]["status"], "{name}");
                } else {
                    let chunks = if body_path("sse").exists() {
                        sse_chunks(&std::fs::read_to_string(body_path("sse")).unwrap())
                    } else {
                        match read_json(&body_path("json")) {
                            Value::Array(items) => items,
                            one => vec![one],
                        }
                    };
                    let expected = expected_of(&chunks);
                    let r = result
                        .get("response")
                        .unwrap_or_else(|| panic!("{name}: {result}"));
                    check_response(&name, &expected, r, family);
                    assert!(
                        r["cost_usd"].as_f64().is_some_and(|c| c > 0.0),
                        "{name}: priced from the built-in catalog: {}",
                        r["cost_usd"]
                    );
                    if streamed {
                        let nonempty = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
                        assert_eq!(
                            nonempty(&result["text"]),
                            expected.text,
                            "{name}: streamed text deltas"
                        );
                        assert_eq!(
                            nonempty(&result["reasoning"]),
                            expected.reasoning,
                            "{name}: streamed reasoning"
                        );
                    }
                }
            }
            checked += 1;
        }
    }
    assert_eq!(
        checked + 1,
        on_disk,
        "every recording but count_tokens was replayed"
    );
    assert_eq!(checked, 13);
}
