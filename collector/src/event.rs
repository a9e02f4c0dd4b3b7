//! [`StoredEvent`]: one usage event checked and flattened into the columns the collector stores,
//! plus the event exactly as received (so fields newer than this collector are kept).

use std::borrow::Cow;
use std::collections::BTreeMap;

use modelplug_schema::{CallStatus, Operation, SCHEMA_VERSION, UsageEvent};
use serde_json::value::RawValue;
use uuid::Uuid;

/// The largest event accepted, in bytes of JSON (content capture makes events large).
pub const MAX_EVENT_BYTES: usize = 1 << 20;
/// The longest name (app, team, user, model, …) accepted, in bytes.
const MAX_NAME_BYTES: usize = 256;
/// How far in the future an event's time may be (clocks drift; more is a bug or an attack).
const MAX_FUTURE_MS: u64 = 24 * 3600 * 1000;
/// No token count or cost is beyond this: 2^53, where JSON numbers stop being exact.
const MAX_COUNT: u64 = 1 << 53;
/// Labels on one event, as the SDKs bound them.
const MAX_LABELS: usize = 32;

/// A usage event ready to store: every column the reports use, and the JSON as received.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The idempotency key.
    pub id: Uuid,
    /// When the call started, in milliseconds since the epoch.
    pub ts_ms: i64,
    /// The application (as the ingest key allows).
    pub app: String,
    /// The team, `""` when none.
    pub team: String,
    /// The end user, `""` when none.
    pub user: String,
    /// The environment, `""` when none.
    pub env: String,
    /// `chat` or `embeddings`.
    pub operation: &'static str,
    /// The model name the caller asked for.
    pub model_requested: String,
    /// The provider, `""` when none.
    pub provider: String,
    /// The deployment, `""` when none.
    pub deployment: String,
    /// The model as served, `""` when none.
    pub model: String,
    /// Whether the call streamed.
    pub stream: bool,
    /// `ok`, `error`, `blocked` or `cancelled`.
    pub status: &'static str,
    /// The error code, `""` when none (unknown codes kept as sent).
    pub error_code: String,
    /// The provider's HTTP status.
    pub http_status: Option<i32>,
    /// Prompt tokens.
    pub input_tokens: i64,
    /// Generated tokens.
    pub output_tokens: i64,
    /// Prompt tokens read from a provider cache.
    pub cached_input_tokens: i64,
    /// Prompt tokens written to a provider cache.
    pub cache_write_tokens: i64,
    /// Reasoning tokens.
    pub reasoning_tokens: i64,
    /// Cost in nano-dollars (integers add exactly), when priced.
    pub cost_nusd: Option<i64>,
    /// Whether the cost is an estimate.
    pub cost_is_estimated: bool,
    /// Wall time of the call.
    pub latency_ms: f64,
    /// Time to first token (streams).
    pub ttft_ms: Option<f64>,
    /// How many tries the call took.
    pub attempts: i32,
    /// Whether a fallback answered.
    pub fallback_used: bool,
    /// Whether the answer came from the cache.
    pub cache_hit: bool,
    /// The central policy version in force.
    pub policy_version: Option<String>,
    /// The caller's labels.
    pub labels: BTreeMap<String, String>,
    /// The event's other fields (attempts, sdk, guardrails, cost as sent, fields newer than
    /// this collector, …) as a JSON object, exactly as received: with the columns it makes the
    /// whole event again ([`StoredEvent::to_json`]) without storing every value twice.
    pub extra: String,
}

/// Top-level fields the stored columns give back exactly ([`StoredEvent::to_json`]); all
/// others are kept as sent in [`StoredEvent::extra`]. (`cost_usd` stays there: the column holds
/// it in nano-dollars, for exact sums.)
const COLUMN_FIELDS: [&str; 28] = [
    "schema",
    "id",
    "ts",
    "app",
    "team",
    "user",
    "env",
    "operation",
    "model_requested",
    "provider",
    "deployment",
    "model",
    "stream",
    "status",
    "error_code",
    "http_status",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_is_estimated",
    "latency_ms",
    "ttft_ms",
    "fallback_used",
    "cache_hit",
    "policy_version",
    "labels",
];

/// An object's entries, values left as their JSON text (one quick pass, no copies).
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

/// A key, borrowed from the input unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> serde::Deserialize<'de> for Entries<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an event object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut out = Vec::with_capacity(40);
                while let Some((k, v)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    out.push((k.0, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Why one event was refused (the batch's other events are unaffected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// A short machine-readable reason: `invalid`, `schema_version`, `app_not_allowed`,
    /// `team_not_allowed`, `too_large`.
    pub reason: &'static str,
    /// What is wrong, naming the field; never a field's value beyond the event id.
    pub detail: String,
}

impl Rejection {
    fn invalid(detail: impl Into<String>) -> Rejection {
        Rejection {
            reason: "invalid",
            detail: detail.into(),
        }
    }
}

/// Converts dollars to nano-dollars.
pub fn nano_usd(usd: f64) -> i64 {
    (usd * 1e9).round() as i64
}

impl StoredEvent {
    /// Checks one event of a batch and flattens it. `now_ms` bounds how far in the future its
    /// time may be.
    pub fn parse(raw: &RawValue, now_ms: u64) -> Result<StoredEvent, Rejection> {
        let text = raw.get();
        if text.len() > MAX_EVENT_BYTES {
            return Err(Rejection {
                reason: "too_large",
                detail: format!(
                    "the event is {} bytes; at most {MAX_EVENT_BYTES} are accepted",
                    text.len()
                ),
            });
        }
        if !text.starts_with('{') {
            return Err(Rejection::invalid("an event must be a JSON object"));
        }
        let entries: Entries<'_> =
            serde_json::from_str(text).map_err(|e| Rejection::invalid(describe(&e.to_string())))?;
        let event: UsageEvent = match serde_json::from_str(text) {
            Ok(e) => e,
            // The slow path, for the message: the field's path, or the schema version.
            Err(_) => return Err(Self::explain(text)),
        };
        if event.schema != SCHEMA_VERSION {
            return Err(Self::explain(text));
        }
        let mut extra = String::with_capacity(text.len() / 2);
        extra.push('{');
        for (key, value) in entries
            .0
            .iter()
            .filter(|(k, _)| !COLUMN_FIELDS.contains(&k.as_ref()))
        {
            if extra.len() > 1 {
                extra.push(',');
            }
            extra.push_str(&serde_json::to_string(key.as_ref()).unwrap_or_default());
            extra.push(':');
            extra.push_str(value.get());
        }
        extra.push('}');
        Self::from_event(event, extra, now_ms)
    }

    /// Why an event that did not parse was refused: its schema version when that is not
    /// ours, else the path of the first bad field.
    fn explain(text: &str) -> Rejection {
        #[derive(serde::Deserialize)]
        struct Version {
            schema: Option<serde_json::Value>,
        }
        match serde_json::from_str::<Version>(text).map(|v| v.schema) {
            Ok(Some(serde_json::Value::Number(n))) if n.as_u64() != Some(u64::from(SCHEMA_VERSION)) => {
                return Rejection {
                    reason: "schema_version",
                    detail: format!(
                        "schema version {n} is not supported (this collector reads {SCHEMA_VERSION})"
                    ),
                };
            }
            Ok(Some(serde_json::Value::Number(_))) => {}
            Ok(_) => return Rejection::invalid("`schema`: missing or not a number"),
            Err(e) => return Rejection::invalid(describe(&e.to_string())),
        }
        let mut de = serde_json::Deserializer::from_str(text);
        match serde_path_to_error::deserialize::<_, UsageEvent>(&mut de) {
            Ok(_) => Rejection::invalid("the event is not a schema-1 usage event"),
            Err(e) => Rejection::invalid(format!("`{}`: {}", e.path(), describe(&e.inner().to_string()))),
        }
    }

    fn from_event(e: UsageEvent, extra: String, now_ms: u64) -> Result<StoredEvent, Rejection> {
        let id = Uuid::parse_str(&e.id).map_err(|_| Rejection::invalid("`id`: not a UUID"))?;
        if e.ts.0 > now_ms + MAX_FUTURE_MS {
            return Err(Rejection::invalid("`ts`: more than a day in the future"));
        }
        let name = |field: &str, v: Option<&str>, required: bool| -> Result<String, Rejection> {
            let v = v.unwrap_or("");
            if required && v.is_empty() {
                return Err(Rejection::invalid(format!("`{field}`: must not be empty")));
            }
            if v.len() > MAX_NAME_BYTES {
                return Err(Rejection::invalid(format!(
                    "`{field}`: longer than {MAX_NAME_BYTES} bytes"
                )));
            }
            if v.contains('\0') {
                return Err(Rejection::invalid(format!("`{field}`: contains a NUL character")));
            }
            Ok(v.to_owned())
        };
        let count = |field: &str, v: u64| -> Result<i64, Rejection> {
            if v > MAX_COUNT {
                return Err(Rejection::invalid(format!("`{field}`: larger than 2^53")));
            }
            Ok(v as i64)
        };
        let millis = |field: &str, v: f64| -> Result<f64, Rejection> {
            if !v.is_finite() || v < 0.0 {
                return Err(Rejection::invalid(format!(
                    "`{field}`: must be a non-negative number"
                )));
            }
            Ok(v)
        };
        let cost_nusd = match e.cost_usd {
            Some(c) if !c.is_finite() || !(0.0..=MAX_COUNT as f64 / 1e9).contains(&c) => {
                return Err(Rejection::invalid(
                    "`cost_usd`: must be a non-negative number of dollars",
                ));
            }
            Some(c) => Some(nano_usd(c)),
            None => None,
        };
        if e.labels.len() > MAX_LABELS {
            return Err(Rejection::invalid(format!("`labels`: more than {MAX_LABELS}")));
        }
        for (k, v) in &e.labels {
            // The SDKs' rule for keys (reports name them in a query the same way).
            if !crate::report::query::valid_label_key(k) || v.len() > MAX_NAME_BYTES || v.contains('\0') {
                return Err(Rejection::invalid(
                    "`labels`: keys of 1–64 letters, digits, `_ - . / :`; values of at most 256 bytes",
                ));
            }
        }
        Ok(StoredEvent {
            id,
            ts_ms: e.ts.0 as i64,
            app: name("app", Some(&e.app), true)?,
            team: name("team", e.team.as_deref(), false)?,
            user: name("user", e.user.as_deref(), false)?,
            env: name("env", e.env.as_deref(), false)?,
            operation: match e.operation {
                Operation::Chat => "chat",
                Operation::Embeddings => "embeddings",
            },
            model_requested: name("model_requested", Some(&e.model_requested), false)?,
            provider: name("provider", e.provider.as_deref(), false)?,
            deployment: name("deployment", e.deployment.as_deref(), false)?,
            model: name("model", e.model.as_deref(), false)?,
            stream: e.stream,
            status: status_name(e.status),
            error_code: name("error_code", e.error_code.as_ref().map(|c| c.as_str()), false)?,
            http_status: e.http_status.map(i32::from),
            input_tokens: count("input_tokens", e.input_tokens)?,
            output_tokens: count("output_tokens", e.output_tokens)?,
            cached_input_tokens: count("cached_input_tokens", e.cached_input_tokens)?,
            cache_write_tokens: count("cache_write_tokens", e.cache_write_tokens)?,
            reasoning_tokens: count("reasoning_tokens", e.reasoning_tokens)?,
            cost_nusd,
            cost_is_estimated: e.cost_is_estimated,
            latency_ms: millis("latency_ms", e.latency_ms)?,
            ttft_ms: e.ttft_ms.map(|t| millis("ttft_ms", t)).transpose()?,
            attempts: e.attempts.len().min(i32::MAX as usize) as i32,
            fallback_used: e.fallback_used,
            cache_hit: e.cache_hit,
            policy_version: e
                .policy_version
                .map(|v| name("policy_version", Some(&v), false))
                .transpose()?,
            labels: e.labels,
            extra,
        })
    }

    /// The whole event as JSON again: the columns' fields, then `extra`'s (absent optional
    /// fields stay absent; names stored as `""` are absent).
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            m.insert(k.to_owned(), v);
        };
        put("schema", SCHEMA_VERSION.into());
        put("id", self.id.to_string().into());
        put(
            "ts",
            modelplug_schema::Timestamp(self.ts_ms.max(0) as u64)
                .to_string()
                .into(),
        );
        for (k, v) in [
            ("app", &self.app),
            ("team", &self.team),
            ("user", &self.user),
            ("env", &self.env),
        ] {
            if !v.is_empty() {
                put(k, v.as_str().into());
            }
        }
        put("operation", self.operation.into());
        put("model_requested", self.model_requested.as_str().into());
        for (k, v) in [
            ("provider", &self.provider),
            ("deployment", &self.deployment),
            ("model", &self.model),
        ] {
            if !v.is_empty() {
                put(k, v.as_str().into());
            }
        }
        put("stream", self.stream.into());
        put("status", self.status.into());
        if !self.error_code.is_empty() {
            put("error_code", self.error_code.as_str().into());
        }
        if let Some(h) = self.http_status {
            put("http_status", h.into());
        }
        put("input_tokens", self.input_tokens.into());
        put("output_tokens", self.output_tokens.into());
        put("cached_input_tokens", self.cached_input_tokens.into());
        put("cache_write_tokens", self.cache_write_tokens.into());
        put("reasoning_tokens", self.reasoning_tokens.into());
        put("cost_is_estimated", self.cost_is_estimated.into());
        put("latency_ms", self.latency_ms.into());
        if let Some(t) = self.ttft_ms {
            put("ttft_ms", t.into());
        }
        put("fallback_used", self.fallback_used.into());
        put("cache_hit", self.cache_hit.into());
        if let Some(p) = &self.policy_version {
            put("policy_version", p.as_str().into());
        }
        if !self.labels.is_empty() {
            put("labels", serde_json::json!(self.labels));
        }
        if let Ok(serde_json::Value::Object(extra)) = serde_json::from_str::<serde_json::Value>(&self.extra) {
            for (k, v) in extra {
                m.entry(k).or_insert(v);
            }
        }
        serde_json::Value::Object(m)
    }

    /// The labels as a JSON object, `None` when there are none.
    pub fn labels_json(&self) -> Option<String> {
        (!self.labels.is_empty()).then(|| serde_json::to_string(&self.labels).unwrap_or_default())
    }
}

/// The stored name of a status.
pub fn status_name(s: CallStatus) -> &'static str {
    match s {
        CallStatus::Ok => "ok",
        CallStatus::Error => "error",
        CallStatus::Blocked => "blocked",
        CallStatus::Cancelled => "cancelled",
    }
}

/// A serde message without the input it quotes: serde names the offending value for some
/// errors (`invalid value: string "…"`), and event strings may hold user data.
pub(crate) fn describe(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let expected = rest.find("`, ").map_or("", |i| &rest[i + 3..]);
        return format!("unknown value (not shown), {expected}");
    }
    match message.find(": string \"").or_else(|| message.find(" string \"")) {
        Some(i) => format!("{} (value not shown)", &message[..i]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(v: serde_json::Value) -> Box<RawValue> {
        RawValue::from_string(v.to_string()).unwrap()
    }

    fn event() -> serde_json::Value {
        serde_json::json!({
            "schema": 1, "id": "0193a1b2-0000-7000-8000-000000000001",
            "ts": "2026-11-24T20:31:05.123Z", "app": "a", "operation": "chat",
            "model_requested": "smart", "status": "ok", "cost_usd": 0.0123,
            "latency_ms": 12.5, "labels": {"exp": "x"},
            "sdk": {"language": "rust", "version": "0.1.0"}
        })
    }

    const NOW: u64 = 1_800_000_000_000;

    #[test]
    fn a_valid_event_is_flattened_and_kept_as_sent() {
        let mut v = event();
        v["from_the_future"] = serde_json::json!(1);
        let e = StoredEvent::parse(&raw(v), NOW).unwrap();
        assert_eq!(e.cost_nusd, Some(12_300_000));
        assert_eq!(e.labels_json().as_deref(), Some(r#"{"exp":"x"}"#));
        assert!(e.extra.contains("from_the_future"));
        assert!(!e.extra.contains("\"app\""), "{}", e.extra);
        let back = e.to_json();
        assert_eq!(back["from_the_future"], 1);
        assert_eq!(back["cost_usd"], 0.0123);
        assert_eq!(back["labels"]["exp"], "x");
        assert_eq!(back["sdk"]["language"], "rust");
    }

    #[test]
    fn refusals_name_the_field_but_not_the_value() {
        let mut v = event();
        v["status"] = "<script>secret</script>".into();
        let r = StoredEvent::parse(&raw(v), NOW).unwrap_err();
        assert_eq!(r.reason, "invalid");
        assert!(r.detail.contains("`status`"), "{}", r.detail);
        assert!(!r.detail.contains("secret"), "{}", r.detail);
        let mut v = event();
        v["schema"] = 2.into();
        assert_eq!(
            StoredEvent::parse(&raw(v), NOW).unwrap_err().reason,
            "schema_version"
        );
        let mut v = event();
        v["cost_usd"] = (-1.0).into();
        assert!(
            StoredEvent::parse(&raw(v), NOW)
                .unwrap_err()
                .detail
                .contains("cost_usd")
        );
        let mut v = event();
        v["id"] = "not-a-uuid".into();
        assert!(StoredEvent::parse(&raw(v), NOW).is_err());
        assert!(StoredEvent::parse(&raw(serde_json::json!([1])), NOW).is_err());
    }
}
