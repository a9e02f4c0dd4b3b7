//! `FfiStream`: the pull-based stream, read in batches (`SharedStream::next_batch`) so that
//! Kotlin crosses the FFI once per network read, not per token.

use modelplug_core::runtime::run_abortable;
use modelplug_core::{ChatStream, Error, SharedStream, StreamBatch};

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
        let stream = match &self.inner {
            Ok(stream) => stream.clone(),
            Err(e) => return StreamBatch::failed(e.clone()).to_json(),
        };
        run_abortable(async move { stream.next_batch(BATCH).await.to_json() })
            .await
            .unwrap_or_else(|e| StreamBatch::failed(e).to_json())
    }

    /// Stops the stream and closes the connection, also when a cancelled coroutine's read
    /// still holds it; a pending `next_batch` ends with CANCELLED.
    pub fn cancel(&self) {
        if let Ok(stream) = &self.inner {
            stream.cancel();
        }
    }
}
