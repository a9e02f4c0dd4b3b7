//! The last verified policy (and budget update) on disk, used when the collector cannot be
//! reached at start. The file holds the signed envelopes exactly as received, and is checked
//! against the configured key again when read: editing it weakens nothing, it is refused.

use std::path::Path;

use modelplug_schema::policy::SignedEnvelope;
use serde::{Deserialize, Serialize};

/// What the cache file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Cached {
    /// The last policy applied.
    #[serde(default)]
    pub(crate) policy: Option<SignedEnvelope>,
    /// The last budget update applied.
    #[serde(default)]
    pub(crate) budgets: Option<SignedEnvelope>,
    /// The collector's price catalog, when it publishes one.
    #[serde(default)]
    pub(crate) prices: Option<SignedEnvelope>,
}

/// Reads the cache file; a missing or unreadable one is no cache (the reason is logged).
pub(crate) fn read(path: &Path) -> Cached {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(target: "modelplug::policy", file = %path.display(), "the cached policy is unreadable and is ignored: {e}");
            Cached::default()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Cached::default(),
        Err(e) => {
            tracing::warn!(target: "modelplug::policy", file = %path.display(), "cannot read the cached policy: {e}");
            Cached::default()
        }
    }
}

/// Writes the cache file whole (a temporary file renamed over it: a reader never sees half).
pub(crate) fn write(path: &Path, cached: &Cached) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Unique per process and per write: clients of one app may share the file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec(cached).map_err(std::io::Error::other)?)?;
    std::fs::rename(&tmp, path)
}
