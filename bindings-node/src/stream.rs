//! `NativeStream`: the pull-based stream, read in batches of already-buffered events so that
//! JavaScript pays one Promise per network read, not per token.

use std::sync::Arc;

use modelplug_core::{CancelHandle, ChatStream, Error, StreamEvent};
use napi_derive::napi;
use tokio::sync::Mutex;

use crate::bridge::Bridge;

/// Most events handed over in one batch.
const BATCH: usize = 64;

/// A chat stream.
#[napi]
pub struct NativeStream {
    /// The stream, or the request's parse error (reported by the first `nextBatch`).
    inner: std::result::Result<Arc<Mutex<ChatStream>>, Error>,
    cancel: CancelHandle,
    bridge: Arc<Bridge>,
}

impl NativeStream {
    pub fn new(stream: std::result::Result<ChatStream, Error>, bridge: Arc<Bridge>) -> NativeStream {
        match stream {
            Ok(s) => NativeStream { cancel: s.cancel_handle(), inner: Ok(Arc::new(Mutex::new(s))), bridge },
            Err(e) => NativeStream { inner: Err(e), cancel: CancelHandle::new(), bridge },
        }
    }
}

/// The next events: waits for one, then takes every event already buffered. JSON
/// `{"events": [...], "err": error | null}`; no events and no error is the end.
async fn next_batch(stream: &Mutex<ChatStream>) -> String {
    let mut stream = stream.lock().await;
    let mut events: Vec<StreamEvent> = Vec::new();
    let mut error = None;
    let mut next = stream.next().await;
    loop {
        match next {
            None => break,
            Some(Err(e)) => {
                error = Some(e);
                break;
            }
            Some(Ok(ev)) => {
                let done = matches!(ev, StreamEvent::Done { .. });
                events.push(ev);
                if done || events.len() == BATCH {
                    break;
                }
            }
        }
        match stream.next_ready() {
            Some(ready) => next = ready,
            None => break,
        }
    }
    let events = serde_json::to_string(&events).unwrap_or_else(|_| "[]".to_owned());
    let error = error.map_or_else(|| "null".to_owned(), |e| e.to_value().to_string());
    format!("{{\"events\":{events},\"err\":{error}}}")
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
                Ok(stream) => next_batch(&stream).await,
                Err(e) => format!("{{\"events\":[],\"err\":{}}}", e.to_value()),
            };
            bridge.deliver(id, payload);
        });
    }

    /// Stops the stream and closes the connection; a pending `nextBatch` ends with CANCELLED.
    #[napi]
    pub fn cancel(&self) {
        self.cancel.cancel();
        // Nobody is reading: close the connection now, not when the object is collected.
        if let Ok(stream) = &self.inner
            && let Ok(mut s) = stream.try_lock()
        {
            napi::bindgen_prelude::within_runtime_if_available(|| s.cancel());
        }
    }
}
