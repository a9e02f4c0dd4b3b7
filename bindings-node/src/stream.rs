//! `NativeStream`: the pull-based stream, read in batches of already-buffered events so that
//! JavaScript pays one Promise per network read, not per token.

use modelplug_core::{ChatStream, Error, SharedStream, StreamBatch};
use napi_derive::napi;

use crate::bridge::Bridge;

/// Most events handed over in one batch.
pub const BATCH: usize = 64;

/// A chat stream.
#[napi]
pub struct NativeStream {
    /// The stream, or the request's parse error (reported by the first `nextBatch`).
    inner: std::result::Result<SharedStream, Error>,
    bridge: Bridge,
}

impl NativeStream {
    /// Shares `stream` (or keeps its error) for reads of at most [`BATCH`] events delivered
    /// through `bridge`.
    pub fn new(stream: std::result::Result<ChatStream, Error>, bridge: Bridge) -> NativeStream {
        NativeStream {
            inner: stream.map(SharedStream::new),
            bridge,
        }
    }
}

#[napi]
impl NativeStream {
    /// Starts fetching the next batch as call `id`: `{"events": [...], "err": ...}` JSON text
    /// through the client's `drain()`.
    #[napi]
    pub fn next_batch(&self, id: u32) {
        let inner = self.inner.clone();
        self.bridge.submit(id, async move {
            match inner {
                Ok(stream) => stream.next_batch(BATCH).await.to_json(),
                Err(e) => StreamBatch::failed(e).to_json(),
            }
        });
    }

    /// Stops the stream and closes the connection; a pending `nextBatch` ends with CANCELLED.
    #[napi]
    pub fn cancel(&self) {
        if let Ok(stream) = &self.inner {
            stream.cancel();
        }
    }
}
