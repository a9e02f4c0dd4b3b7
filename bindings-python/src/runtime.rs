//! The one tokio runtime of this process (house rule 5), rebuilt in a child after `fork()`:
//! the parent's worker threads do not exist there, so the old runtime is leaked, never used.
//! Also the runtime pyo3-async-runtimes spawns awaitables on.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use pyo3_async_runtimes::TaskLocals;
use pyo3_async_runtimes::generic::{ContextExt, Runtime as GenericRuntime};
use tokio::runtime::Runtime;
use tokio::sync::OnceCell;

static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

/// This process's runtime.
pub fn runtime() -> Arc<Runtime> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, rt)) = slot.as_ref() {
        if *owner == pid {
            return rt.clone();
        }
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
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()).min(4));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("modelplug-worker")
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

/// pyo3-async-runtimes' view of [`runtime`].
pub struct ModelplugRuntime;

tokio::task_local! {
    static TASK_LOCALS: OnceCell<TaskLocals>;
}

impl GenericRuntime for ModelplugRuntime {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = tokio::task::JoinHandle<()>;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        runtime().spawn(fut)
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        runtime().spawn_blocking(f)
    }
}

impl ContextExt for ModelplugRuntime {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = OnceCell::new_with(Some(locals));
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS.try_with(|c| c.get().cloned()).unwrap_or_default()
    }
}
