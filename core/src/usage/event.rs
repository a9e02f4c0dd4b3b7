//! The usage event (schema 1, DESIGN §5): one per call, the contract between every SDK and the
//! collector. It never carries prompt or completion text.

use std::sync::Arc;
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

/// What kind of call an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// A chat completion (streamed or not).
    Chat,
    /// Embeddings.
    Embeddings,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// It succeeded.
    Ok,
    /// It failed.
    Error,
    /// A guardrail blocked it.
    Blocked,
}

/// A point in time, in milliseconds since the Unix epoch; JSON form RFC 3339 UTC
/// (`2026-11-24T20:31:05.123Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The time `t`.
    pub fn of(t: SystemTime) -> Timestamp {
        Timestamp(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(UNIX_EPOCH + Duration::from_millis(self.0)))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 UTC time")))
    }
}

/// One call's usage record. Strings the client repeats on every event are shared (`Arc<str>`),
/// so that recording a call costs little.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// Always 1.
    pub schema: u32,
    /// UUIDv7: time-ordered, and the collector's idempotency key.
    pub id: String,
    /// When the call started.
    pub ts: Timestamp,
    /// The application.
    pub app: Arc<str>,
    /// The owning team.
    pub team: Option<Arc<str>>,
    /// The end user (an id).
    pub user: Option<String>,
    /// The environment.
    pub env: Option<Arc<str>>,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// `chat` or `embeddings`.
    pub operation: Operation,
    /// The model name the caller asked for (alias or `provider/model`).
    pub model_requested: String,
    /// The provider of the last attempt.
    pub provider: Option<Arc<str>>,
    /// The deployment of the last attempt.
    pub deployment: Option<Arc<str>>,
    /// The model as served (or as configured, when the call failed).
    pub model: Option<Arc<str>>,
    /// Whether the call streamed.
    pub stream: bool,
    /// `ok`, `error` or `blocked`.
    pub status: CallStatus,
    /// The error code when `status` is not `ok`.
    pub error_code: Option<crate::ErrorKind>,
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
    pub price_table_version: Option<Arc<str>>,
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
    pub config_hash: Arc<str>,
    /// The central policy version in force.
    pub policy_version: Option<String>,
    /// Which SDK produced the event.
    pub sdk: Arc<SdkInfo>,
}

/// What the client knows about a call when it records it.
pub(crate) struct CallFacts<'a> {
    pub operation: Operation,
    pub model_requested: &'a str,
    pub metadata: &'a Metadata,
    pub stream: bool,
    pub started: SystemTime,
    pub elapsed: Duration,
    pub waited: Duration,
    pub ttft: Option<Duration>,
    pub attempts: &'a [Attempt],
}

/// The client-level fields every event carries, allocated once per client.
pub(crate) struct ClientFacts {
    pub app: Arc<str>,
    pub team: Option<Arc<str>>,
    pub env: Option<Arc<str>>,
    pub config_hash: Arc<str>,
    /// The version of the price table that prices this client's calls.
    pub price_table_version: Option<Arc<str>>,
    pub sdk: Arc<SdkInfo>,
}

/// A UUIDv7 (RFC 9562) from the clock and a fast thread-local generator: no system call.
pub(crate) fn new_event_id(now: SystemTime) -> String {
    let millis = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    let random = fastrand::u128(..).to_le_bytes();
    let mut bytes = [0u8; 10];
    bytes.copy_from_slice(&random[..10]);
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes)
        .into_uuid()
        .to_string()
}

impl UsageEvent {
    /// Builds the event of one call that ended with `outcome` (served model and usage, or the error).
    pub(crate) fn build(
        client: &ClientFacts,
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
            Ok((model, usage, cost)) => {
                // The served model usually equals the configured one: share it when it does.
                let model = match last {
                    Some(a) if &*a.model == model => a.model.clone(),
                    _ => Arc::from(model),
                };
                (CallStatus::Ok, None, Some(model), *usage, cost)
            }
            Err(e) => {
                let status = if e.kind() == crate::ErrorKind::GuardrailBlocked {
                    CallStatus::Blocked
                } else {
                    CallStatus::Error
                };
                (
                    status,
                    Some(e.kind()),
                    last.map(|a| a.model.clone()),
                    Usage::default(),
                    None,
                )
            }
        };
        let first_deployment = call.attempts.first().map(|a| &a.deployment);
        UsageEvent {
            schema: 1,
            id: new_event_id(call.started),
            ts: Timestamp::of(call.started),
            app: call
                .metadata
                .app
                .as_deref()
                .map_or_else(|| client.app.clone(), Arc::from),
            team: call
                .metadata
                .team
                .as_deref()
                .map(Arc::from)
                .or_else(|| client.team.clone()),
            user: call.metadata.user.clone(),
            env: client.env.clone(),
            tags: call.metadata.tags.clone(),
            operation: call.operation,
            model_requested: call.model_requested.to_owned(),
            provider: last.map(|a| a.provider.clone()),
            deployment: last.map(|a| a.deployment.clone()),
            model,
            stream: call.stream,
            status,
            error_code,
            http_status: last.and_then(|a| a.status),
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cached_input_tokens: usage.cached_input_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            cost_usd: cost,
            cost_is_estimated: false,
            price_table_version: cost.and(client.price_table_version.clone()),
            latency_ms: call.elapsed.as_secs_f64() * 1000.0,
            ttft_ms: call.ttft.map(|d| d.as_secs_f64() * 1000.0),
            overhead_us: overhead.as_micros() as u64,
            attempts: call.attempts.to_vec(),
            fallback_used: last.map(|a| &a.deployment) != first_deployment,
            cache_hit: false,
            guardrails: Vec::new(),
            config_hash: client.config_hash.clone(),
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

/// Parses `YYYY-MM-DDTHH:MM:SS[.mmm]Z`.
fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || !s.ends_with('Z')
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u64>().ok();
    let (y, mo, d) = (num(0..4)? as i64, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let millis = match &s[19..s.len() - 1] {
        "" => 0,
        frac if frac.starts_with('.') && frac.len() > 1 => {
            let digits = &frac[1..frac.len().min(4)];
            digits.parse::<u64>().ok()? * 10u64.pow(3 - digits.len() as u32)
        }
        _ => return None,
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + mi * 60 + sec;
    Some(Timestamp(secs * 1000 + millis))
}

/// (year, month, day) → days since 1970-01-01 (the inverse of [`civil_from_days`]).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn timestamps_round_trip() {
        for millis in [0u64, 951_782_400_000, 1_795_552_265_123, 4_102_444_799_999] {
            let t = Timestamp(millis);
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t, "{json}");
        }
        assert_eq!(
            parse_rfc3339("2026-11-24T20:31:05Z"),
            Some(Timestamp(1_795_552_265_000))
        );
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn event_ids_are_uuid_v7_and_time_ordered() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_552_265_123);
        let a = new_event_id(t);
        let b = new_event_id(t + Duration::from_millis(1));
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert!(a < b);
        assert_ne!(new_event_id(t), new_event_id(t));
    }

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
