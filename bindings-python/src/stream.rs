//! `modelplug._native.Stream`: the pull-based stream, read in batches (`next_batch` waits
//! without the GIL and stops on Ctrl-C, `submit_next` fetches through the asyncio bridge;
//! `cancel` works from any thread). Events cross as tuples:
//! `("text_delta", text)`, `("reasoning_delta", text)`,
//! `("tool_call_delta", index, id, name, arguments)`, `("usage", usage tuple)` (see
//! `results::usage_tuple`), `("done", ChatResult)`.

use modelplug_core::{ChatStream, SharedStream, StreamBatch, StreamEvent};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::blocking::{drop_in_runtime, wait};
use crate::bridge::{Completions, Outcome, TaskHandle};
use crate::errors::to_py_err;
use crate::results::{ChatResult, usage_tuple};

/// A chat stream (wrapped by `modelplug.Stream` / `modelplug.AsyncStream`).
#[pyclass(name = "Stream", module = "modelplug._native", frozen)]
pub struct NativeStream {
    /// `None` only while being dropped.
    inner: Option<SharedStream>,
}

impl NativeStream {
    pub fn new(stream: ChatStream) -> NativeStream {
        NativeStream {
            inner: Some(SharedStream::new(stream)),
        }
    }

    fn shared(&self) -> SharedStream {
        self.inner.clone().expect("present until dropped")
    }
}

/// One event as a Python tuple.
fn event_to_py(py: Python<'_>, ev: StreamEvent) -> PyResult<Bound<'_, PyAny>> {
    let tuple = match ev {
        StreamEvent::TextDelta { text } => ("text_delta", text).into_pyobject(py)?,
        StreamEvent::ReasoningDelta { text } => ("reasoning_delta", text).into_pyobject(py)?,
        StreamEvent::ToolCallDelta {
            index,
            id,
            name,
            arguments,
        } => ("tool_call_delta", index, id, name, arguments).into_pyobject(py)?,
        StreamEvent::Usage { usage } => ("usage", usage_tuple(py, &usage)?).into_pyobject(py)?,
        StreamEvent::Done { response } => {
            ("done", Bound::new(py, ChatResult(*response))?).into_pyobject(py)?
        }
    };
    Ok(tuple.into_any())
}

/// Most events handed over in one batch.
const BATCH: usize = 64;

/// A batch as Python: `(list of event tuples, exception or None)`.
pub fn batch_to_py(py: Python<'_>, batch: StreamBatch) -> PyResult<Bound<'_, PyAny>> {
    let list = PyList::empty(py);
    for ev in batch.events {
        list.append(event_to_py(py, ev)?)?;
    }
    let error = match batch.error {
        Some(e) => to_py_err(py, &e).into_value(py).into_bound(py).into_any(),
        None => py.None().into_bound(py),
    };
    Ok((list, error).into_pyobject(py)?.into_any())
}

#[pymethods]
impl NativeStream {
    /// The next batch of events (see `ChatStream::next_batch`); waits without holding the GIL.
    /// Ctrl-C cancels the stream (the call ends as cancelled) and raises `KeyboardInterrupt`.
    fn next_batch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (shared, batch) = (self.shared(), BATCH);
        match wait(py, shared.next_batch(batch)) {
            Ok(batch) => batch_to_py(py, batch),
            Err(interrupted) => {
                shared.cancel();
                Err(interrupted)
            }
        }
    }

    /// Starts fetching the next batch; it is delivered to `completions` under `id`.
    fn submit_next(&self, py: Python<'_>, completions: &Completions, id: u64) -> PyResult<TaskHandle> {
        let (shared, batch) = (self.shared(), BATCH);
        completions.submit(
            py,
            id,
            async move { Outcome::Events(shared.next_batch(batch).await) },
        )
    }

    /// Stops the stream and closes the connection; a pending `next` raises `CancelledError`.
    fn cancel(&self) {
        // Closes the connection now, not when the object goes away, also when a cancelled
        // asyncio task's read still holds the stream.
        self.shared().cancel();
    }
}

impl Drop for NativeStream {
    fn drop(&mut self) {
        drop_in_runtime(self.inner.take());
    }
}
