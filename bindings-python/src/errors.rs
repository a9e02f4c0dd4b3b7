//! Core errors → Python exceptions. The classes live in `modelplug/errors.py`; it registers
//! its one mapping function here (`_set_error_factory`), which turns the error's JSON form
//! into the right `ModelplugError` subclass.

use modelplug_core::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

static FACTORY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Registers `modelplug.errors._from_native` (called once, at import).
#[pyfunction]
#[pyo3(name = "_set_error_factory")]
pub fn set_error_factory(py: Python<'_>, factory: Py<PyAny>) {
    let _ = FACTORY.set(py, factory);
}

/// The Python exception for a core error.
pub fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    let Some(factory) = FACTORY.get(py) else {
        return PyRuntimeError::new_err(e.to_string());
    };
    let made =
        crate::convert::json_to_py(py, &e.to_value()).and_then(|payload| factory.call1(py, (payload,)));
    match made {
        Ok(exc) => PyErr::from_value(exc.into_bound(py)),
        Err(err) => err,
    }
}
