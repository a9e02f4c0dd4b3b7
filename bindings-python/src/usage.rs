//! `on_usage`: the core calls the callback off the request path (a blocking-pool thread, in
//! batches); here each event becomes a dict (the same shape as `Client.usage()` rows) and the
//! Python callable gets it with the GIL taken for that call only. An exception it raises is
//! reported through `sys.unraisablehook` (as Python does for errors it cannot raise anywhere)
//! and the next event still reaches it. Once the interpreter is shutting down, events are no
//! longer delivered (attaching then could hang).

use modelplug_core::UsageEvent;
use pyo3::prelude::*;

use crate::convert::to_py;

/// The core's usage callback for `callable`.
pub fn usage_callback(callable: Py<PyAny>) -> impl Fn(&UsageEvent) + Send + Sync + 'static {
    move |event| {
        Python::try_attach(|py| {
            let called = to_py(py, event).and_then(|dict| callable.call1(py, (dict,)));
            if let Err(e) = called {
                e.write_unraisable(py, Some(callable.bind(py)));
            }
        });
    }
}
