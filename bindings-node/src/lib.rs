//! The native part of the `modelplug` npm package. It only converts: JSON text in, JSON text
//! out (V8's `JSON.parse`/`stringify` beat property-by-property conversion), behaviour in
//! modelplug-core, the public API in TypeScript (`bindings-node/lib`).
//!
//! Calls run on the core's process runtime (`modelplug_core::runtime`); their results reach
//! JavaScript through one completion queue per client (`bridge.rs`). Every call result is an
//! envelope, `{"ok": …}` or `{"err": …}` (`modelplug_core::ffi`); the TypeScript layer turns
//! `err` into the right `ModelplugError` subclass (one function, `lib/errors.ts`).
//!
//! Custom guardrails (`guardrails.rs`) go the other way: the core asks JavaScript for a
//! verdict through a weak threadsafe function and awaits the answer without blocking.

/// mimalloc: the addon allocates per call on two threads, where it beats glibc's malloc (c=64
/// throughput +25% on the yardstick). Not in the Python module: it costs ~8 MB of RSS there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod abort;
mod bridge;
mod client;
mod guardrails;
mod stream;
mod usage;

/// Every stable error code the core knows, in table order: the TypeScript error table is
/// checked against it (`test/errors.test.mjs`).
#[napi_derive::napi]
pub fn error_codes() -> Vec<String> {
    modelplug_core::ffi::error_codes()
        .into_iter()
        .map(str::to_owned)
        .collect()
}
