//! The tokio runtime a language binding runs the core on (one per process, house rule 5).

use tokio::runtime::{Builder, Runtime};

/// How many worker threads [`build_runtime`] starts: `MODELPLUG_WORKER_THREADS` when it is a
/// positive number, otherwise one per two cores (1 to 4). In-process, the host language's
/// thread and the HTTP peer need the other cores: on 2 cores one worker gave a lower latency
/// than two in every binding's benchmark (docs/benchmarks.md).
pub fn worker_threads() -> usize {
    std::env::var("MODELPLUG_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| (std::thread::available_parallelism().map_or(2, |n| n.get()) / 2).clamp(1, 4))
}

/// A multi-threaded runtime with [`worker_threads`] workers named `modelplug-worker`, with
/// the I/O and time drivers on.
pub fn build_runtime() -> std::io::Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("modelplug-worker")
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_has_named_workers() {
        let rt = build_runtime().unwrap();
        let name = rt.block_on(async {
            tokio::spawn(async { std::thread::current().name().map(str::to_owned) }).await
        });
        assert_eq!(name.unwrap().as_deref(), Some("modelplug-worker"));
        assert!((1..=4).contains(&worker_threads()) || std::env::var("MODELPLUG_WORKER_THREADS").is_ok());
    }
}
