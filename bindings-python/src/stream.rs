//! `modelplug._native.Stream`: the pull-based stream (`next` blocks without the GIL, `anext`
//! is an awaitable, `cancel` works from any thread). Events cross as tuples:
//! `("text_delta", text)`, `("reasoning_delta", text)`,
//! `("tool_call_delta", index, id, name, arguments)`, `("usage", (5 ints))`,
//! `("done", ChatResult)`; `None` after the end.

use std::sync::Arc;

use modelplug_core::{CancelHandle, ChatStream, Error, StreamEvent};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use tokio::sync::Mutex;

use crate::errors::{Reply, to_py_err};
use crate::results::ChatResult;
use crate::runtime::{ModelplugRuntime, runtime};

/// A chat stream (wrapped by `modelplug.Stream` / `modelplug.AsyncStream`).
#[pyclass(name = "Stream", module = "modelplug._native", frozen)]
pub struct NativeStream {
    /// `None` only while being dropped.
    inner: Option<Arc<Mutex<ChatStream>>>,
    cancel: CancelHandle,
}

impl NativeStream {
    pub fn new(stream: ChatStream) -> NativeStream {
        let cancel = stream.cancel_handle();
        NativeStream {
            inner: Some(Arc::new(Mutex::new(stream))),
            cancel,
        }
    }

    fn shared(&self) -> Arc<Mutex<ChatStream>> {
        self.inner.clone().expect("present until dropped")
    }
}

/// One event on its way to Python.
pub struct PyEvent(Option<StreamEvent>);

impl<'py> IntoPyObject<'py> for PyEvent {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let Some(ev) = self.0 else {
            return Ok(py.None().into_bound(py));
        };
        let tuple = match ev {
            StreamEvent::TextDelta { text } => ("text_delta", text).into_pyobject(py)?,
            StreamEvent::ReasoningDelta { text } => ("reasoning_delta", text).into_pyobject(py)?,
            StreamEvent::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } => ("tool_call_delta", index, id, name, arguments).into_pyobject(py)?,
            StreamEvent::Usage { usage: u } => {
                let counts = (
                    u.input_tokens,
                    u.output_tokens,
                    u.cached_input_tokens,
                    u.reasoning_tokens,
                    u.total_tokens,
                );
                ("usage", counts).into_pyobject(py)?
            }
            StreamEvent::Done { response } => {
                let result = Bound::new(py, ChatResult(*response))?;
                PyTuple::new(
                    py,
                    [
                        pyo3::types::PyString::new(py, "done").into_any(),
                        result.into_any(),
                    ],
                )?
            }
        };
        Ok(tuple.into_any())
    }
}

fn to_event(next: Option<Result<StreamEvent, Error>>) -> Reply<PyEvent> {
    Reply(next.transpose().map(PyEvent))
}

#[pymethods]
impl NativeStream {
    /// The next event, or `None` at the end; blocks without holding the GIL.
    fn next<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shared = self.shared();
        let rt = runtime();
        let next = py.detach(move || rt.block_on(async move { shared.lock().await.next().await }));
        match next {
            Some(Err(e)) => Err(to_py_err(py, &e)),
            other => PyEvent(other.map(|r| r.expect("errors handled above"))).into_pyobject(py),
        }
    }

    /// The next event as an asyncio awaitable.
    fn anext<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shared = self.shared();
        pyo3_async_runtimes::generic::future_into_py::<ModelplugRuntime, _, _>(py, async move {
            Ok(to_event(shared.lock().await.next().await))
        })
    }

    /// Stops the stream and closes the connection; a pending `next` raises `CancelledError`.
    fn cancel(&self) {
        self.cancel.cancel();
        // Nobody is reading: close the connection now rather than when the object goes away.
        // (A `next` waiting in another thread holds the lock and ends on the signal itself.)
        if let Ok(mut stream) = self.shared().try_lock() {
            let rt = runtime();
            let _entered = rt.enter();
            stream.cancel();
        }
    }
}

impl Drop for NativeStream {
    fn drop(&mut self) {
        // Closing the provider connection may touch the runtime's I/O driver.
        let rt = runtime();
        let _entered = rt.enter();
        drop(self.inner.take());
    }
}
