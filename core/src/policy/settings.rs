//! How a client reaches its central policy (the config's `collector.policy:`).
//!
//! ```yaml
//! collector:
//!   url: http://127.0.0.1:4000
//!   key: ${MODELPLUG_KEY}
//!   policy:
//!     public_key: ed25519:3q2+7w…        # the collector's (`GET /v1/policy/public-key`)
//!     required: false                     # no policy at all (unreachable, nothing cached): fail open
//!     start_timeout_ms: 3000              # how long the first calls wait for the first answer
//! ```

use std::path::PathBuf;
use std::time::Duration;

use super::Verifier;
use crate::redact::Secret;

/// A client's central-policy settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySettings {
    /// The collector's base URL.
    pub url: String,
    /// The app's ingest key.
    pub key: Option<Secret>,
    /// The collector's public key: nothing it did not sign is applied.
    pub verifier: Verifier,
    /// With no policy at all (the collector unreachable at start and nothing cached), calls
    /// fail (true) or go on under the local config alone (false, the default).
    pub required: bool,
    /// Where the last verified policy is kept (`<spool dir>.policy.json` by default).
    pub cache_file: PathBuf,
    /// How long the first calls wait for the collector's first answer.
    pub start_timeout: Duration,
    /// How far back a client counts its own spend as not yet in the collector's figures when
    /// a budget update arrives: the reporter's flush interval plus ingest and push time.
    pub budget_window: Duration,
}

impl PolicySettings {
    /// The default cache file beside the app's spool directory.
    pub fn default_cache_file(spool_dir: &std::path::Path) -> PathBuf {
        let mut name = spool_dir.file_name().unwrap_or_default().to_os_string();
        name.push(".policy.json");
        spool_dir.with_file_name(name)
    }
}
