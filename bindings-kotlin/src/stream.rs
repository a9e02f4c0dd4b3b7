//! `FfiStream`: the pull-based stream, read in batches (`ChatStream::next_batch`) so that
//! Kotlin crosses the FFI once per network read, not per token.

use std::sync::Arc;

use modelplug_core::{CancelHandle, ChatStream, Error, StreamBatch};
use tokio::sync::Mutex;

use crate::runtime::{enter, on_runtime};

/// Most events handed over in one batch.
const BATCH: usize = 64;

/// A chat stream.
#[derive(uniffi::Object)]
pub struct FfiStream {
    /// The stream, or the request's parse error (reported by the first `next_batch`).
    inner: Result<Arc<Mutex<ChatStream>>, Error>,
    cancel: CancelHandle,
}

impl FfiStream {
    pub(crate) fn new(stream: Result<ChatStream, Error>) -> FfiStream {
        match stream {
            Ok(s) => FfiStream { cancel: s.cancel_handle(), inner: Ok(Arc::new(Mutex::new(s))) },
            Err(e) => FfiStream { inner: Err(e), cancel: CancelHandle::new() },
        }
    }
}

#[uniffi::export]
impl FfiStream {
    /// The next batch: `{"events": [...], "err": error | null}` JSON text; no events and no
    /// error is the end.
    pub async fn next_batch(&self) -> String {
        match self.inner.clone() {
            Ok(stream) => on_runtime(async move { stream.lock().await.next_batch(BATCH).await.to_json() }).await,
            Err(e) => StreamBatch { events: Vec::new(), error: Some(e) }.to_json(),
        }
    }

    /// Stops the stream and closes the connection; a pending `next_batch` ends with CANCELLED.
    pub fn cancel(&self) {
        self.cancel.cancel();
        if let Ok(stream) = &self.inner
            && let Ok(mut s) = stream.try_lock()
        {
            let _entered = enter();
            s.cancel();
        }
    }
}
