//! The one tokio runtime of this process (house rule 5), rebuilt in a child after `fork()`:
//! the parent's worker threads do not exist there, so the old runtime is leaked, never used.
//! Building a client builds it ([`try_runtime`]), so a bad `MODELPLUG_WORKER_THREADS` is the
//! constructor's CONFIG error; everything that runs later has a client, hence a runtime.

use std::future::Future;
use std::sync::{Arc, Mutex};

use modelplug_core::Error;
use modelplug_core::runtime::build_runtime;
use pyo3::Python;
use tokio::runtime::Runtime;

static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

/// This process's runtime, built on first use (and again in a forked child).
pub fn try_runtime() -> Result<Arc<Runtime>, Error> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, rt)) = slot.as_ref()
        && *owner == pid
    {
        return Ok(rt.clone());
    }
    if let Some((_, stale)) = slot.take() {
        // Inherited through fork(): dropping it would wait for threads that are not here.
        std::mem::forget(stale);
    }
    let rt = Arc::new(build_runtime()?);
    *slot = Some((pid, rt.clone()));
    Ok(rt)
}

/// This process's runtime, for code that runs on behalf of a client (which built it).
pub fn runtime() -> Arc<Runtime> {
    try_runtime().expect("the first client built the runtime with these same settings")
}

/// Runs `call` on this process's runtime until it finishes, without holding the GIL.
pub fn block_detached<T: Send>(py: Python<'_>, call: impl Future<Output = T> + Send) -> T {
    let rt = runtime();
    py.detach(move || rt.block_on(call))
}
