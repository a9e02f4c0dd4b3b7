//! Usage: the per-call [`UsageEvent`] (schema 1, shared with the collector), the in-process
//! [`UsageLog`], the [`PriceTable`] (the config's `prices:`) and the built-in [`PriceCatalog`]
//! that turn token counts into cost, the [`Reporter`] that ships events to the collector
//! (durably), and the [`sinks`] (JSON lines, host callbacks, OpenTelemetry).

pub mod catalog;
mod control;
mod estimate;
mod event;
mod log;
mod pricing;
mod queue;
pub mod reporter;
pub mod sinks;

pub use catalog::{ModelPrice, PriceCatalog};
pub use estimate::estimate_tokens;
pub use event::{
    CallStatus, CapturedContent, CapturedText, GuardrailOutcome, Operation, SdkInfo, Timestamp, UsageEvent,
    rust_sdk,
};
pub(crate) use event::{ClientFacts, new_event_id};
pub use log::{DEFAULT_CAPACITY, UsageLog};
pub use pricing::{Price, PriceTable, cost_of};
pub use reporter::{Reporter, ReporterSettings, ReporterStats};
pub use sinks::{Exporter, Sink, SinkConfig, UsageCallback};
