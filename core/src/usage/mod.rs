//! Usage: the per-call [`UsageEvent`] (schema 1, shared with the collector) and the in-process
//! [`UsageLog`].

mod event;
mod log;

pub(crate) use event::{CallFacts, ClientFacts, new_event_id};
pub use event::{CallStatus, GuardrailOutcome, Operation, SdkInfo, Timestamp, UsageEvent};
pub use log::{DEFAULT_CAPACITY, UsageLog};
