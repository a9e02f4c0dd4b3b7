//! The library's tokio runtime, and running a future on it so that dropping the waiting side
//! (a cancelled coroutine) aborts the work.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| modelplug_core::runtime::build_runtime().expect("the tokio runtime starts"))
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
