//! Custom guardrails: `modelplug/guardrails.py` wraps the user's check as a callable from the
//! check input's JSON text to the verdict's JSON text (the conversion of the user's return
//! value lives there); here that callable becomes the core's [`HostCheck`].
//!
//! A check runs on a thread of the runtime's blocking pool, which takes the GIL for that call
//! only: no tokio worker ever waits for Python. The core enforces the timeout by dropping the
//! future; the Python call itself cannot be interrupted and finishes on its pool thread, its
//! answer discarded (the Python layer bounds a coroutine by the timeout, so that an async
//! check lets go of its thread soon after). An exception becomes its type's name, never its
//! message (it may quote the checked text).
//!
//! At interpreter exit a check still running on a pool thread would run Python while the
//! interpreter finalizes (a fatal error): `stop_guardrails`, called by an `atexit` hook,
//! refuses new checks and waits, without the GIL, for those running to end.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use modelplug_core::guardrails::{CustomGuardrail, HostCheck};
use modelplug_core::runtime;
use pyo3::prelude::*;

use crate::errors::to_py_err;

/// The checks running in this process, and whether new ones are refused (interpreter exit).
struct Running {
    /// The fork generation the count is good for (a `fork()`ed child has none running).
    generation: u64,
    /// Checks inside (or waiting for) the interpreter.
    count: usize,
    /// Set by [`stop_guardrails`].
    stopped: bool,
}

static RUNNING: Mutex<Running> = Mutex::new(Running {
    generation: 0,
    count: 0,
    stopped: false,
});
/// Notified when [`Running::count`] drops to 0.
static IDLE: Condvar = Condvar::new();

fn running() -> MutexGuard<'static, Running> {
    let mut r = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let generation = runtime::fork_generation();
    if r.generation != generation {
        r.generation = generation;
        r.count = 0;
    }
    r
}

/// One check in [`RUNNING`], counted out when dropped.
struct Entered;

impl Entered {
    /// `None` once the interpreter is exiting.
    fn new() -> Option<Entered> {
        let mut r = running();
        if r.stopped {
            return None;
        }
        r.count += 1;
        Some(Entered)
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let mut r = running();
        r.count = r.count.saturating_sub(1);
        if r.count == 0 {
            IDLE.notify_all();
        }
    }
}

/// Refuses every later check (it fails as raising `PythonFinalizing`) and waits, without the
/// GIL, at most `timeout` seconds for the running ones to end. For the `atexit` hook: a check
/// still in Python when the interpreter finalizes would abort the process.
#[pyfunction]
pub fn stop_guardrails(py: Python<'_>, timeout: f64) {
    let within = Duration::try_from_secs_f64(timeout).unwrap_or(Duration::ZERO);
    py.detach(|| {
        let deadline = Instant::now() + within;
        let mut r = running();
        r.stopped = true;
        while r.count > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            r = IDLE.wait_timeout(r, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    });
}

/// What one guardrail is handed over as: `(name, stage, timeout_ms, fail, check)`, `check`
/// taking the input JSON text and answering the verdict JSON text.
pub type GuardrailArgs = (String, String, u64, String, Py<PyAny>);

/// The core's custom guardrail for `args` (a bad stage, fail mode or timeout is its CONFIG
/// error).
pub fn custom_guardrail(py: Python<'_>, args: GuardrailArgs) -> PyResult<CustomGuardrail> {
    let (name, stage, timeout_ms, fail, check) = args;
    CustomGuardrail::new(&name, &stage, timeout_ms, &fail, host_check(check)).map_err(|e| to_py_err(py, &e))
}

/// The core's view of the Python callable `check`.
fn host_check(check: Py<PyAny>) -> HostCheck {
    let check = Arc::new(check);
    Arc::new(move |input: String| {
        let check = check.clone();
        Box::pin(async move {
            let task = runtime::spawn_host_blocking(move || call(&check, input))
                .map_err(|_| "RuntimeError".to_owned())?;
            match task.await {
                Ok(answer) => answer,
                Err(e) if e.is_panic() => Err("PanicException".to_owned()),
                Err(_) => Err("CancelledError".to_owned()),
            }
        })
    })
}

/// Calls `check` with `input` on this (blocking-pool) thread, holding the GIL meanwhile.
fn call(check: &Py<PyAny>, input: String) -> Result<String, String> {
    let Some(_entered) = Entered::new() else {
        return Err("PythonFinalizing".to_owned());
    };
    // Once the interpreter is shutting down it cannot run Python any more (attaching could hang).
    Python::try_attach(|py| {
        check
            .call1(py, (input,))
            .and_then(|answer| answer.extract::<String>(py))
            .map_err(|e| {
                e.get_type(py)
                    .name()
                    .map_or_else(|_| "Exception".to_owned(), |n| n.to_string())
            })
    })
    .unwrap_or_else(|| Err("PythonFinalizing".to_owned()))
}
