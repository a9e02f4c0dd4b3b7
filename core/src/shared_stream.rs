//! [`SharedStream`]: a [`ChatStream`] that a binding reads from tasks on its runtime, one read
//! at a time, while any thread may cancel it — also while a read is pending, and after the task
//! of a read was aborted (a cancelled coroutine or Python task drops its pending read).

use std::sync::Arc;

use tokio::runtime::Handle;
use tokio::sync::Mutex;

use crate::stream::{CancelHandle, ChatStream, StreamBatch};

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
    /// returns (inside `runtime`'s context). Otherwise a running read ends on the signal by
    /// itself, and a read whose task was aborted lets go of the stream only when that task is
    /// dropped: a task on `runtime` waits for that and closes the connection then.
    pub fn cancel(&self, runtime: &Handle) {
        self.cancel.cancel();
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
