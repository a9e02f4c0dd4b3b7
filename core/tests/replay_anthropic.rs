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

/// The reasoning blocks a recorded stream carries, read straight from its events: each
/// `thinking` block's text and signature, each `redacted_thinking` block's data.
fn recorded_blocks(sse: &str) -> Vec<Value> {
    let mut blocks: Vec<Value> = Vec::new();
    for ev in sse_events(sse) {
        match ev["type"].as_str().unwrap() {
            "content_block_start" => match ev["content_block"]["type"].as_str().unwrap() {
                "thinking" => blocks.push(json!({"type": "thinking", "text": "", "signature": ""})),
                "redacted_thinking" => {
                    blocks.push(json!({"type": "redacted", "data": ev["content_block"]["data"]}))
                }
                _ => {}
            },
            "content_block_delta" => {
                let d = &ev["delta"];
                let last = blocks.last_mut();
                match d["type"].as_str().unwrap() {
                    "thinking_delta" => {
                        let b = last.unwrap();
                        b["text"] = json!(format!(
                            "{}{}",
                            b["text"].as_str().unwrap(),
                            d["thinking"].as_str().unwrap()
                        ));
                    }
                    "signature_delta" => {
                        let b = last.unwrap();
                        b["signature"] = json!(format!(
                            "{}{}",
                            b["signature"].as_str().unwrap(),
                            d["signature"].as_str().unwrap()
                        ));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    blocks
}

/// An answer as the assistant message of the next request, the way a binding's user does it:
/// the answer's JSON form, without the fields only answers have.
fn as_next_message(answer: &Value) -> Value {
    let mut m = answer["message"].clone();
    let o = m.as_object_mut().unwrap();
    o.remove("reasoning");
    o.remove("refusal");
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thinking_signatures_go_back_unchanged_on_the_next_turn() {
    let upstream = MockUpstream::start().await.unwrap();
    let dir = recordings::default_dir();
    // A thinking + tool use answer (no recording has one): thinking, a call, then the result
    // comes back with the next user turn.
    let tool_stream = [
        json!({"type": "message_start", "message": {"id": "msg_t", "model": "claude-sonnet-4-5", "content": [],
               "usage": {"input_tokens": 20, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "I should call weather."}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "ErUBCkYIBxgC=="}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_w", "name": "weather", "input": {}}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Paris\"}"}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}}),
        json!({"type": "message_stop"}),
    ]
    .iter()
    .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
    .collect::<String>();
    let cases = [
        ("anthropic/messages_stream_thinking", None),
        ("anthropic/messages_stream_redacted_thinking", None),
        ("thinking then a tool call", Some(tool_stream)),
    ];
    for (name, raw) in cases {
        let (first_step, sse, question) = match &raw {
            None => {
                let recorded = read_json(&dir.join(format!("{name}.request.json")));
                let sse = std::fs::read_to_string(dir.join(format!("{name}.response.sse"))).unwrap();
                let step = Step {
                    replay: Some(name.into()),
                    ..Step::default()
                };
                (step, sse, unified_request(&recorded["body"]))
            }
            Some(raw) => {
                let step = Step {
                    raw: Some(raw.clone()),
                    ..Step::default()
                };
                let mut req = ChatRequest::new("m", "Weather in Paris?");
                req.tools = vec![modelplug_core::Tool::function(
                    "weather",
                    "Current weather",
                    json!({"type": "object", "properties": {"city": {"type": "string"}}}),
                )];
                req.extra.insert(
                    "thinking".into(),
                    json!({"type": "enabled", "budget_tokens": 1024}),
                );
                (step, raw.clone(), req)
            }
        };
        let want_blocks = recorded_blocks(&sse);
        assert!(!want_blocks.is_empty(), "{name}");
        let (id, base) = upstream.scenario(vec![
            first_step,
            Step {
                reply: Some(Reply {
                    text: "Done.".into(),
                    ..Reply::default()
                }),
                ..Step::default()
            },
        ]);
        let client = client(anthropic_config(&base, &json!("claude-sonnet-4-5")));

        // Turn 1, streamed: the assembled answer carries the blocks, signatures included.
        let out = common::collect_stream(client.stream(question.clone())).await;
        let answer = out.get("response").unwrap_or_else(|| panic!("{name}: {out}"));
        assert_eq!(
            answer["message"]["reasoning_blocks"],
            json!(want_blocks),
            "{name}"
        );

        // Turn 2: the answer goes back as the assistant message (plus the tool's result).
        let mut next = serde_json::to_value(&question).unwrap();
        let messages = next["messages"].as_array_mut().unwrap();
        messages.push(as_next_message(answer));
        for call in answer["message"]["tool_calls"].as_array().into_iter().flatten() {
            messages.push(json!({"role": "tool", "tool_call_id": call["id"], "content": "sunny, 21 °C"}));
        }
        messages.push(json!({"role": "user", "content": "Thanks. And tomorrow?"}));
        let r = client
            .chat(ChatRequest::from_value(next).unwrap())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.text(), "Done.");

        let sent = upstream.requests(&id);
        assert_eq!(sent.len(), 2, "{name}");
        let turns = sent[1].body["messages"].as_array().unwrap();
        let assistant = turns
            .iter()
            .find(|t| t["role"] == "assistant")
            .unwrap_or_else(|| panic!("{name}: {}", sent[1].body));
        // Exactly the recorded blocks, in order, before the text and the tool calls.
        let mut want: Vec<Value> = want_blocks
            .iter()
            .map(|b| match b["type"].as_str().unwrap() {
                "thinking" => json!({"type": "thinking", "thinking": b["text"], "signature": b["signature"]}),
                _ => json!({"type": "redacted_thinking", "data": b["data"]}),
            })
            .collect();
        if let Some(text) = answer["message"]["content"].as_str() {
            want.push(json!({"type": "text", "text": text}));
        }
        for call in answer["message"]["tool_calls"].as_array().into_iter().flatten() {
            let input: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
            want.push(json!({"type": "tool_use", "id": call["id"], "name": call["function"]["name"], "input": input}));
        }
        assert_eq!(assistant["content"], json!(want), "{name}");
        if raw.is_some() {
            assert_eq!(
                turns.last().unwrap()["content"][0],
                json!({"type": "tool_result", "tool_use_id": "toolu_w", "content": "sunny, 21 °C"})
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_output_comes_back_as_the_text() {
    let upstream = MockUpstream::start().await.unwrap();
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let request = || {
        ChatRequest::from_value(json!({"model": "m", "messages": [{"role": "user", "content": "Capital of France?"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "capital", "schema": schema}}}))
        .unwrap()
    };
    // The mock's synthesised answers: the model calls the answer tool.
    let (id, base) = upstream.scenario(vec![Step {
        reply: Some(Reply {
            tool_calls: vec![
                json!({"id": "toolu_1", "name": "capital", "arguments": "{\"city\":\"Paris\"}"}),
            ],
            ..Reply::default()
        }),
        ..Step::default()
    }]);
    let client = client(anthropic_config(&base, &json!("claude-haiku-4-5")));
    for streamed in [false, true] {
        let r: modelplug_core::ChatResponse = if streamed {
            let out = common::collect_stream(client.stream(request())).await;
            assert_eq!(out["text"], json!("{\"city\":\"Paris\"}"), "{out}");
            assert!(out["event_counts"].get("tool_call_delta").is_none(), "{out}");
            serde_json::from_value(out["response"].clone()).unwrap()
        } else {
            client.chat(request()).await.unwrap()
        };
        assert_eq!(r.text(), r#"{"city":"Paris"}"#, "streamed: {streamed}");
        assert!(r.tool_calls().is_empty());
        assert_eq!(r.finish_reason.as_str(), "stop");
    }
    for sent in upstream.requests(&id) {
        assert_eq!(
            sent.body["tools"],
            json!([{"name": "capital", "input_schema": schema,
                    "description": "Give your final answer by calling this tool: its input is the answer, as a JSON object."}])
        );
        assert_eq!(
            sent.body["tool_choice"],
            json!({"type": "tool", "name": "capital"})
        );
        assert!(sent.body.get("response_format").is_none());
    }

    // A stream whose input comes in pieces: each piece is a text delta, as it arrives.
    let pieces = ["", "{\"ci", "ty\": \"Pa", "ris\"}"];
    let mut sse = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n\
         event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_s\",\"name\":\"capital\",\"input\":{}}}\n\n",
    );
    for p in pieces {
        let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": p}});
        sse.push_str(&format!("event: content_block_delta\ndata: {delta}\n\n"));
    }
    sse.push_str(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
         event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":8}}\n\n\
         event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let (_, base) = upstream.scenario(vec![Step {
        raw: Some(sse),
        ..Step::default()
    }]);
    let client = self::client(anthropic_config(&base, &json!("claude-haiku-4-5")));
    let out = common::collect_stream(client.stream(request())).await;
    assert_eq!(out["event_counts"]["text_delta"], json!(3), "{out}");
    assert_eq!(out["text"], json!("{\"city\": \"Paris\"}"));
    assert_eq!(out["response"]["message"]["content"], out["text"]);
    assert_eq!(out["response"]["finish_reason"], json!("stop"));
    assert!(out["response"]["message"].get("tool_calls").is_none(), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_redaction_reaches_the_reasoning_blocks() {
    // A block's text repeats part of `reasoning`: what a guardrail redacts there must not
    // stay readable in the block.
    let upstream = MockUpstream::start().await.unwrap();
    let email = "jane.roe@example.com";
    let thinking = format!("The user is {email}; answer politely.");
    let body = json!({"id": "msg_g", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "thinking", "thinking": thinking, "signature": "sig-g"},
                    {"type": "text", "text": "Hello!"}],
        "stop_reason": "end_turn", "usage": {"input_tokens": 10, "output_tokens": 5}});
    let (_, base) = upstream.scenario(vec![Step {
        body: Some(body),
        ..Step::default()
    }]);
    let mut config = anthropic_config(&base, &json!("claude-haiku-4-5"));
    config["guardrails"] = json!([{"name": "no-pii", "kind": "pii", "stage": "output", "action": "redact"}]);
    let client = client(config);
    for streamed in [false, true] {
        let req = ChatRequest::new("m", "hi");
        let r: modelplug_core::ChatResponse = if streamed {
            let out = common::collect_stream(client.stream(req)).await;
            serde_json::from_value(out["response"].clone()).unwrap_or_else(|e| panic!("{e}: {out}"))
        } else {
            client.chat(req).await.unwrap()
        };
        let reasoning = r.message.reasoning.clone().unwrap();
        assert!(!reasoning.contains(email), "{reasoning}");
        let modelplug_core::ReasoningBlock::Thinking { text, signature } = &r.message.reasoning_blocks[0]
        else {
            panic!("{:?}", r.message.reasoning_blocks)
        };
        assert_eq!(text, &reasoning, "streamed: {streamed}");
        assert_eq!(signature.as_deref(), Some("sig-g"));
        assert_eq!(r.guardrails[0].count, 1, "counted once: {:?}", r.guardrails);
    }
}
