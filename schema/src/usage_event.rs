//! The usage event (schema 1, DESIGN §5): one per call, the contract between every SDK and the
//! collector. It carries prompt or completion text only when the client's config turns content
//! capture on ([`UsageEvent::content`]).
//!
//! Compatibility: fields added after the first release carry `#[serde(default)]`, so an event
//! from an older SDK still parses; unknown fields are ignored and unknown error codes kept
//! ([`crate::ErrorCode::Unknown`]), so a newer SDK's event parses in an older collector.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{Attempt, ErrorCode, Timestamp};

/// The schema version every [`UsageEvent`] of this crate carries.
pub const SCHEMA_VERSION: u32 = 1;

/// Which language and version of modelplug produced an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct SdkInfo {
    /// `rust`, `python`, `node` or `kotlin`.
    pub language: String,
    /// The package version.
    pub version: String,
}

/// What a guardrail did during a call. Never the matched text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct GuardrailOutcome {
    /// The guardrail's configured name.
    pub name: String,
    /// `input` or `output`.
    pub stage: String,
    /// What it did: `pass` (ran, found nothing), `redact`, `block`, `warn`, or `error` (a
    /// custom guardrail raised or timed out and fails open).
    pub action: String,
    /// How many matches it found (0 for `pass`; 1 for checks without spans).
    #[serde(default)]
    pub count: u32,
}

/// What kind of call an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// A chat completion (streamed or not).
    Chat,
    /// Embeddings.
    Embeddings,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// It succeeded.
    Ok,
    /// It failed.
    Error,
    /// A guardrail or a policy blocked it.
    Blocked,
    /// The caller cancelled it (a dropped future, an aborted stream, a closed client):
    /// `error_code` is `CANCELLED`, and the tokens already delivered are counted.
    Cancelled,
}

/// The text of a call, on its event only when content capture is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct CapturedContent {
    /// The request's texts in order: messages (`role`, text parts joined) or embedding inputs
    /// (role `input`).
    pub input: Vec<CapturedText>,
    /// The answer's text, when there was one.
    #[serde(default)]
    pub output: Option<String>,
}

/// One captured text and whose it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct CapturedText {
    /// `system`, `user`, `assistant`, `tool` or `input`.
    pub role: String,
    /// The text.
    pub text: String,
}

/// One call's usage record (schema 1): who called which model, how it ended, what it took and
/// cost. No prompt or completion text unless content capture is on.
// Strings a client repeats on every event are shared (`Arc<str>`): recording costs little.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct UsageEvent {
    /// The schema version: [`SCHEMA_VERSION`].
    pub schema: u32,
    /// UUIDv7: time-ordered, and the collector's idempotency key.
    pub id: String,
    /// When the call started.
    pub ts: Timestamp,
    /// The application.
    pub app: Arc<str>,
    /// The owning team.
    #[serde(default)]
    pub team: Option<Arc<str>>,
    /// The end user (an id).
    #[serde(default)]
    pub user: Option<String>,
    /// The environment (`prod`, `staging`, …).
    #[serde(default)]
    pub env: Option<Arc<str>>,
    /// Free-form labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `chat` or `embeddings`.
    pub operation: Operation,
    /// The model name the caller asked for (alias or `provider/model`).
    pub model_requested: String,
    /// The provider of the last attempt.
    #[serde(default)]
    pub provider: Option<Arc<str>>,
    /// The deployment of the last attempt.
    #[serde(default)]
    pub deployment: Option<Arc<str>>,
    /// The model as served (or as configured, when the call failed).
    #[serde(default)]
    pub model: Option<Arc<str>>,
    /// Whether the call streamed.
    #[serde(default)]
    pub stream: bool,
    /// `ok`, `error`, `blocked` or `cancelled`.
    pub status: CallStatus,
    /// The error code when `status` is not `ok`.
    #[serde(default)]
    pub error_code: Option<ErrorCode>,
    /// The provider's HTTP status of the last attempt.
    #[serde(default)]
    pub http_status: Option<u16>,
    /// Prompt tokens (cached and cache-written ones included).
    #[serde(default)]
    pub input_tokens: u64,
    /// Generated tokens (reasoning included).
    #[serde(default)]
    pub output_tokens: u64,
    /// Prompt tokens read from the provider's cache (part of `input_tokens`).
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Prompt tokens written to the provider's cache (part of `input_tokens`).
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Reasoning tokens (part of `output_tokens`).
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// Whether the token counts are modelplug's estimate rather than the provider's report
    /// (a stream cancelled before the provider sent its usage).
    #[serde(default)]
    pub usage_is_estimated: bool,
    /// Cost, when a price is known.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Whether the cost is an estimate (priced from estimated tokens).
    #[serde(default)]
    pub cost_is_estimated: bool,
    /// Which price table priced it.
    #[serde(default)]
    pub price_table_version: Option<Arc<str>>,
    /// Wall time of the whole call.
    #[serde(default)]
    pub latency_ms: f64,
    /// Time to the first content delta (streams only).
    #[serde(default)]
    pub ttft_ms: Option<f64>,
    /// Time spent in modelplug itself: the call's wall time minus provider tries and backoff.
    #[serde(default)]
    pub overhead_us: u64,
    /// Every try, in order.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// Whether a deployment other than the first one answered.
    #[serde(default)]
    pub fallback_used: bool,
    /// Whether the answer came from the cache.
    #[serde(default)]
    pub cache_hit: bool,
    /// What guardrails did.
    #[serde(default)]
    pub guardrails: Vec<GuardrailOutcome>,
    /// The config hash the client runs on.
    #[serde(default)]
    pub config_hash: Arc<str>,
    /// The central policy version in force.
    #[serde(default)]
    pub policy_version: Option<String>,
    /// Which SDK produced the event.
    pub sdk: Arc<SdkInfo>,
    /// The caller's labels (`metadata.labels`): free-form key/value attribution, bounded in
    /// count and size by the SDK.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The caller's W3C trace context (`traceparent`), when it had one: the call's span is its
    /// child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// Prompt and completion text, only when the config turns `capture_content` on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<CapturedContent>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn minimal() -> serde_json::Value {
        serde_json::json!({
            "schema": 1,
            "id": "0193a1b2-0000-7000-8000-000000000000",
            "ts": "2026-11-24T20:31:05.123Z",
            "app": "a",
            "operation": "chat",
            "model_requested": "smart",
            "status": "error",
            "error_code": "RATE_LIMITED",
            "sdk": {"language": "python", "version": "0.1.0"}
        })
    }

    #[test]
    fn an_older_sdks_event_parses_with_defaults() {
        let e: UsageEvent = serde_json::from_value(minimal()).unwrap();
        assert_eq!(e.error_code, Some(ErrorCode::Known(ErrorKind::RateLimited)));
        assert_eq!(e.cache_write_tokens, 0);
        assert!(!e.usage_is_estimated);
    }

    #[test]
    fn a_newer_sdks_event_parses_keeping_unknown_codes() {
        let mut v = minimal();
        v["error_code"] = "BUDGET_FROZEN".into();
        v["a_field_from_the_future"] = serde_json::json!({"x": 1});
        v["attempts"] = serde_json::json!([{"provider": "p", "deployment": "d", "model": "m",
            "error": "BUDGET_FROZEN", "latency_ms": 1.5}]);
        let e: UsageEvent = serde_json::from_value(v).unwrap();
        assert_eq!(e.error_code, Some(ErrorCode::Unknown("BUDGET_FROZEN".into())));
        assert_eq!(e.attempts[0].outcome(), "BUDGET_FROZEN");
        let back = serde_json::to_value(&e).unwrap();
        assert_eq!(back["error_code"], "BUDGET_FROZEN");
    }
}
