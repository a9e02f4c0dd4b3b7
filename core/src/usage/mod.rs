//! Usage: the per-call [`UsageEvent`] (schema 1, shared with the collector), the in-process
//! [`UsageLog`], and the [`PriceTable`] that turns token counts into cost.

mod event;
mod log;
mod pricing;

pub(crate) use event::{CallFacts, ClientFacts, new_event_id};
pub use event::{CallStatus, GuardrailOutcome, Operation, SdkInfo, Timestamp, UsageEvent};
pub use log::{DEFAULT_CAPACITY, UsageLog};
pub use pricing::{Price, PriceTable};
