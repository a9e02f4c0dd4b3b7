//! The contract between every modelplug SDK and the collector, and nothing else: serde types
//! with no HTTP, no runtime and no provider code, so that the core (which produces them) and
//! the collector (which stores them) can never disagree.
//!
//! - [`UsageEvent`] (schema 1): one per call, carrying prompt or completion text only when
//!   content capture is on;
//! - [`Attempt`]: one try of one deployment;
//! - [`ErrorKind`] / [`ErrorCode`]: the stable error code table; [`ErrorCode::Unknown`] keeps a
//!   code this version does not know, so an older collector accepts a newer SDK's events;
//! - [`Price`]: one model's price, the entry of the price tables that configs and (later)
//!   central policy publish;
//! - [`policy`]: the signed policy and budget payloads the collector pushes to clients.
//!
//! With the `json-schema` feature every type derives `schemars::JsonSchema`; the checked-in
//! `usage-event.schema.json` is generated from [`UsageEvent`] (see [`usage_event_schema`]).

mod attempt;
mod error_code;
pub mod policy;
mod price;
mod timestamp;
mod usage_event;

pub use attempt::Attempt;
pub use error_code::{ErrorCode, ErrorKind};
pub use price::Price;
pub use timestamp::Timestamp;
pub use usage_event::{
    CallStatus, CapturedContent, CapturedText, GuardrailOutcome, Operation, SCHEMA_VERSION, SdkInfo,
    UsageEvent,
};

/// The JSON Schema of [`UsageEvent`] (draft 2020-12), as checked in at
/// `schema/usage-event.schema.json`.
#[cfg(feature = "json-schema")]
pub fn usage_event_schema() -> schemars::Schema {
    schemars::schema_for!(UsageEvent)
}
