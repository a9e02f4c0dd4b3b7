//! The process runtime (house rule 5): one tokio runtime per process, owned by the core and
//! shared by every binding, rebuilt in a `fork()`ed child (the parent's worker threads do not
//! exist there); and the registry of a client's background [`services`].

mod fork;
pub mod services;

use std::ffi::OsStr;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

pub use fork::fork_generation;
pub use services::{Service, ServiceFactory, Services};

/// The environment variable that sets the runtime's worker count.
pub const WORKER_THREADS_VAR: &str = "MODELPLUG_WORKER_THREADS";

/// Most worker threads [`WORKER_THREADS_VAR`] may ask for.
const MAX_WORKER_THREADS: usize = 256;

/// How many worker threads [`build_runtime`] starts: [`WORKER_THREADS_VAR`] when it is set,
/// otherwise one per two cores (1 to 4). In-process, the host language's thread and the HTTP
/// peer need the other cores: on 2 cores one worker gave a lower latency than two in every
/// binding's benchmark (docs/benchmarks.md).
///
/// A set but unusable value (not a whole number from 1 to 256) is a [`crate::ErrorKind::Config`]
/// error that names the variable, never silently the default.
pub fn worker_threads() -> Result<usize> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    worker_threads_from(std::env::var_os(WORKER_THREADS_VAR).as_deref(), cores)
}

/// [`worker_threads`] for a given variable value and core count.
fn worker_threads_from(value: Option<&OsStr>, cores: usize) -> Result<usize> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok((cores / 2).clamp(1, 4));
    };
    value
        .to_str()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=MAX_WORKER_THREADS).contains(n))
        .ok_or_else(|| {
            Error::config(format!(
                "{WORKER_THREADS_VAR} must be a whole number from 1 to {MAX_WORKER_THREADS} (or unset for the default)"
            ))
        })
}

/// A multi-threaded runtime with [`worker_threads`] workers named `modelplug-worker`, with
/// the I/O and time drivers on. Fails with a CONFIG error for a bad [`WORKER_THREADS_VAR`] and
/// an INTERNAL error when the operating system refuses the threads.
pub fn build_runtime() -> Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(worker_threads()?)
        .thread_name("modelplug-worker")
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("the tokio runtime did not start: {e}")))
}

/// The process runtime and the fork generation it was built in.
static RUNTIME: Mutex<Option<(u64, Arc<Runtime>)>> = Mutex::new(None);

/// This process's runtime, built on first use with [`build_runtime`] (and again in a `fork()`ed
/// child, where the parent's one is left alone: dropping it would wait for threads that are
/// not there). A failure to build it (a bad [`WORKER_THREADS_VAR`]) is returned every time.
pub fn runtime() -> Result<Arc<Runtime>> {
    let generation = fork_generation();
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((built_in, rt)) = slot.as_ref()
        && *built_in == generation
    {
        return Ok(rt.clone());
    }
    if let Some((_, inherited)) = slot.take() {
        std::mem::forget(inherited);
    }
    let rt = Arc::new(build_runtime()?);
    *slot = Some((generation, rt.clone()));
    Ok(rt)
}

thread_local! {
    /// This thread's copy of the runtime's handle and the fork generation it is good for:
    /// handing out a handle per call takes no lock.
    static HANDLE: std::cell::RefCell<Option<(u64, Handle)>> = const { std::cell::RefCell::new(None) };
}

/// A handle to this process's runtime (see [`runtime`]); lock-free after a thread's first call.
pub fn handle() -> Result<Handle> {
    let generation = fork_generation();
    HANDLE.with(|cached| {
        if let Some((built_in, handle)) = &*cached.borrow()
            && *built_in == generation
        {
            return Ok(handle.clone());
        }
        let handle = runtime()?.handle().clone();
        *cached.borrow_mut() = Some((generation, handle.clone()));
        Ok(handle)
    })
}

/// Runs `fut` as a task on the process runtime; dropping the returned future aborts the task
/// (which drops `fut`: a call in it ends as cancelled). For bindings whose host awaits a
/// future of its own (Kotlin coroutines through uniffi).
///
/// `fut` is boxed before it is spawned: a task holding a call's future (kilobytes) inline
/// copies it whole into the task and again when it finishes.
pub async fn run_abortable<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> Result<T> {
    let task = AbortOnDrop(handle()?.spawn(Box::pin(fut)));
    match task.await {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => Err(Error::internal("a modelplug task panicked")),
        Err(_) => Err(Error::cancelled("the call was cancelled")),
    }
}

thread_local! {
    /// Set while host-language code runs on a blocking-pool thread ([`spawn_host_blocking`]).
    static RUNNING_HOST_CODE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` (host-language code: a Python custom guardrail) on the runtime's blocking pool,
/// never on a worker. A blocking modelplug call made inside it ([`block_on`]) may wait there:
/// tokio lets blocking-pool threads block, and the host code may well call a model.
pub fn spawn_host_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<tokio::task::JoinHandle<T>> {
    Ok(handle()?.spawn_blocking(move || {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                RUNNING_HOST_CODE.with(|flag| flag.set(false));
            }
        }
        RUNNING_HOST_CODE.with(|flag| flag.set(true));
        let _reset = Reset;
        f()
    }))
}

/// Runs `fut` to completion on the process runtime, blocking this thread. Must not be called
/// from a thread of a tokio runtime (it would block that runtime's work), except from host
/// code run by [`spawn_host_blocking`].
pub fn block_on<F: Future>(fut: F) -> Result<F::Output> {
    if Handle::try_current().is_ok() && !RUNNING_HOST_CODE.with(std::cell::Cell::get) {
        return Err(Error::internal(
            "a blocking modelplug call was made on an async runtime thread; use the async API there",
        ));
    }
    Ok(handle()?.block_on(fut))
}

struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = std::result::Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn from(value: &str, cores: usize) -> Result<usize> {
        worker_threads_from(Some(OsStr::new(value)), cores)
    }

    #[test]
    fn host_code_on_the_blocking_pool_may_block_but_other_pool_code_may_not() {
        let host = block_on(async {
            spawn_host_blocking(|| block_on(async { 7 }).ok())
                .unwrap()
                .await
                .unwrap()
        })
        .unwrap();
        assert_eq!(host, Some(7));
        let plain = block_on(async {
            handle()
                .unwrap()
                .spawn_blocking(|| block_on(async { 7 }).map_err(|e| e.kind()))
                .await
                .unwrap()
        })
        .unwrap();
        assert_eq!(plain, Err(ErrorKind::Internal));
    }

    #[test]
    fn runtime_has_named_workers() {
        let name = block_on(async {
            tokio::spawn(async { std::thread::current().name().map(str::to_owned) }).await
        });
        assert_eq!(name.unwrap().unwrap().as_deref(), Some("modelplug-worker"));
        assert!(
            Arc::ptr_eq(&runtime().unwrap(), &runtime().unwrap()),
            "one per process"
        );
    }

    #[test]
    fn blocking_from_a_runtime_thread_is_an_error_not_a_panic() {
        let err = block_on(async { block_on(async {}) }).unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Internal);
    }

    #[test]
    fn dropping_an_abortable_run_aborts_its_task() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let dropped = async move {
            struct Signal(std::sync::mpsc::Sender<()>);
            impl Drop for Signal {
                fn drop(&mut self) {
                    let _ = self.0.send(());
                }
            }
            let _signal = Signal(tx);
            std::future::pending::<()>().await;
        };
        block_on(async {
            let run = run_abortable(dropped);
            let _ = tokio::time::timeout(std::time::Duration::from_millis(20), run).await;
        })
        .unwrap();
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("the task was dropped");
    }

    #[test]
    fn default_is_one_worker_per_two_cores_from_one_to_four() {
        assert_eq!(worker_threads_from(None, 1).unwrap(), 1);
        assert_eq!(worker_threads_from(None, 2).unwrap(), 1);
        assert_eq!(worker_threads_from(None, 6).unwrap(), 3);
        assert_eq!(worker_threads_from(None, 64).unwrap(), 4);
        assert_eq!(from("", 8).unwrap(), 4, "an empty value counts as unset");
    }

    #[test]
    fn a_set_value_wins() {
        assert_eq!(from("3", 2).unwrap(), 3);
        assert_eq!(from(" 16 ", 2).unwrap(), 16);
        assert_eq!(from("256", 2).unwrap(), 256);
    }

    #[test]
    fn unusable_values_are_config_errors_naming_the_variable() {
        for bad in ["0", "-1", "two", "1.5", "257", "99999999999999999999999"] {
            let err = from(bad, 2).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
            assert!(err.message().contains(WORKER_THREADS_VAR), "{bad}: {err}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let not_utf8 = OsStr::from_bytes(&[0xff, b'2']);
            assert!(worker_threads_from(Some(not_utf8), 2).is_err());
        }
    }
}
