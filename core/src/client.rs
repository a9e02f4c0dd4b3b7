//! [`Client`]: the one façade every binding wraps — `chat`, `stream`, `embed`, `usage`,
//! `flush`, `close`. It only drives the pipeline (`crate::pipeline`), which it builds once per
//! process: a `fork()`ed child that uses a client gets a pipeline of its own (a connection pool
//! and background services must not be shared across processes).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::pipeline::{CallRequest, Pipeline, PipelineSettings, Reply, Stage};
use crate::runtime::{ServiceFactory, fork_generation};
use crate::stream::ChatStream;
use crate::types::{ChatRequest, ChatResponse, EmbedRequest, EmbedResponse};
use crate::usage::{SdkInfo, UsageEvent};

/// How long [`Client::close`] waits by default for calls in flight and services.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A modelplug client: holds the validated config and, per process, the call pipeline (with
/// its HTTP connection pool and routing state). Cheap to clone (all clones share everything);
/// safe to use from many tasks and threads at once.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    config: Config,
    settings: PipelineSettings,
    /// The fork generation `pipeline` was built in.
    generation: u64,
    pipeline: Arc<Pipeline>,
    /// The pipeline of a `fork()`ed child, built there on first use.
    forked: Mutex<Option<(u64, Arc<Pipeline>)>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("app", &self.inner.config.app)
            .field("source", &self.inner.config.source)
            .field("config_hash", &self.inner.config.hash)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`].
#[derive(Default)]
pub struct ClientBuilder {
    config: Option<Config>,
    http: Option<reqwest::Client>,
    sdk: Option<SdkInfo>,
    usage_capacity: Option<usize>,
    stages: Vec<Arc<dyn Stage>>,
    services: Vec<ServiceFactory>,
    usage_callbacks: Vec<crate::usage::UsageCallback>,
    custom_guardrails: Vec<crate::guardrails::CustomGuardrail>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("sdk", &self.sdk)
            .field(
                "stages",
                &self.stages.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .field("services", &self.services.len())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Uses this validated config (default: [`Config::empty`], `provider/model` names only).
    pub fn config(mut self, config: Config) -> ClientBuilder {
        self.config = Some(config);
        self
    }

    /// Uses your own `reqwest` client (proxies, custom roots). Its pool is shared by every call
    /// (also by a `fork()`ed child, which cannot rebuild it: prefer the default there).
    pub fn http_client(mut self, http: reqwest::Client) -> ClientBuilder {
        self.http = Some(http);
        self
    }

    /// Names the SDK in usage events (bindings set `python`, `node`, `kotlin`).
    pub fn sdk(mut self, language: impl Into<String>, version: impl Into<String>) -> ClientBuilder {
        self.sdk = Some(SdkInfo {
            language: language.into(),
            version: version.into(),
        });
        self
    }

    /// How many usage events [`Client::usage`] keeps (default 10 000; 0 keeps none).
    pub fn usage_capacity(mut self, events: usize) -> ClientBuilder {
        self.usage_capacity = Some(events);
        self
    }

    /// Adds a stage to every call's path, at its [`crate::pipeline::Position`] (after the
    /// built-in stages of the same position).
    pub fn stage(mut self, stage: Arc<dyn Stage>) -> ClientBuilder {
        self.stages.push(stage);
        self
    }

    /// Adds a background service, made by `factory` once per process that uses the client;
    /// [`Client::flush`] flushes it and [`Client::close`] stops it.
    pub fn service(
        mut self,
        factory: impl Fn() -> Result<Arc<dyn crate::runtime::Service>> + Send + Sync + 'static,
    ) -> ClientBuilder {
        self.services.push(Arc::new(factory));
        self
    }

    /// Calls `callback` with every usage event, off the request path (on a blocking-pool
    /// thread, in batches); a panic in it is contained. This is how the bindings hand events to
    /// a Python callable, a JS function or a Kotlin lambda.
    pub fn on_usage(
        mut self,
        callback: impl Fn(&crate::usage::UsageEvent) + Send + Sync + 'static,
    ) -> ClientBuilder {
        self.usage_callbacks.push(Arc::new(callback));
        self
    }

    /// Adds a guardrail written in the host language: it runs after the configured rules of
    /// its stage, with its timeout and fail-open/closed setting. This is how the bindings
    /// register a Python callable, a JS function or a Kotlin `Guardrail`.
    pub fn guardrail(mut self, guardrail: crate::guardrails::CustomGuardrail) -> ClientBuilder {
        self.custom_guardrails.push(guardrail);
        self
    }

    /// Builds the client and every configured deployment's adapter.
    pub fn build(self) -> Result<Client> {
        let config = self.config.unwrap_or_else(Config::empty);
        let settings = PipelineSettings {
            http: self.http,
            sdk: Arc::new(self.sdk.unwrap_or_else(crate::usage::rust_sdk)),
            usage_capacity: self.usage_capacity.unwrap_or(crate::usage::DEFAULT_CAPACITY),
            stages: self.stages,
            services: self.services,
            usage_callbacks: self.usage_callbacks,
            custom_guardrails: self.custom_guardrails,
        };
        let generation = fork_generation();
        let pipeline = Arc::new(Pipeline::build(&config, &settings)?);
        Ok(Client {
            inner: Arc::new(ClientInner {
                config,
                settings,
                generation,
                pipeline,
                forked: Mutex::new(None),
            }),
        })
    }
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client for a validated config.
    pub fn new(config: Config) -> Result<Client> {
        Client::builder().config(config).build()
    }

    /// A client for a `modelplug.yaml` file (secrets from the environment).
    pub fn from_config_file(path: impl AsRef<Path>) -> Result<Client> {
        Client::new(Config::from_file(path)?)
    }

    /// Puts a new set of guardrail rules in force (the config's `guardrails:` are replaced;
    /// custom guardrails stay; central policy's rules stay first and are not replaced). Atomic: a call runs entirely on the set it started with. Fails
    /// with CONFIG, naming the rule, when a rule does not compile; the old set stays then.
    pub fn replace_guardrails(&self, rules: &[crate::guardrails::GuardrailSpec]) -> Result<()> {
        let compiled = crate::guardrails::RuleSet::compile(rules)
            .map_err(|(i, why)| Error::config(format!("guardrails[{i}] (`{}`): {why}", rules[i].name)))?;
        let pipeline = self.pipeline()?;
        if let Some(policy) = &pipeline.policy {
            return policy.replace_local(rules.to_vec());
        }
        let guardrails = pipeline
            .guardrails
            .as_ref()
            .ok_or_else(|| Error::internal("the client has no guardrail stage"))?;
        guardrails.replace(compiled);
        Ok(())
    }

    /// Central policy's state in this process: the version in force, updates applied and
    /// refused, whether the watch is connected (`None` without `collector.policy`).
    pub fn policy_status(&self) -> Option<crate::policy::PolicyStatus> {
        let pipeline = self.pipeline().ok()?;
        pipeline.policy.as_ref().map(|p| p.status())
    }

    /// The config this client runs on.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// This process's pipeline: the one built with the client, or in a `fork()`ed child one
    /// built there (closed if the parent's was).
    fn pipeline(&self) -> Result<Arc<Pipeline>> {
        let inner = &*self.inner;
        let generation = fork_generation();
        if generation == inner.generation {
            return Ok(inner.pipeline.clone());
        }
        let mut forked = inner.forked.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((built_in, p)) = forked.as_ref()
            && *built_in == generation
        {
            return Ok(p.clone());
        }
        let fresh = Arc::new(Pipeline::build(&inner.config, &inner.settings)?);
        if inner.pipeline.is_closed() {
            fresh.mark_closed();
        }
        *forked = Some((generation, fresh.clone()));
        Ok(fresh)
    }

    /// This process's pipeline if it has one already (never builds one).
    fn built_pipeline(&self) -> Option<Arc<Pipeline>> {
        let inner = &*self.inner;
        let generation = fork_generation();
        if generation == inner.generation {
            return Some(inner.pipeline.clone());
        }
        let forked = inner.forked.lock().unwrap_or_else(|e| e.into_inner());
        forked
            .as_ref()
            .filter(|(built_in, _)| *built_in == generation)
            .map(|(_, p)| p.clone())
    }

    /// One chat completion, with retries and fallbacks per the model's config.
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        match self.pipeline()?.call(CallRequest::Chat(request)).await? {
            Reply::Chat(r) => Ok(*r),
            Reply::Embed(_) => Err(Error::internal("a chat call was answered with embeddings")),
        }
    }

    /// A streamed chat completion. Nothing happens until the first [`ChatStream::next`];
    /// every error, including an invalid request, arrives from there.
    pub fn stream(&self, request: ChatRequest) -> ChatStream {
        match self.pipeline() {
            Ok(p) => ChatStream::new(p, request),
            // Only a forked child whose pipeline cannot be built gets here.
            Err(e) => ChatStream::broken(self.inner.pipeline.clone(), e),
        }
    }

    /// Embeddings for a batch of texts.
    pub async fn embed(&self, request: EmbedRequest) -> Result<EmbedResponse> {
        match self.pipeline()?.call(CallRequest::Embed(request)).await? {
            Reply::Embed(r) => Ok(*r),
            Reply::Chat(_) => Err(Error::internal("an embeddings call was answered with a chat")),
        }
    }

    /// This process's usage events for this client, oldest first (the last 10 000 by
    /// default). Still readable after [`Client::close`].
    pub fn usage(&self) -> Vec<Arc<UsageEvent>> {
        self.pipeline().map(|p| p.usage.snapshot()).unwrap_or_default()
    }

    /// The usage reporter's counters in this process (`None` without a `collector:`).
    pub fn reporter_stats(&self) -> Option<crate::usage::ReporterStats> {
        self.pipeline().ok()?.reporter.as_ref().map(|r| r.stats())
    }

    /// How many calls are in flight right now.
    pub fn calls_in_flight(&self) -> usize {
        self.pipeline().map_or(0, |p| p.inflight.count())
    }

    /// Asks every background service to push out what it holds (e.g. buffered usage events),
    /// waiting at most `within`.
    pub async fn flush(&self, within: Duration) -> Result<()> {
        match self.built_pipeline() {
            Some(p) => p.flush(within).await,
            None => Ok(()),
        }
    }

    /// Closes the client: new calls fail with CANCELLED at once (already when this is called,
    /// before the returned future is first polled); calls in flight get up to nine tenths of
    /// `within` to finish (one still running after that is not cut off: it ends on its own and
    /// is recorded then); then the background services flush and stop. Bounded by `within`.
    /// Idempotent; usage events stay readable.
    pub fn close_within(&self, within: Duration) -> impl Future<Output = Result<()>> + Send + 'static {
        // A `fork()`ed child that never used the client has nothing of it to close: mark it
        // closed (a later use builds a closed pipeline) without building one just to stop it.
        let pipeline = self.built_pipeline();
        match &pipeline {
            Some(p) => p.mark_closed(),
            None => self.inner.pipeline.mark_closed(),
        }
        async move {
            match pipeline {
                Some(p) => p.close(within).await,
                None => Ok(()),
            }
        }
    }

    /// [`Client::close_within`] with [`DEFAULT_CLOSE_TIMEOUT`].
    pub fn close(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        self.close_within(DEFAULT_CLOSE_TIMEOUT)
    }

    /// Closes from synchronous code (a binding's `close()`), blocking this thread at most
    /// `within` (plus the services' last flush). Called on an async runtime's thread, it
    /// cannot wait there: it closes the client to new calls and leaves the rest to a task.
    pub fn close_blocking(&self, within: Duration) -> Result<()> {
        let Some(pipeline) = self.built_pipeline() else {
            // A `fork()`ed child that never used the client: nothing to stop.
            self.inner.pipeline.mark_closed();
            return Ok(());
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            pipeline.mark_closed();
            let handle = crate::runtime::handle()?;
            handle.spawn(async move {
                let _ = pipeline.close(within).await;
            });
            return Ok(());
        }
        crate::runtime::block_on(async move { pipeline.close(within).await })?
    }

    /// Whether [`Client::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.pipeline().map_or(true, |p| p.is_closed())
    }
}
