//! `modelplug._native.Client`: converts arguments, calls the core, converts results. Sync
//! calls release the GIL while they wait; `submit_*` start tasks whose results reach asyncio
//! through the bridge (`bridge.rs`), and aborting a task drops its request.

use std::path::PathBuf;
use std::sync::Mutex;

use modelplug_core::config::process_env;
use modelplug_core::{ChatRequest, Client, Config, EmbedRequest, Error};
use pyo3::prelude::*;

use crate::bridge::{Completions, Outcome, TaskHandle};
use crate::convert::{py_to_json, to_py};
use crate::errors::to_py_err;
use crate::results::{ChatResult, EmbedResult};
use crate::runtime::{block_detached, try_runtime};
use crate::stream::NativeStream;

/// The core client, rebuilt in a child process after `fork()` (a connection pool must not be
/// shared across processes).
#[pyclass(name = "Client", module = "modelplug._native", frozen)]
pub struct NativeClient {
    config: Config,
    state: Mutex<(u32, Client)>,
}

fn build(config: Config) -> Result<Client, Error> {
    try_runtime()?;
    Client::builder()
        .config(config)
        .sdk("python", env!("CARGO_PKG_VERSION"))
        .build()
}

impl NativeClient {
    fn client(&self) -> Result<Client, Error> {
        let pid = std::process::id();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 != pid {
            let closed = state.1.is_closed();
            let fresh = build(self.config.clone())?;
            if closed {
                fresh.close();
            }
            *state = (pid, fresh);
        }
        Ok(state.1.clone())
    }

    fn client_py(&self, py: Python<'_>) -> PyResult<Client> {
        self.client().map_err(|e| to_py_err(py, &e))
    }
}

fn chat_request(py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<ChatRequest> {
    ChatRequest::from_value(py_to_json(request)?).map_err(|e| to_py_err(py, &e))
}

fn embed_request(py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<EmbedRequest> {
    EmbedRequest::from_value(py_to_json(request)?).map_err(|e| to_py_err(py, &e))
}

#[pymethods]
impl NativeClient {
    /// A client from a config dict, a YAML file path, or neither (`provider/model` names only).
    #[new]
    #[pyo3(signature = (config=None, path=None))]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyAny>>,
        path: Option<PathBuf>,
    ) -> PyResult<NativeClient> {
        let loaded = match (config, path) {
            (Some(c), None) => Config::from_json_value(&py_to_json(c)?, &process_env),
            (None, Some(p)) => Config::from_file(p),
            (None, None) => Ok(Config::empty()),
            (Some(_), Some(_)) => Err(Error::config(
                "give either a config dict or a config file path, not both",
            )),
        };
        let config = loaded.map_err(|e| to_py_err(py, &e))?;
        let client = build(config.clone()).map_err(|e| to_py_err(py, &e))?;
        Ok(NativeClient {
            config,
            state: Mutex::new((std::process::id(), client)),
        })
    }

    /// One chat completion; blocks without holding the GIL.
    fn chat(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<ChatResult> {
        let (req, client) = (chat_request(py, request)?, self.client_py(py)?);
        let result = block_detached(py, async move { client.chat(req).await });
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
        let (req, client) = (chat_request(py, request)?, self.client_py(py)?);
        Ok(completions.submit(id, async move { Outcome::Chat(client.chat(req).await) }))
    }

    /// A stream; nothing is sent until the first `next`/`anext`.
    fn stream(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<NativeStream> {
        let req = chat_request(py, request)?;
        Ok(NativeStream::new(self.client_py(py)?.stream(req)))
    }

    /// Embeddings; blocks without holding the GIL.
    fn embed(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<EmbedResult> {
        let (req, client) = (embed_request(py, request)?, self.client_py(py)?);
        let result = block_detached(py, async move { client.embed(req).await });
        result.map(EmbedResult).map_err(|e| to_py_err(py, &e))
    }

    /// Starts embeddings; the result is delivered to `completions` under `id`.
    fn submit_embed(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        completions: &Completions,
        id: u64,
    ) -> PyResult<TaskHandle> {
        let (req, client) = (embed_request(py, request)?, self.client_py(py)?);
        Ok(completions.submit(id, async move { Outcome::Embed(client.embed(req).await) }))
    }

    /// This process's usage events for this client, as dicts.
    fn usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.client_py(py)?.usage())
    }

    /// Closes the client; later calls raise `CancelledError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.client_py(py)?.close();
        Ok(())
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.client_py(py)?.is_closed())
    }

    /// The config's stable hash.
    #[getter]
    fn config_hash(&self) -> &str {
        &self.config.hash
    }

    /// The application name from the config.
    #[getter]
    fn app(&self) -> &str {
        &self.config.app
    }

    /// The model aliases the config defines.
    #[getter]
    fn models(&self) -> Vec<String> {
        self.config.model_names()
    }
}
