//! `modelplug._native.Stream`: the pull-based stream (`next` blocks without the GIL,
//! `submit_next` fetches through the asyncio bridge, `cancel` works from any thread). Events cross as tuples:
//! `("text_delta", text)`, `("reasoning_delta", text)`,
//! `("tool_call_delta", index, id, name, arguments)`, `("usage", (5 ints))`,
//! `("done", ChatResult)`; `None` after the end.

use std::sync::Arc;

use modelplug_core::{CancelHandle, ChatStream, StreamEvent};
use pyo3::prelude::*;
use tokio::sync::Mutex;

use crate::bridge::{Completions, Outcome, TaskHandle};
use crate::errors::to_py_err;
use crate::results::ChatResult;
use crate::runtime::runtime;

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

/// One event as Python: a tuple, or `None` at the end.
pub fn event_to_py(py: Python<'_>, ev: Option<StreamEvent>) -> PyResult<Bound<'_, PyAny>> {
    let Some(ev) = ev else {
        return Ok(py.None().into_bound(py));
    };
    let tuple = match ev {
        StreamEvent::TextDelta { text } => ("text_delta", text).into_pyobject(py)?,
        StreamEvent::ReasoningDelta { text } => ("reasoning_delta", text).into_pyobject(py)?,
        StreamEvent::ToolCallDelta { index, id, name, arguments } => {
            ("tool_call_delta", index, id, name, arguments).into_pyobject(py)?
        }
        StreamEvent::Usage { usage: u } => {
            let counts = (u.input_tokens, u.output_tokens, u.cached_input_tokens, u.reasoning_tokens, u.total_tokens);
            ("usage", counts).into_pyobject(py)?
        }
        StreamEvent::Done { response } => ("done", Bound::new(py, ChatResult(*response))?).into_pyobject(py)?,
    };
    Ok(tuple.into_any())
}

#[pymethods]
impl NativeStream {
    /// The next event, or `None` at the end; blocks without holding the GIL.
    fn next<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shared = self.shared();
        let rt = runtime();
        let next = py.detach(move || rt.block_on(async move { shared.lock().await.next().await }));
        match next.transpose() {
            Ok(ev) => event_to_py(py, ev),
            Err(e) => Err(to_py_err(py, &e)),
        }
    }

    /// Starts fetching the next event; it is delivered to `completions` under `id`.
    fn submit_next(&self, completions: &Completions, id: u64) -> TaskHandle {
        let (shared, sink) = (self.shared(), completions.sink(id));
        let task = runtime().spawn(async move {
            let next = shared.lock().await.next().await;
            sink.deliver(Outcome::Event(next));
        });
        TaskHandle(task.abort_handle())
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
