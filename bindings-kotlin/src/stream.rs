//! `FfiStream`: the pull-based stream, read in batches (`SharedStream::next_batch`) so that
//! Kotlin crosses the FFI once per network read, not per token.

use modelplug_core::runtime::run_abortable;
use modelplug_core::{ChatStream, Error, SharedStream, StreamBatch};

/// Most events handed over in one batch.
pub(crate) const BATCH: usize = 64;

/// The batch size of a client with custom output guardrails: one event per batch, so that
/// `ChatStream::next_batch` never reaches `next_ready`. Its `now_or_never` poll drops the
/// stream's future while the end of the stream awaits the output stage's custom check (the
/// provider's end already buffered), and the `Done` event is lost: the next read is INTERNAL
/// "the stream already ended" (core/src/stream.rs `next_ready`, core/src/pipeline/stream.rs
/// `complete`). Back to [`BATCH`] once the core keeps that future.
pub(crate) const BATCH_WITH_OUTPUT_CHECKS: usize = 1;

/// A chat stream.
#[derive(uniffi::Object)]
pub struct FfiStream {
    /// The stream, or the request's parse error (reported by the first `next_batch`).
    inner: Result<SharedStream, Error>,
    /// Most events per batch.
    batch: usize,
}

impl FfiStream {
    pub(crate) fn new(stream: Result<ChatStream, Error>, batch: usize) -> FfiStream {
        FfiStream {
            inner: stream.map(SharedStream::new),
            batch,
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
        let batch = self.batch;
        run_abortable(async move { stream.next_batch(batch).await.to_json() })
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
