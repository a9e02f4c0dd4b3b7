//! Sync calls: waiting on the process runtime without the GIL, in slices, so that Ctrl-C (or
//! Jupyter's "interrupt kernel") stops the wait; and [`CancelToken`], which gives up calls
//! running on other threads (`Client.map`'s workers, where signals never arrive).

use std::future::Future;
use std::time::Duration;

use modelplug_core::CancelHandle;
use modelplug_core::runtime;
use pyo3::prelude::*;

use crate::errors::to_py_err;

/// How long the GIL stays released before the main thread looks at pending signals.
const SLICE: Duration = Duration::from_millis(50);

/// Runs `call` on the process runtime until it finishes, without holding the GIL. Between
/// slices it runs Python's signal handlers; when one raises (`KeyboardInterrupt`), `call` is
/// dropped — which cancels it: the core closes the connection and records the call as
/// cancelled — and the exception is returned.
pub fn wait<F>(py: Python<'_>, call: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut call = Box::pin(call);
    loop {
        let slice =
            py.detach(|| runtime::block_on(async { tokio::time::timeout(SLICE, call.as_mut()).await }));
        match slice {
            Ok(Ok(done)) => return Ok(done),
            Ok(Err(_elapsed)) => {
                if let Err(interrupted) = py.check_signals() {
                    drop_in_runtime(call);
                    return Err(interrupted);
                }
            }
            Err(e) => return Err(to_py_err(py, &e)),
        }
    }
}

/// Drops `value` inside the process runtime's context: closing a provider connection may
/// touch the runtime's I/O driver.
pub fn drop_in_runtime<T>(value: T) {
    match runtime::handle() {
        Ok(handle) => {
            let _entered = handle.enter();
            drop(value);
        }
        Err(_) => drop(value),
    }
}

/// Cancels the sync calls it was passed to, from any thread (`Client.map` fires it when the
/// main thread is interrupted, so that its workers' calls end as cancelled).
#[pyclass(name = "CancelToken", module = "modelplug._native", frozen)]
pub struct CancelToken(pub CancelHandle);

#[pymethods]
impl CancelToken {
    /// A token that has not fired.
    #[new]
    fn new() -> CancelToken {
        CancelToken(CancelHandle::new())
    }

    /// Cancels every call running with this token, and every later one.
    fn cancel(&self) {
        self.0.cancel();
    }

    /// Whether `cancel()` was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}
