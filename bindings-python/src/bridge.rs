//! The asyncio side of the core's completion queue ([`modelplug_core::ffi::Completions`]): an
//! awaitable call is a task on the process runtime whose outcome the queue collects; the
//! queue's wake-up writes one byte to a pipe the event loop watches (`loop.add_reader`), and
//! the loop thread then drains the queue here, turning outcomes into Python objects
//! (`modelplug/_bridge.py` resolves the futures). No runtime thread ever takes the GIL.

use std::future::Future;
use std::io::{PipeReader, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;

use modelplug_core::ffi::Completions as Queue;
use modelplug_core::{ChatResponse, EmbedResponse, Error, StreamBatch};
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyTuple};

use crate::errors::to_py_err;
use crate::results::{ChatResult, EmbedResult};
use crate::stream::batch_to_py;

/// What a finished task hands back.
pub enum Outcome {
    /// A chat completion.
    Chat(Result<ChatResponse, Error>),
    /// Embeddings.
    Embed(Result<EmbedResponse, Error>),
    /// The next batch of stream events, ending with the error if the stream failed.
    Events(StreamBatch),
    /// A close or a flush finished.
    Done(Result<(), Error>),
}

/// A completion queue for one event loop; `fileno()` is what the loop watches.
#[pyclass(name = "Completions", module = "modelplug._native", frozen)]
pub struct Completions {
    queue: Arc<Queue<Outcome>>,
    reader: PipeReader,
}

impl Completions {
    /// Runs `call` as a task on the process runtime; its outcome is queued under `id` and the
    /// loop woken. Aborting the returned handle drops the call (which cancels it).
    #[inline]
    pub fn submit(
        &self,
        py: Python<'_>,
        id: u64,
        call: impl Future<Output = Outcome> + Send + 'static,
    ) -> PyResult<TaskHandle> {
        match self.queue.submit(id, call) {
            Ok(handle) => Ok(TaskHandle(handle)),
            Err(e) => Err(to_py_err(py, &e)),
        }
    }
}

#[pymethods]
impl Completions {
    #[new]
    fn new() -> PyResult<Completions> {
        let (reader, writer) = std::io::pipe().map_err(|e| PyOSError::new_err(e.to_string()))?;
        let queue = Queue::new();
        // One byte per wake-up (the queue wakes once per drain), so the pipe never fills up.
        queue.set_waker(move || {
            let _ = (&writer).write(&[1]);
        });
        Ok(Completions { queue, reader })
    }

    /// The pipe's read end (set it non-blocking and watch it with `loop.add_reader`).
    fn fileno(&self) -> i32 {
        self.reader.as_raw_fd()
    }

    /// Every finished task as `(id, value, failed)`; call after reading the pipe's bytes.
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let done = self.queue.drain();
        done.into_iter()
            .map(|(id, outcome)| {
                let (value, failed) = match outcome_to_py(py, outcome) {
                    Ok(v) => (v, false),
                    Err(e) => (e.into_value(py).into_bound(py).into_any(), true),
                };
                let id = id.into_pyobject(py)?.into_any();
                PyTuple::new(py, [id, value, PyBool::new(py, failed).to_owned().into_any()])
            })
            .collect()
    }
}

fn outcome_to_py(py: Python<'_>, outcome: Outcome) -> PyResult<Bound<'_, PyAny>> {
    match outcome {
        Outcome::Chat(r) => Ok(Bound::new(py, ChatResult(r.map_err(|e| to_py_err(py, &e))?))?.into_any()),
        Outcome::Embed(r) => Ok(Bound::new(py, EmbedResult(r.map_err(|e| to_py_err(py, &e))?))?.into_any()),
        Outcome::Events(batch) => batch_to_py(py, batch),
        Outcome::Done(r) => r
            .map(|()| py.None().into_bound(py))
            .map_err(|e| to_py_err(py, &e)),
    }
}

/// A running task; `abort()` drops it (and so cancels its call).
#[pyclass(name = "TaskHandle", module = "modelplug._native", frozen)]
pub struct TaskHandle(pub tokio::task::AbortHandle);

#[pymethods]
impl TaskHandle {
    /// Cancels the task.
    fn abort(&self) {
        self.0.abort();
    }
}
