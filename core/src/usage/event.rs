//! The usage event (schema 1, DESIGN §5): one per call, the contract between every SDK and the
//! collector. It never carries prompt or completion text.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::types::{Attempt, Metadata, Usage};

/// Which language and version of modelplug produced an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdkInfo {
    /// `rust`, `python`, `node` or `kotlin`.
    pub language: String,
    /// The package version.
    pub version: String,
}

impl Default for SdkInfo {
    fn default() -> SdkInfo {
        SdkInfo {
            language: "rust".to_owned(),
            version: crate::VERSION.to_owned(),
        }
    }
}

/// What a guardrail did during a call (filled once guardrails exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardrailOutcome {
    /// The guardrail's configured name.
    pub name: String,
    /// `input` or `output`.
    pub stage: String,
    /// What it did: `pass`, `redact`, `block`, `flag`.
    pub action: String,
}

/// One call's usage record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// Always 1.
    pub schema: u32,
    /// UUIDv7: time-ordered, and the collector's idempotency key.
    pub id: String,
    /// When the call started, RFC 3339 UTC with milliseconds.
    pub ts: String,
    /// The application.
    pub app: String,
    /// The owning team.
    pub team: Option<String>,
    /// The end user (an id).
    pub user: Option<String>,
    /// The environment.
    pub env: Option<String>,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// `chat` or `embeddings`.
    pub operation: String,
    /// The model name the caller asked for (alias or `provider/model`).
    pub model_requested: String,
    /// The provider of the last attempt.
    pub provider: Option<String>,
    /// The deployment of the last attempt.
    pub deployment: Option<String>,
    /// The model as served (or as configured, when the call failed).
    pub model: Option<String>,
    /// Whether the call streamed.
    pub stream: bool,
    /// `ok`, `error` or `blocked`.
    pub status: String,
    /// The error code when `status` is not `ok`.
    pub error_code: Option<String>,
    /// The provider's HTTP status of the last attempt.
    pub http_status: Option<u16>,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens (reasoning included).
    pub output_tokens: u64,
    /// Prompt tokens served from the provider's cache.
    pub cached_input_tokens: u64,
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
    /// Cost, when a price is known.
    pub cost_usd: Option<f64>,
    /// Whether the cost is an estimate (e.g. tokens counted locally).
    pub cost_is_estimated: bool,
    /// Which price table priced it.
    pub price_table_version: Option<String>,
    /// Wall time of the whole call.
    pub latency_ms: f64,
    /// Time to the first content delta (streams only).
    pub ttft_ms: Option<f64>,
    /// Time spent in modelplug itself: the call's wall time minus provider tries and backoff.
    pub overhead_us: u64,
    /// Every try, in order.
    pub attempts: Vec<Attempt>,
    /// Whether a deployment other than the first one answered.
    pub fallback_used: bool,
    /// Whether the answer came from the cache.
    pub cache_hit: bool,
    /// What guardrails did.
    pub guardrails: Vec<GuardrailOutcome>,
    /// The config hash the client runs on.
    pub config_hash: String,
    /// The central policy version in force.
    pub policy_version: Option<String>,
    /// Which SDK produced the event.
    pub sdk: SdkInfo,
}

/// What the client knows about a call when it records it.
pub(crate) struct CallFacts<'a> {
    pub operation: &'static str,
    pub model_requested: &'a str,
    pub metadata: &'a Metadata,
    pub stream: bool,
    pub started: SystemTime,
    pub elapsed: Duration,
    pub waited: Duration,
    pub ttft: Option<Duration>,
    pub attempts: &'a [Attempt],
}

/// The client-level fields every event carries.
pub(crate) struct ClientFacts<'a> {
    pub app: &'a str,
    pub team: Option<&'a str>,
    pub env: Option<&'a str>,
    pub config_hash: &'a str,
    pub sdk: &'a SdkInfo,
}

impl UsageEvent {
    /// Builds the event of one call that ended with `outcome` (served model and usage, or the error).
    pub(crate) fn build(
        client: &ClientFacts<'_>,
        call: &CallFacts<'_>,
        outcome: Result<(&str, &Usage, Option<f64>), &Error>,
    ) -> UsageEvent {
        let last = call.attempts.last();
        let tried: Duration = call
            .attempts
            .iter()
            .map(|a| Duration::from_secs_f64(a.latency_ms / 1000.0))
            .sum();
        let overhead = call.elapsed.saturating_sub(tried).saturating_sub(call.waited);
        let (status, error_code, model, usage, cost) = match outcome {
            Ok((model, usage, cost)) => ("ok", None, Some(model.to_owned()), *usage, cost),
            Err(e) => {
                let status = if e.kind() == crate::ErrorKind::GuardrailBlocked {
                    "blocked"
                } else {
                    "error"
                };
                (
                    status,
                    Some(e.code().to_owned()),
                    last.map(|a| a.model.clone()),
                    Usage::default(),
                    None,
                )
            }
        };
        let first_deployment = call.attempts.first().map(|a| a.deployment.as_str());
        UsageEvent {
            schema: 1,
            id: uuid::Uuid::now_v7().to_string(),
            ts: rfc3339(call.started),
            app: call.metadata.app.clone().unwrap_or_else(|| client.app.to_owned()),
            team: call
                .metadata
                .team
                .clone()
                .or_else(|| client.team.map(str::to_owned)),
            user: call.metadata.user.clone(),
            env: client.env.map(str::to_owned),
            tags: call.metadata.tags.clone(),
            operation: call.operation.to_owned(),
            model_requested: call.model_requested.to_owned(),
            provider: last.map(|a| a.provider.clone()),
            deployment: last.map(|a| a.deployment.clone()),
            model,
            stream: call.stream,
            status: status.to_owned(),
            error_code,
            http_status: last.and_then(|a| a.status),
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cached_input_tokens: usage.cached_input_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            cost_usd: cost,
            cost_is_estimated: false,
            price_table_version: None,
            latency_ms: call.elapsed.as_secs_f64() * 1000.0,
            ttft_ms: call.ttft.map(|d| d.as_secs_f64() * 1000.0),
            overhead_us: overhead.as_micros() as u64,
            attempts: call.attempts.to_vec(),
            fallback_used: last.map(|a| a.deployment.as_str()) != first_deployment,
            cache_hit: false,
            guardrails: Vec::new(),
            config_hash: client.config_hash.to_owned(),
            policy_version: None,
            sdk: client.sdk.clone(),
        }
    }
}

/// `2026-11-24T20:31:05.123Z`.
fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_795_552_265_123)),
            "2026-11-24T20:31:05.123Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
