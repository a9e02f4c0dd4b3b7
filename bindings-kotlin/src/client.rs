//! `FfiClient`: JSON requests in, `{"ok": …}` / `{"err": …}` JSON text out.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use modelplug_core::client::DEFAULT_CLOSE_TIMEOUT;
use modelplug_core::config::process_env;
use modelplug_core::ffi::{err_json, ok_json};
use modelplug_core::runtime::run_abortable;
use modelplug_core::{ChatRequest, Client, Config, EmbedRequest, Error};

use crate::FfiError;
use crate::guardrails::FfiGuardrail;
use crate::stream::FfiStream;

/// The core client.
#[derive(uniffi::Object)]
pub struct FfiClient {
    client: Client,
}

/// Live native clients (the Kotlin tests check that a collected `Client` releases its own).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Receives usage events: implemented in Kotlin (`dev.modelplug.UsageListener`), called by
/// the core off the request path (a blocking-pool thread, in batches).
#[uniffi::export(with_foreign)]
pub trait FfiUsageListener: Send + Sync {
    /// One usage event, as `{"ok": event}` JSON text (the envelope `Codec.ok` unwraps).
    fn on_usage(&self, event_json: String);
}

/// A client for `config` with these custom guardrails (run in order, after the config's
/// rules); the process runtime is built first, so a bad `MODELPLUG_WORKER_THREADS` is the
/// constructor's CONFIG error.
fn build(
    config: impl FnOnce() -> Result<Config, Error>,
    guardrails: Vec<FfiGuardrail>,
    on_usage: Option<Arc<dyn FfiUsageListener>>,
) -> Result<Arc<FfiClient>, FfiError> {
    modelplug_core::runtime::runtime()?;
    let mut builder = Client::builder()
        .config(config()?)
        .sdk("kotlin", env!("CARGO_PKG_VERSION"));
    for guardrail in guardrails {
        builder = builder.guardrail(guardrail.into_core()?);
    }
    if let Some(listener) = on_usage {
        builder = builder.on_usage(move |event| listener.on_usage(ok_json(event)));
    }
    let client = builder.build()?;
    LIVE.fetch_add(1, Ordering::Relaxed);
    Ok(Arc::new(FfiClient { client }))
}

/// The envelope of a call's outcome.
fn envelope<T: serde::Serialize>(outcome: Result<T, Error>) -> String {
    match outcome {
        Ok(value) => ok_json(&value),
        Err(e) => err_json(&e),
    }
}

#[uniffi::export]
impl FfiClient {
    /// A client for a config object's JSON text, or with no config (`provider/model` names);
    /// `guardrails` are custom guardrails written in Kotlin, `on_usage` gets every usage event.
    #[uniffi::constructor]
    pub fn new(
        config_json: Option<String>,
        guardrails: Vec<FfiGuardrail>,
        on_usage: Option<Arc<dyn FfiUsageListener>>,
    ) -> Result<Arc<FfiClient>, FfiError> {
        build(
            || match config_json {
                None => Ok(Config::empty()),
                Some(text) => Config::from_json_str(&text, &process_env),
            },
            guardrails,
            on_usage,
        )
    }

    /// A client for a `modelplug.yaml` file; `guardrails` and `on_usage` as for `new`.
    #[uniffi::constructor]
    pub fn from_file(
        path: String,
        guardrails: Vec<FfiGuardrail>,
        on_usage: Option<Arc<dyn FfiUsageListener>>,
    ) -> Result<Arc<FfiClient>, FfiError> {
        build(|| Config::from_file(path), guardrails, on_usage)
    }

    /// One chat completion: `{"ok": response}` or `{"err": error}`.
    pub async fn chat(&self, request_json: String) -> String {
        let client = self.client.clone();
        let call = async move { client.chat(ChatRequest::from_json(&request_json)?).await };
        envelope(run_abortable(call).await.and_then(|r| r))
    }

    /// Embeddings: `{"ok": response}` or `{"err": error}`.
    pub async fn embed(&self, request_json: String) -> String {
        let client = self.client.clone();
        let call = async move { client.embed(EmbedRequest::from_json(&request_json)?).await };
        envelope(run_abortable(call).await.and_then(|r| r))
    }

    /// A stream; nothing is sent until the first `next_batch`, where an invalid request surfaces.
    pub fn stream(&self, request_json: String) -> Arc<FfiStream> {
        Arc::new(FfiStream::new(
            ChatRequest::from_json(&request_json).map(|r| self.client.stream(r)),
        ))
    }

    /// Pushes out buffered usage (collector, sinks, the usage listener) within `timeout_ms`:
    /// `{"ok": null}` or `{"err": error}` (TIMEOUT when something was late).
    pub async fn flush(&self, timeout_ms: u64) -> String {
        let client = self.client.clone();
        let within = Duration::from_millis(timeout_ms);
        envelope(
            run_abortable(async move { client.flush(within).await })
                .await
                .and_then(|r| r),
        )
    }

    /// This process's usage events, oldest first: `{"ok": [event, ...]}` (also after close).
    pub fn usage(&self) -> String {
        ok_json(&self.client.usage())
    }

    /// Closes the client (`Client::close_blocking`): new calls fail with CANCELLED, calls in
    /// flight get up to the default bound to finish. Blocks the calling JVM thread. (Not
    /// `close`: uniffi's Kotlin objects already have a `close()`, which frees the native object.)
    pub fn shutdown(&self) -> Result<(), FfiError> {
        Ok(self.client.close_blocking(DEFAULT_CLOSE_TIMEOUT)?)
    }

    /// Whether the client was closed.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The config's stable hash.
    pub fn config_hash(&self) -> String {
        self.client.config().hash.clone()
    }

    /// The model aliases the config defines.
    pub fn models(&self) -> Vec<String> {
        self.client.config().model_names()
    }
}

impl Drop for FfiClient {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many native clients are alive in this process.
#[uniffi::export]
pub fn ffi_live_clients() -> u64 {
    LIVE.load(Ordering::Relaxed) as u64
}

/// Closes these clients at once (the clients still open at JVM exit), blocking the calling
/// thread at most `timeout_ms` (plus the services' last flush).
#[uniffi::export]
pub fn ffi_close_all(clients: Vec<Arc<FfiClient>>, timeout_ms: u64) -> Result<(), FfiError> {
    let clients: Vec<Client> = clients.iter().map(|c| c.client.clone()).collect();
    Ok(modelplug_core::ffi::close_all(
        &clients,
        Duration::from_millis(timeout_ms),
    )?)
}
