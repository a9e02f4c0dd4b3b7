//! Every Bedrock recording replays through the `bedrock` adapter, signed with SigV4 and
//! verified by the mock upstream: the unified request is rebuilt from the recorded Converse
//! body (test-side, independent of the adapter), sent through a `Client`, and the mock answers
//! with the recorded bytes (eventstream byte-exact). Text, reasoning (with its signature),
//! tool calls, finish reason and every usage field are checked against values read straight
//! from the recording; the decoded stream frames match the `.decoded.jsonl` files; the body
//! the adapter sent carries every recorded member it can express. Also: AWS fault shapes
//! (throttling → another family; mid-stream exceptions; CRC corruption), clock skew corrected
//! from the server's `Date`, and the SigV4 refusals the mock gives for wrong credentials.

mod common;

use mock_upstream::{ErrorSpec, MockUpstream, Reply, Step, recordings};
use modelplug_core::{ChatRequest, Client, Config, ErrorKind};
use serde_json::{Map, Value, json};

const AKID: &str = "AKIAMODELPLUGTEST01";
const SECRET: &str = "modelplug/test/secret/key/0001";

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

fn client(config: Value) -> Client {
    Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap()
}

fn bedrock_deployment(base: &str, model: &str) -> Value {
    json!({"provider": "bedrock", "model": model, "region": "us-east-1",
        "aws_access_key_id": AKID, "aws_secret_access_key": SECRET, "base_url": base})
}

fn bedrock_config(base: &str, model: &str) -> Value {
    json!({"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [bedrock_deployment(base, model)]}]})
}

/// The model id a recording's URI names (percent-decoded).
fn model_of(uri: &str) -> String {
    let seg = uri.split("/model/").nth(1).unwrap().split('/').next().unwrap();
    seg.replace("%3A", ":")
}

/// Whether the unified request can express every block of a recorded body (documents and
/// system tools it cannot: those recordings check the answer, not the body).
fn expressible(body: &Value) -> bool {
    let text = body.to_string();
    !text.contains("\"document\"") && !text.contains("\"systemTool\"")
}

/// A Converse body as a unified request for alias `m`.
fn unified_request(body: &Value) -> ChatRequest {
    let mut messages = Vec::new();
    let mut pending_system = Vec::new();
    for b in body["system"].as_array().into_iter().flatten() {
        if let Some(t) = b.get("text") {
            pending_system.push(json!({"role": "system", "content": t}));
        } else if b.get("cachePoint").is_some()
            && let Some(last) = pending_system.last_mut()
        {
            last["cache_control"] = json!({"type": "ephemeral"});
        }
    }
    messages.extend(pending_system);
    for m in body["messages"].as_array().unwrap() {
        let role = m["role"].as_str().unwrap();
        let mut parts = Vec::new();
        let mut calls = Vec::new();
        let mut reasoning = Vec::new();
        for b in m["content"].as_array().unwrap() {
            if let Some(t) = b.get("text") {
                parts.push(json!({"type": "text", "text": t}));
            } else if let Some(img) = b.get("image") {
                parts.push(json!({"type": "image", "media_type": format!("image/{}", img["format"].as_str().unwrap()), "data": img["source"]["bytes"]}));
            } else if let Some(u) = b.get("toolUse") {
                calls.push(json!({"id": u["toolUseId"], "type": "function",
                    "function": {"name": u["name"], "arguments": u["input"].to_string()}}));
            } else if let Some(r) = b.get("toolResult") {
                let text: String = r["content"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|c| c["text"].as_str())
                    .collect();
                messages.push(json!({"role": "tool", "tool_call_id": r["toolUseId"], "content": text}));
            } else if let Some(r) = b.get("reasoningContent") {
                let rt = &r["reasoningText"];
                reasoning.push(json!({"type": "thinking", "text": rt["text"], "signature": rt["signature"]}));
            } else if b.get("cachePoint").is_some() {
                // A breakpoint after this message's blocks so far: its own message.
                let mut msg = json!({"role": role, "content": std::mem::take(&mut parts)});
                msg["cache_control"] = json!({"type": "ephemeral"});
                messages.push(msg);
            }
        }
        if !parts.is_empty() || !calls.is_empty() || !reasoning.is_empty() {
            let mut msg = json!({"role": role, "content": parts});
            if !calls.is_empty() {
                msg["tool_calls"] = calls.into();
            }
            if !reasoning.is_empty() {
                msg["reasoning_blocks"] = reasoning.into();
            }
            messages.push(msg);
        }
    }
    let mut req = json!({"model": "m", "messages": messages});
    let inference = &body["inferenceConfig"];
    for (from, to) in [
        ("maxTokens", "max_tokens"),
        ("temperature", "temperature"),
        ("topP", "top_p"),
        ("stopSequences", "stop"),
    ] {
        if let Some(v) = inference.get(from) {
            req[to] = v.clone();
        }
    }
    if let Some(tc) = body.get("toolConfig") {
        let tools: Vec<Value> = tc["tools"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t.get("toolSpec"))
            .map(|s| json!({"type": "function", "function": {"name": s["name"], "description": s["description"], "parameters": s["inputSchema"]["json"]}}))
            .collect();
        req["tools"] = tools.into();
        if let Some(c) = tc.get("toolChoice") {
            req["tool_choice"] = if c.get("any").is_some() {
                json!("required")
            } else if let Some(t) = c.get("tool") {
                json!({"type": "function", "function": {"name": t["name"]}})
            } else {
                json!("auto")
            };
        }
        if tc["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.get("cachePoint").is_some())
        {
            let n = req["tools"].as_array().unwrap().len();
            req["tools"][n - 1]["cache_control"] = json!({"type": "ephemeral"});
        }
    }
    let mut extra = Map::new();
    if let Some(a) = body.get("additionalModelRequestFields") {
        extra.insert("additionalModelRequestFields".into(), a.clone());
    }
    req["extra"] = extra.into();
    ChatRequest::from_value(req).unwrap()
}

/// Removes what the adapter leaves out because it is empty (`"system": []`, `"inferenceConfig": {}`).
fn without_empties(body: &Value) -> Value {
    let mut b = body.clone();
    let o = b.as_object_mut().unwrap();
    o.retain(|_, v| !(v.as_array().is_some_and(Vec::is_empty) || v.as_object().is_some_and(Map::is_empty)));
    b
}

#[derive(Debug, Default)]
struct Expected {
    text: Option<String>,
    reasoning: Option<String>,
    signature: Option<String>,
    /// (id, name, arguments)
    tool_calls: Vec<(String, String, Value)>,
    finish: &'static str,
    /// [input (every prompt token), output, cached read, cache write, total]
    usage: [u64; 5],
}

fn finish_of(stop: &str) -> &'static str {
    match stop {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        other => panic!("a recording with stopReason {other}: add it to the test"),
    }
}

fn usage_of(u: &Value) -> [u64; 5] {
    let g = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let (read, write) = (g("cacheReadInputTokens"), g("cacheWriteInputTokens"));
    let input = g("inputTokens") + read + write;
    [input, g("outputTokens"), read, write, g("totalTokens")]
}

fn push(slot: &mut Option<String>, s: &str) {
    slot.get_or_insert_with(String::new).push_str(s);
}

fn expected_json(body: &Value) -> Expected {
    let mut e = Expected {
        finish: finish_of(body["stopReason"].as_str().unwrap()),
        usage: usage_of(&body["usage"]),
        ..Expected::default()
    };
    for b in body["output"]["message"]["content"].as_array().unwrap() {
        if let Some(t) = b["text"].as_str() {
            push(&mut e.text, t);
        }
        if let Some(u) = b.get("toolUse") {
            e.tool_calls.push((
                u["toolUseId"].as_str().unwrap().into(),
                u["name"].as_str().unwrap().into(),
                u["input"].clone(),
            ));
        }
    }
    e
}

/// The recorded frames, from the `.decoded.jsonl` file.
fn decoded_frames(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn expected_frames(frames: &[Value]) -> Expected {
    let mut e = Expected::default();
    let mut args: Vec<String> = Vec::new();
    for f in frames {
        let p = &f["payload"];
        match f["headers"][":event-type"].as_str().unwrap() {
            "contentBlockStart" => {
                let t = &p["start"]["toolUse"];
                // The caller's tools only: a server tool (Nova's code interpreter) and its
                // result are Bedrock's business.
                if t.is_object() && t["type"] != json!("server_tool_use") {
                    e.tool_calls.push((
                        t["toolUseId"].as_str().unwrap().into(),
                        t["name"].as_str().unwrap().into(),
                        Value::Null,
                    ));
                    args.push(String::new());
                } else {
                    args.push(String::from("skip"));
                }
            }
            "contentBlockDelta" => {
                let d = &p["delta"];
                if let Some(t) = d["text"].as_str() {
                    push(&mut e.text, t);
                }
                if let Some(t) = d["reasoningContent"]["text"].as_str() {
                    push(&mut e.reasoning, t);
                }
                if let Some(s) = d["reasoningContent"]["signature"].as_str() {
                    push(&mut e.signature, s);
                }
                if let Some(i) = d["toolUse"]["input"].as_str() {
                    let a = args.last_mut().unwrap();
                    if a != "skip" {
                        a.push_str(i);
                    }
                }
            }
            "messageStop" => e.finish = finish_of(p["stopReason"].as_str().unwrap()),
            "metadata" => e.usage = usage_of(&p["usage"]),
            _ => {}
        }
    }
    for (call, a) in e
        .tool_calls
        .iter_mut()
        .zip(args.into_iter().filter(|a| a != "skip"))
    {
        call.2 = serde_json::from_str(&a).unwrap();
    }
    e
}

fn check_response(name: &str, e: &Expected, r: &Value) {
    let m = &r["message"];
    assert_eq!(
        m["content"].as_str().filter(|s| !s.is_empty()).map(str::to_owned),
        e.text,
        "{name}: text"
    );
    assert_eq!(
        m["reasoning"].as_str().map(str::to_owned),
        e.reasoning,
        "{name}: reasoning"
    );
    if let Some(sig) = &e.signature {
        assert_eq!(
            m["reasoning_blocks"][0]["signature"],
            json!(sig),
            "{name}: the signature is kept"
        );
        assert_eq!(
            m["reasoning_blocks"][0]["text"].as_str(),
            e.reasoning.as_deref(),
            "{name}"
        );
    }
    let calls = m["tool_calls"].as_array().cloned().unwrap_or_default();
    assert_eq!(calls.len(), e.tool_calls.len(), "{name}: tool calls");
    for (c, (id, fname, args)) in calls.iter().zip(&e.tool_calls) {
        assert_eq!(c["id"], json!(id), "{name}");
        assert_eq!(c["function"]["name"], json!(fname), "{name}");
        let got: Value = serde_json::from_str(c["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(&got, args, "{name}: arguments");
    }
    assert_eq!(r["finish_reason"], json!(e.finish), "{name}: finish");
    let u = &r["usage"];
    let got = [
        u["input_tokens"].as_u64().unwrap(),
        u["output_tokens"].as_u64().unwrap(),
        u["cached_input_tokens"].as_u64().unwrap_or(0),
        u["cache_write_tokens"].as_u64().unwrap_or(0),
        u["total_tokens"].as_u64().unwrap(),
    ];
    assert_eq!(
        got, e.usage,
        "{name}: usage [input, output, cached, written, total]"
    );
    assert_eq!(r["provider"], json!("bedrock"), "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bedrock_recording_replays() {
    let upstream = MockUpstream::start().await.unwrap();
    let dir = recordings::default_dir();
    let mut checked = 0;
    for name in recordings::list(&dir, "bedrock") {
        let recorded = read_json(&dir.join(format!("{name}.request.json")));
        let uri = recorded["uri"].as_str().unwrap();
        let meta = read_json(&dir.join(format!("{name}.response.meta.json")));
        let status = meta["status"].as_u64().unwrap() as u16;
        let body = &recorded["body"];
        let model = model_of(uri);
        let (id, base) = upstream.scenario(vec![Step {
            replay: Some(name.clone()),
            ..Step::default()
        }]);
        let client = client(bedrock_config(&base, &model));
        let path = format!("/model/{}", uri.split("/model/").nth(1).unwrap());
        if uri.ends_with("/invoke") {
            let req = modelplug_core::EmbedRequest::from_value(json!({"model": "m", "input": [body["singleEmbeddingParams"]["text"]["value"]], "dimensions": body["singleEmbeddingParams"]["embeddingDimension"]})).unwrap();
            let r = client.embed(req).await.unwrap_or_else(|e| panic!("{name}: {e}"));
            let want = read_json(&dir.join(format!("{name}.response.json")));
            let want: Vec<f32> = serde_json::from_value(want["embeddings"][0]["embedding"].clone()).unwrap();
            assert_eq!(r.embeddings, [want], "{name}");
            let token_header = meta["headers"]["x-amzn-bedrock-input-token-count"]
                .as_str()
                .unwrap();
            assert_eq!(
                r.usage.input_tokens.to_string(),
                token_header,
                "{name}: tokens from the header"
            );
            let sent = upstream.requests(&id);
            assert_eq!(sent[0].path, path, "{name}");
            checked += 1;
            continue;
        }
        let req = unified_request(body);
        let streamed = uri.ends_with("/converse-stream");
        let result = if streamed {
            common::collect_stream(client.stream(req)).await
        } else {
            match client.chat(req).await {
                Ok(r) => json!({"response": serde_json::to_value(r).unwrap()}),
                Err(e) => json!({"error": e.to_value()}),
            }
        };
        let sent = upstream.requests(&id);
        assert_eq!(sent.len(), 1, "{name}: one request (no retries): {result}");
        assert_eq!(sent[0].path, path, "{name}");
        let auth = sent[0].headers.get("authorization").unwrap();
        assert!(
            auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={AKID}/"))
                && auth.contains("/us-east-1/bedrock/aws4_request"),
            "{name}: {auth}"
        );
        if expressible(body) {
            common::matches(&without_empties(body), &sent[0].body, &name)
                .unwrap_or_else(|e| panic!("{name}: request fidelity: {e}\nsent: {}", sent[0].body));
        }
        if status >= 400 {
            let err_body = read_json(&dir.join(format!("{name}.response.json")));
            let err = &result["error"];
            assert_eq!(err["code"], json!("INVALID_REQUEST"), "{name}: {result}");
            assert_eq!(err["status"], json!(status), "{name}");
            assert_eq!(err["provider"], json!("bedrock"), "{name}");
            assert!(
                err["message"]
                    .as_str()
                    .unwrap()
                    .contains(err_body["message"].as_str().unwrap()),
                "{name}: {err}"
            );
            assert!(!err.to_string().contains(SECRET), "{name}");
        } else {
            let expected = if streamed {
                expected_frames(&decoded_frames(
                    &dir.join(format!("{name}.response.decoded.jsonl")),
                ))
            } else {
                expected_json(&read_json(&dir.join(format!("{name}.response.json"))))
            };
            let r = result
                .get("response")
                .unwrap_or_else(|| panic!("{name}: {result}"));
            check_response(&name, &expected, r);
            assert!(
                r["cost_usd"].as_f64().is_some_and(|c| c > 0.0),
                "{name}: priced from the built-in catalog (AWS's data): {}",
                r["cost_usd"]
            );
            if streamed {
                assert_eq!(
                    result["text"]
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                    expected.text,
                    "{name}: streamed text"
                );
                assert_eq!(
                    result["reasoning"]
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                    expected.reasoning,
                    "{name}: streamed reasoning"
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 11, "every recording was replayed");
}

/// The recorded `.eventstream` files, decoded by the adapter's framing at every split, give
/// exactly the frames of the `.decoded.jsonl` files (names and payloads).
#[test]
fn recorded_eventstreams_decode_to_the_recorded_frames() {
    use modelplug_core::providers::bedrock::error_from_exception;
    use modelplug_core::providers::framing::{EventStreamFraming, Framing};
    let dir = recordings::default_dir().join("bedrock");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("eventstream") {
            continue;
        }
        files += 1;
        let bytes = std::fs::read(&path).unwrap();
        let want = decoded_frames(&path.with_extension("decoded.jsonl"));
        for step in [1, 7, 64, 1400, bytes.len()] {
            let mut framing = EventStreamFraming::new(error_from_exception);
            let mut got = Vec::new();
            for piece in bytes.chunks(step) {
                framing
                    .feed_frames(piece, &mut |f| {
                        got.push((f.event.to_owned(), serde_json::from_str::<Value>(f.data).unwrap()));
                        Ok(())
                    })
                    .unwrap();
            }
            framing.end().unwrap();
            assert_eq!(got.len(), want.len(), "{}", path.display());
            for ((event, payload), w) in got.iter().zip(&want) {
                assert_eq!(event, w["headers"][":event-type"].as_str().unwrap());
                assert_eq!(payload, &w["payload"]);
            }
        }
        // Corruption anywhere is an error, never a panic or a wrong frame.
        for at in (0..bytes.len()).step_by(97) {
            let mut bad = bytes.clone();
            bad[at] ^= 0x20;
            let mut framing = EventStreamFraming::new(error_from_exception);
            let r = framing
                .feed_frames(&bad, &mut |_| Ok(()))
                .and_then(|()| framing.end());
            assert!(
                r.is_err(),
                "{}: a flipped byte at {at} went unnoticed",
                path.display()
            );
        }
    }
    assert_eq!(files, 3);
}

fn two_family_config(base: &str) -> Value {
    json!({"models": [{"name": "m", "retry": {"attempts": 0, "backoff_ms": 1, "max_backoff_ms": 2}, "deployments": [
        {"name": "first", "provider": "bedrock", "model": "us.amazon.nova-micro-v1:0", "region": "us-east-1",
         "aws_access_key_id": AKID, "aws_secret_access_key": SECRET, "base_url": base},
        {"name": "second", "provider": "anthropic", "model": "claude-haiku-4-5", "api_key": "sk-ant-test-0001", "base_url": base}]}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_falls_back_to_another_family_and_faults_are_typed() {
    let upstream = MockUpstream::start().await.unwrap();
    let throttled = Step {
        status: Some(429),
        error: Some(ErrorSpec {
            message: "Too many requests, please wait before trying again.".into(),
            kind: Some("ThrottlingException".into()),
            ..ErrorSpec::default()
        }),
        ..Step::default()
    };
    let answer = Step {
        reply: Some(Reply {
            text: "Paris.".into(),
            ..Reply::default()
        }),
        ..Step::default()
    };
    let (id, base) = upstream.scenario(vec![throttled.clone(), answer.clone()]);
    let r = client(two_family_config(&base))
        .chat(ChatRequest::new("m", "Capital of France?"))
        .await
        .unwrap();
    assert_eq!((r.provider.as_str(), r.text()), ("anthropic", "Paris."));
    assert_eq!(
        r.attempts[0].error.as_ref().map(|c| c.as_str()),
        Some("RATE_LIMITED")
    );
    let paths: Vec<String> = upstream.requests(&id).iter().map(|q| q.path.clone()).collect();
    assert_eq!(
        paths,
        ["/model/us.amazon.nova-micro-v1%3A0/converse", "/v1/messages"]
    );

    // Context too long: typed, no retry.
    let (_, base) = upstream.scenario(vec![Step {
        status: Some(400),
        error: Some(ErrorSpec {
            message: "Input is too long for requested model.".into(),
            kind: Some("ValidationException".into()),
            ..ErrorSpec::default()
        }),
        ..Step::default()
    }]);
    let e = client(bedrock_config(&base, "us.amazon.nova-micro-v1:0"))
        .chat(ChatRequest::new("m", "hi"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ContextLengthExceeded);
    assert_eq!(e.provider_code(), Some("ValidationException"));

    // A throttling exception after content started: an error on the stream, after the text.
    let (_, base) = upstream.scenario(vec![Step {
        reply: Some(Reply {
            text: "The capital of France is Paris.".into(),
            ..Reply::default()
        }),
        stream_exception: Some(mock_upstream::scenario::StreamException {
            kind: Some("throttlingException".into()),
            message: "Too many tokens, please wait before trying again.".into(),
            after_frames: 3,
            ..Default::default()
        }),
        ..Step::default()
    }]);
    let out = common::collect_stream(
        client(bedrock_config(&base, "us.amazon.nova-micro-v1:0")).stream(ChatRequest::new("m", "hi")),
    )
    .await;
    assert_eq!(out["error"]["code"], json!("RATE_LIMITED"), "{out}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Too many tokens"),
        "{out}"
    );
    assert!(!out["text"].as_str().unwrap().is_empty(), "{out}");

    // A flipped byte: the CRC check fails, typed.
    let (_, base) = upstream.scenario(vec![Step {
        reply: Some(Reply {
            text: "The capital of France is Paris.".into(),
            ..Reply::default()
        }),
        flip_byte_at: Some(200),
        ..Step::default()
    }]);
    let out = common::collect_stream(
        client(bedrock_config(&base, "us.amazon.nova-micro-v1:0")).stream(ChatRequest::new("m", "hi")),
    )
    .await;
    assert_eq!(out["error"]["code"], json!("PROVIDER_UNAVAILABLE"), "{out}");
    assert!(
        out["error"]["message"].as_str().unwrap().contains("checksum"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skewed_clock_is_corrected_from_the_servers_date() {
    let upstream = MockUpstream::start().await.unwrap();
    let (id, base) = upstream.scenario(vec![Step {
        aws_clock_skew_s: 3600,
        reply: Some(Reply {
            text: "on time".into(),
            ..Reply::default()
        }),
        ..Step::default()
    }]);
    let c = client(bedrock_config(&base, "us.amazon.nova-micro-v1:0"));
    let r = c.chat(ChatRequest::new("m", "hi")).await.unwrap();
    assert_eq!(r.text(), "on time");
    assert_eq!(
        upstream.requests(&id).len(),
        2,
        "refused once, then signed with the server's time"
    );
    // The corrected clock stays: the next call passes at once.
    c.chat(ChatRequest::new("m", "again")).await.unwrap();
    assert_eq!(upstream.requests(&id).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_refused_and_never_shown() {
    let upstream = MockUpstream::start().await.unwrap();
    let step = || Step {
        reply: Some(Reply {
            text: "x".into(),
            ..Reply::default()
        }),
        ..Step::default()
    };
    let (_, base) = upstream.scenario(vec![step()]);
    let mut config = bedrock_config(&base, "us.amazon.nova-micro-v1:0");
    config["models"][0]["deployments"][0]["aws_secret_access_key"] = json!("not-the-secret-0001");
    let parsed = Config::from_json_value(&config, &|_| None).unwrap();
    assert!(
        !format!("{parsed:?}").contains("not-the-secret-0001"),
        "Debug of the config"
    );
    let e = client(config)
        .chat(ChatRequest::new("m", "hi"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert_eq!(e.provider_code(), Some("InvalidSignatureException"));
    let shown = format!("{e} {e:?} {}", e.to_value());
    assert!(
        !shown.contains("not-the-secret-0001") && !shown.contains("Signature="),
        "{shown}"
    );

    // Temporary keys carry their session token (signed); a Bedrock API key goes as a bearer.
    let mut config = bedrock_config(&base, "us.amazon.nova-micro-v1:0");
    let d = &mut config["models"][0]["deployments"][0];
    d["aws_access_key_id"] = json!("ASIAMODELPLUGTEMP01");
    d["aws_secret_access_key"] = json!("modelplug/test/temporary/secret/01");
    d["aws_session_token"] = json!("modelplug-test-session-token-01");
    client(config).chat(ChatRequest::new("m", "hi")).await.unwrap();
    let (id, base) = upstream.scenario(vec![step()]);
    let config = json!({"models": [{"name": "m", "deployments": [{"provider": "bedrock", "model": "us.amazon.nova-micro-v1:0",
        "region": "us-east-1", "api_key": "ABSKbW9kZWxwbHVnLXRlc3Qta2V5", "base_url": base}]}]});
    client(config).chat(ChatRequest::new("m", "hi")).await.unwrap();
    assert_eq!(
        upstream.requests(&id)[0].headers["authorization"],
        "Bearer ABSKbW9kZWxwbHVnLXRlc3Qta2V5"
    );
}
