//! `FfiClient`: JSON requests in, JSON responses out, errors as [`FfiError`].

use std::sync::Arc;

use modelplug_core::config::process_env;
use modelplug_core::{ChatRequest, Client, Config, EmbedRequest, Error};

use crate::FfiError;
use crate::runtime::{ensure_runtime, on_runtime};
use crate::stream::FfiStream;

/// The core client.
#[derive(uniffi::Object)]
pub struct FfiClient {
    client: Client,
}

fn build(config: Result<Config, Error>) -> Result<Arc<FfiClient>, FfiError> {
    ensure_runtime()?;
    let client = config.and_then(|c| {
        Client::builder()
            .config(c)
            .sdk("kotlin", env!("CARGO_PKG_VERSION"))
            .build()
    })?;
    LIVE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(Arc::new(FfiClient { client }))
}

#[uniffi::export]
impl FfiClient {
    /// A client for a config object's JSON text, or with no config (`provider/model` names).
    #[uniffi::constructor]
    pub fn new(config_json: Option<String>) -> Result<Arc<FfiClient>, FfiError> {
        let config = match config_json {
            None => Ok(Config::empty()),
            Some(text) => Config::from_json_str(&text, &process_env),
        };
        build(config)
    }

    /// A client for a `modelplug.yaml` file.
    #[uniffi::constructor]
    pub fn from_file(path: String) -> Result<Arc<FfiClient>, FfiError> {
        build(Config::from_file(path))
    }

    /// One chat completion: the response's JSON text.
    pub async fn chat(&self, request_json: String) -> Result<String, FfiError> {
        let client = self.client.clone();
        on_runtime(async move {
            let response = client.chat(ChatRequest::from_json(&request_json)?).await?;
            Ok(to_json(&response))
        })
        .await
    }

    /// Embeddings: the response's JSON text.
    pub async fn embed(&self, request_json: String) -> Result<String, FfiError> {
        let client = self.client.clone();
        on_runtime(async move {
            let response = client.embed(EmbedRequest::from_json(&request_json)?).await?;
            Ok(to_json(&response))
        })
        .await
    }

    /// A stream; nothing is sent until the first `next_batch`, where an invalid request surfaces.
    pub fn stream(&self, request_json: String) -> Arc<FfiStream> {
        Arc::new(FfiStream::new(
            ChatRequest::from_json(&request_json).map(|r| self.client.stream(r)),
        ))
    }

    /// This process's usage events (JSON array text).
    pub fn usage(&self) -> String {
        to_json(&self.client.usage())
    }

    /// Closes the client; later calls fail with CANCELLED. (Not `close`: uniffi's Kotlin
    /// objects already have a `close()`, which releases the native object.)
    pub fn shutdown(&self) {
        self.client.close();
    }

    /// Whether `close()` was called.
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

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"cannot encode: {e}\"}}"))
}

/// Live native clients (the Kotlin tests check that `close()` releases them).
static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for FfiClient {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How many native clients are alive in this process.
#[uniffi::export]
pub fn ffi_live_clients() -> u64 {
    LIVE.load(std::sync::atomic::Ordering::Relaxed) as u64
}
