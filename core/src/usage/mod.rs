//! Usage: the per-call [`UsageEvent`] (schema 1, shared with the collector), the in-process
//! [`UsageLog`], and the [`PriceTable`] that turns token counts into cost.

mod estimate;
mod event;
mod log;
mod pricing;

pub use estimate::estimate_tokens;
pub use event::{CallStatus, GuardrailOutcome, Operation, SdkInfo, Timestamp, UsageEvent, rust_sdk};
pub(crate) use event::{ClientFacts, new_event_id};
pub use log::{DEFAULT_CAPACITY, UsageLog};
pub use pricing::{Price, PriceTable, cost_of};
