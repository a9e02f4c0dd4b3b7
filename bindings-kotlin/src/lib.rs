//! The native part of the Kotlin/JVM and Android package, generated into Kotlin by uniffi
//! (package `dev.modelplug.ffi`). It only converts: JSON text in and out, behaviour in
//! modelplug-core, the idiomatic API in Kotlin (`jvm/src/main/kotlin/dev/modelplug`).
//!
//! Async calls run on the core's process runtime (`modelplug_core::runtime::run_abortable`):
//! when a Kotlin coroutine is cancelled, uniffi drops the future, which aborts the call's task
//! and the core records the call as cancelled.

uniffi::setup_scaffolding!();

mod client;
mod guardrails;
mod stream;

pub use client::{FfiClient, FfiUsageListener};
pub use guardrails::{FfiGuardrail, FfiGuardrailCheck, FfiGuardrailError};
pub use stream::FfiStream;

/// A failed constructor or `shutdown`: `payload` is the error's JSON form (`Error::to_value`).
/// Calls report their errors in the `{"err": …}` envelope instead; the Kotlin layer maps
/// both to the right `ModelplugException` subclass in one place.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FfiError {
    /// Any modelplug error.
    #[error("{payload}")]
    Failed {
        /// The error's JSON form.
        payload: String,
    },
}

impl From<modelplug_core::Error> for FfiError {
    fn from(e: modelplug_core::Error) -> FfiError {
        FfiError::Failed {
            payload: e.to_value().to_string(),
        }
    }
}

/// Every stable error code the core knows, in table order (the Kotlin tests check that each
/// one has its own exception class).
#[uniffi::export]
pub fn ffi_error_codes() -> Vec<String> {
    modelplug_core::ffi::error_codes()
        .into_iter()
        .map(str::to_owned)
        .collect()
}
