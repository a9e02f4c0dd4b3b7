//! The usage reporter: ships every usage event to the collector, and never loses one.
//!
//! On the request path it is one pointer appended to a bounded queue ([`Reporter`] is a record
//! stage; the task is woken once per batch, not per event). A background task on the process runtime batches events (by count and by time),
//! gzips them and POSTs them to the collector's ingest API.
//!
//! Durability: a batch the collector did not take — unreachable, timing out, 429, 5xx — goes to
//! the disk [`spool`], and the reporter switches to *spooling*: every further event is written
//! to the spool on the request path itself (a buffered `write`, no `fsync`) before the call
//! returns, so a process killed while the collector is away loses nothing. The task replays the
//! spool with exponential backoff and jitter (no sooner than a `retry-after` says), and when it
//! is empty and the collector answers again, events go back to the channel. The reporter
//! starts out spooling and probes the collector at once (the spool of an earlier run is
//! replayed then), so nothing depends on the collector being up at start. With
//! `write_through`, it spools always (the channel is not used): no event is ever only in
//! memory. Without it, a process killed by `SIGKILL` while the collector is reachable loses at
//! most the events of one unsent batch (`flush_interval_ms`); every other way out — `close`,
//! `flush`, the bindings' exit hooks — sends or spools them.
//!
//! Each event's id (UUIDv7) is its idempotency key: the collector stores an id once, so a batch
//! sent twice (sent, then spooled because the answer was lost) never counts twice.
//!
//! When the queue is full, an event is spooled from the request path; when the spool is full,
//! it is dropped and counted, and the count travels with the next batch (`"dropped": N`).

mod send;
pub mod spool;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::time::Instant;

use self::send::{Endpoint, Item, Sent};
use self::spool::{AppendError, RecordKind, Spool, SpoolLimits};
use crate::error::{Error, Result};
use crate::pipeline::{Position, Stage};
use crate::redact::Secret;
use crate::runtime::Service;
use crate::usage::UsageEvent;
use crate::usage::control::{self, Control, Controller};
use crate::usage::queue::EventQueue;

/// How the reporter reaches the collector and what it may hold (the config's `collector:`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReporterSettings {
    /// The collector's base URL; events go to `{url}/v1/events`.
    pub url: String,
    /// The app's ingest key.
    pub key: Option<Secret>,
    /// The spool directory for this app (see [`default_spool_dir`]).
    pub spool_dir: PathBuf,
    /// The spool's bound in bytes.
    pub spool_max_bytes: u64,
    /// Spooled events older than this are dropped (and counted).
    pub spool_max_age: Duration,
    /// Events per POST, at most.
    pub batch_size: usize,
    /// How long an event may wait for its batch to fill.
    pub flush_interval: Duration,
    /// Events the in-memory queue holds before the request path spools them itself.
    pub queue_size: usize,
    /// The bound on one POST.
    pub timeout: Duration,
    /// Spool every event on the request path, even while the collector answers.
    pub write_through: bool,
}

impl ReporterSettings {
    /// Settings for the collector at `url` with every default; the spool under
    /// [`default_spool_dir`] for `app`.
    pub fn new(url: impl Into<String>, key: Option<Secret>, app: &str) -> ReporterSettings {
        ReporterSettings {
            url: url.into(),
            key,
            spool_dir: default_spool_dir(app),
            spool_max_bytes: 256 << 20,
            spool_max_age: Duration::from_secs(7 * 24 * 3600),
            batch_size: 500,
            flush_interval: Duration::from_millis(500),
            queue_size: 10_000,
            timeout: Duration::from_secs(10),
            write_through: false,
        }
    }
}

/// The spool directory of `app` when the config names none: `$MODELPLUG_SPOOL_DIR/<app>`, else
/// `$XDG_STATE_HOME/modelplug/spool/<app>`, else `~/.local/state/modelplug/spool/<app>`, else
/// under the temporary directory. Processes of one app on one host share it.
pub fn default_spool_dir(app: &str) -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let root = env("MODELPLUG_SPOOL_DIR")
        .or_else(|| env("XDG_STATE_HOME").map(|d| d.join("modelplug/spool")))
        .or_else(|| env("HOME").map(|h| h.join(".local/state/modelplug/spool")))
        .unwrap_or_else(|| std::env::temp_dir().join("modelplug-spool"));
    let safe: String = app
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    root.join(if safe.is_empty() || safe.starts_with('.') {
        format!("app{safe}")
    } else {
        safe
    })
}

/// Counters, for tests and `Client::reporter_stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReporterStats {
    /// Events the collector acknowledged.
    pub delivered: u64,
    /// Events written to the spool.
    pub spooled: u64,
    /// Events dropped (spool full or expired) since start.
    pub dropped: u64,
    /// Damaged spool records skipped.
    pub torn: u64,
    /// True while events go to the spool rather than the queue.
    pub spooling: bool,
}

/// The reporter: a record stage and a background service.
pub struct Reporter {
    shared: Arc<Shared>,
    queue: Arc<EventQueue>,
    control: Controller,
}

struct Shared {
    spool: Spool,
    /// True while events are spooled on the request path.
    spooling: AtomicBool,
    write_through: bool,
    /// Dropped events not yet reported to the collector.
    unreported_drops: AtomicU64,
    delivered: AtomicU64,
    spooled: AtomicU64,
    dropped: AtomicU64,
    torn: AtomicU64,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("spool", &self.shared.spool.dir())
            .finish()
    }
}

impl Reporter {
    /// Opens the spool and starts the reporter's task on the process runtime.
    pub fn start(
        settings: &ReporterSettings,
        http: reqwest::Client,
        user_agent: String,
    ) -> Result<Arc<Reporter>> {
        let limits = SpoolLimits {
            max_bytes: settings.spool_max_bytes,
            max_age: settings.spool_max_age,
        };
        let spool = Spool::open(&settings.spool_dir, limits).map_err(|e| {
            Error::config(format!(
                "collector.spool_dir: cannot open the spool directory {}: {e}",
                settings.spool_dir.display()
            ))
        })?;
        let shared = Arc::new(Shared {
            spool,
            spooling: AtomicBool::new(true),
            write_through: settings.write_through,
            unreported_drops: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            spooled: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            torn: AtomicU64::new(0),
        });
        let batch_size = settings.batch_size.max(1);
        let queue = Arc::new(EventQueue::new(settings.queue_size, batch_size));
        let (control, commands) = control::channel();
        let endpoint = Endpoint {
            url: format!("{}/v1/events", settings.url.trim_end_matches('/')),
            key: settings.key.clone(),
            timeout: settings.timeout,
            user_agent,
        };
        let task = Task {
            shared: shared.clone(),
            http,
            endpoint,
            queue: queue.clone(),
            batch_size,
            flush_interval: settings.flush_interval,
            batch_due: None,
            replay_due: Some(Instant::now()),
            backoff: Backoff::default(),
        };
        crate::runtime::handle()?.spawn(task.run(commands));
        Ok(Arc::new(Reporter {
            shared,
            queue,
            control,
        }))
    }

    /// The reporter's counters.
    pub fn stats(&self) -> ReporterStats {
        let s = &self.shared;
        ReporterStats {
            delivered: s.delivered.load(Ordering::Relaxed),
            spooled: s.spooled.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            torn: s.torn.load(Ordering::Relaxed),
            spooling: s.spooling.load(Ordering::Relaxed),
        }
    }

    /// Hands an event to the reporter (the request path's only cost: a pointer into a queue,
    /// or — while spooling, or when the queue is full or stopped — one buffered write).
    pub fn enqueue(&self, event: &Arc<UsageEvent>) {
        if self.shared.spooling.load(Ordering::Relaxed) || self.queue.push(event).is_err() {
            self.shared.spool_events([event.as_ref()]);
        }
    }
}

impl Shared {
    /// Writes events to the spool; when it is full they are dropped and counted.
    fn spool_events<'a>(&self, events: impl IntoIterator<Item = &'a UsageEvent>) {
        let encoded: Vec<Vec<u8>> = events
            .into_iter()
            .filter_map(|e| serde_json::to_vec(e).ok())
            .collect();
        self.spool_raw(&encoded);
    }

    fn spool_raw(&self, encoded: &[Vec<u8>]) {
        let n = encoded.len() as u64;
        if n == 0 {
            return;
        }
        match self
            .spool
            .append(encoded.iter().map(|e| (RecordKind::Event, e.as_slice())))
        {
            Ok(()) => {
                self.spooled.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                if let AppendError::Io(io) = &e {
                    tracing::warn!(target: "modelplug::reporter", "cannot write the usage spool: {io}");
                }
                self.drop_events(n);
            }
        }
    }

    fn drop_events(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
        self.unreported_drops.fetch_add(n, Ordering::Relaxed);
    }
}

impl Stage for Reporter {
    fn name(&self) -> &'static str {
        "reporter"
    }

    fn position(&self) -> Position {
        Position::Record
    }

    fn recorded(&self, event: &Arc<UsageEvent>) {
        self.enqueue(event);
    }
}

impl Service for Reporter {
    fn name(&self) -> &str {
        "the usage reporter"
    }

    fn flush(&self) -> BoxFuture<'_, Result<()>> {
        async move {
            self.control.flush().await;
            Ok(())
        }
        .boxed()
    }

    fn shutdown(&self) -> BoxFuture<'_, Result<()>> {
        async move {
            self.control.stop().await;
            Ok(())
        }
        .boxed()
    }
}

/// Exponential backoff with full jitter, from 250 ms up to 60 s.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(250);
    const MOST: Duration = Duration::from_secs(60);

    fn next(&mut self, at_least: Option<Duration>) -> Duration {
        let cap = Self::FIRST
            .saturating_mul(1u32 << self.failures.min(16))
            .min(Self::MOST);
        self.failures = self.failures.saturating_add(1);
        // Half fixed, half random: spreads many processes' retries without ever retrying at once.
        let wait = cap / 2 + cap.mul_f64(fastrand::f64() / 2.0);
        wait.max(at_least.unwrap_or_default().min(Self::MOST * 5))
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// The background task.
struct Task {
    shared: Arc<Shared>,
    http: reqwest::Client,
    endpoint: Endpoint,
    queue: Arc<EventQueue>,
    batch_size: usize,
    flush_interval: Duration,
    batch_due: Option<Instant>,
    replay_due: Option<Instant>,
    backoff: Backoff,
}

/// How often a reporter whose collector answers looks for segments other processes left.
const ORPHAN_SCAN: Duration = Duration::from_secs(30);

impl Task {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Control>) {
        loop {
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(Control::Flush(done)) => {
                        self.ship().await;
                        if self.shared.spooling.load(Ordering::Relaxed) || self.shared.spool.dirty() {
                            self.replay().await;
                        }
                        let _ = done.send(());
                    }
                    Some(Control::Stop(done)) => {
                        self.stop().await;
                        let _ = done.send(());
                        return;
                    }
                    None => {
                        self.stop().await;
                        return;
                    }
                },
                () = self.queue.woken() => {
                    if self.queue.has_full_batch() {
                        self.ship().await;
                    } else if self.batch_due.is_none() {
                        self.batch_due = Some(Instant::now() + self.flush_interval);
                    }
                }
                () = sleep_until(self.batch_due) => self.ship().await,
                () = sleep_until(self.replay_due) => self.replay().await,
            }
        }
    }

    /// Sends what the queue holds (or spools it, while spooling).
    async fn ship(&mut self) {
        self.batch_due = None;
        let waiting = self.queue.take();
        for part in waiting.chunks(self.batch_size) {
            if self.shared.spooling.load(Ordering::Relaxed) {
                self.shared.spool_events(part.iter().map(|e| e.as_ref()));
                continue;
            }
            let items: Vec<Item<'_>> = part.iter().map(|e| Item::Event(e)).collect();
            if let Err(after) = self.send(&items).await {
                // Keep them on disk, spool everything that follows, and retry from there.
                self.shared.spooling.store(true, Ordering::Relaxed);
                self.shared.spool_events(part.iter().map(|e| e.as_ref()));
                self.replay_due = Some(Instant::now() + self.backoff.next(after));
            }
        }
    }

    /// Sends items, halving on "too large". `Err` carries the collector's `retry-after`.
    async fn send(&mut self, items: &[Item<'_>]) -> std::result::Result<(), Option<Duration>> {
        let dropped = self.shared.unreported_drops.swap(0, Ordering::Relaxed);
        let outcome = match send::encode(items, dropped) {
            Ok(body) => send::post(&self.http, &self.endpoint, body).await,
            Err(e) => Sent::Rejected {
                why: format!("cannot encode the batch: {e}"),
            },
        };
        let count = items.len() as u64;
        match outcome {
            Sent::Delivered => {
                self.shared.delivered.fetch_add(count, Ordering::Relaxed);
                Ok(())
            }
            Sent::Retry { after, why } => {
                self.shared.unreported_drops.fetch_add(dropped, Ordering::Relaxed);
                // Said once per outage (the first failure after a success), then quietly.
                if self.backoff.failures == 0 {
                    tracing::warn!(
                        target: "modelplug::reporter",
                        "usage events not delivered ({why}); spooling them to {} and retrying",
                        self.shared.spool.dir().display()
                    );
                } else {
                    tracing::debug!(target: "modelplug::reporter", "usage batch not delivered, will retry: {why}");
                }
                Err(after)
            }
            Sent::TooLarge if items.len() > 1 => {
                self.shared.unreported_drops.fetch_add(dropped, Ordering::Relaxed);
                let (first, second) = items.split_at(items.len() / 2);
                Box::pin(self.send(first)).await?;
                Box::pin(self.send(second)).await
            }
            Sent::TooLarge | Sent::Rejected { .. } => {
                // Sending it again cannot help: count the events as dropped, and say so.
                self.shared.unreported_drops.fetch_add(dropped, Ordering::Relaxed);
                self.shared.drop_events(count);
                tracing::warn!(
                    target: "modelplug::reporter",
                    "the collector refused {count} usage events for good; counted as dropped"
                );
                Ok(())
            }
        }
    }

    /// Replays the spool: every segment no live process holds, oldest first. When it is empty
    /// and the collector took everything (or answered the probe), leaves spooling.
    async fn replay(&mut self) {
        self.replay_due = None;
        self.shared.spool.seal();
        let mut sent_any = false;
        for path in self.shared.spool.segments() {
            let Some(mut segment) = self.shared.spool.claim(&path) else {
                continue;
            };
            let contents = match segment.read() {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(target: "modelplug::reporter", "cannot read a spool segment: {e}");
                    continue;
                }
            };
            if segment.expired() {
                self.shared.drop_events(contents.events.len() as u64);
            } else {
                for chunk in contents.events.chunks(self.batch_size) {
                    let items: Vec<Item<'_>> = chunk.iter().map(|raw| Item::Raw(raw)).collect();
                    if let Err(after) = self.send(&items).await {
                        // The segment stays whole: what of it was delivered is sent again
                        // later, and the collector stores each id once.
                        self.replay_due = Some(Instant::now() + self.backoff.next(after));
                        return;
                    }
                    sent_any = true;
                }
            }
            // Counted once the segment is gone (reported with the next batch).
            self.shared.torn.fetch_add(contents.torn, Ordering::Relaxed);
            self.shared
                .unreported_drops
                .fetch_add(contents.dropped, Ordering::Relaxed);
            if let Err(e) = segment.remove(&self.shared.spool) {
                tracing::warn!(target: "modelplug::reporter", "cannot remove a replayed spool segment: {e}");
            }
        }
        let unreported = self.shared.unreported_drops.load(Ordering::Relaxed) > 0;
        if unreported || (!sent_any && self.shared.spooling.load(Ordering::Relaxed)) {
            // Probe with an empty batch (which also reports drops).
            if let Err(after) = self.send(&[]).await {
                self.replay_due = Some(Instant::now() + self.backoff.next(after));
                return;
            }
        }
        self.backoff.reset();
        if self.shared.write_through {
            self.replay_due = Some(Instant::now() + self.flush_interval);
            return;
        }
        self.shared.spooling.store(false, Ordering::Relaxed);
        // Events spooled by the request path while we were replaying: pick them up soon.
        self.replay_due = Some(
            Instant::now()
                + if self.shared.spool.dirty() {
                    self.flush_interval
                } else {
                    ORPHAN_SCAN
                },
        );
    }

    /// The last flush: everything in hand is sent — or, if the collector does not take it,
    /// spooled — and the spool's open segment sealed for the next run.
    async fn stop(&mut self) {
        self.queue.close();
        self.ship().await;
        if self.shared.spooling.load(Ordering::Relaxed) || self.shared.spool.dirty() {
            self.replay().await;
        }
        let drops = self.shared.unreported_drops.swap(0, Ordering::Relaxed);
        if drops > 0
            && let Err(e) = self.shared.spool.append_dropped(drops)
        {
            tracing::warn!(target: "modelplug::reporter", "cannot spool the dropped-events count: {e}");
        }
        self.shared.spool.seal();
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_never_undercuts_retry_after() {
        let mut b = Backoff::default();
        let first = b.next(None);
        assert!(first >= Backoff::FIRST / 2 && first <= Backoff::FIRST);
        let second = b.next(None);
        assert!(
            second >= Backoff::FIRST && second <= Backoff::FIRST * 2,
            "{second:?}"
        );
        for _ in 0..10 {
            b.next(None);
        }
        let capped = b.next(None);
        assert!(
            capped >= Backoff::MOST / 2 && capped <= Backoff::MOST,
            "{capped:?}"
        );
        // A collector's retry-after wins over a shorter backoff.
        b.reset();
        assert!(b.next(Some(Duration::from_secs(7))) >= Duration::from_secs(7));
    }
}
