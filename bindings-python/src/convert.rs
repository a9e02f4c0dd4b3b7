//! Python objects ↔ JSON values: requests and configs come in as dicts (or objects with a
//! `to_dict()`), results go out as dicts. The core's serde forms are the contract.

use modelplug_core::Error;
use modelplug_core::types::non_finite_error;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::errors::to_py_err;

/// A request (a dict, or an object with `to_dict()`) as JSON. A NaN or infinite float is the
/// core's INVALID_REQUEST error naming the field (`temperature`, `extra.a.b[1]`).
pub fn request_to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    finite_json(obj, non_finite_error)
}

/// A config dict as JSON. A NaN or infinite float is the core's CONFIG error naming the field.
pub fn config_to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    finite_json(obj, modelplug_core::config::non_finite_error)
}

fn finite_json(obj: &Bound<'_, PyAny>, non_finite: fn(&str, f64) -> Error) -> PyResult<Value> {
    py_to_json(obj).map_err(|e| match e {
        Failure::Python(e) => e,
        Failure::NonFinite { value, path } => {
            let field = if path.is_empty() { "." } else { &path };
            to_py_err(obj.py(), &non_finite(field, value))
        }
    })
}

/// Why a value could not be converted.
enum Failure {
    /// A Python error (a type that JSON cannot carry, a failing `to_dict()`).
    Python(PyErr),
    /// A NaN or infinite float, and the path to it (built while the error travels out of the
    /// nesting, so a good conversion never pays for it).
    NonFinite { value: f64, path: String },
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Failure {
        Failure::Python(e)
    }
}

/// Puts `step` (a key, or `[index]`) in front of a non-finite number's path, the way
/// serde_path_to_error writes paths so that every binding names fields alike:
/// `messages[0].content`, `extra.a.b[1]`.
fn within<T>(result: Result<T, Failure>, step: impl FnOnce() -> String) -> Result<T, Failure> {
    result.map_err(|e| match e {
        Failure::NonFinite { value, path } => {
            let step = step();
            let path = if path.is_empty() || path.starts_with('[') {
                step + &path
            } else {
                format!("{step}.{path}")
            };
            Failure::NonFinite { value, path }
        }
        other => other,
    })
}

/// A Python value as JSON: `None`, `bool`, `int`, `float`, `str`, `dict` (string keys),
/// `list`/`tuple`, or any object with a `to_dict()` method.
fn py_to_json(obj: &Bound<'_, PyAny>) -> Result<Value, Failure> {
    if obj.is_none() {
        Ok(Value::Null)
    } else if let Ok(s) = obj.cast::<PyString>() {
        Ok(Value::String(s.to_cow()?.into_owned()))
    } else if let Ok(b) = obj.cast::<PyBool>() {
        Ok(Value::Bool(b.is_true()))
    } else if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            Ok(Value::from(v))
        } else if let Ok(v) = i.extract::<u64>() {
            Ok(Value::from(v))
        } else {
            Err(PyTypeError::new_err("integer out of range").into())
        }
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        let value = f.value();
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or(Failure::NonFinite {
                value,
                path: String::new(),
            })
    } else if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("dict keys must be strings"))?
                .to_cow()?
                .into_owned();
            let value = within(py_to_json(&v), || key.clone())?;
            m.insert(key, value);
        }
        Ok(Value::Object(m))
    } else if let Ok(l) = obj.cast::<PyList>() {
        items_to_json(l.iter())
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        items_to_json(t.iter())
    } else if obj.hasattr(pyo3::intern!(obj.py(), "to_dict"))? {
        py_to_json(&obj.call_method0(pyo3::intern!(obj.py(), "to_dict"))?)
    } else {
        let type_name = obj.get_type().name()?;
        Err(PyTypeError::new_err(format!(
            "cannot send a {type_name} to modelplug (use dicts, lists and plain values)"
        ))
        .into())
    }
}

fn items_to_json<'py>(items: impl Iterator<Item = Bound<'py, PyAny>>) -> Result<Value, Failure> {
    items
        .enumerate()
        .map(|(i, x)| within(py_to_json(&x), || format!("[{i}]")))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// A JSON value as Python objects.
pub fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for x in items {
                list.append(json_to_py(py, x)?)?;
            }
            list.into_any()
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Any serialisable core value as Python objects.
pub fn to_py<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(v).map_err(|e| PyTypeError::new_err(e.to_string()))?;
    json_to_py(py, &value)
}
