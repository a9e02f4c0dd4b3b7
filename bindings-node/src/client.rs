//! `NativeClient`: parses requests, starts core calls, delivers JSON envelopes through the
//! client's bridge (`bridge.rs`).

use std::sync::Arc;

use modelplug_core::config::process_env;
use modelplug_core::{CancelHandle, ChatRequest, Client, Config, EmbedRequest, Error};
use napi::Result;
use napi::bindgen_prelude::{Function, Unknown};
use napi_derive::napi;

use crate::abort::NativeAbort;
use crate::bridge::{Bridge, Drained};
use crate::envelope::{err, outcome};
use crate::stream::NativeStream;

/// The core client.
#[napi]
pub struct NativeClient {
    client: Client,
    bridge: Arc<Bridge>,
}

fn build(config: std::result::Result<Config, Error>) -> std::result::Result<NativeClient, String> {
    if let Some(e) = crate::runtime_error() {
        return Err(err(e));
    }
    config
        .and_then(|c| {
            Client::builder()
                .config(c)
                .sdk("node", env!("CARGO_PKG_VERSION"))
                .build()
        })
        .map(|client| NativeClient {
            client,
            bridge: Arc::default(),
        })
        .map_err(|e| err(&e))
}

/// A failed construction: the error envelope as the exception message (the TypeScript layer
/// turns it into the right class).
fn construction_error(envelope: String) -> napi::Error {
    napi::Error::from_reason(envelope)
}

async fn cancellable<T>(
    abort: Option<CancelHandle>,
    call: impl Future<Output = std::result::Result<T, Error>>,
) -> std::result::Result<T, Error> {
    match abort {
        Some(handle) => handle.run(call).await,
        None => call.await,
    }
}

#[napi]
impl NativeClient {
    /// A client from a config object's JSON text, or with no config (`provider/model` names).
    #[napi(constructor)]
    pub fn new(config_json: Option<String>) -> Result<NativeClient> {
        let config = match config_json {
            None => Ok(Config::empty()),
            Some(text) => Config::from_json_str(&text, &process_env),
        };
        build(config).map_err(construction_error)
    }

    /// A client from a `modelplug.yaml` file.
    #[napi(factory)]
    pub fn from_file(path: String) -> Result<NativeClient> {
        build(Config::from_file(path)).map_err(construction_error)
    }

    /// Installs the function the client calls (with no arguments) when results are ready
    /// for `drain()`.
    #[napi]
    pub fn set_waker(&self, waker: Function<(), Unknown<'static>>) -> Result<()> {
        let tsfn = waker
            .build_threadsafe_function::<()>()
            .weak::<true>()
            .callee_handled::<false>()
            .build()?;
        self.bridge.set_waker(tsfn);
        Ok(())
    }

    /// Every result ready since the last drain.
    #[napi]
    pub fn drain(&self) -> Drained {
        self.bridge.drain()
    }

    /// Starts chat completion `id`; its envelope arrives through `drain()`.
    #[napi]
    pub fn chat(&self, id: u32, request_json: String, abort: Option<&NativeAbort>) {
        let (client, bridge) = (self.client.clone(), self.bridge.clone());
        let abort = abort.map(|a| a.handle.clone());
        napi::bindgen_prelude::spawn(async move {
            let payload = match ChatRequest::from_json(&request_json) {
                Ok(req) => outcome(cancellable(abort, client.chat(req)).await),
                Err(e) => err(&e),
            };
            bridge.deliver(id, payload);
        });
    }

    /// Starts embeddings call `id`; its envelope arrives through `drain()`.
    #[napi]
    pub fn embed(&self, id: u32, request_json: String, abort: Option<&NativeAbort>) {
        let (client, bridge) = (self.client.clone(), self.bridge.clone());
        let abort = abort.map(|a| a.handle.clone());
        napi::bindgen_prelude::spawn(async move {
            let payload = match EmbedRequest::from_json(&request_json) {
                Ok(req) => outcome(cancellable(abort, client.embed(req)).await),
                Err(e) => err(&e),
            };
            bridge.deliver(id, payload);
        });
    }

    /// A stream; nothing is sent until the first `nextBatch`. An invalid request surfaces there.
    #[napi]
    pub fn stream(&self, request_json: String) -> NativeStream {
        let stream = ChatRequest::from_json(&request_json).map(|req| self.client.stream(req));
        NativeStream::new(stream, self.bridge.clone())
    }

    /// This process's usage events (JSON array text).
    #[napi]
    pub fn usage(&self) -> String {
        serde_json::to_string(&self.client.usage()).unwrap_or_else(|_| "[]".to_owned())
    }

    /// Closes the client; later calls fail with CANCELLED.
    #[napi]
    pub fn close(&self) {
        self.client.close();
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The config's stable hash.
    #[napi(getter)]
    pub fn config_hash(&self) -> String {
        self.client.config().hash.clone()
    }

    /// The model aliases the config defines.
    #[napi(getter)]
    pub fn models(&self) -> Vec<String> {
        self.client.config().model_names()
    }
}
