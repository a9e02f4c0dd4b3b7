//! `NativeClient`: parses requests, starts core calls on the process runtime, delivers JSON
//! envelopes through the client's bridge (`bridge.rs`).

use std::time::Duration;

use modelplug_core::config::process_env;
use modelplug_core::ffi::{err_json, ok_json};
use modelplug_core::{CancelHandle, ChatRequest, Client, Config, EmbedRequest, Error};
use napi::Result;
use napi::bindgen_prelude::{ClassInstance, Function, Unknown};
use napi_derive::napi;

use crate::abort::NativeAbort;
use crate::bridge::{Bridge, Drained};
use crate::guardrails::{Dispatch, GuardrailOptions, custom_guardrails};
use crate::stream::NativeStream;
use crate::usage::{OnUsage, UsageListener};

/// The core client.
#[napi]
pub struct NativeClient {
    client: Client,
    bridge: Bridge,
    /// The `onUsage` function, when there is one.
    usage: Option<UsageListener>,
}

/// A client for `config`, on the process runtime (started here, so that a bad
/// `MODELPLUG_WORKER_THREADS` is the constructor's CONFIG error), with the custom
/// `guardrails` answered by `check`. A failure is thrown with the error envelope as its
/// message: the TypeScript layer turns it into the right class.
fn build(
    config: std::result::Result<Config, Error>,
    on_usage: Option<OnUsage<'_>>,
    guardrails: Option<Vec<GuardrailOptions>>,
    check: Option<Dispatch<'_>>,
) -> Result<NativeClient> {
    let usage = on_usage.map(UsageListener::new).transpose()?;
    let custom = match (guardrails, check) {
        (Some(options), Some(check)) if !options.is_empty() => custom_guardrails(options, check)?,
        _ => Ok(Vec::new()),
    };
    modelplug_core::runtime::runtime()
        .and(config)
        .and_then(|c| {
            let builder = custom?.into_iter().fold(
                Client::builder().config(c).sdk("node", env!("CARGO_PKG_VERSION")),
                |builder, g| builder.guardrail(g),
            );
            match &usage {
                Some(listener) => builder.on_usage(listener.callback()),
                None => builder,
            }
            .build()
        })
        .map(|client| NativeClient {
            client,
            bridge: Bridge::new(),
            usage,
        })
        .map_err(|e| napi::Error::from_reason(err_json(&e)))
}

/// A bound in milliseconds (a JS number) as a duration; negative or not finite is the core's
/// INVALID_REQUEST.
fn bound(ms: f64) -> std::result::Result<Duration, Error> {
    Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
        Error::invalid_request(format!(
            "timeout must be a finite number of milliseconds >= 0, got {ms}"
        ))
    })
}

/// `call`'s outcome as an envelope; with `abort`, it stops (dropped, so recorded as cancelled)
/// when the signal fires.
async fn envelope<T: serde::Serialize>(
    abort: Option<CancelHandle>,
    call: impl Future<Output = std::result::Result<T, Error>>,
) -> String {
    let result = match abort {
        Some(handle) => handle.run(call).await,
        None => call.await,
    };
    match result {
        Ok(value) => ok_json(&value),
        Err(e) => err_json(&e),
    }
}

#[napi]
impl NativeClient {
    /// A client from a config object's JSON text, or with no config (`provider/model` names);
    /// `on_usage` gets each usage event's JSON text on the JS thread (and `""` as the marker
    /// that `usageBarrier` sends); `guardrails` are custom guardrails, each run by calling
    /// `check(index, inputJson)` on the JS thread (see `guardrails.rs`).
    #[napi(constructor)]
    pub fn new(
        config_json: Option<String>,
        on_usage: Option<OnUsage<'_>>,
        guardrails: Option<Vec<GuardrailOptions>>,
        check: Option<Dispatch<'_>>,
    ) -> Result<NativeClient> {
        build(
            match config_json {
                None => Ok(Config::empty()),
                Some(text) => Config::from_json_str(&text, &process_env),
            },
            on_usage,
            guardrails,
            check,
        )
    }

    /// A client from a `modelplug.yaml` file; the other arguments as for the constructor.
    #[napi(factory)]
    pub fn from_file(
        path: String,
        on_usage: Option<OnUsage<'_>>,
        guardrails: Option<Vec<GuardrailOptions>>,
        check: Option<Dispatch<'_>>,
    ) -> Result<NativeClient> {
        build(Config::from_file(path), on_usage, guardrails, check)
    }

    /// Installs the function the client calls (with no arguments) when results are ready
    /// for `drain()`.
    #[napi]
    pub fn set_waker(&self, waker: Function<(), Unknown<'static>>) -> Result<()> {
        self.bridge.set_waker(waker)
    }

    /// Every result ready since the last drain.
    #[napi]
    pub fn drain(&self) -> Drained {
        self.bridge.drain()
    }

    /// Starts chat completion `id`; its envelope arrives through `drain()`.
    #[napi]
    pub fn chat(&self, id: u32, request_json: String, abort: Option<&NativeAbort>) {
        let client = self.client.clone();
        let abort = abort.map(|a| a.handle.clone());
        self.bridge.submit(id, async move {
            match ChatRequest::from_json(&request_json) {
                Ok(req) => envelope(abort, client.chat(req)).await,
                Err(e) => err_json(&e),
            }
        });
    }

    /// Starts embeddings call `id`; its envelope arrives through `drain()`.
    #[napi]
    pub fn embed(&self, id: u32, request_json: String, abort: Option<&NativeAbort>) {
        let client = self.client.clone();
        let abort = abort.map(|a| a.handle.clone());
        self.bridge.submit(id, async move {
            match EmbedRequest::from_json(&request_json) {
                Ok(req) => envelope(abort, client.embed(req)).await,
                Err(e) => err_json(&e),
            }
        });
    }

    /// A stream; nothing is sent until the first `nextBatch`. An invalid request surfaces there.
    #[napi]
    pub fn stream(&self, request_json: String) -> NativeStream {
        let stream = ChatRequest::from_json(&request_json).map(|req| self.client.stream(req));
        NativeStream::new(stream, self.bridge.clone())
    }

    /// This process's usage events (JSON array text); readable after `close`.
    #[napi]
    pub fn usage(&self) -> String {
        serde_json::to_string(&self.client.usage()).unwrap_or_else(|_| "[]".to_owned())
    }

    /// Starts closing the client as call `id` (its envelope arrives through `drain()` once
    /// calls in flight finished or were cancelled); later calls fail with CANCELLED.
    #[napi]
    pub fn close(&self, id: u32) {
        let closing = self.client.close();
        self.bridge
            .submit(id, async move { envelope(None, closing).await });
    }

    /// Starts flushing buffered usage (collector, sinks, `onUsage`) as call `id`, bounded by
    /// `timeout_ms`; its envelope arrives through `drain()`.
    #[napi]
    pub fn flush(&self, id: u32, timeout_ms: f64) {
        let client = self.client.clone();
        self.bridge.submit(id, async move {
            match bound(timeout_ms) {
                Ok(within) => envelope(None, client.flush(within)).await,
                Err(e) => err_json(&e),
            }
        });
    }

    /// Queues the marker `""` behind every event already handed to `onUsage` (call it after a
    /// flush or close has finished): when the marker arrives, `onUsage` has had each of them.
    /// False without an `onUsage`.
    #[napi]
    pub fn usage_barrier(&self) -> bool {
        self.usage.as_ref().is_some_and(UsageListener::barrier)
    }

    /// Closes these clients at once from the JS thread, blocking it at most `timeout_ms` (plus
    /// the services' last flush): for `process.on('exit')`, where nothing asynchronous runs any
    /// more. Events meant for `onUsage` then are not delivered (the JS thread is ending).
    #[napi]
    pub fn close_all_sync(clients: Vec<ClassInstance<'_, NativeClient>>, timeout_ms: f64) -> Result<()> {
        let clients: Vec<Client> = clients.iter().map(|c| c.client.clone()).collect();
        bound(timeout_ms)
            .and_then(|within| modelplug_core::ffi::close_all(&clients, within))
            .map_err(|e| napi::Error::from_reason(err_json(&e)))
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
