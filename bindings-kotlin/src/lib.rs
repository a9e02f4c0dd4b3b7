//! The native part of the Kotlin/JVM and Android package, generated into Kotlin by uniffi
//! (package `dev.modelplug.ffi`). It only converts: JSON text in and out, behaviour in
//! modelplug-core, the idiomatic API in Kotlin (`jvm/src/main/kotlin/dev/modelplug`).
//!
//! Async calls run on this library's tokio runtime; the Kotlin coroutine awaits a handle that
//! aborts the call when the coroutine is cancelled (uniffi drops the future).

uniffi::setup_scaffolding!();

mod client;
mod runtime;
mod stream;

pub use client::FfiClient;
pub use stream::FfiStream;

/// A failed call: `payload` is the error's JSON form (`Error::to_value`); the Kotlin layer
/// maps it to the right `ModelplugException` subclass in one place.
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
