//! [`SharedStream`]: a [`ChatStream`] that a binding reads from tasks on the runtime, one read
//! at a time, in [`StreamBatch`]es, while any thread may cancel it — also while a read is
//! pending, and after the task of a read was aborted (a cancelled coroutine or Python task
//! drops its pending read).

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::error::Error;
use crate::stream::{CancelHandle, ChatStream};
use crate::types::StreamEvent;

/// A chat stream shared between a binding's reads and its `cancel()`. Cheap to clone.
#[derive(Clone)]
pub struct SharedStream {
    stream: Arc<Mutex<ChatStream>>,
    cancel: CancelHandle,
}

impl SharedStream {
    /// Shares `stream`.
    pub fn new(stream: ChatStream) -> SharedStream {
        SharedStream {
            cancel: stream.cancel_handle(),
            stream: Arc::new(Mutex::new(stream)),
        }
    }

    /// The next batch (see [`ChatStream::next_batch`]), once any read in progress is done.
    pub async fn next_batch(&self, max: usize) -> StreamBatch {
        self.stream.lock().await.next_batch(max).await
    }

    /// Cancels the stream and closes its connection to the provider; a pending or later read
    /// ends with `CANCELLED`. When no read holds the stream, the connection closes before this
    /// returns (inside the process runtime's context). Otherwise a running read ends on the
    /// signal by itself, and a read whose task was aborted lets go of the stream only when
    /// that task is dropped: a task on the runtime (the caller's, else the process runtime)
    /// waits for that and closes the connection.
    pub fn cancel(&self) {
        self.cancel.cancel();
        let runtime = match tokio::runtime::Handle::try_current() {
            Ok(current) => current,
            Err(_) => match crate::runtime::handle() {
                Ok(process) => process,
                Err(_) => return, // no runtime: nothing was ever read, so nothing is open
            },
        };
        match self.stream.try_lock() {
            Ok(mut stream) => {
                let _entered = runtime.enter();
                stream.cancel();
            }
            Err(_) => {
                let stream = self.stream.clone();
                runtime.spawn(async move { stream.lock().await.cancel() });
            }
        }
    }
}

/// Events taken together by [`ChatStream::next_batch`].
#[derive(Debug, Default)]
pub struct StreamBatch {
    /// The events, in order.
    pub events: Vec<StreamEvent>,
    /// The stream's error, after its last event.
    pub error: Option<Error>,
}

impl StreamBatch {
    /// A batch that is only `error` (a request that could not even be parsed).
    pub fn failed(error: Error) -> StreamBatch {
        StreamBatch {
            events: Vec::new(),
            error: Some(error),
        }
    }

    /// True for the end of the stream (no events, no error).
    pub fn is_end(&self) -> bool {
        self.events.is_empty() && self.error.is_none()
    }

    /// `{"events": [...], "err": error | null}`: the form the Node and Kotlin bindings hand over.
    pub fn to_json(&self) -> String {
        let events = serde_json::to_string(&self.events).unwrap_or_else(|_| "[]".to_owned());
        let error = self
            .error
            .as_ref()
            .map_or_else(|| "null".to_owned(), |e| e.to_value().to_string());
        format!("{{\"events\":{events},\"err\":{error}}}")
    }
}
