//! `NativeStream`: the pull-based stream, read in batches of already-buffered events so that
//! JavaScript pays one Promise per network read, not per token.

use std::sync::Arc;

use modelplug_core::{ChatStream, Error, SharedStream, StreamBatch};
use napi_derive::napi;

use crate::bridge::Bridge;

/// Most events handed over in one batch.
const BATCH: usize = 64;

/// A chat stream.
#[napi]
pub struct NativeStream {
    /// The stream, or the request's parse error (reported by the first `nextBatch`).
    inner: std::result::Result<SharedStream, Error>,
    bridge: Arc<Bridge>,
}

impl NativeStream {
    pub fn new(stream: std::result::Result<ChatStream, Error>, bridge: Arc<Bridge>) -> NativeStream {
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
        let (inner, bridge) = (self.inner.clone(), self.bridge.clone());
        napi::bindgen_prelude::spawn(async move {
            let payload = match inner {
                Ok(stream) => stream.next_batch(BATCH).await.to_json(),
                Err(e) => StreamBatch {
                    events: Vec::new(),
                    error: Some(e),
                }
                .to_json(),
            };
            bridge.deliver(id, payload);
        });
    }

    /// Stops the stream and closes the connection; a pending `nextBatch` ends with CANCELLED.
    #[napi]
    pub fn cancel(&self) {
        // Closes the connection now, not when the object is collected.
        if let Ok(stream) = &self.inner {
            let runtime = napi::bindgen_prelude::within_runtime_if_available(tokio::runtime::Handle::current);
            stream.cancel(&runtime);
        }
    }
}
