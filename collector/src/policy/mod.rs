//! Central policy: the organisation's versioned policy document (validated by the same core
//! code every client applies it with, so an accepted policy is never half-applied), its audit
//! trail and rollback ([`routes`]), each app's effective policy signed with the collector's
//! Ed25519 key ([`signing`]), budgets and leases computed from the stored events
//! ([`budgets`]), and the push channel to every running client ([`watch`]).
//!
//! [`PolicyHub`] is one replica's view: the current version (changed by a local PUT at once,
//! and by another replica's within [`POLL_INTERVAL`]), signed envelopes cached per
//! (app, team, version) so a thousand watchers cost one signature, the live watchers, and the
//! budget state, re-read after ingests (debounced) and every [`BUDGET_REFRESH`].
//!
//! Leases are divided among the watchers of every live replica: each replica (an id made at
//! start) writes its watcher counts to the database when they change (at most every
//! [`WATCHERS_DEBOUNCE`]) and every [`WATCHERS_HEARTBEAT`], deletes them when it stops, and
//! counts the rows of replicas seen within [`WATCHERS_STALE`] (its own: the higher of its
//! in-memory count and its stored one, so a watcher that just joined counts at once).

pub mod budgets;
pub mod diff;
pub mod prices;
pub mod routes;
pub mod signing;
pub mod watch;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use modelplug_core::policy::{PolicyDocument, Signer};
use modelplug_schema::policy::{BudgetPayload, PolicyPayload};
use tokio::sync::{Notify, watch as channel};

use crate::metrics::PolicyMetrics;
use crate::store::{PolicyRecord, Store, WatcherRow, WatcherWrite};
use budgets::{Spends, WatcherCounts};

/// How often a replica looks for a version another replica stored.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long budget re-reads wait after an ingest, so bursts of batches make one read.
pub const BUDGET_DEBOUNCE: Duration = Duration::from_millis(100);
/// How often budgets are re-read anyway (other replicas' ingests, a new period).
pub const BUDGET_REFRESH: Duration = Duration::from_secs(3);
/// How long a replica waits after its watchers change before storing the counts (so a burst
/// of connects is one write; at most 4 writes a second).
pub const WATCHERS_DEBOUNCE: Duration = Duration::from_millis(250);
/// How often a replica with watchers marks its counts as still live.
pub const WATCHERS_HEARTBEAT: Duration = Duration::from_secs(2);
/// A replica's counts not marked live for this long stop counting (it died without a
/// graceful stop).
pub const WATCHERS_STALE: Duration = Duration::from_secs(6);
/// Rows of a replica not seen for this long are deleted by any replica.
const WATCHERS_FORGET: Duration = Duration::from_secs(60);
/// With other live replicas, how long after its count is stored a newcomer's share is still
/// withheld: time for every other replica to see the new count (its next poll, within
/// [`POLL_INTERVAL`]), re-read its budgets ([`BUDGET_DEBOUNCE`] and the read) and tell its
/// watchers their smaller share.
pub const SHARE_SETTLE: Duration = Duration::from_millis(750);

/// The policy in force on this replica.
#[derive(Debug)]
pub struct Current {
    /// Its version (0: none stored yet).
    pub version: u64,
    /// The stored record (document text, author, diff), `None` for version 0.
    pub record: Option<PolicyRecord>,
    /// The validated document.
    pub doc: Arc<PolicyDocument>,
}

/// Who a signed envelope is for.
type Audience = (String, Option<String>);

/// Audiences whose envelopes are cached at most (a key bound to no team may name any team;
/// past this the cache starts again rather than grow).
const MAX_CACHED: usize = 10_000;

fn bound<V>(cache: &mut HashMap<Audience, V>) {
    if cache.len() >= MAX_CACHED {
        cache.clear();
    }
}

/// One budget read: the spends and the watchers the leases are divided among, numbered.
#[derive(Debug)]
pub struct Snapshot {
    /// 1, 2, … (0: before the first read).
    pub generation: u64,
    /// Every budget's spend.
    pub spends: Spends,
    /// The live watchers of every live replica when it was made.
    pub counts: WatcherCounts,
}

/// A budget payload as last signed for one audience.
struct SignedBudgets {
    /// The budget read it was last checked against.
    generation: u64,
    payload: BudgetPayload,
    envelope: Arc<str>,
}

/// One replica's policy state, shared by the routes, the watchers and the background tasks.
pub struct PolicyHub {
    store: Arc<Store>,
    signer: Signer,
    metrics: PolicyMetrics,
    current: channel::Sender<Arc<Current>>,
    /// Signed policy envelopes (JSON text) per audience, for one version each.
    signed: Mutex<HashMap<Audience, (u64, Arc<str>)>>,
    /// This replica's live watchers.
    watchers: Mutex<WatcherCounts>,
    /// This replica's id in the database's watcher counts (made at start).
    replica: String,
    /// Watchers that joined this replica so far (each [`WatcherGuard`] has its number).
    joined: AtomicU64,
    /// The watcher counts in the database, as last read, and how far this replica's own
    /// are stored.
    stored: Mutex<StoredCounts>,
    /// This replica's watchers changed: its counts are stored shortly.
    watchers_changed: Notify,
    /// Stops the task that stores the counts (then the rows are deleted).
    stop_sync: channel::Sender<bool>,
    sync_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The latest budget read; its generation is sent on `budget_generation` for watchers
    /// to look at their payload.
    snapshot: Mutex<Arc<Snapshot>>,
    budget_generation: channel::Sender<u64>,
    /// The last signed budget payload per audience (and whether its share was pending).
    signed_budgets: Mutex<HashMap<(Audience, bool), SignedBudgets>>,
    recompute: Notify,
    /// The price catalog this replica publishes: its version and signed envelope.
    prices: Option<(String, Arc<str>)>,
    shutdown: channel::Sender<bool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// The database's watcher counts as last read, and the stored counts' progress.
#[derive(Default)]
struct StoredCounts {
    /// This replica's rows.
    own: WatcherCounts,
    /// Every other live replica's rows, summed.
    others: WatcherCounts,
    /// Every watcher numbered up to this is stored, and has been for [`SHARE_SETTLE`].
    settled: u64,
    /// Stores not settled yet: (watchers numbered up to, when).
    recent: VecDeque<(u64, Instant)>,
}

impl StoredCounts {
    fn settled(&mut self, joined: u64) -> bool {
        while let Some((n, at)) = self.recent.front() {
            if at.elapsed() < SHARE_SETTLE {
                break;
            }
            self.settled = self.settled.max(*n);
            self.recent.pop_front();
        }
        // Alone (no other replica has watchers): nobody else to tell first.
        self.others.is_empty() || self.settled >= joined
    }
}

/// A (app, team) key from a stored row.
fn key_of(r: &WatcherRow) -> (String, Option<String>) {
    let team = (!r.team.is_empty()).then(|| r.team.clone());
    (r.app.clone(), team)
}

fn now_ms() -> i64 {
    crate::server::now_ms()
}

/// Parses a stored document (`None`, logged, when it no longer validates).
fn parse_stored(r: &PolicyRecord) -> Option<PolicyDocument> {
    match PolicyDocument::parse(&r.document, "policy") {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::error!(version = r.version, error = %e.message(), "a stored policy version does not validate; it is not served");
            None
        }
    }
}

impl PolicyHub {
    /// Loads the newest version and the budget state, and starts the background tasks;
    /// `prices`: a price catalog to publish (see [`prices`]).
    pub async fn start(
        store: Arc<Store>,
        signer: Signer,
        metrics: PolicyMetrics,
        prices: Option<prices::PriceData>,
    ) -> Arc<PolicyHub> {
        let current = match store.policy_current().await {
            Ok(Some(r)) => match parse_stored(&r) {
                Some(doc) => Current {
                    version: r.version.max(0) as u64,
                    record: Some(r),
                    doc: Arc::new(doc),
                },
                None => empty_current(),
            },
            Ok(None) => empty_current(),
            Err(e) => {
                tracing::error!(error = %e, "reading the policy failed; serving none until the database answers");
                empty_current()
            }
        };
        metrics.version.set(current.version as i64);
        let version = current.version;
        let prices = prices.map(|p| {
            let envelope: Arc<str> = p.sign(&signer).into();
            (p.version, envelope)
        });
        let hub = Arc::new(PolicyHub {
            store,
            signer,
            metrics,
            current: channel::Sender::new(Arc::new(current)),
            signed: Mutex::new(HashMap::new()),
            watchers: Mutex::new(HashMap::new()),
            replica: uuid::Uuid::new_v4().simple().to_string(),
            joined: AtomicU64::new(0),
            stored: Mutex::new(StoredCounts::default()),
            watchers_changed: Notify::new(),
            stop_sync: channel::Sender::new(false),
            sync_task: Mutex::new(None),
            snapshot: Mutex::new(Arc::new(Snapshot {
                generation: 0,
                spends: Spends::empty(version),
                counts: WatcherCounts::new(),
            })),
            budget_generation: channel::Sender::new(0),
            signed_budgets: Mutex::new(HashMap::new()),
            recompute: Notify::new(),
            prices,
            shutdown: channel::Sender::new(false),
            tasks: Mutex::new(Vec::new()),
        });
        hub.read_budgets().await;
        let tasks = vec![
            tokio::spawn(poll_loop(hub.clone())),
            tokio::spawn(budget_loop(hub.clone())),
        ];
        *lock(&hub.tasks) = tasks;
        *lock(&hub.sync_task) = Some(tokio::spawn(sync_loop(
            Arc::downgrade(&hub),
            hub.stop_sync.subscribe(),
        )));
        hub
    }

    /// This replica's id in the stored watcher counts.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// The signed price catalog this replica publishes, with its version.
    pub fn prices(&self) -> Option<&(String, Arc<str>)> {
        self.prices.as_ref()
    }

    /// The public key clients are configured with, `ed25519:<base64>`.
    pub fn public_key(&self) -> String {
        self.signer.public_key()
    }

    /// The signing key's id.
    pub fn key_id(&self) -> &str {
        self.signer.key_id()
    }

    /// The policy in force.
    pub fn current(&self) -> Arc<Current> {
        self.current.borrow().clone()
    }

    /// Puts a newly stored version in force (ignored when it is not newer than the current
    /// one): watchers are told at once.
    pub fn publish(&self, record: PolicyRecord, doc: Arc<PolicyDocument>) {
        let version = record.version.max(0) as u64;
        let changed = self.current.send_if_modified(|c| {
            if version <= c.version {
                return false;
            }
            *c = Arc::new(Current {
                version,
                record: Some(record),
                doc,
            });
            true
        });
        if changed {
            self.metrics.version.set(version as i64);
            lock(&self.signed).retain(|_, (v, _)| *v >= version);
            tracing::info!(version, "policy version in force");
        }
    }

    /// The signed effective policy of `app` in `team` (JSON of a `SignedEnvelope`) and its
    /// version: signed once per (app, team, version).
    pub fn policy_envelope(&self, app: &str, team: Option<&str>) -> (u64, Arc<str>) {
        let cur = self.current();
        let key = (app.to_owned(), team.map(str::to_owned));
        if let Some((v, env)) = lock(&self.signed).get(&key)
            && *v == cur.version
        {
            return (*v, env.clone());
        }
        let payload = PolicyPayload {
            kind: "policy".into(),
            version: cur.version,
            app: app.to_owned(),
            team: team.map(str::to_owned),
            issued_ms: now_ms(),
            policy: cur.doc.effective_json(app, team),
            price_catalog: self.prices.as_ref().map(|(v, _)| v.clone()),
        };
        let env: Arc<str> = self.sign(&payload).into();
        let mut signed = lock(&self.signed);
        bound(&mut signed);
        // Another caller may have signed it meanwhile: keep one, so every watcher sends the
        // same bytes.
        let entry = signed.entry(key).or_insert((cur.version, env.clone()));
        if entry.0 < cur.version {
            *entry = (cur.version, env);
        }
        (entry.0, entry.1.clone())
    }

    fn sign<T: serde::Serialize>(&self, payload: &T) -> String {
        let text = serde_json::to_string(payload).unwrap_or_default();
        serde_json::to_string(&self.signer.sign(text)).unwrap_or_default()
    }

    /// The latest budget read.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        lock(&self.snapshot).clone()
    }

    /// The signed budget payload of `app` in `team` in the latest read: made once per read
    /// for each audience (every watcher of it then sends the same bytes), and signed again
    /// only when the budgets (not just the time they were read) changed. `pending`: the
    /// payload of a watcher whose share is not handed out yet — no leases,
    /// `share_pending: true`.
    pub fn budget_envelope(&self, app: &str, team: Option<&str>, pending: bool) -> Arc<str> {
        let snap = self.snapshot();
        let key = ((app.to_owned(), team.map(str::to_owned)), pending);
        if let Some(c) = lock(&self.signed_budgets).get(&key)
            && c.generation == snap.generation
        {
            return c.envelope.clone();
        }
        let mut payload = budgets::payload_for(&snap.spends, &snap.counts, app, team);
        if pending {
            budgets::withhold_leases(&mut payload);
        }
        let mut cache = lock(&self.signed_budgets);
        if let Some(c) = cache.get_mut(&key)
            && c.payload.policy_version == payload.policy_version
            && c.payload.budgets == payload.budgets
        {
            c.generation = snap.generation.max(c.generation);
            return c.envelope.clone();
        }
        let envelope: Arc<str> = self.sign(&payload).into();
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(
            key,
            SignedBudgets {
                generation: snap.generation,
                payload,
                envelope: envelope.clone(),
            },
        );
        envelope
    }

    /// Spend was stored: budgets are re-read shortly.
    pub fn spend_changed(&self) {
        self.recompute.notify_one();
    }

    /// The live watchers of every live replica (this one's: the higher of its in-memory and
    /// stored counts).
    pub fn watcher_counts(&self) -> WatcherCounts {
        let own = lock(&self.watchers);
        self.counts_with(&own)
    }

    /// `own` (this replica's in-memory counts) combined with the stored ones.
    fn counts_with(&self, own: &WatcherCounts) -> WatcherCounts {
        let stored = lock(&self.stored);
        let mut out = own.clone();
        for (k, n) in &stored.own {
            let e = out.entry(k.clone()).or_default();
            *e = (*e).max(*n);
        }
        for (k, n) in &stored.others {
            *out.entry(k.clone()).or_default() += n;
        }
        out
    }

    /// Reads the stored watcher counts of every live replica; `true` when the counts the
    /// leases are divided among differ from the latest budget read's.
    async fn read_stored_counts(&self) -> bool {
        let rows = match self
            .store
            .policy_watchers_live(WATCHERS_STALE.as_millis() as i64)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "reading the watcher counts failed; will try again");
                return false;
            }
        };
        let (mut own, mut others) = (WatcherCounts::new(), WatcherCounts::new());
        for r in &rows {
            let n = r.watchers.max(0) as usize;
            if n == 0 {
                continue;
            }
            let side = if r.replica == self.replica {
                &mut own
            } else {
                &mut others
            };
            *side.entry(key_of(r)).or_default() += n;
        }
        {
            let mut stored = lock(&self.stored);
            stored.own = own;
            stored.others = others;
        }
        self.watcher_counts() != self.snapshot().counts
    }

    /// Registers a watcher until the guard is dropped. Its share of the leases is handed out
    /// in the second budget read after it joined ([`WatcherGuard::share_pending`]): the
    /// first divides the leases anew and tells every other watcher its smaller share.
    pub fn watch(self: &Arc<Self>, app: &str, team: Option<&str>) -> WatcherGuard {
        let key = (app.to_owned(), team.map(str::to_owned));
        let (joined_after, number) = {
            let mut w = lock(&self.watchers);
            *w.entry(key.clone()).or_default() += 1;
            // Under the watchers' lock: every later read counts this watcher, and every
            // later store of the counts.
            let number = self.joined.fetch_add(1, Ordering::SeqCst) + 1;
            (self.snapshot().generation, number)
        };
        self.metrics.watchers.inc();
        // Leases are divided among watchers: one more changes them.
        self.recompute.notify_one();
        self.watchers_changed.notify_one();
        WatcherGuard {
            hub: self.clone(),
            key,
            joined_after,
            number,
        }
    }

    /// Ends every watch stream (graceful shutdown would otherwise wait on them).
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Stops the background tasks and deletes this replica's stored watcher counts (the
    /// other replicas stop counting its watchers at once).
    pub async fn stop(&self) {
        self.shutdown();
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
        self.stop_sync.send_replace(true);
        let sync = lock(&self.sync_task).take();
        if let Some(t) = sync {
            // A store in flight finishes first, so it cannot put rows back after the delete.
            if tokio::time::timeout(Duration::from_secs(5), t).await.is_err() {
                tracing::warn!("storing the watcher counts did not finish; deleting them anyway");
            }
        }
        if let Err(e) = self.store.policy_watchers_clear(&self.replica).await {
            tracing::warn!(error = %e, "deleting this replica's watcher counts failed; the others stop counting them after a few seconds");
        }
    }

    /// Counts a push to a watcher.
    pub(crate) fn pushed(&self, kind: &'static str) {
        self.metrics
            .pushes
            .get_or_create(&vec![("kind", kind.to_owned())])
            .inc();
    }

    pub(crate) fn subscribe(
        &self,
    ) -> (
        channel::Receiver<Arc<Current>>,
        channel::Receiver<u64>,
        channel::Receiver<bool>,
    ) {
        (
            self.current.subscribe(),
            self.budget_generation.subscribe(),
            self.shutdown.subscribe(),
        )
    }

    /// Re-reads every budget's spend for the current version; watchers are told.
    async fn read_budgets(&self) {
        let cur = self.current();
        let spends = match budgets::read_spends(&self.store, &cur.doc, cur.version, now_ms()).await {
            Ok(s) => {
                self.metrics.budget_reads.inc();
                s
            }
            Err(e) => {
                // Still a new generation with the last spends: watchers may have come or gone.
                tracing::warn!(error = %e, "reading budget spend failed; will try again");
                self.snapshot().spends.clone()
            }
        };
        // The other replicas' watchers as they are now (this replica's own are counted from
        // memory too, under its lock below).
        self.read_stored_counts().await;
        let generation = {
            let own = lock(&self.watchers);
            let counts = self.counts_with(&own);
            let mut snap = lock(&self.snapshot);
            let generation = snap.generation + 1;
            *snap = Arc::new(Snapshot {
                generation,
                spends,
                counts,
            });
            generation
        };
        self.budget_generation.send_replace(generation);
    }

    /// Fresh spends for the current version (for `GET /v1/budgets`).
    pub async fn fresh_spends(&self) -> Result<Spends, crate::store::StoreError> {
        let cur = self.current();
        budgets::read_spends(&self.store, &cur.doc, cur.version, now_ms()).await
    }
}

fn empty_current() -> Current {
    Current {
        version: 0,
        record: None,
        doc: Arc::new(PolicyDocument::empty()),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A live watcher; dropping it (the stream ended) unregisters it.
pub struct WatcherGuard {
    hub: Arc<PolicyHub>,
    key: Audience,
    /// The budget read before it joined.
    joined_after: u64,
    /// Its number among the watchers that joined this replica.
    number: u64,
}

impl WatcherGuard {
    /// Whether this watcher's share is still withheld in the read `generation`: in the reads
    /// up to the first that counts it (which tells this replica's other watchers their
    /// smaller share); another read is asked for then, so the share follows within
    /// [`BUDGET_DEBOUNCE`] and a read. With other live replicas, also until its count was
    /// stored [`SHARE_SETTLE`] ago (they have told their watchers by then; a read is asked
    /// for at that moment).
    pub fn share_pending(&self, generation: u64) -> bool {
        if generation == self.joined_after + 1 {
            self.hub.recompute.notify_one();
        }
        generation <= self.joined_after + 1 || !lock(&self.hub.stored).settled(self.number)
    }
}

impl Drop for WatcherGuard {
    fn drop(&mut self) {
        {
            let mut w = lock(&self.hub.watchers);
            if let Some(n) = w.get_mut(&self.key) {
                *n -= 1;
                if *n == 0 {
                    w.remove(&self.key);
                }
            }
        }
        self.hub.metrics.watchers.dec();
        self.hub.recompute.notify_one();
        self.hub.watchers_changed.notify_one();
    }
}

/// Picks up versions other replicas store (and, on SQLite, is a cheap no-op read).
async fn poll_loop(hub: Arc<PolicyHub>) {
    let mut failing = false;
    loop {
        tokio::time::sleep(POLL_INTERVAL).await;
        // Another replica's watchers came or went (or one stopped counting): leases anew.
        if hub.read_stored_counts().await {
            hub.recompute.notify_one();
        }
        let newest = match hub.store.policy_max_version().await {
            Ok(v) => v.max(0) as u64,
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "polling the policy version failed; will keep trying");
                }
                failing = true;
                continue;
            }
        };
        failing = false;
        if newest <= hub.current().version {
            continue;
        }
        match hub.store.policy_version(newest as i64).await {
            Ok(Some(r)) => {
                if let Some(doc) = parse_stored(&r) {
                    hub.publish(r, Arc::new(doc));
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "reading a new policy version failed; will try again"),
        }
    }
}

/// Re-reads budgets after spend or watchers changed (debounced), after a policy change (at
/// once), and every [`BUDGET_REFRESH`].
async fn budget_loop(hub: Arc<PolicyHub>) {
    let mut policy = hub.current.subscribe();
    loop {
        tokio::select! {
            // A new policy: its budgets at once.
            biased;
            r = policy.changed() => if r.is_err() { return },
            _ = hub.recompute.notified() => tokio::time::sleep(BUDGET_DEBOUNCE).await,
            _ = tokio::time::sleep(BUDGET_REFRESH) => {}
        }
        policy.borrow_and_update();
        hub.read_budgets().await;
    }
}

/// Stores this replica's watcher counts after they change (debounced) and every
/// [`WATCHERS_HEARTBEAT`] while it has any, until told to stop.
async fn sync_loop(hub: Weak<PolicyHub>, mut stop: channel::Receiver<bool>) {
    // What the database holds of this replica's counts (`None`: unknown, rewrite them all).
    let mut stored: Option<WatcherCounts> = Some(WatcherCounts::new());
    loop {
        let Some(changed) = hub
            .upgrade()
            .map(|h| async move { h.watchers_changed.notified().await })
        else {
            return;
        };
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            _ = changed => {
                tokio::select! {
                    biased;
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(WATCHERS_DEBOUNCE) => {}
                }
            }
            _ = tokio::time::sleep(WATCHERS_HEARTBEAT) => {}
        }
        if *stop.borrow() {
            return;
        }
        let Some(hub) = hub.upgrade() else { return };
        store_counts(&hub, &mut stored).await;
    }
}

/// One store of this replica's counts: the rows that changed, and every row marked live.
async fn store_counts(hub: &Arc<PolicyHub>, stored: &mut Option<WatcherCounts>) {
    let (number, counts) = {
        let w = lock(&hub.watchers);
        (hub.joined.load(Ordering::SeqCst), w.clone())
    };
    let row = |(app, team): &(String, Option<String>)| (app.clone(), team.clone().unwrap_or_default());
    let write = match stored.as_ref() {
        // Nothing stored and nothing to store: no write at all.
        Some(prev) if prev.is_empty() && counts.is_empty() => return,
        Some(prev) => WatcherWrite {
            set: counts
                .iter()
                .filter(|(k, n)| prev.get(*k) != Some(*n))
                .map(|(k, n)| {
                    let (a, t) = row(k);
                    (a, t, *n as i64)
                })
                .collect(),
            removed: prev
                .keys()
                .filter(|k| !counts.contains_key(*k))
                .map(row)
                .collect(),
            replace: false,
        },
        None => WatcherWrite {
            set: counts
                .iter()
                .map(|(k, n)| {
                    let (a, t) = row(k);
                    (a, t, *n as i64)
                })
                .collect(),
            removed: Vec::new(),
            replace: true,
        },
    };
    match hub
        .store
        .policy_watchers_write(&hub.replica, write, WATCHERS_FORGET.as_millis() as i64)
        .await
    {
        Ok(rows) if rows == counts.len() as u64 => {
            *stored = Some(counts);
            let mut s = lock(&hub.stored);
            s.settled(0);
            if s.recent.back().is_none_or(|(n, _)| *n < number) && s.settled < number {
                s.recent.push_back((number, Instant::now()));
                if !s.others.is_empty() {
                    // Newcomers' shares may be handed out once the others had time to see
                    // this: a read then.
                    let weak = Arc::downgrade(hub);
                    tokio::spawn(async move {
                        tokio::time::sleep(SHARE_SETTLE).await;
                        if let Some(h) = weak.upgrade() {
                            h.recompute.notify_one();
                        }
                    });
                }
            }
        }
        Ok(_) => {
            // Rows went missing (deleted as stale while this replica could not write):
            // all of them again, soon.
            *stored = None;
            hub.watchers_changed.notify_one();
        }
        Err(e) => {
            tracing::warn!(error = %e, "storing the watcher counts failed; will try again");
            *stored = None;
        }
    }
}
