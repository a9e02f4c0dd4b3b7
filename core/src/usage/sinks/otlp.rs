//! The OpenTelemetry sink: each usage event becomes one span, exported over OTLP/HTTP
//! (protobuf, `POST {endpoint}/v1/traces`), one export request per batch.
//!
//! Spans follow the OpenTelemetry GenAI semantic conventions (semconv v1.41.0, the last
//! release before the GenAI conventions moved to their own repository; all still
//! "Development"): span name `{gen_ai.operation.name} {gen_ai.request.model}`, kind `CLIENT`,
//! the `gen_ai.*` attributes, `error.type`; modelplug's own fields under `modelplug.*`. The
//! span is a child of the caller's W3C trace context when the event carries a valid
//! `traceparent`, else the root of a new trace.
//!
//! A span never carries prompt or completion text (the event's captured content is not
//! exported), nor a header value of the sink's config.
//!
//! Built only with the core's `otlp` cargo feature.
#![cfg(feature = "otlp")]

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use super::Sink;
use crate::redact::Secret;
use crate::usage::{CallStatus, Operation, SdkInfo, UsageEvent};

/// Tries of one export (the first and the retries), all within the sink's timeout.
const TRIES: u32 = 3;
/// The wait before the first retry; doubled for each later one, with jitter.
const BACKOFF: Duration = Duration::from_millis(200);
/// Bodies at least this large are gzipped (every OTLP/HTTP receiver must accept gzip).
const GZIP_FROM: usize = 1024;
/// At most one warning about failed exports per this period.
const WARN_EVERY: Duration = Duration::from_secs(60);
/// `flags` of a new trace's span: sampled.
const SAMPLED: u32 = 0x01;

/// Exports usage events as OpenTelemetry spans over OTLP/HTTP (protobuf).
///
/// A failed export (network error, a non-2xx answer) is tried again a couple of times with
/// backoff within the sink's timeout, then the batch is dropped with a warning (at most one a
/// minute, counting the spans dropped meanwhile).
pub struct OtlpSink {
    /// `{endpoint}/v1/traces`; `None` when the endpoint is not a URL (every batch is dropped).
    url: Option<reqwest::Url>,
    headers: HeaderMap,
    service_name: String,
    timeout: Duration,
    http: reqwest::Client,
    name: String,
    warnings: Warnings,
}

impl std::fmt::Debug for OtlpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No header values: they may be credentials.
        f.debug_struct("OtlpSink")
            .field("sink", &self.name)
            .field("service_name", &self.service_name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OtlpSink {
    /// A sink exporting to the OTLP/HTTP `endpoint` (e.g. `http://127.0.0.1:4318`;
    /// `/v1/traces` is appended unless it ends with it already), sending `headers` with every
    /// export (e.g. a tracing backend's API key), naming the resource `service_name`, bounding
    /// each export (retries included) by `timeout`, over `http`.
    ///
    /// A header whose name or value cannot be sent is left out, with a warning naming the
    /// header (never its value).
    pub fn new(
        endpoint: &str,
        headers: Vec<(String, Secret)>,
        service_name: String,
        timeout: Duration,
        http: reqwest::Client,
    ) -> OtlpSink {
        let url = traces_url(endpoint);
        let name = match &url {
            Some(u) => match (u.host_str(), u.port_or_known_default()) {
                (Some(host), Some(port)) => format!("the OTLP sink {host}:{port}"),
                _ => "the OTLP sink".to_owned(),
            },
            None => {
                tracing::warn!(
                    target: "modelplug::sinks",
                    "the OTLP sink's endpoint is not an http(s) URL; its spans will be dropped"
                );
                "the OTLP sink".to_owned()
            }
        };
        let mut map = HeaderMap::with_capacity(headers.len());
        for (key, value) in headers {
            let parsed = HeaderName::from_bytes(key.trim().as_bytes())
                .ok()
                .zip(HeaderValue::from_str(value.expose().trim()).ok());
            match parsed {
                Some((k, mut v)) => {
                    v.set_sensitive(true);
                    map.append(k, v);
                }
                None => tracing::warn!(
                    target: "modelplug::sinks",
                    "{name}: the header `{}` is not a valid HTTP header; it is not sent",
                    key.escape_debug()
                ),
            }
        }
        OtlpSink {
            url,
            headers: map,
            service_name,
            timeout,
            http,
            name,
            warnings: Warnings::default(),
        }
    }

    /// POSTs one export request, retrying within the timeout; the receiver's answer. `Err` says
    /// why it failed (without the URL or a header value).
    async fn export(&self, body: Vec<u8>) -> Result<bytes::Bytes, String> {
        let Some(url) = &self.url else {
            return Err("the endpoint is not an http(s) URL".to_owned());
        };
        let gzip = body.len() >= GZIP_FROM;
        let body = bytes::Bytes::from(if gzip { gzipped(&body) } else { body });
        let deadline = Instant::now() + self.timeout;
        let mut tries = 0;
        loop {
            tries += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(format!("no answer within {:?}", self.timeout));
            }
            let mut request = self
                .http
                .post(url.clone())
                .headers(self.headers.clone())
                .header(CONTENT_TYPE, "application/x-protobuf")
                .timeout(remaining)
                .body(body.clone());
            if gzip {
                request = request.header(CONTENT_ENCODING, "gzip");
            }
            let (error, wait) = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    // Reading the (small) answer also returns the connection to the pool.
                    return Ok(response.bytes().await.unwrap_or_default());
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let wait = crate::http::retry_after(response.headers());
                    // OTLP/HTTP: only these are worth retrying; any other answer is final.
                    if !matches!(status, 429 | 502 | 503 | 504) {
                        return Err(format!("the receiver answered HTTP {status}"));
                    }
                    (format!("the receiver answered HTTP {status}"), wait)
                }
                Err(e) => (describe(&e), None),
            };
            if tries >= TRIES {
                return Err(error);
            }
            let backoff = BACKOFF * 2u32.pow(tries - 1);
            let wait = wait.unwrap_or_else(|| backoff.mul_f64(0.5 + fastrand::f64() / 2.0));
            if Instant::now() + wait >= deadline {
                return Err(error);
            }
            tokio::time::sleep(wait).await;
        }
    }
}

impl Sink for OtlpSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write<'a>(&'a mut self, batch: &'a [Arc<UsageEvent>]) -> BoxFuture<'a, ()> {
        async move {
            if batch.is_empty() {
                return;
            }
            let body = export_request(batch, &self.service_name).encode_to_vec();
            match self.export(body).await {
                Ok(answer) => {
                    if let Some((n, reason)) = rejected(&answer) {
                        self.warnings.failed(&self.name, n, &reason);
                    }
                }
                Err(reason) => {
                    self.warnings.failed(&self.name, batch.len() as u64, &reason);
                }
            }
        }
        .boxed()
    }
}

/// Rate-limits the warning about failed exports: the first failure, then at most one per
/// [`WARN_EVERY`], each counting the spans dropped since the previous one.
#[derive(Debug, Default)]
struct Warnings {
    last: Option<Instant>,
    dropped: u64,
}

impl Warnings {
    /// Counts `spans` lost; warns unless it did less than [`WARN_EVERY`] ago (true if it did).
    fn failed(&mut self, sink: &str, spans: u64, reason: &str) -> bool {
        self.dropped += spans;
        let now = Instant::now();
        let warn = self.last.is_none_or(|t| now.duration_since(t) >= WARN_EVERY);
        if warn {
            tracing::warn!(
                target: "modelplug::sinks",
                "{sink}: export failed ({reason}); {} span(s) dropped since the last warning",
                self.dropped
            );
            self.last = Some(now);
            self.dropped = 0;
        }
        warn
    }
}

/// The spans a 2xx answer says were rejected (an OTLP partial success), and the receiver's
/// reason, cut short. `None` when it accepted everything or the answer is not protobuf.
fn rejected(answer: &[u8]) -> Option<(u64, String)> {
    let partial = ExportTraceServiceResponse::decode(answer).ok()?.partial_success?;
    let n = u64::try_from(partial.rejected_spans).ok().filter(|n| *n > 0)?;
    let mut reason: String = partial.error_message.chars().take(200).collect();
    if reason.is_empty() {
        reason = "no reason given".to_owned();
    }
    Some((
        n,
        format!("the receiver rejected {n} span(s): {}", reason.escape_debug()),
    ))
}

/// `{endpoint}/v1/traces` (or the endpoint itself when it ends so), if it is an http(s) URL.
fn traces_url(endpoint: &str) -> Option<reqwest::Url> {
    let endpoint = endpoint.trim();
    let url = if endpoint.trim_end_matches('/').ends_with("/v1/traces") {
        endpoint.to_owned()
    } else {
        format!("{}/v1/traces", endpoint.trim_end_matches('/'))
    };
    reqwest::Url::parse(&url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// A transport failure in words, without the URL (which may carry a key).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_owned();
    }
    let kind = if e.is_connect() {
        "cannot connect"
    } else {
        "network error"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(e);
    // The innermost cause is the informative one (e.g. `Connection refused`).
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(cause) = last {
        text.push_str(": ");
        text.push_str(&cause);
    }
    text
}

fn gzipped(body: &[u8]) -> Vec<u8> {
    let mut out =
        flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = out.write_all(body);
    out.finish().unwrap_or_default()
}

/// The export request for a batch: one resource per SDK (a client's events share one), one
/// span per event.
fn export_request(batch: &[Arc<UsageEvent>], service_name: &str) -> ExportTraceServiceRequest {
    let mut groups: Vec<(&Arc<SdkInfo>, Vec<Span>)> = Vec::with_capacity(1);
    for event in batch {
        let span = span_of(event);
        match groups
            .iter_mut()
            .find(|(sdk, _)| Arc::ptr_eq(sdk, &event.sdk) || **sdk == event.sdk)
        {
            Some((_, spans)) => spans.push(span),
            None => {
                let mut spans = Vec::with_capacity(batch.len());
                spans.push(span);
                groups.push((&event.sdk, spans));
            }
        }
    }
    ExportTraceServiceRequest {
        resource_spans: groups
            .into_iter()
            .map(|(sdk, spans)| ResourceSpans {
                resource: Some(resource(service_name, sdk)),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "modelplug".to_owned(),
                        version: crate::VERSION.to_owned(),
                        ..Default::default()
                    }),
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
}

/// The resource: `service.name` and the `telemetry.sdk.*` attributes.
fn resource(service_name: &str, sdk: &SdkInfo) -> Resource {
    // The semconv's `telemetry.sdk.language` values name the runtime: Node is `nodejs`, and
    // Kotlin runs on the JVM (`java`).
    let language = match sdk.language.as_str() {
        "node" => "nodejs",
        "kotlin" => "java",
        other => other,
    };
    Resource {
        attributes: vec![
            string("service.name", service_name),
            string("telemetry.sdk.name", "modelplug"),
            string("telemetry.sdk.language", language),
            string("telemetry.sdk.version", &sdk.version),
        ],
        ..Default::default()
    }
}

/// One event's span.
fn span_of(event: &UsageEvent) -> Span {
    let (trace_id, parent_span_id, flags) = match event.traceparent.as_deref().and_then(parse_traceparent) {
        Some(parent) => (
            parent.trace_id.to_vec(),
            parent.parent_id.to_vec(),
            u32::from(parent.flags),
        ),
        None => (new_trace_id().to_vec(), Vec::new(), SAMPLED),
    };
    let start = event.ts.0.saturating_mul(1_000_000);
    let latency_ns = if event.latency_ms.is_finite() && event.latency_ms > 0.0 {
        (event.latency_ms * 1e6) as u64
    } else {
        0
    };
    let status = (event.status == CallStatus::Error).then(|| Status {
        message: error_type(event).unwrap_or("_OTHER").to_owned(),
        code: StatusCode::Error as i32,
    });
    Span {
        trace_id,
        span_id: span_id(&event.id).to_vec(),
        parent_span_id,
        flags,
        name: format!("{} {}", operation_name(event.operation), event.model_requested),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start.saturating_add(latency_ns),
        attributes: attributes(event),
        status,
        ..Default::default()
    }
}

/// The GenAI semconv operation name.
fn operation_name(op: Operation) -> &'static str {
    match op {
        Operation::Chat => "chat",
        Operation::Embeddings => "embeddings",
    }
}

/// `gen_ai.provider.name` for a modelplug provider name: the semconv's well-known value where
/// there is one, else the name itself.
fn provider_name(provider: &str) -> &str {
    match provider {
        "azure" | "azure_openai" => "azure.ai.openai",
        "gemini" => "gcp.gemini",
        "vertex" | "vertex_ai" => "gcp.vertex_ai",
        "bedrock" => "aws.bedrock",
        "mistral" => "mistral_ai",
        "xai" => "x_ai",
        other => other,
    }
}

/// `error.type`: the error code of a call that did not succeed (`_OTHER` when it has none).
fn error_type(event: &UsageEvent) -> Option<&str> {
    match event.status {
        CallStatus::Ok => None,
        CallStatus::Error | CallStatus::Blocked | CallStatus::Cancelled => {
            Some(event.error_code.as_ref().map_or("_OTHER", |c| c.as_str()))
        }
    }
}

fn status_name(status: CallStatus) -> &'static str {
    match status {
        CallStatus::Ok => "ok",
        CallStatus::Error => "error",
        CallStatus::Blocked => "blocked",
        CallStatus::Cancelled => "cancelled",
    }
}

/// The span's attributes: GenAI semconv, then `modelplug.*`. Never prompt or completion text.
fn attributes(e: &UsageEvent) -> Vec<KeyValue> {
    let mut a = Vec::with_capacity(32 + e.labels.len());
    a.push(string("gen_ai.operation.name", operation_name(e.operation)));
    let provider = e
        .provider
        .as_deref()
        .or_else(|| e.attempts.last().map(|t| &*t.provider));
    if let Some(p) = provider {
        a.push(string("gen_ai.provider.name", provider_name(p)));
    }
    a.push(string("gen_ai.request.model", &e.model_requested));
    // The model that answered: only when there was an answer.
    if let Some(model) = e
        .model
        .as_deref()
        .filter(|_| e.status == CallStatus::Ok || e.output_tokens > 0)
    {
        a.push(string("gen_ai.response.model", model));
    }
    if e.stream {
        a.push(boolean("gen_ai.request.stream", true));
    }
    if let Some(ttft) = e.ttft_ms.filter(|t| t.is_finite()) {
        a.push(double("gen_ai.response.time_to_first_chunk", ttft / 1000.0));
    }
    a.push(int("gen_ai.usage.input_tokens", e.input_tokens));
    a.push(int("gen_ai.usage.output_tokens", e.output_tokens));
    if e.cached_input_tokens > 0 {
        a.push(int("gen_ai.usage.cache_read.input_tokens", e.cached_input_tokens));
    }
    if e.cache_write_tokens > 0 {
        a.push(int(
            "gen_ai.usage.cache_creation.input_tokens",
            e.cache_write_tokens,
        ));
    }
    if e.reasoning_tokens > 0 {
        a.push(int("gen_ai.usage.reasoning.output_tokens", e.reasoning_tokens));
    }
    if let Some(t) = error_type(e) {
        a.push(string("error.type", t));
    }

    a.push(string("modelplug.event_id", &e.id));
    a.push(string("modelplug.status", status_name(e.status)));
    a.push(string("modelplug.app", &e.app));
    let optional = [
        ("modelplug.team", e.team.as_deref()),
        ("modelplug.user", e.user.as_deref()),
        ("modelplug.env", e.env.as_deref()),
        ("modelplug.provider", e.provider.as_deref()),
        ("modelplug.deployment", e.deployment.as_deref()),
        ("modelplug.price_table_version", e.price_table_version.as_deref()),
        ("modelplug.policy_version", e.policy_version.as_deref()),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            a.push(string(key, v));
        }
    }
    if let Some(cost) = e.cost_usd.filter(|c| c.is_finite()) {
        a.push(double("modelplug.cost_usd", cost));
    }
    a.push(boolean("modelplug.cost_is_estimated", e.cost_is_estimated));
    a.push(boolean("modelplug.usage_is_estimated", e.usage_is_estimated));
    a.push(int("modelplug.attempts", e.attempts.len() as u64));
    a.push(boolean("modelplug.fallback_used", e.fallback_used));
    a.push(boolean("modelplug.cache_hit", e.cache_hit));
    if let Some(status) = e.http_status {
        a.push(int("modelplug.http_status", u64::from(status)));
    }
    a.push(int("modelplug.overhead_us", e.overhead_us));
    if !e.tags.is_empty() {
        let tags = e
            .tags
            .iter()
            .map(|t| AnyValue {
                value: Some(Value::StringValue(t.clone())),
            })
            .collect();
        a.push(kv(
            "modelplug.tags",
            Value::ArrayValue(ArrayValue { values: tags }),
        ));
    }
    for (key, value) in &e.labels {
        a.push(string(format!("modelplug.label.{key}"), value));
    }
    a
}

fn kv(key: impl Into<String>, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn string(key: impl Into<String>, value: &str) -> KeyValue {
    kv(key, Value::StringValue(value.to_owned()))
}

fn int(key: &str, value: u64) -> KeyValue {
    kv(key, Value::IntValue(i64::try_from(value).unwrap_or(i64::MAX)))
}

fn double(key: &str, value: f64) -> KeyValue {
    kv(key, Value::DoubleValue(value))
}

fn boolean(key: &str, value: bool) -> KeyValue {
    kv(key, Value::BoolValue(value))
}

/// The caller's W3C trace context (`traceparent`, version `00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TraceParent {
    trace_id: [u8; 16],
    parent_id: [u8; 8],
    flags: u8,
}

/// Parses `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>` (lowercase hex, as the W3C
/// Trace Context requires); `None` for anything else, including all-zero ids.
fn parse_traceparent(text: &str) -> Option<TraceParent> {
    let b = text.trim().as_bytes();
    if b.len() != 55 || !b.starts_with(b"00-") || b[35] != b'-' || b[52] != b'-' {
        return None;
    }
    let trace_id: [u8; 16] = hex(&b[3..35])?;
    let parent_id: [u8; 8] = hex(&b[36..52])?;
    let [flags] = hex::<1>(&b[53..55])?;
    if trace_id == [0; 16] || parent_id == [0; 8] {
        return None;
    }
    Some(TraceParent {
        trace_id,
        parent_id,
        flags,
    })
}

/// Lowercase hex digits → `N` bytes.
fn hex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

/// A random, non-zero trace id.
fn new_trace_id() -> [u8; 16] {
    loop {
        let id = fastrand::u128(..);
        if id != 0 {
            return id.to_be_bytes();
        }
    }
}

/// The span id: the last 8 bytes of the event's UUIDv7 id (62 random bits and the variant
/// bits, so never zero). Derived rather than drawn, a span names its event: exporting the same
/// event twice gives the same span, and a span id leads to its usage event. An id that is not
/// a UUID (never one of ours) gets random bytes.
fn span_id(event_id: &str) -> [u8; 8] {
    if let Ok(uuid) = uuid::Uuid::parse_str(event_id) {
        let mut id = [0u8; 8];
        id.copy_from_slice(&uuid.as_bytes()[8..]);
        if id != [0; 8] {
            return id;
        }
    }
    loop {
        let id = fastrand::u64(..);
        if id != 0 {
            return id.to_be_bytes();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use modelplug_schema::{Attempt, ErrorCode, ErrorKind, Timestamp};

    use super::*;

    fn event() -> UsageEvent {
        UsageEvent {
            schema: 1,
            id: "0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b".to_owned(),
            ts: Timestamp(1_795_552_265_123),
            app: "shop".into(),
            team: Some("growth".into()),
            user: Some("u-42".to_owned()),
            env: Some("prod".into()),
            tags: vec!["exp-7".to_owned()],
            operation: Operation::Chat,
            model_requested: "smart".to_owned(),
            provider: Some("azure".into()),
            deployment: Some("azure-east".into()),
            model: Some("gpt-4o-2024-08-06".into()),
            stream: true,
            status: CallStatus::Ok,
            error_code: None,
            http_status: Some(200),
            input_tokens: 1200,
            output_tokens: 300,
            cached_input_tokens: 1000,
            cache_write_tokens: 100,
            reasoning_tokens: 64,
            usage_is_estimated: false,
            cost_usd: Some(0.0125),
            cost_is_estimated: false,
            price_table_version: Some("2026-11-01".into()),
            latency_ms: 1234.5,
            ttft_ms: Some(250.0),
            overhead_us: 42,
            attempts: vec![Attempt {
                provider: "azure".into(),
                deployment: "azure-east".into(),
                model: "gpt-4o".into(),
                error: None,
                status: Some(200),
                latency_ms: 1200.0,
            }],
            fallback_used: false,
            cache_hit: false,
            guardrails: Vec::new(),
            config_hash: "h".into(),
            policy_version: None,
            sdk: Arc::new(SdkInfo {
                language: "node".to_owned(),
                version: "0.1.0".to_owned(),
            }),
            labels: BTreeMap::from([("feature".to_owned(), "search".to_owned())]),
            traceparent: None,
            content: None,
        }
    }

    fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
        span.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
    }

    fn s(v: &str) -> Value {
        Value::StringValue(v.to_owned())
    }

    #[test]
    fn an_event_maps_to_genai_attributes() {
        let span = span_of(&event());
        assert_eq!(span.name, "chat smart");
        assert_eq!(span.kind, SpanKind::Client as i32);
        assert_eq!(span.start_time_unix_nano, 1_795_552_265_123_000_000);
        assert_eq!(span.end_time_unix_nano, 1_795_552_265_123_000_000 + 1_234_500_000);
        assert_eq!(span.status, None);
        let expect = [
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.provider.name", s("azure.ai.openai")),
            ("gen_ai.request.model", s("smart")),
            ("gen_ai.response.model", s("gpt-4o-2024-08-06")),
            ("gen_ai.request.stream", Value::BoolValue(true)),
            ("gen_ai.response.time_to_first_chunk", Value::DoubleValue(0.25)),
            ("gen_ai.usage.input_tokens", Value::IntValue(1200)),
            ("gen_ai.usage.output_tokens", Value::IntValue(300)),
            ("gen_ai.usage.cache_read.input_tokens", Value::IntValue(1000)),
            ("gen_ai.usage.cache_creation.input_tokens", Value::IntValue(100)),
            ("gen_ai.usage.reasoning.output_tokens", Value::IntValue(64)),
            ("modelplug.event_id", s("0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b")),
            ("modelplug.status", s("ok")),
            ("modelplug.app", s("shop")),
            ("modelplug.team", s("growth")),
            ("modelplug.user", s("u-42")),
            ("modelplug.env", s("prod")),
            ("modelplug.provider", s("azure")),
            ("modelplug.deployment", s("azure-east")),
            ("modelplug.price_table_version", s("2026-11-01")),
            ("modelplug.cost_usd", Value::DoubleValue(0.0125)),
            ("modelplug.cost_is_estimated", Value::BoolValue(false)),
            ("modelplug.usage_is_estimated", Value::BoolValue(false)),
            ("modelplug.attempts", Value::IntValue(1)),
            ("modelplug.fallback_used", Value::BoolValue(false)),
            ("modelplug.cache_hit", Value::BoolValue(false)),
            ("modelplug.http_status", Value::IntValue(200)),
            ("modelplug.overhead_us", Value::IntValue(42)),
            ("modelplug.label.feature", s("search")),
        ];
        for (key, value) in &expect {
            assert_eq!(attr(&span, key), Some(value), "{key}");
        }
        assert!(matches!(attr(&span, "modelplug.tags"), Some(Value::ArrayValue(a)) if a.values.len() == 1));
        assert_eq!(attr(&span, "error.type"), None);
        assert_eq!(
            span.attributes.len(),
            expect.len() + 1,
            "no attribute beyond these"
        );
    }

    #[test]
    fn errors_blocks_and_cancellations_carry_error_type() {
        let mut e = event();
        e.status = CallStatus::Error;
        e.error_code = Some(ErrorCode::Known(ErrorKind::RateLimited));
        e.output_tokens = 0;
        e.reasoning_tokens = 0;
        e.cached_input_tokens = 0;
        e.cache_write_tokens = 0;
        let span = span_of(&e);
        assert_eq!(attr(&span, "error.type"), Some(&s("RATE_LIMITED")));
        assert_eq!(
            span.status.as_ref().map(|s| (s.code, s.message.as_str())),
            Some((2, "RATE_LIMITED"))
        );
        // No answer: no response model, no zero cache counts.
        assert_eq!(attr(&span, "gen_ai.response.model"), None);
        assert_eq!(attr(&span, "gen_ai.usage.cache_read.input_tokens"), None);

        e.status = CallStatus::Cancelled;
        e.error_code = Some(ErrorCode::Known(ErrorKind::Cancelled));
        let span = span_of(&e);
        assert_eq!(attr(&span, "error.type"), Some(&s("CANCELLED")));
        assert_eq!(span.status, None, "only errors set the span status");

        e.status = CallStatus::Blocked;
        e.error_code = None;
        assert_eq!(attr(&span_of(&e), "error.type"), Some(&s("_OTHER")));
        assert_eq!(attr(&span_of(&e), "modelplug.status"), Some(&s("blocked")));
    }

    #[test]
    fn provider_names_follow_the_semconv() {
        for (ours, semconv) in [
            ("openai", "openai"),
            ("azure", "azure.ai.openai"),
            ("anthropic", "anthropic"),
            ("gemini", "gcp.gemini"),
            ("vertex", "gcp.vertex_ai"),
            ("bedrock", "aws.bedrock"),
            ("mistral", "mistral_ai"),
            ("groq", "groq"),
            ("ollama", "ollama"),
        ] {
            assert_eq!(provider_name(ours), semconv);
        }
        let mut e = event();
        e.operation = Operation::Embeddings;
        e.provider = None;
        let span = span_of(&e);
        assert_eq!(span.name, "embeddings smart");
        assert_eq!(attr(&span, "gen_ai.operation.name"), Some(&s("embeddings")));
        // Without a provider on the event, the last attempt's.
        assert_eq!(attr(&span, "gen_ai.provider.name"), Some(&s("azure.ai.openai")));
    }

    #[test]
    fn traceparents_parse_strictly() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parsed = parse_traceparent(tp).unwrap();
        assert_eq!(parsed.trace_id[..4], [0x4b, 0xf9, 0x2f, 0x35]);
        assert_eq!(parsed.parent_id, [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
        assert_eq!(parsed.flags, 1);
        assert_eq!(parse_traceparent(&format!(" {tp}\n")), Some(parsed));
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4bf92f3577b34da6a3ce929d0e0e473é-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_traceparent_makes_the_span_a_child() {
        let mut e = event();
        e.traceparent = Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_owned());
        let span = span_of(&e);
        assert_eq!(
            hex::<16>(b"4bf92f3577b34da6a3ce929d0e0e4736").unwrap().to_vec(),
            span.trace_id
        );
        assert_eq!(
            hex::<8>(b"00f067aa0ba902b7").unwrap().to_vec(),
            span.parent_span_id
        );
        assert_eq!(span.flags, 0);
        assert_eq!(span.span_id, [0x8a, 0x6b, 0x7c, 0x8d, 0x9e, 0x0f, 0x1a, 0x2b]);

        e.traceparent = Some("garbage".to_owned());
        let a = span_of(&e);
        let b = span_of(&e);
        assert!(a.parent_span_id.is_empty());
        assert_eq!(a.flags, SAMPLED);
        assert_eq!(a.trace_id.len(), 16);
        assert_ne!(a.trace_id, b.trace_id, "a new trace per span");
        assert_eq!(a.span_id, b.span_id, "the span id is the event's");
    }

    #[test]
    fn warnings_are_rate_limited() {
        let mut w = Warnings::default();
        assert!(w.failed("s", 3, "down"), "the first failure warns");
        assert!(!w.failed("s", 2, "down"), "the next one within a minute does not");
        assert_eq!(w.dropped, 2, "it is counted for the next warning");
    }

    #[test]
    fn partial_successes_are_reported() {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;
        let answer = |rejected_spans: i64| {
            ExportTraceServiceResponse {
                partial_success: Some(ExportTracePartialSuccess {
                    rejected_spans,
                    error_message: "too old".to_owned(),
                }),
            }
            .encode_to_vec()
        };
        assert_eq!(
            rejected(&answer(2)),
            Some((2, "the receiver rejected 2 span(s): too old".to_owned()))
        );
        assert_eq!(rejected(&answer(0)), None);
        assert_eq!(rejected(b""), None);
        assert_eq!(rejected(b"{\"partialSuccess\": {}}"), None);
    }

    #[test]
    fn span_ids_never_zero() {
        assert_ne!(span_id("not a uuid"), [0; 8]);
        assert_eq!(
            span_id("00000000-0000-7000-8000-000000000001"),
            [0x80, 0, 0, 0, 0, 0, 0, 1]
        );
    }

    #[test]
    fn endpoints_get_the_traces_path_once() {
        let url = |e: &str| traces_url(e).map(|u| u.to_string());
        assert_eq!(
            url("http://127.0.0.1:4318").as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        assert_eq!(url("http://h:4318/").as_deref(), Some("http://h:4318/v1/traces"));
        assert_eq!(url("https://h/otlp").as_deref(), Some("https://h/otlp/v1/traces"));
        assert_eq!(url("https://h/v1/traces").as_deref(), Some("https://h/v1/traces"));
        assert_eq!(url("not a url"), None);
        assert_eq!(url("file:///tmp/x"), None);
    }

    #[test]
    fn one_resource_per_sdk() {
        let a = Arc::new(event());
        let mut other = event();
        other.sdk = Arc::new(SdkInfo {
            language: "python".to_owned(),
            version: "0.2.0".to_owned(),
        });
        let b = Arc::new(other);
        let request = export_request(&[a.clone(), b, a], "svc");
        assert_eq!(request.resource_spans.len(), 2);
        assert_eq!(request.resource_spans[0].scope_spans[0].spans.len(), 2);
        let resource = request.resource_spans[0].resource.as_ref().unwrap();
        let get = |key: &str| {
            resource
                .attributes
                .iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.clone()?.value)
        };
        assert_eq!(get("service.name"), Some(s("svc")));
        assert_eq!(get("telemetry.sdk.name"), Some(s("modelplug")));
        assert_eq!(get("telemetry.sdk.language"), Some(s("nodejs")));
        assert_eq!(get("telemetry.sdk.version"), Some(s("0.1.0")));
    }
}
