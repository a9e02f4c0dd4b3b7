//! The OpenTelemetry sink against a small OTLP/HTTP receiver that decodes the protobuf
//! `ExportTraceServiceRequest`: a client's calls arrive as one span each with the GenAI
//! semantic-convention attributes and modelplug's own, as children of the caller's trace
//! context, timed as the usage event; errors carry `error.type`; no prompt text or credential
//! is in any export (even with content capture on); a failing receiver is retried within the
//! sink's bound, then the batch is dropped without a panic.
#![cfg(feature = "otlp")]

use std::collections::VecDeque;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use modelplug_core::usage::sinks::otlp::OtlpSink;
use modelplug_core::usage::{CallStatus, Operation, SdkInfo, Sink, Timestamp, UsageEvent};
use modelplug_core::{ChatRequest, Client, Config, ErrorCode, ErrorKind, Secret};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;

const PROMPT: &str = "the quarterly numbers for project nightingale";
const KEY: &str = "otlp-backend-key-5d81e2";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Post {
    path: String,
    content_type: Option<String>,
    gzip: bool,
    api_key: Option<String>,
    /// The body as sent (before gunzipping).
    raw: Vec<u8>,
    /// The body after gunzipping.
    body: Vec<u8>,
}

impl Post {
    fn request(&self) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest::decode(&self.body[..]).expect("a protobuf ExportTraceServiceRequest")
    }
}

#[derive(Default)]
struct State {
    /// Statuses to answer with, in order; then 200.
    script: VecDeque<u16>,
    posts: Vec<Post>,
}

/// A tiny OTLP/HTTP trace receiver on 127.0.0.1.
struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            script: script.iter().copied().collect(),
            posts: Vec::new(),
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, state.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { addr, state }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn posts(&self) -> Vec<Post> {
        self.state.lock().unwrap().posts.clone()
    }

    /// Every span of every POST, in order (answered 2xx or not).
    fn spans(&self) -> Vec<Span> {
        self.posts()
            .iter()
            .flat_map(|p| p.request().resource_spans)
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .collect()
    }
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let path = req.uri().path().to_owned();
    let content_type = header("content-type");
    let gzip = header("content-encoding").as_deref() == Some("gzip");
    let api_key = header("x-api-key");
    let raw = req.into_body().collect().await?.to_bytes().to_vec();
    let body = if gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw.clone()
    };
    let mut state = state.lock().unwrap();
    state.posts.push(Post {
        path,
        content_type,
        gzip,
        api_key,
        raw,
        body,
    });
    let status = state.script.pop_front().unwrap_or(200);
    let body = if status == 200 {
        // An empty ExportTraceServiceResponse.
        Bytes::new()
    } else {
        Bytes::from_static(b"unavailable")
    };
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/x-protobuf")
        .body(Full::new(body))
        .unwrap())
}

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    find(&span.attributes, key)
}

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn s(v: &str) -> Value {
    Value::StringValue(v.to_owned())
}

fn int(v: i64) -> Value {
    Value::IntValue(v)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn client(endpoint: &str) -> Client {
    let config = json!({
        "app": "otlp-test", "team": "search", "env": "staging", "capture_content": true,
        "sinks": [{"kind": "otlp", "endpoint": endpoint, "headers": {"x-api-key": "${OTLP_KEY}"},
            "service_name": "checkout", "timeout_ms": 5000}],
        "models": [
            {"name": "m", "retry": {"attempts": 0},
                "deployments": [{"name": "local", "provider": "mock", "model": "echo"}]},
            {"name": "down", "retry": {"attempts": 0},
                "deployments": [{"name": "flaky", "provider": "mock", "model": "echo",
                    "mock": {"fail_first": 1000, "fail_with": "RATE_LIMITED"}}]},
        ],
    });
    let env = |name: &str| (name == "OTLP_KEY").then(|| KEY.to_owned());
    Client::new(Config::from_json_value(&config, &env).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_calls_arrive_as_genai_spans() {
    let receiver = Receiver::start(&[]).await;
    let c = client(&receiver.endpoint());

    let mut ok = ChatRequest::new("m", PROMPT);
    ok.metadata.user = Some("u-42".to_owned());
    ok.metadata.tags = vec!["nightly".to_owned()];
    ok.metadata
        .labels
        .insert("experiment".to_owned(), "prompt-v2".to_owned());
    ok.metadata.traceparent = Some(TRACEPARENT.to_owned());
    c.chat(ok).await.unwrap();
    let ok_event = c.usage().last().unwrap().clone();
    assert!(ok_event.content.is_some(), "content capture is on for the event");

    let err = c.chat(ChatRequest::new("down", PROMPT)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    let err_event = c.usage().last().unwrap().clone();

    c.flush(Duration::from_secs(10)).await.unwrap();

    let posts = receiver.posts();
    assert!(!posts.is_empty());
    for p in &posts {
        assert_eq!(p.path, "/v1/traces");
        assert_eq!(p.content_type.as_deref(), Some("application/x-protobuf"));
        assert_eq!(
            p.api_key.as_deref(),
            Some(KEY),
            "the configured header reaches the receiver"
        );
        // Neither the prompt (the events carry it: content capture is on) nor the key is in
        // any export, compressed or not.
        for bytes in [&p.raw, &p.body] {
            assert!(!contains(bytes, PROMPT) && !contains(bytes, "nightingale"));
            assert!(!contains(bytes, KEY));
        }
    }

    // The resource.
    let request = posts[0].request();
    let resource = request.resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(find(&resource.attributes, "service.name"), Some(&s("checkout")));
    assert_eq!(
        find(&resource.attributes, "telemetry.sdk.name"),
        Some(&s("modelplug"))
    );
    assert_eq!(
        find(&resource.attributes, "telemetry.sdk.language"),
        Some(&s("rust"))
    );
    assert_eq!(
        find(&resource.attributes, "telemetry.sdk.version"),
        Some(&s(modelplug_core::VERSION))
    );
    let scope = request.resource_spans[0].scope_spans[0].scope.as_ref().unwrap();
    assert_eq!(scope.name, "modelplug");

    let spans = receiver.spans();
    assert_eq!(spans.len(), 2, "one span per call");
    let by_event = |id: &str| {
        spans
            .iter()
            .find(|sp| attr(sp, "modelplug.event_id") == Some(&s(id)))
            .unwrap_or_else(|| panic!("no span for event {id}"))
            .clone()
    };

    // The successful call: a child of the caller's span.
    let span = by_event(&ok_event.id);
    assert_eq!(span.name, "chat m");
    assert_eq!(span.kind, 3, "CLIENT");
    assert_eq!(hex(&span.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(hex(&span.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(span.flags & 0xff, 0x01, "the caller's trace flags");
    assert_eq!(span.span_id.len(), 8);
    assert_ne!(span.span_id, vec![0; 8]);
    // Timed as the event: starts at `ts`, lasts `latency_ms`.
    assert_eq!(span.start_time_unix_nano, ok_event.ts.0 * 1_000_000);
    assert_eq!(
        span.end_time_unix_nano - span.start_time_unix_nano,
        (ok_event.latency_ms * 1e6) as u64
    );
    assert_eq!(span.status, None, "a success leaves the status unset");
    let expect = [
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.provider.name", s("mock")),
        ("gen_ai.request.model", s("m")),
        ("gen_ai.response.model", s("echo")),
        ("gen_ai.usage.input_tokens", int(ok_event.input_tokens as i64)),
        ("gen_ai.usage.output_tokens", int(ok_event.output_tokens as i64)),
        ("modelplug.app", s("otlp-test")),
        ("modelplug.team", s("search")),
        ("modelplug.user", s("u-42")),
        ("modelplug.env", s("staging")),
        ("modelplug.provider", s("mock")),
        ("modelplug.deployment", s("local")),
        ("modelplug.status", s("ok")),
        ("modelplug.attempts", int(1)),
        ("modelplug.fallback_used", Value::BoolValue(false)),
        ("modelplug.cache_hit", Value::BoolValue(false)),
        ("modelplug.cost_is_estimated", Value::BoolValue(false)),
        ("modelplug.label.experiment", s("prompt-v2")),
    ];
    for (key, value) in &expect {
        assert_eq!(attr(&span, key), Some(value), "{key}");
    }
    assert!(ok_event.input_tokens > 0 && ok_event.output_tokens > 0);
    assert!(matches!(attr(&span, "modelplug.tags"), Some(Value::ArrayValue(a))
            if a.values.len() == 1 && a.values[0].value == Some(s("nightly"))));
    assert_eq!(attr(&span, "error.type"), None);

    // The failed call: error.type and an ERROR status with the code; a trace of its own.
    let span = by_event(&err_event.id);
    assert_eq!(span.name, "chat down");
    assert_eq!(attr(&span, "error.type"), Some(&s("RATE_LIMITED")));
    assert_eq!(attr(&span, "modelplug.status"), Some(&s("error")));
    let status = span.status.as_ref().expect("an error status");
    assert_eq!((status.code, status.message.as_str()), (2, "RATE_LIMITED"));
    assert!(span.parent_span_id.is_empty());
    assert_eq!(span.trace_id.len(), 16);
    assert_ne!(hex(&span.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(
        attr(&span, "gen_ai.response.model"),
        None,
        "no answer, no response model"
    );
    assert_eq!(attr(&span, "modelplug.deployment"), Some(&s("flaky")));

    c.close().await.unwrap();
}

/// An event as the pipeline would record it, built by hand.
fn event(n: u32) -> UsageEvent {
    let mut e: UsageEvent = serde_json::from_value(json!({
        "schema": 1,
        "id": format!("0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f{n:04x}"),
        "ts": "2026-11-24T20:31:05.123Z",
        "app": "notebook",
        "operation": "chat",
        "model_requested": "claude-sonnet",
        "status": "ok",
        "sdk": {"language": "python", "version": "0.3.1"},
    }))
    .unwrap();
    e.provider = Some("anthropic".into());
    e.deployment = Some("anthropic-main".into());
    e.model = Some("claude-sonnet-4-5-20250929".into());
    e.input_tokens = 5000;
    e.output_tokens = 800;
    e.cached_input_tokens = 4000;
    e.cache_write_tokens = 500;
    e.reasoning_tokens = 300;
    e.cost_usd = Some(0.0213);
    e.cost_is_estimated = true;
    e.fallback_used = true;
    e.cache_hit = false;
    e.latency_ms = 812.25;
    e.stream = true;
    e.ttft_ms = Some(120.0);
    e
}

fn sink_to(receiver: &Receiver, timeout: Duration) -> OtlpSink {
    OtlpSink::new(
        &format!("{}/v1/traces", receiver.endpoint()),
        vec![("x-api-key".to_owned(), Secret::new(KEY))],
        "notebooks".to_owned(),
        timeout,
        modelplug_core::http::build_client().unwrap(),
    )
}

#[tokio::test]
async fn a_batch_is_one_export_request_with_every_attribute() {
    let receiver = Receiver::start(&[]).await;
    let mut sink = sink_to(&receiver, Duration::from_secs(5));
    let batch: Vec<Arc<UsageEvent>> = (0..20).map(|n| Arc::new(event(n))).collect();
    sink.write(&batch).await;

    let posts = receiver.posts();
    assert_eq!(posts.len(), 1, "one export request per batch");
    assert_eq!(posts[0].path, "/v1/traces", "the path is not appended twice");
    assert!(posts[0].gzip, "a large body is gzipped");
    let request = posts[0].request();
    assert_eq!(request.resource_spans.len(), 1);
    let resource = request.resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(find(&resource.attributes, "service.name"), Some(&s("notebooks")));
    assert_eq!(
        find(&resource.attributes, "telemetry.sdk.language"),
        Some(&s("python"))
    );
    assert_eq!(
        find(&resource.attributes, "telemetry.sdk.version"),
        Some(&s("0.3.1"))
    );

    let spans = receiver.spans();
    assert_eq!(spans.len(), 20);
    let span = &spans[0];
    assert_eq!(span.name, "chat claude-sonnet");
    assert_eq!(span.start_time_unix_nano, 1_795_552_265_123_000_000);
    assert_eq!(span.end_time_unix_nano, 1_795_552_265_123_000_000 + 812_250_000);
    assert_eq!(
        hex(&span.span_id),
        "8a6b7c8d9e0f0000",
        "the span id is the event id's tail"
    );
    let expect = [
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.provider.name", s("anthropic")),
        ("gen_ai.request.model", s("claude-sonnet")),
        ("gen_ai.response.model", s("claude-sonnet-4-5-20250929")),
        ("gen_ai.request.stream", Value::BoolValue(true)),
        ("gen_ai.response.time_to_first_chunk", Value::DoubleValue(0.12)),
        ("gen_ai.usage.input_tokens", int(5000)),
        ("gen_ai.usage.output_tokens", int(800)),
        ("gen_ai.usage.cache_read.input_tokens", int(4000)),
        ("gen_ai.usage.cache_creation.input_tokens", int(500)),
        ("gen_ai.usage.reasoning.output_tokens", int(300)),
        ("modelplug.event_id", s("0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f0000")),
        ("modelplug.cost_usd", Value::DoubleValue(0.0213)),
        ("modelplug.cost_is_estimated", Value::BoolValue(true)),
        ("modelplug.fallback_used", Value::BoolValue(true)),
        ("modelplug.cache_hit", Value::BoolValue(false)),
        ("modelplug.deployment", s("anthropic-main")),
        ("modelplug.attempts", int(0)),
    ];
    for (key, value) in &expect {
        assert_eq!(attr(span, key), Some(value), "{key}");
    }
    assert!(!contains(&posts[0].body, KEY));
}

#[tokio::test]
async fn errors_blocks_and_cancellations_carry_error_type() {
    let receiver = Receiver::start(&[]).await;
    let mut sink = sink_to(&receiver, Duration::from_secs(5));
    let mut blocked = event(1);
    blocked.operation = Operation::Embeddings;
    blocked.status = CallStatus::Blocked;
    blocked.error_code = Some(ErrorCode::Known(ErrorKind::GuardrailBlocked));
    let mut cancelled = event(2);
    cancelled.status = CallStatus::Cancelled;
    cancelled.error_code = Some(ErrorCode::Known(ErrorKind::Cancelled));
    let mut failed = event(3);
    failed.status = CallStatus::Error;
    failed.error_code = Some(ErrorCode::Unknown("BUDGET_FROZEN".to_owned()));
    failed.sdk = Arc::new(SdkInfo {
        language: "kotlin".to_owned(),
        version: "0.3.1".to_owned(),
    });
    failed.ts = Timestamp(1_000);
    sink.write(&[Arc::new(blocked), Arc::new(cancelled), Arc::new(failed)])
        .await;

    let request = receiver.posts()[0].request();
    assert_eq!(request.resource_spans.len(), 2, "one resource per SDK");
    let kotlin = request.resource_spans[1].resource.as_ref().unwrap();
    assert_eq!(
        find(&kotlin.attributes, "telemetry.sdk.language"),
        Some(&s("java"))
    );
    let spans = receiver.spans();
    let [blocked, cancelled, failed] = &spans[..] else {
        panic!("{} spans", spans.len())
    };
    assert_eq!(blocked.name, "embeddings claude-sonnet");
    assert_eq!(attr(blocked, "gen_ai.operation.name"), Some(&s("embeddings")));
    assert_eq!(attr(blocked, "error.type"), Some(&s("GUARDRAIL_BLOCKED")));
    assert_eq!(blocked.status, None, "a block is not a span error");
    assert_eq!(attr(cancelled, "error.type"), Some(&s("CANCELLED")));
    assert_eq!(cancelled.status, None, "a cancellation is not a span error");
    assert_eq!(attr(failed, "error.type"), Some(&s("BUDGET_FROZEN")));
    assert_eq!(failed.status.as_ref().map(|s| s.code), Some(2));
    assert_eq!(failed.start_time_unix_nano, 1_000_000_000);
}

#[tokio::test]
async fn a_failing_receiver_is_retried_then_the_batch_dropped() {
    // 503 then 200: retried, delivered once.
    let receiver = Receiver::start(&[503]).await;
    let mut sink = sink_to(&receiver, Duration::from_secs(10));
    sink.write(&[Arc::new(event(1))]).await;
    let posts = receiver.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].body, posts[1].body, "the same export again");

    // A 400 is final: not retried, the batch dropped, the next one sent.
    let receiver = Receiver::start(&[400]).await;
    let mut sink = sink_to(&receiver, Duration::from_secs(10));
    sink.write(&[Arc::new(event(1))]).await;
    assert_eq!(receiver.posts().len(), 1);
    sink.write(&[Arc::new(event(2))]).await;
    assert_eq!(receiver.posts().len(), 2);

    // Always unavailable: a bounded number of tries, then dropped.
    let receiver = Receiver::start(&[503; 100]).await;
    let mut sink = sink_to(&receiver, Duration::from_secs(10));
    sink.write(&[Arc::new(event(1))]).await;
    let tries = receiver.posts().len();
    assert!((1..=3).contains(&tries), "{tries} tries");

    // Nobody listening: dropped, no panic.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut sink = OtlpSink::new(
        &format!("http://{closed}"),
        Vec::new(),
        "svc".to_owned(),
        Duration::from_secs(2),
        modelplug_core::http::build_client().unwrap(),
    );
    sink.write(&[Arc::new(event(1))]).await;
}
