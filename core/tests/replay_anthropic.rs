//! Every Anthropic recording replays through the `anthropic` adapter: the unified request is
//! rebuilt from the recorded Messages body (test-side, independent of the adapter), sent
//! through a `Client`, and the mock upstream answers with the recorded bytes. Text, reasoning,
//! tool calls, finish reason and every usage field are checked against values read straight
//! from the recording, and the body the adapter sent must equal the recorded one (the same
//! top-level fields, every recorded value). Also: Anthropic fault envelopes from the mock
//! (529 overloaded → fallback to another deployment; 429 with retry-after), a stream cut
//! before `message_stop`, an `error` event mid-stream, and the cost of a cache-using call.

#[path = "common/anthropic.rs"]
mod anthropic;
mod common;

use anthropic::unified_request;

use mock_upstream::{ErrorSpec, MockUpstream, Reply, Step, recordings};
use modelplug_core::{ChatRequest, Client, Config};
use serde_json::{Value, json};

const KEY: &str = "sk-ant-replay-secret-0001";

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

/// What the recording says the answer was, read from the raw body.
#[derive(Debug, Default)]
struct Expected {
    text: Option<String>,
    reasoning: Option<String>,
    /// (id, name, arguments as JSON)
    tool_calls: Vec<(String, String, Value)>,
    finish: &'static str,
    /// [input (all prompt tokens), output, cached read, cache write, reasoning, total]
    usage: [u64; 6],
    model: String,
}

fn finish_of(stop_reason: &str) -> &'static str {
    match stop_reason {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        other => panic!("a recording with stop_reason {other}: add it to the test"),
    }
}

fn u(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn push(slot: &mut Option<String>, s: &str) {
    slot.get_or_insert_with(String::new).push_str(s);
}

const REDACTED: &str = "[redacted thinking]";

fn expected_json(body: &Value) -> Expected {
    let mut e = Expected {
        finish: finish_of(body["stop_reason"].as_str().unwrap()),
        model: body["model"].as_str().unwrap().to_owned(),
        ..Expected::default()
    };
    for b in body["content"].as_array().unwrap() {
        match b["type"].as_str().unwrap() {
            "text" => push(&mut e.text, b["text"].as_str().unwrap()),
            "thinking" => push(&mut e.reasoning, b["thinking"].as_str().unwrap()),
            "redacted_thinking" => push(&mut e.reasoning, REDACTED),
            "tool_use" => e.tool_calls.push((
                b["id"].as_str().unwrap().to_owned(),
                b["name"].as_str().unwrap().to_owned(),
                b["input"].clone(),
            )),
            other => panic!("block {other}"),
        }
    }
    let us = &body["usage"];
    let (read, write) = (
        u(us, "cache_read_input_tokens"),
        u(us, "cache_creation_input_tokens"),
    );
    let input = u(us, "input_tokens") + read + write;
    let output = u(us, "output_tokens");
    e.usage = [input, output, read, write, 0, input + output];
    e
}

fn sse_events(text: &str) -> Vec<Value> {
    text.split('\n')
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn expected_sse(text: &str) -> Expected {
    let mut e = Expected::default();
    let mut args: Vec<String> = Vec::new();
    let (mut input, mut read, mut write, mut output) = (0, 0, 0, 0);
    for ev in sse_events(text) {
        match ev["type"].as_str().unwrap() {
            "message_start" => {
                let m = &ev["message"];
                e.model = m["model"].as_str().unwrap().to_owned();
                input = u(&m["usage"], "input_tokens");
                read = u(&m["usage"], "cache_read_input_tokens");
                write = u(&m["usage"], "cache_creation_input_tokens");
                output = u(&m["usage"], "output_tokens");
            }
            "content_block_start" => {
                let b = &ev["content_block"];
                match b["type"].as_str().unwrap() {
                    "text" | "thinking" => {
                        assert!(b["text"].as_str().unwrap_or_default().is_empty());
                        assert!(b["thinking"].as_str().unwrap_or_default().is_empty());
                    }
                    "redacted_thinking" => push(&mut e.reasoning, REDACTED),
                    "tool_use" => {
                        e.tool_calls.push((
                            b["id"].as_str().unwrap().to_owned(),
                            b["name"].as_str().unwrap().to_owned(),
                            Value::Null,
                        ));
                        args.push(String::new());
                    }
                    other => panic!("block {other}"),
                }
            }
            "content_block_delta" => {
                let d = &ev["delta"];
                match d["type"].as_str().unwrap() {
                    "text_delta" => push(&mut e.text, d["text"].as_str().unwrap()),
                    "thinking_delta" => {
                        let t = d["thinking"].as_str().unwrap();
                        if !t.is_empty() {
                            push(&mut e.reasoning, t);
                        }
                    }
                    "input_json_delta" => args
                        .last_mut()
                        .unwrap()
                        .push_str(d["partial_json"].as_str().unwrap()),
                    "signature_delta" => {}
                    other => panic!("delta {other}"),
                }
            }
            "message_delta" => {
                e.finish = finish_of(ev["delta"]["stop_reason"].as_str().unwrap());
                let us = &ev["usage"];
                input = input.max(u(us, "input_tokens"));
                read = read.max(u(us, "cache_read_input_tokens"));
                write = write.max(u(us, "cache_creation_input_tokens"));
                output = output.max(u(us, "output_tokens"));
            }
            "content_block_stop" | "message_stop" | "ping" => {}
            other => panic!("event {other}"),
        }
    }
    for (call, a) in e.tool_calls.iter_mut().zip(args) {
        call.2 = if a.is_empty() {
            json!({})
        } else {
            serde_json::from_str(&a).unwrap()
        };
    }
    let all_input = input + read + write;
    e.usage = [all_input, output, read, write, 0, all_input + output];
    e
}

fn check_response(name: &str, e: &Expected, r: &Value) {
    let text = r["message"]["content"].as_str().map(str::to_owned);
    assert_eq!(text, e.text, "{name}: text");
    let reasoning = r["message"]["reasoning"].as_str().map(str::to_owned);
    assert_eq!(reasoning, e.reasoning, "{name}: reasoning");
    let calls: Vec<(String, String, Value)> = r["message"]["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_owned(),
                t["function"]["name"].as_str().unwrap().to_owned(),
                serde_json::from_str(t["function"]["arguments"].as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(calls, e.tool_calls, "{name}: tool calls");
    assert_eq!(r["finish_reason"], json!(e.finish), "{name}: finish reason");
    let us = &r["usage"];
    let usage = [
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "total_tokens",
    ]
    .map(|k| us[k].as_u64().unwrap());
    assert_eq!(
        usage, e.usage,
        "{name}: usage [input, output, cached, cache write, reasoning, total]"
    );
    assert_eq!(r["model"], json!(e.model), "{name}: model");
    assert_eq!(r["provider"], json!("anthropic"), "{name}");
}

fn client(config: Value) -> Client {
    Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap()
}

fn anthropic_config(base: &str, model: &Value) -> Value {
    json!({"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [{
        "provider": "anthropic", "model": model, "api_key": KEY, "base_url": base}]}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_anthropic_recording_replays() {
    let upstream = MockUpstream::start().await.unwrap();
    let dir = recordings::default_dir();
    let mut checked = 0;
    for name in recordings::list(&dir, "anthropic") {
        let recorded = read_json(&dir.join(format!("{name}.request.json")));
        let meta = read_json(&dir.join(format!("{name}.response.meta.json")));
        let status = meta["status"].as_u64().unwrap() as u16;
        let body = &recorded["body"];
        let (id, base) = upstream.scenario(vec![Step {
            replay: Some(name.clone()),
            ..Step::default()
        }]);
        let client = client(anthropic_config(&base, &body["model"]));
        let req = unified_request(body);
        let streamed = body["stream"] == json!(true);
        let result = if streamed {
            common::collect_stream(client.stream(req)).await
        } else {
            match client.chat(req).await {
                Ok(r) => json!({"response": serde_json::to_value(r).unwrap()}),
                Err(e) => json!({"error": e.to_value()}),
            }
        };

        // What was sent: the recorded body, field for field.
        let sent = upstream.requests(&id);
        assert_eq!(sent.len(), 1, "{name}: one request (no retries)");
        assert_eq!(sent[0].path, "/v1/messages", "{name}");
        assert_eq!(sent[0].headers.get("x-api-key").map(String::as_str), Some(KEY));
        assert_eq!(
            sent[0].headers.get("anthropic-version").map(String::as_str),
            Some("2023-06-01")
        );
        assert!(!sent[0].headers.contains_key("authorization"), "{name}");
        let mut want = body.clone();
        let o = want.as_object_mut().unwrap();
        if o.get("stream") == Some(&json!(false)) {
            o.remove("stream"); // false is the default; the adapter leaves it out
        }
        for m in o["messages"].as_array_mut().unwrap() {
            for b in m["content"].as_array_mut().into_iter().flatten() {
                if b.get("is_error") == Some(&json!(false)) {
                    // The unified tool message has no error flag; false is the default.
                    b.as_object_mut().unwrap().remove("is_error");
                }
            }
        }
        let mut want_keys: Vec<&String> = want.as_object().unwrap().keys().collect();
        let mut sent_keys: Vec<&String> = sent[0].body.as_object().unwrap().keys().collect();
        want_keys.sort();
        sent_keys.sort();
        assert_eq!(sent_keys, want_keys, "{name}: top-level fields sent");
        common::matches(&want, &sent[0].body, &name)
            .unwrap_or_else(|e| panic!("request fidelity: {e}\nsent: {}", sent[0].body));

        let body_path = |ext: &str| dir.join(format!("{name}.response.{ext}"));
        if status >= 400 {
            let err_body = read_json(&body_path("json"));
            let err = &result["error"];
            let want_code = match status {
                400 => "INVALID_REQUEST",
                401 => "AUTHENTICATION",
                404 => "NOT_FOUND",
                429 => "RATE_LIMITED",
                _ => "PROVIDER_UNAVAILABLE",
            };
            assert_eq!(err["code"], json!(want_code), "{name}: {result}");
            assert_eq!(err["status"], json!(status), "{name}");
            assert_eq!(err["provider"], json!("anthropic"), "{name}");
            assert_eq!(err["message"], err_body["error"]["message"], "{name}");
            assert_eq!(err["provider_code"], err_body["error"]["type"], "{name}");
            assert_eq!(err["request_id"], err_body["request_id"], "{name}");
            assert!(!err.to_string().contains(KEY), "{name}");
        } else {
            let expected = if streamed {
                expected_sse(&std::fs::read_to_string(body_path("sse")).unwrap())
            } else {
                expected_json(&read_json(&body_path("json")))
            };
            let r = result
                .get("response")
                .unwrap_or_else(|| panic!("{name}: {result}"));
            check_response(&name, &expected, r);
            assert!(
                r["cost_usd"].as_f64().is_some_and(|c| c > 0.0),
                "{name}: priced from the built-in catalog: {}",
                r["cost_usd"]
            );
            if streamed {
                assert_eq!(
                    nonempty(&result["text"]),
                    expected.text,
                    "{name}: streamed text deltas"
                );
                assert_eq!(
                    nonempty(&result["reasoning"]),
                    expected.reasoning,
                    "{name}: streamed reasoning deltas"
                );
            }
        }
        checked += 1;
    }
    let on_disk = std::fs::read_dir(dir.join("anthropic"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".request.json")
        })
        .count();
    assert_eq!(checked, on_disk, "every recording was replayed");
    assert_eq!(checked, 14);
}

fn nonempty(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_write_is_priced_apart() {
    // messages_nonstream_cache_read: input 3, cache write 418, cache read 1111, output 33 on
    // claude-sonnet-4-5 (per million: input $3, cache write $3.75, cache read $0.30, output $15).
    let upstream = MockUpstream::start().await.unwrap();
    let name = "anthropic/messages_nonstream_cache_read";
    let (_, base) = upstream.scenario(vec![Step {
        replay: Some(name.into()),
        ..Step::default()
    }]);
    let client = client(anthropic_config(&base, &json!("claude-sonnet-4-5")));
    let r = client
        .chat(ChatRequest::new("m", "Can you summarize that in one sentence?"))
        .await
        .unwrap();
    assert_eq!(r.usage.input_tokens, 1532);
    assert_eq!(r.usage.cache_write_tokens, 418);
    assert_eq!(r.usage.cached_input_tokens, 1111);
    let by_hand = (3.0 * 3.0 + 418.0 * 3.75 + 1111.0 * 0.30 + 33.0 * 15.0) / 1e6;
    let cost = r.cost_usd.unwrap();
    assert!((cost - by_hand).abs() < 1e-12, "{cost} vs {by_hand}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overloaded_anthropic_falls_back_to_another_deployment() {
    let upstream = MockUpstream::start().await.unwrap();
    let (a_id, a_base) = upstream.scenario(vec![Step {
        status: Some(529),
        error: Some(ErrorSpec {
            message: "Overloaded".into(),
            ..ErrorSpec::default()
        }),
        ..Step::default()
    }]);
    let (b_id, b_base) = upstream.scenario(vec![Step {
        reply: Some(Reply {
            text: "Paris.".into(),
            ..Reply::default()
        }),
        ..Step::default()
    }]);
    let config = json!({"models": [{"name": "m", "retry": {"attempts": 1, "backoff_ms": 1, "max_backoff_ms": 2},
        "deployments": [
            {"name": "claude", "provider": "anthropic", "model": "claude-sonnet-4-5", "api_key": KEY, "base_url": a_base},
            {"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "api_key": "sk-other-0002", "base_url": format!("{b_base}/v1")}]}]});
    let client = client(config);
    for streamed in [false, true] {
        let req = ChatRequest::new("m", "What is the capital of France?");
        let r = if streamed {
            let out = common::collect_stream(client.stream(req)).await;
            assert_eq!(out["text"], json!("Paris."), "{out}");
            serde_json::from_value(out["response"].clone()).unwrap()
        } else {
            client.chat(req).await.unwrap()
        };
        assert_eq!(r.text(), "Paris.");
        assert_eq!(r.deployment, "gpt");
        let outcomes: Vec<(String, String, Option<u16>)> = r
            .attempts
            .iter()
            .map(|a| (a.deployment.to_string(), a.outcome().to_owned(), a.status))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("claude".into(), "PROVIDER_UNAVAILABLE".into(), Some(529)),
                ("claude".into(), "PROVIDER_UNAVAILABLE".into(), Some(529)),
                ("gpt".into(), "ok".into(), Some(200)),
            ],
            "529 is retried, then the next deployment answers"
        );
    }
    let sent = upstream.requests(&a_id);
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|s| s.path == "/v1/messages"));
    assert_eq!(upstream.requests(&b_id).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_and_overload_envelopes_from_the_mock() {
    let upstream = MockUpstream::start().await.unwrap();
    let (_, base) = upstream.scenario(vec![Step {
        status: Some(429),
        error: Some(ErrorSpec {
            message: "Number of request tokens has exceeded your per-minute rate limit".into(),
            ..ErrorSpec::default()
        }),
        headers: [("retry-after".to_owned(), "3".to_owned())].into(),
        ..Step::default()
    }]);
    let client = client(anthropic_config(&base, &json!("claude-haiku-4-5")));
    let e = client
        .chat(ChatRequest::new("m", "hi"))
        .await
        .unwrap_err()
        .to_value();
    assert_eq!(e["code"], json!("RATE_LIMITED"), "{e}");
    assert_eq!(e["status"], json!(429));
    assert_eq!(e["provider_code"], json!("rate_limit_error"));
    assert_eq!(e["retry_after_ms"], json!(3000.0));
    assert_eq!(e["request_id"], json!("req_mock_0001"));

    // The fixed `/fail/{status}/…` route speaks Anthropic's envelope on `/v1/messages`.
    let base = format!("{}/fail/529", upstream.url());
    let client = self::client(anthropic_config(&base, &json!("claude-haiku-4-5")));
    let e = client
        .chat(ChatRequest::new("m", "hi"))
        .await
        .unwrap_err()
        .to_value();
    assert_eq!(e["code"], json!("PROVIDER_UNAVAILABLE"), "{e}");
    assert_eq!(e["provider_code"], json!("overloaded_error"));
    assert_eq!(e["retryable"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_streams_are_typed_errors() {
    let upstream = MockUpstream::start().await.unwrap();
    let dir = recordings::default_dir();
    let name = "anthropic/messages_stream_text";
    let sse = std::fs::read_to_string(dir.join(format!("{name}.response.sse"))).unwrap();
    let stop_at = sse.find("event: message_stop").unwrap();
    let delta_at = sse.find("event: content_block_stop").unwrap();
    let cases = [
        // Cut right before the terminal event.
        (
            Step {
                replay: Some(name.into()),
                cut_after_bytes: Some(stop_at),
                ..Step::default()
            },
            "PROVIDER_UNAVAILABLE",
        ),
        // An overloaded error event after content started.
        (
            Step {
                replay: Some(name.into()),
                corrupt: Some(mock_upstream::Corruption {
                    at: delta_at,
                    text: Some(
                        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
                            .into(),
                    ),
                    bytes: None,
                }),
                ..Step::default()
            },
            "PROVIDER_UNAVAILABLE",
        ),
        // Malformed JSON in an event.
        (
            Step {
                replay: Some(name.into()),
                corrupt: Some(mock_upstream::Corruption {
                    at: delta_at,
                    text: Some("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\n\n".into()),
                    bytes: None,
                }),
                ..Step::default()
            },
            "PROVIDER_UNAVAILABLE",
        ),
    ];
    for (step, code) in cases {
        let (_, base) = upstream.scenario(vec![step]);
        let client = client(anthropic_config(&base, &json!("claude-sonnet-4-5")));
        let out = common::collect_stream(client.stream(ChatRequest::new("m", "1+1?"))).await;
        assert_eq!(out["error"]["code"], json!(code), "{out}");
        assert_eq!(out["error"]["provider"], json!("anthropic"), "{out}");
        assert_eq!(
            out["text"],
            json!("2"),
            "the content before the failure was delivered: {out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthesised_messages_answers_round_trip() {
    // The mock's own Anthropic answers (for vectors and failover tests) decode as expected.
    let upstream = MockUpstream::start().await.unwrap();
    let (_, base) = upstream.scenario(vec![Step {
        reply: Some(Reply {
            text: "Looking it up.".into(),
            tool_calls: vec![json!({"id": "toolu_9", "name": "lookup", "arguments": "{\"q\":\"x\"}"})],
            usage: Some(json!({"prompt_tokens": 12, "completion_tokens": 7})),
            ..Reply::default()
        }),
        ..Step::default()
    }]);
    let client = client(anthropic_config(&base, &json!("claude-haiku-4-5")));
    for streamed in [false, true] {
        let req = ChatRequest::new("m", "look up x");
        let r = if streamed {
            let out = common::collect_stream(client.stream(req)).await;
            serde_json::from_value(out["response"].clone()).unwrap_or_else(|e| panic!("{e}: {out}"))
        } else {
            client.chat(req).await.unwrap()
        };
        let r: modelplug_core::ChatResponse = r;
        assert_eq!(r.text(), "Looking it up.");
        assert_eq!(r.tool_calls()[0].id, "toolu_9");
        assert_eq!(r.tool_calls()[0].function.arguments, r#"{"q":"x"}"#);
        assert_eq!(r.finish_reason.as_str(), "tool_calls");
        assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (12, 7));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_finds_each_recording_by_the_request_the_adapter_sends() {
    let upstream = MockUpstream::start().await.unwrap();
    let dir = recordings::default_dir();
    let base = format!("{}/match/anthropic", upstream.url());
    let names = recordings::list(&dir, "anthropic");
    assert_eq!(names.len(), 14);
    for name in names {
        let recorded = read_json(&dir.join(format!("{name}.request.json")));
        let meta = read_json(&dir.join(format!("{name}.response.meta.json")));
        let body = &recorded["body"];
        let client = client(anthropic_config(&base, &body["model"]));
        let req = unified_request(body);
        let (response, error) = if body["stream"] == json!(true) {
            let out = common::collect_stream(client.stream(req)).await;
            (out.get("response").cloned(), out.get("error").cloned())
        } else {
            match client.chat(req).await {
                Ok(r) => (Some(serde_json::to_value(r).unwrap()), None),
                Err(e) => (None, Some(e.to_value())),
            }
        };
        let want_id = match meta["status"].as_u64().unwrap() {
            200 if body["stream"] == json!(true) => {
                let sse = std::fs::read_to_string(dir.join(format!("{name}.response.sse"))).unwrap();
                sse_events(&sse)[0]["message"]["id"].clone()
            }
            200 => read_json(&dir.join(format!("{name}.response.json")))["id"].clone(),
            status => {
                let e = error.unwrap_or_else(|| panic!("{name}: expected an error"));
                assert_eq!(e["status"], json!(status), "{name}: {e}");
                let err_body = read_json(&dir.join(format!("{name}.response.json")));
                assert_eq!(e["request_id"], err_body["request_id"], "{name}");
                continue;
            }
        };
        let r = response.unwrap_or_else(|| panic!("{name}: {error:?}"));
        assert_eq!(
            r["id"], want_id,
            "{name}: the mock replayed the matching recording"
        );
    }
    // A request no recording has: Anthropic's 404 envelope.
    let client = client(anthropic_config(&base, &json!("claude-none")));
    let e = client.chat(ChatRequest::new("m", "hi")).await.unwrap_err();
    assert_eq!(e.kind(), modelplug_core::ErrorKind::NotFound);
    assert_eq!(e.provider_code(), Some("not_found_error"));
}

#[test]
fn direct_anthropic_names_read_the_usual_key() {
    use modelplug_core::config::DeploymentConfig;
    use modelplug_core::providers::ProviderKind;
    assert_eq!(ProviderKind::parse("anthropic"), Some(ProviderKind::Anthropic));
    let e = DeploymentConfig::direct(ProviderKind::Anthropic, "claude-haiku-4-5", &|_| None).unwrap_err();
    assert!(e.message().contains("ANTHROPIC_API_KEY"), "{e}");
    let d = DeploymentConfig::direct(ProviderKind::Anthropic, "claude-haiku-4-5", &|v| {
        (v == "ANTHROPIC_API_KEY").then(|| "sk-ant-x".to_owned())
    })
    .unwrap();
    assert_eq!(
        modelplug_core::providers::anthropic::messages_url(&d).unwrap(),
        "https://api.anthropic.com/v1/messages"
    );
}

/// Decodes `pieces` of a stream with the SSE framing and the Messages decoder.
fn decode_pieces(
    pieces: &[&[u8]],
) -> (
    Vec<modelplug_core::providers::ProviderEvent>,
    Result<bool, modelplug_core::Error>,
) {
    use modelplug_core::providers::EventDecoder;
    use modelplug_core::providers::anthropic::MessagesStreamDecoder;
    use modelplug_core::providers::framing::SseDecoder;
    let mut framing = SseDecoder::new();
    let mut decoder = MessagesStreamDecoder::new();
    let mut out = std::collections::VecDeque::new();
    for p in pieces {
        if let Err(e) = framing.feed(p, |f| decoder.on_event(f, &mut out)) {
            return (out.into(), Err(e));
        }
    }
    (out.into(), Ok(decoder.finished()))
}

#[test]
fn recorded_streams_decode_the_same_at_every_split_and_corruption_never_panics() {
    let dir = recordings::default_dir().join("anthropic");
    let mut streams: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sse"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    streams.sort();
    assert_eq!(streams.len(), 6);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (name, bytes) in &streams {
        let (whole, r) = decode_pieces(&[bytes]);
        assert!(r.unwrap(), "{name}: ends with message_stop");
        // Split at many byte positions (every byte of the framing is covered by
        // sse_boundaries.rs; here the decoder state must not depend on where reads end).
        for at in (0..=bytes.len()).step_by(13).chain([bytes.len()]) {
            let (events, r) = decode_pieces(&[&bytes[..at], &bytes[at..]]);
            assert!(r.unwrap(), "{name} split at {at}");
            assert_eq!(events, whole, "{name} split at {at}");
        }
        // Cut anywhere before the terminal event: never finished, never a panic.
        let stop = String::from_utf8_lossy(bytes)
            .find("event: message_stop")
            .unwrap();
        for at in (0..stop).step_by(17) {
            let (_, r) = decode_pieces(&[&bytes[..at]]);
            assert!(!r.unwrap_or(false), "{name} cut at {at} must not look finished");
        }
        // Random byte flips, insertions and deletions: an error or a result, never a panic.
        for _ in 0..300 {
            let mut b = bytes.clone();
            for _ in 0..(1 + next() % 4) {
                let at = (next() as usize) % b.len();
                match next() % 3 {
                    0 => b[at] = (next() % 256) as u8,
                    1 => b.insert(at, b"{}[]\":,\n\\x"[(next() % 10) as usize]),
                    _ => {
                        b.remove(at);
                    }
                }
            }
            let _ = decode_pieces(&[&b]);
        }
    }
}
