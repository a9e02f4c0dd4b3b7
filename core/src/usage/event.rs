//! The usage event (schema 1, DESIGN §5), defined in `modelplug-schema` and shared with the
//! collector; here the SDK-side helpers: the SDK's own name, event ids, and the client-level
//! fields every event of a client repeats. Events are built in one place,
//! `pipeline::record`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use modelplug_schema::{
    CallStatus, CapturedContent, CapturedText, GuardrailOutcome, Operation, SdkInfo, Timestamp, UsageEvent,
};

/// This crate as the producer of events: `rust` and its version (bindings name themselves).
pub fn rust_sdk() -> SdkInfo {
    SdkInfo {
        language: "rust".to_owned(),
        version: crate::VERSION.to_owned(),
    }
}

/// The client-level fields every event carries, allocated once per client.
#[derive(Debug, Clone)]
pub(crate) struct ClientFacts {
    pub app: Arc<str>,
    pub team: Option<Arc<str>>,
    pub env: Option<Arc<str>>,
    pub config_hash: Arc<str>,
    pub sdk: Arc<SdkInfo>,
    /// Whether events carry the call's text.
    pub capture_content: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
}
