//! Results handed to Python: the core response stays native; the hot fields are getters, the
//! rest comes as a dict on demand (`to_dict`).

use modelplug_core::{ChatResponse, EmbedResponse, Usage};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::convert::to_py;

/// Token counts as `(input, output, cached input, reasoning, total, cache write)`: the
/// positional order of `modelplug.Usage` (whose newest field comes last).
pub fn usage_tuple<'py>(py: Python<'py>, u: &Usage) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(
        py,
        [
            u.input_tokens,
            u.output_tokens,
            u.cached_input_tokens,
            u.reasoning_tokens,
            u.total_tokens,
            u.cache_write_tokens,
        ],
    )
}

/// A chat completion (wrapped by `modelplug.ChatResponse`).
#[pyclass(name = "ChatResult", module = "modelplug._native", frozen)]
pub struct ChatResult(pub ChatResponse);

#[pymethods]
impl ChatResult {
    /// The answer text ("" when the model only called tools).
    #[getter]
    fn text(&self) -> &str {
        self.0.text()
    }

    /// Token counts (see [`usage_tuple`]).
    #[getter]
    fn usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        usage_tuple(py, &self.0.usage)
    }

    /// Why generation stopped.
    #[getter]
    fn finish_reason(&self) -> &'static str {
        self.0.finish_reason.as_str()
    }

    /// The model as served.
    #[getter]
    fn model(&self) -> &str {
        &self.0.model
    }

    /// The provider that answered.
    #[getter]
    fn provider(&self) -> &str {
        &self.0.provider
    }

    /// The deployment that answered.
    #[getter]
    fn deployment(&self) -> &str {
        &self.0.deployment
    }

    /// Wall time of the call.
    #[getter]
    fn latency_ms(&self) -> f64 {
        self.0.latency_ms
    }

    /// Cost, when known.
    #[getter]
    fn cost_usd(&self) -> Option<f64> {
        self.0.cost_usd
    }

    /// Everything, as a dict (the core's JSON form).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }
}

/// Embedding vectors (wrapped by `modelplug.EmbedResponse`).
#[pyclass(name = "EmbedResult", module = "modelplug._native", frozen)]
pub struct EmbedResult(pub EmbedResponse);

#[pymethods]
impl EmbedResult {
    /// One list of floats per input.
    #[getter]
    fn embeddings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = self
            .0
            .embeddings
            .iter()
            .map(|v| PyList::new(py, v.iter().map(|x| f64::from(*x))));
        PyList::new(py, rows.collect::<PyResult<Vec<_>>>()?)
    }

    /// Token counts (see [`usage_tuple`]).
    #[getter]
    fn usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        usage_tuple(py, &self.0.usage)
    }

    /// Everything except the vectors, as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut meta = serde_json::to_value(&self.0)
            .map_err(|e| pyo3::exceptions::PyTypeError::new_err(e.to_string()))?;
        if let Some(o) = meta.as_object_mut() {
            o.remove("embeddings");
        }
        crate::convert::json_to_py(py, &meta)
    }
}
