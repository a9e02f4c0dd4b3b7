//! The one tokio runtime of this process (house rule 5), rebuilt in a child after `fork()`:
//! the parent's worker threads do not exist there, so the old runtime is leaked, never used.

use std::sync::{Arc, Mutex};

use tokio::runtime::Runtime;

static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

/// This process's runtime.
pub fn runtime() -> Arc<Runtime> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, rt)) = slot.as_ref()
        && *owner == pid
    {
        return rt.clone();
    }
    if let Some((_, stale)) = slot.take() {
        // Inherited through fork(): dropping it would wait for threads that are not here.
        std::mem::forget(stale);
    }
    let rt = Arc::new(build());
    *slot = Some((pid, rt.clone()));
    rt
}

fn build() -> Runtime {
    let workers = std::env::var("MODELPLUG_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        // One worker per two cores: the Python thread and the provider need the others.
        .unwrap_or_else(|| (std::thread::available_parallelism().map_or(2, |n| n.get()) / 2).clamp(1, 4));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("modelplug-worker")
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}
