//! Watching the collector for policy and budget updates: one long-lived
//! `GET {collector}/v1/policy/watch` (server-sent events). The collector sends the current
//! policy and budgets as soon as the stream opens and every change after, so a reconnect —
//! after a network cut or a collector restart — catches up on whatever was missed. Between
//! connections the watcher waits with exponential backoff and jitter (0.1 s doubling to 5 s).
//!
//! At start the last verified policy on disk is applied first (see [`super::cache`]), so an
//! app started while the collector is down runs under the policy it last saw.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use modelplug_schema::policy::{SignedEnvelope, event_names};

use super::cache::{self, Cached};
use super::state::{Outcome, PolicyState};
use crate::error::Result;
use crate::providers::framing::SseDecoder;
use crate::runtime::Service;
use crate::usage::Reporter;

/// No byte for this long (the collector pings every 15 s): the connection is dead.
const IDLE: Duration = Duration::from_secs(45);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long before a price catalog that could not be fetched is tried again.
const CATALOG_RETRY: Duration = Duration::from_secs(30);

/// The watcher: a background service.
pub(crate) struct PolicyWatch {
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    writes: Arc<Writes>,
}

/// What the watch loop needs.
struct Watcher {
    state: Arc<PolicyState>,
    http: reqwest::Client,
    url: String,
    user_agent: String,
    reporter: Option<Arc<Reporter>>,
    cached: Cached,
    /// A catalog version whose fetch failed, and when (tried again after a while).
    failed_catalog: Option<(String, Instant)>,
    /// Cache-file writes in order.
    writes: Arc<Writes>,
}

/// Orders the cache-file writes: the newest wins.
#[derive(Default)]
struct Writes {
    lock: Mutex<()>,
    latest: AtomicU64,
    /// The newest generation written (or skipped as overtaken).
    done: AtomicU64,
}

impl Writes {
    /// Waits (up to `within`) until every write asked for is done.
    async fn settle(&self, within: Duration) {
        let until = Instant::now() + within;
        while self.done.load(Ordering::Acquire) < self.latest.load(Ordering::Acquire)
            && Instant::now() < until
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

impl PolicyWatch {
    /// Applies the cached policy, then starts watching on the process runtime.
    pub(crate) fn start(
        state: Arc<PolicyState>,
        http: reqwest::Client,
        user_agent: String,
        reporter: Option<Arc<Reporter>>,
    ) -> Result<Arc<PolicyWatch>> {
        let cached = cache::read(&state.settings.cache_file);
        let delivering = false;
        if let Some(p) = &cached.policy
            && let Err(e) = state.apply_policy(p)
        {
            tracing::warn!(target: "modelplug::policy", "the cached policy is refused: {}", e.message());
        }
        if let Some(b) = &cached.budgets
            && let Err(e) = state.apply_budgets(b, delivering)
        {
            tracing::warn!(target: "modelplug::policy", "the cached budgets are refused: {}", e.message());
        }
        if let Some(p) = &cached.prices
            && state.missing_catalog().is_some()
            && let Err(e) = state.apply_prices(p)
        {
            tracing::warn!(target: "modelplug::policy", "the cached price catalog is refused: {}", e.message());
        }
        let url = format!("{}/v1/policy/watch", state.settings.url.trim_end_matches('/'));
        let writes: Arc<Writes> = Arc::default();
        let watcher = Watcher {
            state,
            http,
            url,
            user_agent,
            reporter,
            cached,
            failed_catalog: None,
            writes: writes.clone(),
        };
        let task = crate::runtime::handle()?.spawn(watcher.run());
        Ok(Arc::new(PolicyWatch {
            task: Mutex::new(Some(task)),
            writes,
        }))
    }
}

impl Service for PolicyWatch {
    fn name(&self) -> &str {
        "policy watch"
    }

    fn flush(&self) -> BoxFuture<'_, Result<()>> {
        async { Ok(()) }.boxed()
    }

    /// Stops watching; the last update applied is on disk when it resolves (2 s at most).
    fn shutdown(&self) -> BoxFuture<'_, Result<()>> {
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
        async {
            self.writes.settle(Duration::from_secs(2)).await;
            Ok(())
        }
        .boxed()
    }
}

impl Drop for PolicyWatch {
    fn drop(&mut self) {
        if let Some(task) = self.task.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }
}

impl Watcher {
    async fn run(mut self) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let opened = Instant::now();
            if let Err(why) = self.watch_once().await {
                tracing::debug!(target: "modelplug::policy", "policy watch: {why}");
            }
            self.state
                .connected
                .store(false, std::sync::atomic::Ordering::Relaxed);
            // However the first try went, calls waiting for it go on now.
            self.state.mark_ready();
            if opened.elapsed() > Duration::from_secs(10) {
                backoff = FIRST_BACKOFF;
            }
            tokio::time::sleep(backoff + jitter(backoff / 2)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One connection, until it ends.
    async fn watch_once(&mut self) -> std::result::Result<(), String> {
        let mut req = self
            .http
            .get(&self.url)
            .header("accept", "text/event-stream")
            .header("user-agent", &self.user_agent);
        if let Some(key) = &self.state.settings.key {
            req = req.bearer_auth(key.expose());
        }
        let mut response = match tokio::time::timeout(Duration::from_secs(10), req.send()).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                return Err(crate::http::transport_error(e, "collector").message().to_owned());
            }
            Err(_) => return Err("no answer within 10 s".into()),
        };
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the collector answered HTTP {}", status.as_u16()));
        }
        self.state
            .connected
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let mut decoder = SseDecoder::new();
        loop {
            let chunk = match tokio::time::timeout(IDLE, response.chunk()).await {
                Ok(Ok(Some(c))) => c,
                Ok(Ok(None)) => return Err("the collector ended the stream".into()),
                Ok(Err(e)) => return Err(crate::http::transport_error(e, "collector").message().to_owned()),
                Err(_) => return Err(format!("nothing from the collector for {} s", IDLE.as_secs())),
            };
            let mut frames: Vec<(String, String)> = Vec::new();
            decoder
                .feed(&chunk, |f| {
                    frames.push((f.event.to_owned(), f.data.to_owned()));
                    Ok(())
                })
                .map_err(|e| e.message().to_owned())?;
            let any = !frames.is_empty();
            for (event, data) in frames {
                self.on_event(&event, &data);
            }
            // The collector sends the policy and the budgets together first: calls waiting
            // for the first answer go on once both are in.
            if let Some(version) = self.state.missing_catalog() {
                self.fetch_prices(version).await;
            }
            if any {
                self.state.mark_ready();
            }
        }
    }

    /// Writes what is applied to the cache file on the blocking pool (a client applies an
    /// update without waiting for the disk); a write overtaken by a newer one is skipped.
    fn keep(&self) {
        let generation = self.writes.latest.fetch_add(1, Ordering::AcqRel) + 1;
        let (writes, path, cached) = (
            self.writes.clone(),
            self.state.settings.cache_file.clone(),
            self.cached.clone(),
        );
        let write = move || {
            let _one_at_a_time = writes.lock.lock().unwrap_or_else(|e| e.into_inner());
            if writes.latest.load(Ordering::Acquire) == generation
                && let Err(e) = cache::write(&path, &cached)
            {
                tracing::warn!(target: "modelplug::policy", "cannot keep the policy on disk: {e}");
            }
            writes.done.fetch_max(generation, Ordering::AcqRel);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => drop(h.spawn_blocking(write)),
            Err(_) => write(),
        }
    }

    /// Fetches the price catalog the policy names (`GET /v1/prices`), applies and keeps it.
    async fn fetch_prices(&mut self, version: String) {
        if let Some((v, at)) = &self.failed_catalog
            && *v == version
            && at.elapsed() < CATALOG_RETRY
        {
            return;
        }
        let url = format!("{}/v1/prices", self.state.settings.url.trim_end_matches('/'));
        let mut req = self
            .http
            .get(url)
            .header("user-agent", &self.user_agent)
            .timeout(Duration::from_secs(30));
        if let Some(key) = &self.state.settings.key {
            req = req.bearer_auth(key.expose());
        }
        let fetched = async {
            let r = req
                .send()
                .await
                .map_err(|e| crate::http::transport_error(e, "collector").message().to_owned())?;
            if !r.status().is_success() {
                return Err(format!("the collector answered HTTP {}", r.status().as_u16()));
            }
            let body = r
                .bytes()
                .await
                .map_err(|e| crate::http::transport_error(e, "collector").message().to_owned())?;
            serde_json::from_slice::<SignedEnvelope>(&body)
                .map_err(|e| format!("an unreadable price catalog: {e}"))
        }
        .await;
        let applied = fetched.and_then(|envelope| {
            self.state
                .apply_prices(&envelope)
                .map_err(|e| e.message().to_owned())?;
            Ok(envelope)
        });
        match applied {
            Ok(envelope) => {
                self.failed_catalog = None;
                self.cached.prices = Some(envelope);
                self.keep();
            }
            Err(why) => {
                tracing::warn!(target: "modelplug::policy", version, "the collector's price catalog could not be applied: {why}");
                self.failed_catalog = Some((version, Instant::now()));
            }
        }
    }

    fn on_event(&mut self, event: &str, data: &str) {
        let envelope: SignedEnvelope = match serde_json::from_str(data) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(target: "modelplug::policy", event, "an unreadable policy event is ignored: {e}");
                return;
            }
        };
        let changed = match event {
            event_names::POLICY => match self.state.apply_policy(&envelope) {
                Ok(Outcome::Applied) => {
                    self.cached.policy = Some(envelope);
                    true
                }
                Ok(Outcome::Unchanged) => false,
                Err(e) => {
                    tracing::warn!(target: "modelplug::policy", "a policy update is refused: {}", e.message());
                    false
                }
            },
            event_names::BUDGETS => {
                let delivering = self.reporter.as_ref().is_none_or(|r| !r.stats().spooling);
                match self.state.apply_budgets(&envelope, delivering) {
                    Ok(()) => {
                        self.cached.budgets = Some(envelope);
                        true
                    }
                    Err(e) => {
                        tracing::warn!(target: "modelplug::policy", "a budget update is refused: {}", e.message());
                        false
                    }
                }
            }
            _ => false,
        };
        if changed {
            self.keep();
        }
    }
}

/// Up to `max` of jitter, from the clock's low bits (no random source needed for this).
fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let max_ms = max.as_millis().max(1) as u32;
    Duration::from_millis(u64::from(nanos % max_ms))
}
