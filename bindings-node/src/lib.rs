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

/// Why the core's runtime did not start (a bad `MODELPLUG_WORKER_THREADS`, say), if it did
/// not: every client constructor then fails with this error.
static RUNTIME_ERROR: std::sync::OnceLock<modelplug_core::Error> = std::sync::OnceLock::new();

/// The core's runtime (`modelplug_core::runtime`) instead of napi's default one.
#[napi_derive::module_init]
fn init() {
    match modelplug_core::runtime::build_runtime() {
        Ok(rt) => napi::bindgen_prelude::create_custom_tokio_runtime(rt),
        Err(e) => {
            let _ = RUNTIME_ERROR.set(e);
        }
    }
}

/// The error that stopped the core's runtime from starting, if one did.
pub(crate) fn runtime_error() -> Option<&'static modelplug_core::Error> {
    RUNTIME_ERROR.get()
}
