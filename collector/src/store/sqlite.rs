//! SQLite: WAL, one writer thread that commits every batch waiting at that moment in one
//! transaction (group commit), and a small pool of read connections for reports.
//!
//! The writer adds events to the rollups in memory and writes those sums every second (or
//! every [`FLUSH_EVENTS`] events), with the `events.seq` they reach (`rollup_state`), in one
//! transaction: a rollup row is written once a second instead of once a batch. A report reads
//! the rollups and the events past that mark in one snapshot, so it is exact at every moment;
//! after a crash the events past the mark are rolled up on start.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::Value as SqlLiteValue;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params, params_from_iter};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{IngestBatch, StoreError, StoreOptions, page_event, raw_event};
use crate::event::StoredEvent;
use crate::hist::Histogram;
use crate::keys::{KeyKind, KeyRecord};
use crate::report::sql::{Sql, SqlValue};
use crate::report::{Cell, GroupedRow};
use crate::rollup::{DIM_COLUMNS, RollupKey, SUM_COLUMNS, Totals, rollups_of};

mod policy;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// The most batches one writer transaction takes.
const GROUP_COMMIT_BATCHES: usize = 64;
/// Events after which pending rollup sums are written, whatever the time.
const FLUSH_EVENTS: usize = 200_000;
/// How long rollup sums wait in memory at most.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Idle read connections kept.
const READ_POOL: usize = 4;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

enum WriterMsg {
    Ingest(
        IngestBatch,
        oneshot::Sender<Result<(Vec<bool>, IngestBatch), StoreError>>,
    ),
    Flush(oneshot::Sender<()>),
    Run(Job),
    Stop,
}

/// A SQLite database.
pub struct SqliteStore {
    path: std::path::PathBuf,
    writer: Mutex<Option<mpsc::Sender<WriterMsg>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    /// Held while serving (`StoreOptions::serving`): one server per file.
    _lock: Option<std::fs::File>,
}

/// `mp_hist_sum`: adds histogram blobs over a group.
struct HistSum;

impl Aggregate<Histogram, Vec<u8>> for HistSum {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Histogram> {
        Ok(Histogram::default())
    }
    fn step(&self, ctx: &mut Context<'_>, acc: &mut Histogram) -> rusqlite::Result<()> {
        // Borrowed: each row's blob is added in place, with no copy.
        if let rusqlite::types::ValueRef::Blob(b) = ctx.get_raw(0) {
            acc.add_blob(b);
        }
        Ok(())
    }
    fn finalize(&self, _: &mut Context<'_>, acc: Option<Histogram>) -> rusqlite::Result<Vec<u8>> {
        Ok(acc.unwrap_or_default().to_blob())
    }
}

fn prepare(conn: &Connection, synchronous: &str) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let sync = if synchronous.eq_ignore_ascii_case("full") {
        "FULL"
    } else {
        "NORMAL"
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;"
    ))?;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("mp_hist_add", 2, flags, |ctx| {
        let a: Option<Vec<u8>> = ctx.get(0)?;
        let b: Option<Vec<u8>> = ctx.get(1)?;
        Ok(Histogram::add_blobs(
            &a.unwrap_or_default(),
            &b.unwrap_or_default(),
        ))
    })?;
    conn.create_aggregate_function("mp_hist_sum", 1, flags, HistSum)?;
    Ok(())
}

fn to_value(v: &SqlValue) -> SqlLiteValue {
    match v {
        SqlValue::Int(i) => SqlLiteValue::Integer(*i),
        SqlValue::Text(s) => SqlLiteValue::Text(s.clone()),
        SqlValue::Uuid(u) => SqlLiteValue::Blob(u.as_bytes().to_vec()),
    }
}

const INSERT_EVENT: &str = "INSERT INTO events (id, ts, received_ms, key_id, app, team, user_id, env, operation, \
    model_requested, provider, deployment, model, stream, status, error_code, http_status, input_tokens, output_tokens, \
    cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_nusd, cost_is_estimated, latency_ms, ttft_ms, \
    attempts, fallback_used, cache_hit, policy_version, labels, extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
    ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32) \
    ON CONFLICT (id) DO NOTHING";

fn upsert_rollup_sql() -> String {
    let key = ["period_ms", "start_ms", "attr", "attr_value"]
        .iter()
        .chain(DIM_COLUMNS.iter())
        .copied()
        .collect::<Vec<_>>();
    let cols: Vec<&str> = key
        .iter()
        .chain(SUM_COLUMNS.iter())
        .chain(["latency_sum_ms", "latency_hist", "ttft_hist"].iter())
        .copied()
        .collect();
    let placeholders: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    let sums: Vec<String> = SUM_COLUMNS
        .iter()
        .chain(["latency_sum_ms"].iter())
        .map(|c| format!("{c} = rollups.{c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO rollups ({}) VALUES ({}) ON CONFLICT (period_ms, attr, start_ms, attr_value, {}) DO UPDATE SET {}, \
         latency_hist = mp_hist_add(rollups.latency_hist, excluded.latency_hist), \
         ttft_hist = mp_hist_add(rollups.ttft_hist, excluded.ttft_hist)",
        cols.join(", "),
        placeholders.join(", "),
        DIM_COLUMNS.join(", "),
        sums.join(", ")
    )
}

/// Stores batches in one transaction; per batch, which events were new.
fn write_batches(
    conn: &mut Connection,
    batches: &[&IngestBatch],
) -> Result<(Vec<Vec<bool>>, i64), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut fresh = Vec::with_capacity(batches.len());
    let mut last_seq = 0;
    {
        let mut insert = tx.prepare_cached(INSERT_EVENT)?;
        for b in batches {
            let mut news = Vec::with_capacity(b.events.len());
            for e in &b.events {
                let n = insert.execute(params![
                    e.id.as_bytes().as_slice(),
                    e.ts_ms,
                    b.received_ms,
                    b.key_id,
                    e.app,
                    e.team,
                    e.user,
                    e.env,
                    e.operation,
                    e.model_requested,
                    e.provider,
                    e.deployment,
                    e.model,
                    e.stream,
                    e.status,
                    e.error_code,
                    e.http_status,
                    e.input_tokens,
                    e.output_tokens,
                    e.cached_input_tokens,
                    e.cache_write_tokens,
                    e.reasoning_tokens,
                    e.cost_nusd,
                    e.cost_is_estimated,
                    e.latency_ms,
                    e.ttft_ms,
                    e.attempts,
                    e.fallback_used,
                    e.cache_hit,
                    e.policy_version,
                    e.labels_json(),
                    e.extra,
                ])?;
                if n == 1 {
                    last_seq = tx.last_insert_rowid();
                }
                news.push(n == 1);
            }
            fresh.push(news);
        }
        let mut drops =
            tx.prepare_cached("INSERT INTO client_drops (received_ms, app, dropped) VALUES (?1, ?2, ?3)")?;
        for b in batches {
            if let Some((app, n)) = &b.dropped {
                drops.execute(params![b.received_ms, app, n])?;
            }
        }
    }
    tx.commit()?;
    Ok((fresh, last_seq))
}

/// Rollup sums not yet written, and the `seq` they reach.
#[derive(Default)]
struct Pending {
    sums: HashMap<RollupKey, Totals>,
    seq: i64,
    events: usize,
    since: Option<Instant>,
}

impl Pending {
    fn merge(&mut self, sums: BTreeMap<RollupKey, Totals>, seq: i64) {
        for (k, t) in sums {
            match self.sums.get_mut(&k) {
                Some(acc) => acc.merge(&t),
                None => {
                    self.sums.insert(k, t);
                }
            }
        }
        self.seq = self.seq.max(seq);
        self.since.get_or_insert_with(Instant::now);
    }

    fn due(&self) -> bool {
        self.events >= FLUSH_EVENTS || self.since.is_some_and(|t| t.elapsed() >= FLUSH_INTERVAL)
    }
}

/// Writes rollup sums and the mark they reach, in one transaction.
fn write_rollups(
    conn: &mut Connection,
    sums: &HashMap<RollupKey, Totals>,
    seq: i64,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut upsert = tx.prepare_cached(&upsert_rollup_sql())?;
        for (k, t) in sums {
            let mut values: Vec<SqlLiteValue> = vec![
                SqlLiteValue::Integer(k.period_ms),
                SqlLiteValue::Integer(k.start_ms),
                SqlLiteValue::Text(k.attr.clone()),
                SqlLiteValue::Text(k.attr_value.clone()),
            ];
            values.extend(k.dims.iter().map(|d| SqlLiteValue::Text(d.clone())));
            values.extend(t.sums.iter().map(|s| SqlLiteValue::Integer(*s)));
            values.push(SqlLiteValue::Real(t.latency_sum_ms));
            values.push(SqlLiteValue::Blob(t.latency.to_blob()));
            values.push(SqlLiteValue::Blob(t.ttft.to_blob()));
            upsert.execute(params_from_iter(values))?;
        }
        tx.execute(
            "UPDATE rollup_state SET rolled_seq = max(rolled_seq, ?1) WHERE id = 1",
            [seq],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Writes the pending sums; on failure they are kept for the next try (and a crash before
/// then is mended on start by [`catch_up`]).
fn flush(conn: &mut Connection, pending: &mut Pending) {
    if pending.sums.is_empty() {
        *pending = Pending::default();
        return;
    }
    match write_rollups(conn, &pending.sums, pending.seq) {
        Ok(()) => *pending = Pending::default(),
        Err(e) => tracing::error!(error = %e, "writing rollups failed; will try again"),
    }
}

/// Rolls up the events past the mark (those a crash kept from the rollups), in slices.
fn catch_up(conn: &mut Connection) -> Result<u64, StoreError> {
    let mut total = 0;
    loop {
        let rolled: i64 = conn.query_row("SELECT rolled_seq FROM rollup_state WHERE id = 1", [], |r| {
            r.get(0)
        })?;
        let mut last = rolled;
        let mut events = Vec::new();
        {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {}, seq FROM events WHERE seq > ?1 ORDER BY seq LIMIT 50000",
                crate::report::sql::RAW_COLUMNS
            ))?;
            let rows = stmt.query_map([rolled], |r| Ok((raw_row(r)?, r.get::<_, i64>(24)?)))?;
            for row in rows {
                let (e, seq) = row?;
                last = seq;
                events.push(e);
            }
        }
        if events.is_empty() {
            return Ok(total);
        }
        total += events.len() as u64;
        let mut pending = Pending::default();
        pending.merge(rollups_of(&events), last);
        write_rollups(conn, &pending.sums, last)?;
    }
}

fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<WriterMsg>) {
    let mut next: Option<WriterMsg> = None;
    let mut pending = Pending::default();
    loop {
        if pending.due() {
            flush(&mut conn, &mut pending);
        }
        let msg = match next.take() {
            Some(m) => m,
            None => {
                let received = match pending.since {
                    Some(t) => rx
                        .recv_timeout(FLUSH_INTERVAL.saturating_sub(t.elapsed()))
                        .map_err(|e| e == mpsc::RecvTimeoutError::Disconnected),
                    None => rx.recv().map_err(|_| true),
                };
                match received {
                    Ok(m) => m,
                    // Time to write the sums.
                    Err(false) => continue,
                    Err(true) => {
                        flush(&mut conn, &mut pending);
                        return;
                    }
                }
            }
        };
        match msg {
            WriterMsg::Stop => {
                flush(&mut conn, &mut pending);
                return;
            }
            WriterMsg::Run(job) => job(&mut conn),
            WriterMsg::Flush(reply) => {
                flush(&mut conn, &mut pending);
                let _ = reply.send(());
            }
            WriterMsg::Ingest(batch, reply) => {
                let mut group = vec![(batch, reply)];
                while group.len() < GROUP_COMMIT_BATCHES {
                    match rx.try_recv() {
                        Ok(WriterMsg::Ingest(b, r)) => group.push((b, r)),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let batches: Vec<&IngestBatch> = group.iter().map(|(b, _)| b).collect();
                match write_batches(&mut conn, &batches) {
                    Ok((fresh, seq)) => {
                        for (b, f) in batches.iter().zip(&fresh) {
                            pending.merge(b.new_rollups(f), seq);
                        }
                        pending.events += fresh.iter().map(Vec::len).sum::<usize>();
                        drop(batches);
                        for ((batch, reply), f) in group.into_iter().zip(fresh) {
                            let _ = reply.send(Ok((f, batch)));
                        }
                    }
                    Err(e) => {
                        let message = e.to_string();
                        tracing::error!(error = %message, "storing a batch failed");
                        for (_, reply) in group {
                            let _ = reply.send(Err(StoreError::Write(message.clone())));
                        }
                    }
                }
            }
        }
    }
}

impl SqliteStore {
    /// Opens (creating it if needed) and migrates the database at `path`.
    pub async fn open(path: &Path, opts: &StoreOptions) -> Result<SqliteStore, StoreError> {
        let path = path.to_path_buf();
        let sync = opts.sqlite_synchronous.clone();
        let serving = opts.serving;
        let (conn, path, lock) = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Url(format!("{}: {e}", dir.display())))?;
            }
            let mut conn = Connection::open(&path)?;
            // Large rows (events) insert faster on larger pages; only a new file takes it.
            conn.execute_batch("PRAGMA page_size = 16384;")?;
            prepare(&conn, &sync)?;
            embedded::migrations::runner()
                .run(&mut conn)
                .map_err(|e| StoreError::Migration(e.to_string()))?;
            let lock = if serving {
                let lock_path = format!("{}.lock", path.display());
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&lock_path)
                    .map_err(|e| StoreError::Url(format!("{lock_path}: {e}")))?;
                file.try_lock()
                    .map_err(|_| StoreError::Locked(path.display().to_string()))?;
                let caught_up = catch_up(&mut conn)?;
                if caught_up > 0 {
                    tracing::info!(events = caught_up, "rolled up the events a crash had left out");
                }
                Some(file)
            } else {
                None
            };
            Ok((conn, path, lock))
        })
        .await
        .map_err(|e| StoreError::Migration(e.to_string()))??;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("collector-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(SqliteStore {
            path,
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(thread)),
            readers: Arc::new(Mutex::new(Vec::new())),
            _lock: lock,
        })
    }

    fn send(&self, msg: WriterMsg) -> Result<(), StoreError> {
        let guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .ok_or(StoreError::Closed)?
            .send(msg)
            .map_err(|_| StoreError::Closed)
    }

    /// Runs `f` on the writer connection.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(WriterMsg::Run(Box::new(move |c| {
            let _ = tx.send(f(c));
        })))?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a read connection, off the async threads.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match conn {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    prepare_reader(&c)?;
                    c
                }
            };
            let out = f(&conn);
            let mut pool = readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < READ_POOL {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    pub(super) async fn ingest(&self, batch: IngestBatch) -> Result<(Vec<bool>, IngestBatch), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(WriterMsg::Ingest(batch, tx))?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Writes the pending rollup sums now.
    pub(super) async fn flush_rollups(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(WriterMsg::Flush(tx))?;
        rx.await.map_err(|_| StoreError::Closed)
    }

    /// A report's reads in one snapshot: rollup groups, then events.
    pub(super) async fn report_reads(
        &self,
        rollup: Option<(Sql, Vec<bool>)>,
        raw: Vec<Sql>,
    ) -> Result<(Vec<GroupedRow>, Vec<StoredEvent>), StoreError> {
        self.read(move |c| {
            c.execute_batch("BEGIN DEFERRED")?;
            let out = (|| {
                let groups = match &rollup {
                    Some((sql, time_dims)) => grouped(c, sql, time_dims)?,
                    None => Vec::new(),
                };
                let mut events = Vec::new();
                for sql in &raw {
                    let mut stmt = c.prepare(&sql.text)?;
                    let rows = stmt.query_map(params_from_iter(sql.params.iter().map(to_value)), raw_row)?;
                    for r in rows {
                        events.push(r?);
                    }
                }
                Ok((groups, events))
            })();
            let _ = c.execute_batch("COMMIT");
            out
        })
        .await
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT count(*) FROM refinery_schema_history", [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|_| ())?,
            )
        })
        .await
    }

    pub(super) async fn raw_events(&self, sql: Sql) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare(&sql.text)?;
            let rows = stmt.query_map(params_from_iter(sql.params.iter().map(to_value)), raw_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub(super) async fn event_page(&self, sql: Sql) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare(&sql.text)?;
            let rows = stmt.query_map(params_from_iter(sql.params.iter().map(to_value)), |r| {
                let id: Vec<u8> = r.get(24)?;
                Ok(page_event(
                    raw_row(r)?,
                    Uuid::from_slice(&id).unwrap_or_default(),
                    r.get(25)?,
                    r.get(26)?,
                    r.get(27)?,
                    r.get(28)?,
                ))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub(super) async fn key(&self, id: String) -> Result<Option<KeyRecord>, StoreError> {
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1"),
                [id],
                key_record,
            )
            .optional()?)
        })
        .await
    }

    pub(super) async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_ms, id"
            ))?;
            let rows = stmt.query_map([], key_record)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub(super) async fn insert_key(&self, k: KeyRecord) -> Result<(), StoreError> {
        self.write(move |c| {
            c.execute(
                &format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                params![
                    k.id,
                    k.kind.as_str(),
                    k.app,
                    k.team,
                    k.name,
                    k.secret_sha256,
                    k.created_ms,
                    k.expires_ms,
                    k.revoked_ms
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub(super) async fn end_key(
        &self,
        id: String,
        revoked_ms: Option<i64>,
        expires_ms: Option<i64>,
    ) -> Result<bool, StoreError> {
        self.write(move |c| {
            let n = c.execute(
                "UPDATE api_keys SET revoked_ms = coalesce(?2, revoked_ms), expires_ms = coalesce(?3, expires_ms) WHERE id = ?1",
                params![id, revoked_ms, expires_ms],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub(super) async fn delete_before(
        &self,
        events_before_ms: i64,
        rollups_before_ms: i64,
    ) -> Result<(u64, u64), StoreError> {
        let mut events = 0u64;
        loop {
            // In slices, so ingest is never held up for long.
            let n = self
                .write(move |c| {
                    Ok(c.execute(
                        "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts < ?1 ORDER BY ts LIMIT 5000)",
                        [events_before_ms],
                    )?)
                })
                .await?;
            events += n as u64;
            if n < 5000 {
                break;
            }
        }
        let rollups = self
            .write(move |c| {
                let n = c.execute("DELETE FROM rollups WHERE start_ms < ?1", [rollups_before_ms])?;
                // With every event gone, the next one is `seq` 1 again: the mark follows.
                c.execute(
                    "UPDATE rollup_state SET rolled_seq = min(rolled_seq, coalesce((SELECT max(seq) FROM events), 0))",
                    [],
                )?;
                c.execute(
                    "DELETE FROM client_drops WHERE received_ms < ?1",
                    [rollups_before_ms],
                )?;
                Ok(n as u64)
            })
            .await?;
        Ok((events, rollups))
    }

    pub(super) async fn count_events(&self) -> Result<i64, StoreError> {
        self.read(|c| Ok(c.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?))
            .await
    }

    pub(super) async fn close(&self) {
        let sender = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(s) = sender {
            let _ = s.send(WriterMsg::Stop);
        }
        let thread = self
            .writer_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(t) = thread {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

/// Runs a rollup query of [`crate::report::sql::rollup_select`].
fn grouped(c: &Connection, sql: &Sql, time_dims: &[bool]) -> Result<Vec<GroupedRow>, StoreError> {
    let mut stmt = c.prepare(&sql.text)?;
    let n = time_dims.len();
    let rows = stmt.query_map(params_from_iter(sql.params.iter().map(to_value)), |r| {
        let mut cells = Vec::with_capacity(n);
        for (i, time) in time_dims.iter().enumerate() {
            cells.push(if *time {
                Cell::Time(r.get(i)?)
            } else {
                Cell::Text(r.get(i)?)
            });
        }
        let mut totals = Totals::default();
        for (j, s) in totals.sums.iter_mut().enumerate() {
            *s = r.get::<_, Option<i64>>(n + 2 + j)?.unwrap_or(0);
        }
        totals.latency_sum_ms = r.get::<_, Option<f64>>(n + 14)?.unwrap_or(0.0);
        totals.latency = Histogram::from_blob(&r.get::<_, Option<Vec<u8>>>(n + 15)?.unwrap_or_default());
        totals.ttft = Histogram::from_blob(&r.get::<_, Option<Vec<u8>>>(n + 16)?.unwrap_or_default());
        Ok(GroupedRow {
            cells,
            status: r.get(n)?,
            error_code: r.get(n + 1)?,
            totals,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// An event from the columns of [`crate::report::sql::RAW_COLUMNS`].
fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    let names = [
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ];
    Ok(raw_event(
        r.get(0)?,
        names,
        [r.get(11)?, r.get(18)?, r.get(21)?, r.get(22)?],
        [r.get(12)?, r.get(13)?, r.get(14)?, r.get(15)?, r.get(16)?],
        r.get(17)?,
        r.get(19)?,
        r.get(20)?,
        r.get(23)?,
    ))
}

fn prepare_reader(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch("PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;")?;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_aggregate_function("mp_hist_sum", 1, flags, HistSum)?;
    Ok(())
}

const KEY_COLUMNS: &str = "id, kind, app, team, name, secret_sha256, created_ms, expires_ms, revoked_ms";

fn key_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRecord> {
    let kind: String = r.get(1)?;
    Ok(KeyRecord {
        id: r.get(0)?,
        kind: KeyKind::parse(&kind).unwrap_or(KeyKind::Ingest),
        app: r.get(2)?,
        team: r.get(3)?,
        name: r.get(4)?,
        secret_sha256: r.get(5)?,
        created_ms: r.get(6)?,
        expires_ms: r.get(7)?,
        revoked_ms: r.get(8)?,
    })
}
