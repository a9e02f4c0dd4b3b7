//! Every Gemini and Vertex AI recording replays through the `gemini` / `vertex` adapters: the
//! unified request is rebuilt from the recorded body (test-side, independent of the adapter),
//! sent through a `Client`, and the mock upstream answers with the recorded bytes (SSE, a
//! streamed JSON array, or JSON). Text, reasoning, tool calls, finish reason and every usage
//! field are checked against values read straight from the recording, and the body the
//! adapter sent must carry the recorded conversation. Also: Google fault envelopes (429
//! RESOURCE_EXHAUSTED with RetryInfo, 503), cross-family failover, streams cut before their
//! finish reason, corrupted streams, Vertex service-account tokens, and Claude on Vertex.

mod common;
#[path = "common/gemini.rs"]
mod gemini;

use mock_upstream::{MockUpstream, Step, recordings};
use modelplug_core::{ChatRequest, Client, Config, EmbedRequest};
use serde_json::{Value, json};

const KEY: &str = "AIza-replay-secret-0001";
const TOKEN: &str = "ya29.vertex-replay-token-0001";

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

/// What the recording says the answer was.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    text: Option<String>,
    reasoning: Option<String>,
    /// (name, arguments, thought signature)
    tool_calls: Vec<(String, Value, Option<String>)>,
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
                let signature = p["thoughtSignature"].as_str().map(str::to_owned);
                e.tool_calls.push((
                    call["name"].as_str().unwrap().to_owned(),
                    call["args"].clone(),
                    signature,
                ));
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
    for (_, args, _) in &mut e.tool_calls {
        if args.is_null() {
            *args = json!({});
        }
    }
    e.usage = usage;
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thought_signatures_go_back_with_their_calls() {
    // Turn 1: Gemini 3 calls a tool, signing the call (the recorded stream).
    let upstream = MockUpstream::start().await.unwrap();
    let name = "gemini/stream_sse_function_call_thought_signature";
    let (_, base) = upstream.scenario(vec![Step {
        replay: Some(name.into()),
        ..Step::default()
    }]);
    let (id2, base2) = upstream.scenario(vec![reply("The capital is Paris.")]);
    let config = |b: &str| {
        json!({"models": [{"name": "m", "retry": {"attempts": 0},
            "deployments": [deployment("gemini", b, "gemini-3-pro-preview")]}]})
    };
    let question =
        json!({"role": "user", "content": "What is the capital of the user country? Call the tool"});
    let req = ChatRequest::from_value(json!({"model": "m", "messages": [question],
        "tools": [{"type": "function", "function": {"name": "get_country", "parameters": {"type": "object"}}}]}))
    .unwrap();
    let out = common::collect_stream(client(config(&base)).stream(req)).await;
    let call = out["response"]["message"]["tool_calls"][0].clone();
    let sse =
        std::fs::read_to_string(recordings::default_dir().join(format!("{name}.response.sse"))).unwrap();
    let recorded = sse_chunks(&sse)[0]["candidates"][0]["content"]["parts"][0]["thoughtSignature"].clone();
    assert!(recorded.as_str().is_some_and(|s| s.len() > 100));
    assert_eq!(call["signature"], recorded, "{out}");
    // Turn 2: the assistant message goes back as the caller got it; the call carries its
    // signature, as Gemini 3 requires.
    let req = ChatRequest::from_value(json!({"model": "m", "messages": [question,
        {"role": "assistant", "content": null, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "France"}]}))
    .unwrap();
    let r = client(config(&base2)).chat(req).await.unwrap();
    assert_eq!(r.text(), "The capital is Paris.");
    let sent = &upstream.requests(&id2)[0].body;
    let part = &sent["contents"][1]["parts"][0];
    assert_eq!(part["functionCall"]["name"], "get_country");
    assert_eq!(part["thoughtSignature"], recorded);
    assert_eq!(
        sent["contents"][2]["parts"][0]["functionResponse"]["response"],
        json!({"output": "France"})
    );
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
    let calls: Vec<(String, Value, Option<String>)> = r["message"]["tool_calls"]
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
                t["signature"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        calls, e.tool_calls,
        "{name}: tool calls (with their thought signatures)"
    );
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
            let body = &gemini::camel_case(&recorded["body"]);
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
                let req = gemini::unified_request(body);
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

/// A text reply from the mock, in the shape of whatever path it is asked on.
fn reply(text: &str) -> Step {
    Step {
        reply: Some(mock_upstream::Reply {
            text: text.into(),
            ..mock_upstream::Reply::default()
        }),
        ..Step::default()
    }
}

fn google_error(status: u16, message: &str, retry_delay: Option<&str>) -> Step {
    Step {
        status: Some(status),
        error: Some(mock_upstream::ErrorSpec {
            message: message.into(),
            code: retry_delay.map(|d| json!(d)),
            ..mock_upstream::ErrorSpec::default()
        }),
        ..Step::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_fault_envelopes_are_typed() {
    let upstream = MockUpstream::start().await.unwrap();
    let (_, base) = upstream.scenario(vec![google_error(
        429,
        "Resource has been exhausted (e.g. check quota).",
        Some("2s"),
    )]);
    let config = json!({"models": [{"name": "m", "retry": {"attempts": 0},
        "deployments": [deployment("gemini", &base, "gemini-2.5-flash")]}]});
    let e = client(config)
        .chat(ChatRequest::new("m", "hi"))
        .await
        .unwrap_err()
        .to_value();
    assert_eq!(e["code"], json!("RATE_LIMITED"), "{e}");
    assert_eq!(e["provider_code"], json!("RESOURCE_EXHAUSTED"));
    assert_eq!(e["retry_after_ms"], json!(2000.0), "RetryInfo's retryDelay: {e}");
    assert_eq!(e["provider"], json!("gemini"));
    assert!(!e.to_string().contains(KEY));

    // The fixed `/fail/{status}/…` route answers Google's envelope on Google's paths; a 503 is
    // retried on the same deployment first.
    let base = format!("{}/fail/503", upstream.url());
    let config = json!({"models": [{"name": "m", "retry": {"attempts": 1, "backoff_ms": 1, "max_backoff_ms": 2},
        "deployments": [deployment("vertex", &base, "gemini-2.5-flash")]}]});
    let e = client(config)
        .chat(ChatRequest::new("m", "hi"))
        .await
        .unwrap_err()
        .to_value();
    assert_eq!(e["code"], json!("PROVIDER_UNAVAILABLE"), "{e}");
    assert_eq!(e["provider_code"], json!("UNAVAILABLE"), "{e}");
    let attempts = e["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{e}");
    assert!(attempts.iter().all(|a| a["status"] == json!(503)), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_anthropic_falls_back_to_gemini_and_back() {
    let upstream = MockUpstream::start().await.unwrap();
    let (a_id, a_base) = upstream.scenario(vec![Step {
        status: Some(529),
        error: Some(mock_upstream::ErrorSpec {
            message: "Overloaded".into(),
            ..mock_upstream::ErrorSpec::default()
        }),
        ..Step::default()
    }]);
    let (g_id, g_base) = upstream.scenario(vec![reply("Paris is the capital of France.")]);
    let config = json!({"models": [{"name": "m", "retry": {"attempts": 0},
        "deployments": [
            {"name": "claude", "provider": "anthropic", "model": "claude-sonnet-4-5", "api_key": "sk-ant-k-0003", "base_url": a_base},
            {"name": "gemini", "provider": "gemini", "model": "gemini-2.5-flash", "api_key": KEY, "base_url": g_base}]}]});
    let client = client(config);
    for streamed in [false, true] {
        let req = ChatRequest::new("m", "What is the capital of France?");
        let r: modelplug_core::ChatResponse = if streamed {
            let out = common::collect_stream(client.stream(req)).await;
            assert_eq!(out["text"], json!("Paris is the capital of France."), "{out}");
            serde_json::from_value(out["response"].clone()).unwrap()
        } else {
            client.chat(req).await.unwrap()
        };
        assert_eq!(r.text(), "Paris is the capital of France.");
        assert_eq!(r.provider, "gemini");
        let outcomes: Vec<(String, String)> = r
            .attempts
            .iter()
            .map(|a| (a.deployment.to_string(), a.outcome().to_owned()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("claude".into(), "PROVIDER_UNAVAILABLE".into()),
                ("gemini".into(), "ok".into())
            ]
        );
        assert!(r.cost_usd.is_some_and(|c| c > 0.0));
    }
    assert_eq!(upstream.requests(&a_id).len(), 2);
    let sent = upstream.requests(&g_id);
    assert_eq!(sent[0].path, "/v1beta/models/gemini-2.5-flash:generateContent");
    assert_eq!(
        sent[1].path,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    );
    assert_eq!(sent[1].query.as_deref(), Some("alt=sse"));

    // Gemini rate-limited (its quota gone for the day) → Claude answers.
    let (_, g_base) = upstream.scenario(vec![google_error(429, "Quota exceeded", Some("3600s"))]);
    let (_, a_base) = upstream.scenario(vec![reply("Claude here.")]);
    let config = json!({"models": [{"name": "m", "retry": {"attempts": 2, "backoff_ms": 1, "max_retry_after_ms": 1000},
        "deployments": [
            {"name": "gemini", "provider": "gemini", "model": "gemini-2.5-flash", "api_key": KEY, "base_url": g_base},
            {"name": "claude", "provider": "anthropic", "model": "claude-sonnet-4-5", "api_key": "sk-ant-k-0003", "base_url": a_base}]}]});
    let r = self::client(config)
        .chat(ChatRequest::new("m", "hi"))
        .await
        .unwrap();
    assert_eq!(r.provider, "anthropic");
    assert_eq!(r.attempts[0].outcome(), "RATE_LIMITED");
    assert_eq!(
        r.attempts.len(),
        2,
        "a retry-after beyond the cap is not waited for: {:?}",
        r.attempts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_gemini_streams_are_typed_errors_never_panics() {
    let upstream = MockUpstream::start().await.unwrap();
    let dir = recordings::default_dir();
    for name in ["gemini/stream_sse_usage", "gemini/stream_json_array_no_alt_sse"] {
        let path = ["sse", "json"]
            .iter()
            .map(|e| dir.join(format!("{name}.response.{e}")))
            .find(|p| p.exists())
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // Cut anywhere before the finishing chunk is complete: an error, never a finished answer.
        let finish_at = bytes.windows(14).rposition(|w| w == b"\"finishReason\"").unwrap();
        let mut cuts = vec![0, 1, finish_at, finish_at + 20];
        cuts.extend((0..8).map(|i| i * finish_at / 8));
        for cut in cuts {
            let (_, base) = upstream.scenario(vec![Step {
                replay: Some(name.into()),
                cut_after_bytes: Some(cut),
                ..Step::default()
            }]);
            let config = json!({"models": [{"name": "m", "retry": {"attempts": 0},
                "deployments": [deployment("gemini", &base, "gemini-2.5-flash")]}]});
            let out = common::collect_stream(client(config).stream(ChatRequest::new("m", "hi"))).await;
            let code = out["error"]["code"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} cut at {cut}: {out}"));
            assert!(
                matches!(code, "PROVIDER_UNAVAILABLE" | "NETWORK"),
                "{name} cut at {cut}: {out}"
            );
            assert!(
                out.get("response").is_none_or(Value::is_null),
                "{name} cut at {cut}: {out}"
            );
        }
        // Random corruptions: whatever happens is a value, never a panic or a hang.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..150 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed % bytes.len() as u64) as usize;
            let junk: Vec<u8> = (0..(seed >> 40) % 6 + 1)
                .map(|k| ((seed >> (k * 8)) & 0xff) as u8)
                .collect();
            let (_, base) = upstream.scenario(vec![Step {
                replay: Some(name.into()),
                corrupt: Some(mock_upstream::Corruption {
                    at,
                    text: None,
                    bytes: Some(junk),
                }),
                ..Step::default()
            }]);
            let config = json!({"models": [{"name": "m", "retry": {"attempts": 0},
                "deployments": [deployment("gemini", &base, "gemini-2.5-flash")]}]});
            let out = common::collect_stream(client(config).stream(ChatRequest::new("m", "hi"))).await;
            assert!(
                out.get("response").is_some() || out.get("error").is_some(),
                "{out}"
            );
        }
    }
}

/// The service-account fixture with its token endpoint pointed at `token_uri`, in a file.
fn service_account_file(token_uri: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vertex-service-account.json"
    ))
    .unwrap()
    .replace("{token_uri}", token_uri);
    let path = std::env::temp_dir().join(format!(
        "modelplug-sa-{}-{}.json",
        std::process::id(),
        token_uri.len()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

/// Checks a JWT-bearer assertion: RS256 over header.claims with the fixture's key, and the
/// claims Google's token endpoint requires.
fn check_assertion(form: &str, token_uri: &str) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let pairs: std::collections::HashMap<String, String> =
        form_urlencoded::parse(form.as_bytes()).into_owned().collect();
    assert_eq!(pairs["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    let jwt = &pairs["assertion"];
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(
        header,
        json!({"alg": "RS256", "typ": "JWT", "kid": "test-key-0001"})
    );
    let claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], "replay@modelplug-test.iam.gserviceaccount.com");
    assert_eq!(claims["aud"], token_uri);
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/cloud-platform");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );
    let sa: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/vertex-service-account.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let pem = sa["private_key"].as_str().unwrap();
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(der).unwrap();
    let key = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    use ring::signature::KeyPair;
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        key.public_key().as_ref(),
    )
    .verify(
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &b64.decode(parts[2]).unwrap(),
    )
    .expect("the assertion is signed with the service account's key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vertex_exchanges_a_service_account_key_for_tokens_and_refreshes_them() {
    let upstream = MockUpstream::start().await.unwrap();
    let token_answer = |t: &str, secs: u64| Step {
        body: Some(json!({"access_token": t, "expires_in": secs, "token_type": "Bearer"})),
        ..Step::default()
    };
    // The first token lives 2 s (refreshed after 1 s: half its life, as it is under 5 minutes).
    let (t_id, t_base) = upstream.scenario(vec![
        token_answer("ya29.first", 2),
        token_answer("ya29.second", 3600),
    ]);
    let token_uri = format!("{t_base}/token");
    let (v_id, v_base) = upstream.scenario(vec![reply("Bonjour.")]);
    let file = service_account_file(&token_uri);
    let config = json!({"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [{
        "provider": "vertex", "model": "gemini-2.5-flash", "project": "p1", "location": "europe-west4",
        "base_url": v_base, "credentials_file": file.to_str().unwrap()}]}]});
    let client = client(config);
    // Ten calls at once share one token exchange.
    let calls = (0..10).map(|_| client.chat(ChatRequest::new("m", "hi")));
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(r.unwrap().text(), "Bonjour.");
    }
    let exchanges = upstream.requests(&t_id);
    assert_eq!(exchanges.len(), 1, "one exchange for ten concurrent calls");
    assert_eq!(exchanges[0].path, "/token");
    check_assertion(exchanges[0].body.as_str().unwrap(), &token_uri);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    client.chat(ChatRequest::new("m", "hi")).await.unwrap();
    assert_eq!(upstream.requests(&t_id).len(), 2, "refreshed before expiry");
    let sent = upstream.requests(&v_id);
    assert_eq!(sent.len(), 11);
    assert!(
        sent[..10]
            .iter()
            .all(|s| s.headers["authorization"] == "Bearer ya29.first")
    );
    assert_eq!(sent[10].headers["authorization"], "Bearer ya29.second");
    assert_eq!(
        sent[0].path,
        "/v1/projects/p1/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent"
    );
    // A refused exchange is an AUTHENTICATION error naming the OAuth error, never the key.
    let (_, t_base) = upstream.scenario(vec![Step {
        status: Some(400),
        body: Some(json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})),
        ..Step::default()
    }]);
    let file = service_account_file(&format!("{t_base}/token"));
    let config = json!({"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [{
        "provider": "vertex", "model": "gemini-2.5-flash", "project": "p1", "base_url": v_base,
        "credentials_file": file.to_str().unwrap()}]}]});
    let e = self::client(config)
        .chat(ChatRequest::new("m", "hi"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), modelplug_core::ErrorKind::Authentication, "{e}");
    assert!(e.message().contains("invalid_grant"), "{e}");
    assert!(!e.to_value().to_string().contains("PRIVATE KEY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_on_vertex_speaks_messages_through_raw_predict() {
    let upstream = MockUpstream::start().await.unwrap();
    let (id, base) = upstream.scenario(vec![reply("Hello from Claude on Vertex.")]);
    let config = json!({"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [{
        "provider": "vertex", "model": "claude-sonnet-4-5", "project": "p1", "location": "us-east5",
        "base_url": base, "api_key": TOKEN}]}]});
    let client = client(config);
    let r = client.chat(ChatRequest::new("m", "hi")).await.unwrap();
    assert_eq!(r.text(), "Hello from Claude on Vertex.");
    assert_eq!(r.provider, "vertex");
    assert!(
        r.cost_usd.is_some_and(|c| c > 0.0),
        "Claude on Vertex is priced: {:?}",
        r.cost_usd
    );
    let out = common::collect_stream(client.stream(ChatRequest::new("m", "hi"))).await;
    assert_eq!(out["text"], json!("Hello from Claude on Vertex."), "{out}");
    let sent = upstream.requests(&id);
    let prefix = "/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5";
    assert_eq!(sent[0].path, format!("{prefix}:rawPredict"));
    assert_eq!(sent[1].path, format!("{prefix}:streamRawPredict"));
    for s in &sent {
        assert!(
            s.body.get("model").is_none(),
            "the model is in the URL: {}",
            s.body
        );
        assert_eq!(s.body["anthropic_version"], "vertex-2023-10-16");
        assert_eq!(s.headers["authorization"], format!("Bearer {TOKEN}"));
        assert!(!s.headers.contains_key("x-api-key") && !s.headers.contains_key("anthropic-version"));
    }
    assert_eq!(sent[1].body["stream"], json!(true));
}
