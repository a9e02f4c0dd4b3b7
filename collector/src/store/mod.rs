//! Storage: SQLite (the embedded default: one file, WAL, one writer thread that commits
//! concurrent batches together) or PostgreSQL (several stateless collector replicas on one
//! database). Both run their schema migrations on open (refinery, embedded in the binary) and
//! answer the same operations; only [`crate::report::sql::Dialect`] tells them apart to callers.

mod policy;
mod postgres;
mod sqlite;

use std::fmt;

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::event::StoredEvent;
use crate::keys::KeyRecord;
use crate::report::GroupedRow;
use crate::report::sql::{Dialect, Hist, Sql};
use crate::rollup::{RollupKey, Totals, rollups_of};
pub use policy::{PolicyRecord, WatcherRow, WatcherWrite};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A storage failure. Messages name the operation and the database's reason, never a password.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had.
    #[error("PostgreSQL connection pool: {0}")]
    Pool(String),
    /// A migration failed.
    #[error("schema migration: {0}")]
    Migration(String),
    /// The database URL is not usable.
    #[error("database URL: {0}")]
    Url(String),
    /// Writing a batch failed (the writer's reason).
    #[error("storing events: {0}")]
    Write(String),
    /// A blocking task failed to run.
    #[error("a database task stopped: {0}")]
    Task(String),
    /// Another process serves this SQLite file.
    #[error("another collector serves {0} (its lock file is held)")]
    Locked(String),
    /// The SQLite writer thread is gone (the store is closing).
    #[error("the SQLite writer has stopped")]
    Closed,
}

/// Where the data lives: `sqlite://PATH` (also `sqlite:PATH`) or `postgres://…`
/// (`postgresql://…`, or any libpq key/value string).
#[derive(Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// A SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL connection string.
    Postgres(String),
}

impl DbUrl {
    /// Reads a database URL.
    pub fn parse(url: &str) -> Result<DbUrl, StoreError> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(StoreError::Url("`sqlite://` needs a file path".into()));
            }
            return Ok(DbUrl::Sqlite(path.into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") || url.contains("host=") {
            return Ok(DbUrl::Postgres(url.to_owned()));
        }
        Err(StoreError::Url(
            "expected `sqlite://PATH` or `postgres://USER@HOST/DB`".into(),
        ))
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DbUrl {
    /// The URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbUrl::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            DbUrl::Postgres(url) => match url.parse::<tokio_postgres::Config>().ok() {
                Some(c) => write!(
                    f,
                    "postgres://{}@{}/{}",
                    c.get_user().unwrap_or(""),
                    c.get_hosts()
                        .iter()
                        .map(|h| match h {
                            tokio_postgres::config::Host::Tcp(h) => h.clone(),
                            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                    c.get_dbname().unwrap_or("")
                ),
                None => f.write_str("postgres://(unreadable URL)"),
            },
        }
    }
}

/// Storage settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// SQLite's `synchronous` pragma: `normal` (the default: with WAL, a committed batch
    /// survives the collector being killed) or `full` (also a power cut, at an fsync per commit).
    pub sqlite_synchronous: String,
    /// PostgreSQL connections per replica.
    pub pg_pool_size: usize,
    /// This process serves the database (`modelplug-collector serve`), rather than reading it
    /// or managing keys beside a running server. SQLite only: it takes `<file>.lock` (one
    /// server per file) and rolls up the events a crash left out of the rollups — which a
    /// second process doing the same beside a live server would count twice.
    pub serving: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            sqlite_synchronous: "normal".into(),
            pg_pool_size: 8,
            serving: false,
        }
    }
}

/// One ingest request's events, after validation.
#[derive(Debug, Clone)]
pub struct IngestBatch {
    /// The ingest key that sent them.
    pub key_id: String,
    /// When they arrived.
    pub received_ms: i64,
    /// The events.
    pub events: Vec<StoredEvent>,
    /// The app and count of events its client reported dropping, if any.
    pub dropped: Option<(String, i64)>,
    /// The rollup sums of all `events`, when the caller worked them out (on the request's
    /// thread, off the database writer's); used when every event turns out new.
    pub rollups: Option<BTreeMap<RollupKey, Totals>>,
}

impl IngestBatch {
    /// The rollup sums of the events that were new (`fresh`).
    pub(crate) fn new_rollups(&self, fresh: &[bool]) -> BTreeMap<RollupKey, Totals> {
        match &self.rollups {
            Some(all) if fresh.iter().all(|n| *n) => all.clone(),
            _ => rollups_of(self.events.iter().zip(fresh).filter(|(_, n)| **n).map(|(e, _)| e)),
        }
    }
}

/// The database.
pub enum Store {
    /// SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database.
    pub async fn open(url: &DbUrl, opts: &StoreOptions) -> Result<Store, StoreError> {
        Ok(match url {
            DbUrl::Sqlite(path) => Store::Sqlite(SqliteStore::open(path, opts).await?),
            DbUrl::Postgres(url) => Store::Postgres(PgStore::open(url, opts).await?),
        })
    }

    /// The SQL dialect of report queries.
    pub fn dialect(&self) -> Dialect {
        match self {
            Store::Sqlite(_) => Dialect::Sqlite,
            Store::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Stores a batch in one transaction, with its rollups: for each event, whether it was new
    /// (`false`: its id was stored before, by this or another replica); the batch comes back.
    pub async fn ingest(&self, batch: IngestBatch) -> Result<(Vec<bool>, IngestBatch), StoreError> {
        each!(self, s => s.ingest(batch).await)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        each!(self, s => s.ping().await)
    }

    /// A report's reads: the rollup groups and the events of `raw`, in one snapshot where
    /// the database allows (SQLite).
    pub async fn report_reads(
        &self,
        rollup: Option<(Sql, Vec<bool>)>,
        buckets: Vec<(Sql, Hist)>,
        raw: Vec<Sql>,
    ) -> Result<(Vec<GroupedRow>, Vec<StoredEvent>), StoreError> {
        match self {
            Store::Sqlite(s) => s.report_reads(rollup, raw).await,
            Store::Postgres(s) => {
                let mut groups = match &rollup {
                    Some((sql, time_dims)) => s.grouped_rows(sql.clone(), time_dims.clone()).await?,
                    None => Vec::new(),
                };
                if let Some((_, time_dims)) = &rollup {
                    let index: std::collections::HashMap<(Vec<crate::report::Cell>, String, String), usize> =
                        groups
                            .iter()
                            .enumerate()
                            .map(|(i, g)| ((g.cells.clone(), g.status.clone(), g.error_code.clone()), i))
                            .collect();
                    for (sql, hist) in buckets {
                        for (key, bucket, n) in s.bucket_rows(sql, time_dims.clone()).await? {
                            if let Some(&i) = index.get(&key) {
                                let h = match hist {
                                    Hist::Latency => &mut groups[i].totals.latency,
                                    Hist::Ttft => &mut groups[i].totals.ttft,
                                };
                                h.add_to_bucket((bucket - 1).max(0) as usize, n.max(0) as u64);
                            }
                        }
                    }
                }
                let mut events = Vec::new();
                for sql in raw {
                    events.extend(s.raw_events(sql).await?);
                }
                Ok((groups, events))
            }
        }
    }

    /// Whether the rollups trail the events (SQLite writes them once a second; a report adds
    /// the events past the mark, [`crate::report::sql::tail_select`]).
    pub fn rollups_trail(&self) -> bool {
        matches!(self, Store::Sqlite(_))
    }

    /// Writes rollup sums held in memory now (SQLite; PostgreSQL writes them with each batch).
    pub async fn flush_rollups(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.flush_rollups().await,
            Store::Postgres(_) => Ok(()),
        }
    }

    /// Runs an events query of [`crate::report::sql::raw_select`].
    pub async fn raw_events(&self, sql: Sql) -> Result<Vec<StoredEvent>, StoreError> {
        each!(self, s => s.raw_events(sql).await)
    }

    /// Runs a page query of [`crate::report::sql::events_select`].
    pub async fn event_page(&self, sql: Sql) -> Result<Vec<StoredEvent>, StoreError> {
        each!(self, s => s.event_page(sql).await)
    }

    /// One key by id.
    pub async fn key(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        each!(self, s => s.key(id.to_owned()).await)
    }

    /// Every key, oldest first.
    pub async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        each!(self, s => s.keys().await)
    }

    /// Stores a new key.
    pub async fn insert_key(&self, k: KeyRecord) -> Result<(), StoreError> {
        each!(self, s => s.insert_key(k).await)
    }

    /// Sets a key's revocation or expiry time; `false` when there is no such key.
    pub async fn end_key(
        &self,
        id: &str,
        revoked_ms: Option<i64>,
        expires_ms: Option<i64>,
    ) -> Result<bool, StoreError> {
        each!(self, s => s.end_key(id.to_owned(), revoked_ms, expires_ms).await)
    }

    /// Deletes events older than `events_before_ms` and rollup rows older than
    /// `rollups_before_ms`: how many of each.
    pub async fn delete_before(
        &self,
        events_before_ms: i64,
        rollups_before_ms: i64,
    ) -> Result<(u64, u64), StoreError> {
        each!(self, s => s.delete_before(events_before_ms, rollups_before_ms).await)
    }

    /// How many events are stored.
    pub async fn count_events(&self) -> Result<i64, StoreError> {
        each!(self, s => s.count_events().await)
    }

    /// Stops the writer after what is queued (SQLite); closes the pool (PostgreSQL).
    pub async fn close(&self) {
        each!(self, s => s.close().await)
    }
}

/// The stored name of a status or operation read back, as the static strings events use.
pub(crate) fn static_name(s: &str) -> &'static str {
    match s {
        "ok" => "ok",
        "error" => "error",
        "blocked" => "blocked",
        "cancelled" => "cancelled",
        "chat" => "chat",
        "embeddings" => "embeddings",
        _ => "unknown",
    }
}

/// An event of a page: [`raw_event`] and the columns of [`crate::report::sql::PAGE_COLUMNS`].
pub(crate) fn page_event(
    mut e: StoredEvent,
    id: Uuid,
    model_requested: String,
    http_status: Option<i32>,
    policy_version: Option<String>,
    extra: String,
) -> StoredEvent {
    e.id = id;
    e.model_requested = model_requested;
    e.http_status = http_status;
    e.policy_version = policy_version;
    e.extra = extra;
    e
}

/// An event read back from the columns of [`crate::report::sql::RAW_COLUMNS`] (no extra).
#[allow(clippy::too_many_arguments)]
pub(crate) fn raw_event(
    ts_ms: i64,
    names: [String; 10],
    flags: [bool; 4],
    tokens: [i64; 5],
    cost_nusd: Option<i64>,
    latency_ms: f64,
    ttft_ms: Option<f64>,
    labels: Option<String>,
) -> StoredEvent {
    let [
        app,
        team,
        user,
        env,
        operation,
        provider,
        deployment,
        model,
        status,
        error_code,
    ] = names;
    let [stream, cost_is_estimated, fallback_used, cache_hit] = flags;
    StoredEvent {
        id: Uuid::nil(),
        ts_ms,
        app,
        team,
        user,
        env,
        operation: static_name(&operation),
        model_requested: String::new(),
        provider,
        deployment,
        model,
        stream,
        status: static_name(&status),
        error_code,
        http_status: None,
        input_tokens: tokens[0],
        output_tokens: tokens[1],
        cached_input_tokens: tokens[2],
        cache_write_tokens: tokens[3],
        reasoning_tokens: tokens[4],
        cost_nusd,
        cost_is_estimated,
        latency_ms,
        ttft_ms,
        attempts: 0,
        fallback_used,
        cache_hit,
        policy_version: None,
        labels: labels
            .and_then(|l| serde_json::from_str(&l).ok())
            .unwrap_or_default(),
        extra: String::new(),
    }
}
