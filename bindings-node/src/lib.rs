//! The native part of the `modelplug` npm package. It only converts: JSON text in, JSON text
//! out (V8's `JSON.parse`/`stringify` beat property-by-property conversion), behaviour in
//! modelplug-core, the public API in TypeScript (`bindings-node/lib`).
//!
//! Results reach JavaScript through one completion queue per client (`bridge.rs`). Every
//! call result is an envelope, `{"ok": …}` or `{"err": …}`; the TypeScript layer turns
//! `err` into the right `ModelplugError` subclass (one function, `lib/errors.ts`).

/// mimalloc: the addon allocates per call on two threads, where it beats glibc's malloc (c=64
/// throughput +25% on the yardstick). Not in the Python module: it costs ~8 MB of RSS there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod abort;
mod bridge;
mod client;
mod envelope;
mod stream;

/// One tokio worker per two cores (the JS thread and the provider need the others);
/// `MODELPLUG_WORKER_THREADS` overrides.
#[napi_derive::module_init]
fn init() {
    let workers = std::env::var("MODELPLUG_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| (std::thread::available_parallelism().map_or(2, |n| n.get()) / 2).clamp(1, 4));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("modelplug-worker")
        .enable_all()
        .build();
    if let Ok(rt) = runtime {
        napi::bindgen_prelude::create_custom_tokio_runtime(rt);
    }
}
