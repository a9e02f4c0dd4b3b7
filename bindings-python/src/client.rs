//! `modelplug._native.Client`: converts arguments, calls the core, converts results. Sync
//! calls wait without the GIL and stop on Ctrl-C (`blocking.rs`); `submit_*` start tasks whose
//! results reach asyncio through the bridge (`bridge.rs`), and aborting a task drops its call.
//! The core client is fork-safe by itself and the core owns the runtime.

use std::path::PathBuf;
use std::time::Duration;

use modelplug_core::client::DEFAULT_CLOSE_TIMEOUT;
use modelplug_core::config::process_env;
use modelplug_core::{ChatRequest, Client, Config, EmbedRequest, Error, runtime};
use pyo3::prelude::*;

use crate::blocking::{CancelToken, wait};
use crate::bridge::{Completions, Outcome, TaskHandle};
use crate::convert::{config_to_json, request_to_json, to_py};
use crate::errors::to_py_err;
use crate::guardrails::{GuardrailArgs, custom_guardrail};
use crate::results::{ChatResult, EmbedResult};
use crate::stream::NativeStream;
use crate::usage::usage_callback;

/// A timeout in seconds as a bound (`None`: the default close bound); negative or non-finite
/// is the core's INVALID_REQUEST.
fn bound(py: Python<'_>, seconds: Option<f64>) -> PyResult<Duration> {
    match seconds {
        None => Ok(DEFAULT_CLOSE_TIMEOUT),
        Some(s) => Duration::try_from_secs_f64(s).map_err(|_| {
            to_py_err(
                py,
                &Error::invalid_request(format!(
                    "timeout must be a finite number of seconds >= 0, got {s}"
                )),
            )
        }),
    }
}

/// The core client.
#[pyclass(name = "Client", module = "modelplug._native", frozen)]
pub struct NativeClient {
    client: Client,
}

fn chat_request(py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<ChatRequest> {
    ChatRequest::from_value(request_to_json(request)?).map_err(|e| to_py_err(py, &e))
}

fn embed_request(py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<EmbedRequest> {
    EmbedRequest::from_value(request_to_json(request)?).map_err(|e| to_py_err(py, &e))
}

#[pymethods]
impl NativeClient {
    /// A client from a config dict, a YAML file path, or neither (`provider/model` names only);
    /// `on_usage`, a callable, gets every usage event as a dict (see `usage.rs`); `guardrails`
    /// are custom guardrails as `(name, stage, timeout_ms, fail, check)` (see `guardrails.rs`).
    #[new]
    #[pyo3(signature = (config=None, path=None, on_usage=None, guardrails=Vec::new()))]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyAny>>,
        path: Option<PathBuf>,
        on_usage: Option<Py<PyAny>>,
        guardrails: Vec<GuardrailArgs>,
    ) -> PyResult<NativeClient> {
        // The process runtime first: a bad MODELPLUG_WORKER_THREADS is the constructor's error.
        runtime::runtime().map_err(|e| to_py_err(py, &e))?;
        let guardrails = guardrails
            .into_iter()
            .map(|g| custom_guardrail(py, g))
            .collect::<PyResult<Vec<_>>>()?;
        let config = match (config, path) {
            (Some(c), None) => Config::from_json_value(&config_to_json(c)?, &process_env),
            (None, Some(p)) => Config::from_file(p),
            (None, None) => Ok(Config::empty()),
            (Some(_), Some(_)) => Err(Error::config(
                "give either a config dict or a config file path, not both",
            )),
        };
        let client = config.and_then(|c| {
            let builder = guardrails.into_iter().fold(
                Client::builder()
                    .config(c)
                    .sdk("python", env!("CARGO_PKG_VERSION")),
                |builder, g| builder.guardrail(g),
            );
            match on_usage {
                Some(callable) => builder.on_usage(usage_callback(callable)),
                None => builder,
            }
            .build()
        });
        client
            .map(|client| NativeClient { client })
            .map_err(|e| to_py_err(py, &e))
    }

    /// One chat completion; waits without holding the GIL, and gives up on Ctrl-C or when
    /// `cancel` fires (the call then ends as cancelled).
    #[pyo3(signature = (request, cancel=None))]
    fn chat(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        cancel: Option<&CancelToken>,
    ) -> PyResult<ChatResult> {
        let (req, client) = (chat_request(py, request)?, &self.client);
        let result = match cancel {
            Some(token) => wait(py, token.0.run(client.chat(req)))?,
            None => wait(py, client.chat(req))?,
        };
        result.map(ChatResult).map_err(|e| to_py_err(py, &e))
    }

    /// Starts one chat completion; the result is delivered to `completions` under `id`.
    fn submit_chat(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        completions: &Completions,
        id: u64,
    ) -> PyResult<TaskHandle> {
        let (req, client) = (chat_request(py, request)?, self.client.clone());
        completions.submit(py, id, async move { Outcome::Chat(client.chat(req).await) })
    }

    /// A stream; nothing is sent until the first `next_batch`/`submit_next`.
    fn stream(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<NativeStream> {
        let stream = self.client.stream(chat_request(py, request)?);
        Ok(NativeStream::new(stream))
    }

    /// Embeddings; waits without holding the GIL, and gives up on Ctrl-C.
    fn embed(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<EmbedResult> {
        let req = embed_request(py, request)?;
        wait(py, self.client.embed(req))?
            .map(EmbedResult)
            .map_err(|e| to_py_err(py, &e))
    }

    /// Starts embeddings; the result is delivered to `completions` under `id`.
    fn submit_embed(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        completions: &Completions,
        id: u64,
    ) -> PyResult<TaskHandle> {
        let (req, client) = (embed_request(py, request)?, self.client.clone());
        completions.submit(py, id, async move { Outcome::Embed(client.embed(req).await) })
    }

    /// This process's usage events for this client, as dicts (also after `close()`).
    fn usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.client.usage())
    }

    /// Closes the client (see `Client::close_blocking`), waiting at most `timeout` seconds
    /// (default 5) for calls in flight; waits without holding the GIL.
    #[pyo3(signature = (timeout=None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let within = bound(py, timeout)?;
        let client = &self.client;
        py.detach(|| client.close_blocking(within))
            .map_err(|e| to_py_err(py, &e))
    }

    /// Pushes out buffered usage (the collector, sinks, `on_usage`), waiting at most `timeout`
    /// seconds; waits without holding the GIL, and gives up on Ctrl-C.
    fn flush(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let within = bound(py, Some(timeout))?;
        wait(py, self.client.flush(within))?.map_err(|e| to_py_err(py, &e))
    }

    /// Starts a flush (see `flush`); `None` (or the error) is delivered to `completions` under `id`.
    fn submit_flush(
        &self,
        py: Python<'_>,
        timeout: f64,
        completions: &Completions,
        id: u64,
    ) -> PyResult<TaskHandle> {
        let (within, client) = (bound(py, Some(timeout))?, self.client.clone());
        completions.submit(py, id, async move { Outcome::Done(client.flush(within).await) })
    }

    /// Starts closing the client; `None` (or the error) is delivered to `completions` under `id`.
    fn submit_close(&self, py: Python<'_>, completions: &Completions, id: u64) -> PyResult<TaskHandle> {
        let closing = self.client.close();
        completions.submit(py, id, async move { Outcome::Done(closing.await) })
    }

    /// Whether the client was closed.
    #[getter]
    fn closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The config's stable hash.
    #[getter]
    fn config_hash(&self) -> &str {
        &self.client.config().hash
    }

    /// The application name from the config.
    #[getter]
    fn app(&self) -> &str {
        &self.client.config().app
    }

    /// The model aliases the config defines.
    #[getter]
    fn models(&self) -> Vec<String> {
        self.client.config().model_names()
    }
}

/// Closes every client at once (the clients still open at interpreter exit), waiting at most
/// `timeout` seconds (plus the services' last flush) without holding the GIL.
#[pyfunction]
pub fn close_all(py: Python<'_>, clients: Vec<PyRef<'_, NativeClient>>, timeout: f64) -> PyResult<()> {
    let within = bound(py, Some(timeout))?;
    let clients: Vec<Client> = clients.iter().map(|c| c.client.clone()).collect();
    py.detach(|| modelplug_core::ffi::close_all(&clients, within))
        .map_err(|e| to_py_err(py, &e))
}
