//! The library's tokio runtime, and running a future on it so that dropping the waiting side
//! (a cancelled coroutine) aborts the work. Building a client builds it ([`ensure_runtime`]),
//! so a bad `MODELPLUG_WORKER_THREADS` is the constructor's CONFIG error; everything that
//! runs later has a client, hence a runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use modelplug_core::Error;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

static RUNTIME: OnceLock<Result<Runtime, Error>> = OnceLock::new();

/// Builds the runtime on first use; its error (once) for every later call too.
pub fn ensure_runtime() -> Result<&'static Runtime, Error> {
    RUNTIME
        .get_or_init(modelplug_core::runtime::build_runtime)
        .as_ref()
        .map_err(Clone::clone)
}

fn runtime() -> &'static Runtime {
    ensure_runtime().expect("the first client built the runtime")
}

/// Runs `fut` on the runtime; dropping the returned future aborts it.
pub async fn on_runtime<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
    let task = AbortOnDrop(runtime().spawn(fut));
    match task.await {
        Ok(v) => v,
        // Only reachable by aborting, which only happens once nobody waits for the result.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The runtime's handle (to spawn on it, or enter its context from another thread).
pub fn handle() -> &'static tokio::runtime::Handle {
    runtime().handle()
}

struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
