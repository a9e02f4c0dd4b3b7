//! Central policy: the document the collector keeps (validated here, so the collector accepts
//! exactly what clients apply), its signature, and — in a client — fetching, watching,
//! verifying, keeping the last good copy on disk and applying it atomically.

mod budget;
mod cache;
mod document;
mod rate_limit;
mod settings;
mod signed;
mod stage;
mod state;
mod watch;

pub(crate) use document::SECTION_FIELDS;
pub use document::{
    BudgetMode, BudgetPer, BudgetSpec, EffectivePolicy, MAX_POLICY_BYTES, Period, PolicyDocument,
    PolicySection, RateLimitSpec,
};
pub use settings::PolicySettings;
pub use signed::{Signer, Verifier};
pub use state::PolicyStatus;

pub(crate) use stage::PolicyStage;
pub(crate) use state::{Applied, PolicyState};
pub(crate) use watch::PolicyWatch;
