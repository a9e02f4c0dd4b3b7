//! `FfiStream`: the pull-based stream, read in batches (`ChatStream::next_batch`) so that
//! Kotlin crosses the FFI once per network read, not per token.

use modelplug_core::{ChatStream, Error, SharedStream, StreamBatch};

use crate::runtime::{handle, on_runtime};

/// Most events handed over in one batch.
const BATCH: usize = 64;

/// A chat stream.
#[derive(uniffi::Object)]
pub struct FfiStream {
    /// The stream, or the request's parse error (reported by the first `next_batch`).
    inner: Result<SharedStream, Error>,
}

impl FfiStream {
    pub(crate) fn new(stream: Result<ChatStream, Error>) -> FfiStream {
        FfiStream {
            inner: stream.map(SharedStream::new),
        }
    }
}

#[uniffi::export]
impl FfiStream {
    /// The next batch: `{"events": [...], "err": error | null}` JSON text; no events and no
    /// error is the end.
    pub async fn next_batch(&self) -> String {
        match self.inner.clone() {
            Ok(stream) => on_runtime(async move { stream.next_batch(BATCH).await.to_json() }).await,
            Err(e) => StreamBatch {
                events: Vec::new(),
                error: Some(e),
            }
            .to_json(),
        }
    }

    /// Stops the stream and closes the connection, also when a cancelled coroutine's read
    /// still holds it; a pending `next_batch` ends with CANCELLED.
    pub fn cancel(&self) {
        if let Ok(stream) = &self.inner {
            stream.cancel(handle());
        }
    }
}
