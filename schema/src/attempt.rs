//! [`Attempt`]: one try of one deployment, as responses, errors and usage events list them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// One try of one deployment: where, how it ended and how long it took.
// The names are shared (`Arc<str>`): recording a try allocates nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct Attempt {
    /// The provider tried.
    pub provider: Arc<str>,
    /// The deployment tried.
    pub deployment: Arc<str>,
    /// The model asked for.
    pub model: Arc<str>,
    /// `None` when this try succeeded, else its error code.
    pub error: Option<ErrorCode>,
    /// The provider's HTTP status, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How long this try took.
    pub latency_ms: f64,
}

impl Attempt {
    /// `"ok"` or the error code: the form usage events and tables use.
    pub fn outcome(&self) -> &str {
        self.error.as_ref().map_or("ok", ErrorCode::as_str)
    }
}
