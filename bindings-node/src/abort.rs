//! `NativeAbort`: what an `AbortSignal` drives. Aborting stops the call and closes its
//! connection.

use modelplug_core::CancelHandle;
use napi_derive::napi;

/// A cancellation signal for one or more calls.
#[napi]
pub struct NativeAbort {
    pub(crate) handle: CancelHandle,
}

#[napi]
impl NativeAbort {
    /// A signal that has not fired.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> NativeAbort {
        NativeAbort {
            handle: CancelHandle::new(),
        }
    }

    /// Fires the signal.
    #[napi]
    pub fn abort(&self) {
        self.handle.cancel();
    }
}
