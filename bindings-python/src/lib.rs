//! `modelplug._native`: the private module under the Python package. It only converts: the
//! behaviour is in modelplug-core, the public API in `bindings-python/python/modelplug/`.

mod blocking;
mod bridge;
mod client;
mod convert;
mod errors;
mod guardrails;
mod results;
mod stream;
mod usage;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::NativeClient>()?;
    m.add_class::<stream::NativeStream>()?;
    m.add_class::<results::ChatResult>()?;
    m.add_class::<results::EmbedResult>()?;
    m.add_class::<bridge::Completions>()?;
    m.add_class::<bridge::TaskHandle>()?;
    m.add_class::<blocking::CancelToken>()?;
    m.add_function(wrap_pyfunction!(errors::set_error_factory, m)?)?;
    m.add_function(wrap_pyfunction!(client::close_all, m)?)?;
    m.add_function(wrap_pyfunction!(guardrails::stop_guardrails, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ERROR_CODES", modelplug_core::ffi::error_codes())?;
    Ok(())
}
