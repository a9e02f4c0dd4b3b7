//! [`Client`]: the one façade every binding wraps — `chat`, `stream`, `embed`, `close`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::providers::CallOptions;
use crate::routing::{Deployment, Router, Run};
use crate::stream::ChatStream;
use crate::types::Attempt;
use crate::types::{ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, Metadata, Usage};
use crate::usage::{CallFacts, ClientFacts, Operation, SdkInfo, UsageEvent, UsageLog};

/// A modelplug client: holds the validated config, one HTTP connection pool and the routing
/// state. Cheap to clone (all clones share everything); safe to use from many tasks at once.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) config: Config,
    pub(crate) router: Router,
    closed: AtomicBool,
    /// The fields every usage event of this client shares.
    facts: ClientFacts,
    usage: UsageLog,
}

impl ClientInner {
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::cancelled("the client is closed"));
        }
        Ok(())
    }

    /// Records one call's usage event.
    pub(crate) fn record(
        &self,
        call: &CallFacts<'_>,
        outcome: std::result::Result<(&str, &Usage, Option<f64>), &Error>,
    ) {
        self.usage.push(UsageEvent::build(&self.facts, call, outcome));
    }
}

/// When a call started, for its usage event.
#[derive(Clone, Copy)]
pub(crate) struct CallClock {
    pub(crate) wall: SystemTime,
    pub(crate) instant: Instant,
}

impl CallClock {
    pub(crate) fn start() -> CallClock {
        CallClock {
            wall: SystemTime::now(),
            instant: Instant::now(),
        }
    }
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
#[derive(Debug, Default)]
pub struct ClientBuilder {
    config: Option<Config>,
    http: Option<reqwest::Client>,
    sdk: Option<SdkInfo>,
    usage_capacity: Option<usize>,
}

impl ClientBuilder {
    /// Uses this validated config (default: [`Config::empty`], `provider/model` names only).
    pub fn config(mut self, config: Config) -> ClientBuilder {
        self.config = Some(config);
        self
    }

    /// Uses your own `reqwest` client (proxies, custom roots). Its pool is shared by every call.
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

    /// Builds the client and every configured deployment's adapter.
    pub fn build(self) -> Result<Client> {
        let config = self.config.unwrap_or_else(Config::empty);
        let http = match self.http {
            Some(h) => h,
            None => crate::http::build_client()?,
        };
        let router = Router::new(&config, http)?;
        let facts = ClientFacts {
            app: config.app.as_str().into(),
            team: config.team.as_deref().map(Into::into),
            env: config.env.as_deref().map(Into::into),
            config_hash: config.hash.as_str().into(),
            price_table_version: config.prices.version().map(Into::into),
            sdk: Arc::new(self.sdk.unwrap_or_default()),
        };
        Ok(Client {
            inner: Arc::new(ClientInner {
                config,
                router,
                closed: AtomicBool::new(false),
                facts,
                usage: UsageLog::new(self.usage_capacity.unwrap_or(crate::usage::DEFAULT_CAPACITY)),
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

    /// The config this client runs on.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// One chat completion, with retries and fallbacks per the model's config.
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        self.inner.check_open()?;
        let req = &request;
        let call = |d: Arc<Deployment>, opts| async move { d.provider.chat(req, opts).await };
        let op = Call {
            name: Operation::Chat,
            model: &request.model,
            metadata: &request.metadata,
        };
        let checked = validate_chat(&request);
        self.routed(op, checked, request.timeout_ms, request.include_raw, call)
            .await
    }

    /// A streamed chat completion. Nothing happens until the first [`ChatStream::next`];
    /// every error, including an invalid request, arrives from there.
    pub fn stream(&self, request: ChatRequest) -> ChatStream {
        ChatStream::new(self.inner.clone(), request)
    }

    /// Embeddings for a batch of texts.
    pub async fn embed(&self, request: EmbedRequest) -> Result<EmbedResponse> {
        self.inner.check_open()?;
        let req = &request;
        let call = |d: Arc<Deployment>, opts| async move { d.provider.embed(req, opts).await };
        let op = Call {
            name: Operation::Embeddings,
            model: &request.model,
            metadata: &request.metadata,
        };
        let checked = if request.model.is_empty() {
            Err(Error::invalid_request("`model` is required"))
        } else if request.input.is_empty() {
            Err(Error::invalid_request("`input` needs at least one text"))
        } else {
            Ok(())
        };
        self.routed(op, checked, request.timeout_ms, false, call).await
    }

    /// This process's usage events for this client, oldest first (the last 10 000 by default).
    pub fn usage(&self) -> Vec<UsageEvent> {
        self.inner.usage.snapshot()
    }

    /// Runs `call` over the model's plan until a deployment succeeds or the plan gives up, and
    /// records the call's usage event either way.
    async fn routed<T, F, Fut>(
        &self,
        op: Call<'_>,
        checked: Result<()>,
        timeout_ms: Option<u64>,
        include_raw: bool,
        mut call: F,
    ) -> Result<T>
    where
        T: Routed,
        F: FnMut(Arc<Deployment>, CallOptions) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let clock = CallClock::start();
        let mut waited = Duration::ZERO;
        let result = async {
            checked?;
            let plan = self.inner.router.plan(op.model)?;
            let mut run = Run::new(plan, timeout_ms.map(Duration::from_millis), include_raw);
            let outcome = loop {
                let (deployment, opts) = match run.next_try() {
                    Ok(next) => next,
                    Err(e) => break Err(e),
                };
                let try_started = Instant::now();
                match call(deployment.clone(), opts).await {
                    Ok(mut response) => {
                        run.succeeded(&deployment, try_started, Some(200));
                        response.stamp(&deployment, run.started().elapsed(), run.take_attempts());
                        break Ok(response);
                    }
                    Err(e) => {
                        if let Err(e) = run.failed(&deployment, try_started, e).await {
                            break Err(e);
                        }
                    }
                }
            };
            waited = run.waited();
            outcome
        }
        .await;
        let facts = CallFacts {
            operation: op.name,
            model_requested: op.model,
            metadata: op.metadata,
            stream: false,
            started: clock.wall,
            elapsed: clock.instant.elapsed(),
            waited,
            ttft: None,
            attempts: match &result {
                Ok(r) => r.attempts(),
                Err(e) => e.attempts(),
            },
        };
        self.inner.record(&facts, result.as_ref().map(Routed::summary));
        result
    }

    /// Closes the client: later calls fail with `CANCELLED`. Idempotent.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
    }

    /// Whether [`Client::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }
}

/// Checks what every provider would reject, before any network call.
pub(crate) fn validate_chat(r: &ChatRequest) -> Result<()> {
    if r.model.is_empty() {
        return Err(Error::invalid_request("`model` is required"));
    }
    if r.messages.is_empty() {
        return Err(Error::invalid_request("`messages` needs at least one message"));
    }
    if let Some(t) = r.temperature {
        if !(0.0..=2.0).contains(&t) {
            return Err(Error::invalid_request(format!(
                "`temperature` must be between 0 and 2, got {t}"
            )));
        }
    }
    if let Some(p) = r.top_p {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid_request(format!(
                "`top_p` must be between 0 and 1, got {p}"
            )));
        }
    }
    if r.max_tokens == Some(0) {
        return Err(Error::invalid_request("`max_tokens` must be at least 1"));
    }
    Ok(())
}

/// What is being called, for the usage event.
struct Call<'a> {
    name: Operation,
    model: &'a str,
    metadata: &'a Metadata,
}

/// A result the router stamps with where and how it was obtained.
pub(crate) trait Routed {
    /// Sets provider, deployment, model (when the provider did not say), latency, attempts and
    /// cost (from the deployment's price).
    fn stamp(&mut self, d: &Deployment, elapsed: Duration, attempts: Vec<Attempt>);
    /// The tries that led to it.
    fn attempts(&self) -> &[Attempt];
    /// Served model, usage and cost, for the usage event.
    fn summary(&self) -> (&str, &Usage, Option<f64>);
}

macro_rules! impl_routed {
    ($($t:ty),*) => {$(
        impl Routed for $t {
            fn stamp(&mut self, d: &Deployment, elapsed: Duration, attempts: Vec<Attempt>) {
                self.provider = d.config.provider.name().to_owned();
                self.deployment.clone_from(&d.config.name);
                if self.model.is_empty() {
                    self.model.clone_from(&d.config.model);
                }
                self.latency_ms = elapsed.as_secs_f64() * 1000.0;
                self.attempts = attempts;
                self.cost_usd = d.price.map(|p| p.cost(&self.usage));
            }

            fn attempts(&self) -> &[Attempt] {
                &self.attempts
            }

            fn summary(&self) -> (&str, &Usage, Option<f64>) {
                (&self.model, &self.usage, self.cost_usd)
            }
        }
    )*};
}

impl_routed!(ChatResponse, EmbedResponse);
