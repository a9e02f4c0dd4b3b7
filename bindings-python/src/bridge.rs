//! The asyncio bridge. An awaitable call is a task on the tokio runtime that, when done,
//! puts its result in a [`Completions`] queue and writes one byte to a pipe the event loop
//! watches (`loop.add_reader`). The loop thread then drains the queue and resolves the
//! futures (`modelplug/_bridge.py`). No tokio thread ever takes the GIL, completions that
//! arrive together cost one wake-up, and dropping a task (`TaskHandle.abort`) cancels the
//! request.

use std::future::Future;
use std::io::{PipeReader, PipeWriter, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use modelplug_core::{ChatResponse, EmbedResponse, Error, StreamBatch};
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::to_py_err;
use crate::results::{ChatResult, EmbedResult};
use crate::runtime::runtime;
use crate::stream::batch_to_py;

/// What a finished task hands back.
pub enum Outcome {
    /// A chat completion.
    Chat(Result<ChatResponse, Error>),
    /// Embeddings.
    Embed(Result<EmbedResponse, Error>),
    /// The next batch of stream events, ending with the error if the stream failed.
    Events(StreamBatch),
}

struct Queue {
    done: Mutex<Vec<(u64, Outcome)>>,
    /// A byte is in the pipe that the loop has not consumed yet.
    signalled: AtomicBool,
    writer: Mutex<PipeWriter>,
}

impl Queue {
    fn push(&self, id: u64, outcome: Outcome) {
        self.done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, outcome));
        if !self.signalled.swap(true, Ordering::AcqRel) {
            // One byte per wake-up; the pipe can never fill up.
            let _ = self.writer.lock().unwrap_or_else(|e| e.into_inner()).write(&[1]);
        }
    }
}

/// A completion queue for one event loop; `fileno()` is what the loop watches.
#[pyclass(name = "Completions", module = "modelplug._native", frozen)]
pub struct Completions {
    queue: Arc<Queue>,
    reader: PipeReader,
}

impl Completions {
    /// Runs `call` as a task on the runtime; its outcome is queued under `id` and the loop
    /// woken. Aborting the returned handle drops the call.
    pub fn submit(&self, id: u64, call: impl Future<Output = Outcome> + Send + 'static) -> TaskHandle {
        let queue = self.queue.clone();
        TaskHandle(
            runtime()
                .spawn(async move { queue.push(id, call.await) })
                .abort_handle(),
        )
    }
}

#[pymethods]
impl Completions {
    #[new]
    fn new() -> PyResult<Completions> {
        let (reader, writer) = std::io::pipe().map_err(|e| PyOSError::new_err(e.to_string()))?;
        let queue = Queue {
            done: Mutex::new(Vec::new()),
            signalled: AtomicBool::new(false),
            writer: Mutex::new(writer),
        };
        Ok(Completions {
            queue: Arc::new(queue),
            reader,
        })
    }

    /// The pipe's read end (set it non-blocking and watch it with `loop.add_reader`).
    fn fileno(&self) -> i32 {
        self.reader.as_raw_fd()
    }

    /// Every finished task as `(id, value, failed)`; call after reading the pipe's bytes.
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.queue.signalled.store(false, Ordering::Release);
        let done = std::mem::take(&mut *self.queue.done.lock().unwrap_or_else(|e| e.into_inner()));
        done.into_iter()
            .map(|(id, outcome)| {
                let (value, failed) = match outcome_to_py(py, outcome) {
                    Ok(v) => (v, false),
                    Err(e) => (e.into_value(py).into_bound(py).into_any(), true),
                };
                PyTuple::new(
                    py,
                    [
                        id.into_pyobject(py)?.into_any(),
                        value,
                        pyo3::types::PyBool::new(py, failed).to_owned().into_any(),
                    ],
                )
            })
            .collect()
    }
}

fn outcome_to_py(py: Python<'_>, outcome: Outcome) -> PyResult<Bound<'_, PyAny>> {
    match outcome {
        Outcome::Chat(r) => match r {
            Ok(v) => Ok(Bound::new(py, ChatResult(v))?.into_any()),
            Err(e) => Err(to_py_err(py, &e)),
        },
        Outcome::Embed(r) => match r {
            Ok(v) => Ok(Bound::new(py, EmbedResult(v))?.into_any()),
            Err(e) => Err(to_py_err(py, &e)),
        },
        Outcome::Events(batch) => batch_to_py(py, batch),
    }
}

/// A running task; `abort()` drops it (and so cancels its request).
#[pyclass(name = "TaskHandle", module = "modelplug._native", frozen)]
pub struct TaskHandle(pub tokio::task::AbortHandle);

#[pymethods]
impl TaskHandle {
    /// Cancels the task.
    fn abort(&self) {
        self.0.abort();
    }
}
