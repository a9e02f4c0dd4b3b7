//! PostgreSQL: a connection pool per replica; each batch is one transaction that inserts its
//! events with `ON CONFLICT (id) DO NOTHING` and appends the rollup sums of the new ones only to
//! `rollup_deltas`, so replicas receiving the same batch at once store and count it once. One
//! replica at a time folds the deltas into `rollups` each second; reports read both, in one
//! statement (so they are exact at every moment). Rows are written in a fixed order
//! (events by id, rollups by key), so concurrent batches cannot deadlock; a serialization
//! failure is retried.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::{IngestBatch, StoreError, StoreOptions, page_event, raw_event};
use crate::event::StoredEvent;
use crate::hist::Histogram;
use crate::keys::{KeyKind, KeyRecord};
use crate::report::sql::{Sql, SqlValue};
use crate::report::{Cell, GroupedRow};
use crate::rollup::{DAY_MS, DIM_COLUMNS, HOUR_MS, SUM_COLUMNS, Totals};

mod policy;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// The advisory lock that lets one replica at a time migrate.
const MIGRATION_LOCK: i64 = 0x6d70_636f_6c6c;
/// Tries of a batch that lost a deadlock or serialization race.
const TRIES: usize = 5;

/// A PostgreSQL database.
pub struct PgStore {
    pool: Pool,
    /// Folds `rollup_deltas` into `rollups` every second (one replica at a time).
    folding: tokio::task::JoinHandle<()>,
}

fn pool_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Pool(e.to_string())
}

fn boxed(v: &SqlValue) -> Box<dyn ToSql + Sync + Send> {
    match v {
        SqlValue::Int(i) => Box::new(*i),
        SqlValue::Text(s) => Box::new(s.clone()),
        SqlValue::Uuid(u) => Box::new(*u),
    }
}

const INSERT_EVENTS: &str = "INSERT INTO events (id, ts, received_ms, key_id, app, team, user_id, env, operation, \
    model_requested, provider, deployment, model, stream, status, error_code, http_status, input_tokens, output_tokens, \
    cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_nusd, cost_is_estimated, latency_ms, ttft_ms, \
    attempts, fallback_used, cache_hit, policy_version, labels, extra) \
    SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
    $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bool[], $15::text[], $16::text[], $17::int4[], \
    $18::int8[], $19::int8[], $20::int8[], $21::int8[], $22::int8[], $23::int8[], $24::bool[], $25::float8[], \
    $26::float8[], $27::int4[], $28::bool[], $29::bool[], $30::text[], $31::text[], $32::text[]) \
    ON CONFLICT (id) DO NOTHING RETURNING id";

/// The rollup key columns, then the sums and histograms: the column order of `rollups` and
/// `rollup_deltas`.
fn rollup_columns() -> Vec<&'static str> {
    ["period_ms", "start_ms", "attr", "attr_value"]
        .iter()
        .chain(DIM_COLUMNS.iter())
        .chain(SUM_COLUMNS.iter())
        .chain(["latency_sum_ms", "latency_hist", "ttft_hist"].iter())
        .copied()
        .collect()
}

/// Appends a batch's rollup sums to `rollup_deltas` (one UNNEST; histograms as array text).
fn insert_deltas_sql() -> String {
    let cols = rollup_columns();
    let mut types = vec!["int8[]", "int8[]"];
    types.extend(std::iter::repeat_n("text[]", 2 + DIM_COLUMNS.len()));
    types.extend(std::iter::repeat_n("int8[]", SUM_COLUMNS.len()));
    types.extend(["float8[]", "text[]", "text[]"]);
    let args: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}", i + 1))
        .collect();
    let names: Vec<String> = (0..cols.len()).map(|i| format!("c{i}")).collect();
    let mut select: Vec<String> = names[..cols.len() - 2].to_vec();
    select.push(format!("{}::bigint[]", names[cols.len() - 2]));
    select.push(format!("{}::bigint[]", names[cols.len() - 1]));
    format!(
        "INSERT INTO rollup_deltas ({}) SELECT {} FROM UNNEST({}) AS t({})",
        cols.join(", "),
        select.join(", "),
        args.join(", "),
        names.join(", ")
    )
}

/// Folds every visible delta (hourly sums) into `rollups` in one statement: deleted, summed per
/// hour and per day, and added (keys in order, so that folds never deadlock).
fn fold_deltas_sql() -> String {
    let cols = rollup_columns();
    let rest: Vec<&str> = cols[2..].to_vec();
    let key: Vec<&str> = ["period_ms", "start_ms", "attr", "attr_value"]
        .iter()
        .chain(DIM_COLUMNS.iter())
        .copied()
        .collect();
    let mut sums: Vec<String> = SUM_COLUMNS.iter().map(|c| format!("SUM({c})::bigint")).collect();
    sums.push("SUM(latency_sum_ms)".into());
    sums.push("mp_hist_sum(latency_hist)".into());
    sums.push("mp_hist_sum(ttft_hist)".into());
    let set: Vec<String> = SUM_COLUMNS
        .iter()
        .chain(["latency_sum_ms"].iter())
        .map(|c| format!("{c} = rollups.{c} + excluded.{c}"))
        .collect();
    format!(
        "WITH moved AS (DELETE FROM rollup_deltas RETURNING *), \
         periods AS (SELECT * FROM moved UNION ALL \
                     SELECT {DAY_MS}::bigint, start_ms - start_ms % {DAY_MS}, {rest} FROM moved) \
         INSERT INTO rollups ({cols}) SELECT {key}, {sums} FROM periods GROUP BY {key} \
         ORDER BY period_ms, attr, start_ms, {order} \
         ON CONFLICT (period_ms, attr, start_ms, attr_value, {dims}) DO UPDATE SET {set}, \
         latency_hist = mp_hist_add(rollups.latency_hist, excluded.latency_hist), \
         ttft_hist = mp_hist_add(rollups.ttft_hist, excluded.ttft_hist)",
        rest = rest.join(", "),
        cols = cols.join(", "),
        key = key.join(", "),
        sums = sums.join(", "),
        order = std::iter::once("attr_value")
            .chain(DIM_COLUMNS.iter().copied())
            .collect::<Vec<_>>()
            .join(", "),
        dims = DIM_COLUMNS.join(", "),
        set = set.join(", "),
    )
}

/// The advisory lock that lets one replica at a time fold deltas.
const FOLD_LOCK: i64 = 0x6d70_666f_6c64;
/// How often a replica tries to fold.
const FOLD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Folds deltas into the rollups if no other replica is doing it: rows folded.
async fn fold(pool: &Pool) -> Result<u64, StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await?;
    let locked: bool = tx
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&FOLD_LOCK])
        .await?
        .get(0);
    if !locked {
        return Ok(0);
    }
    let n = tx.execute(&fold_deltas_sql(), &[]).await?;
    tx.commit().await?;
    Ok(n)
}

/// Whether a failed transaction may simply be tried again.
fn retryable(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code()
        .is_some_and(|c| *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE)
}

impl PgStore {
    /// Connects, migrates (one replica at a time) and makes the pool.
    pub async fn open(url: &str, opts: &StoreOptions) -> Result<PgStore, StoreError> {
        let config: tokio_postgres::Config = url.parse()?;
        let (mut client, connection) = config.connect(NoTls).await?;
        let conn_task = tokio::spawn(connection);
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let migrated = embedded::migrations::runner().run_async(&mut client).await;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await?;
        drop(client);
        let _ = conn_task.await;
        migrated.map_err(|e| StoreError::Migration(e.to_string()))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(opts.pg_pool_size.max(1))
            .build()
            .map_err(pool_error)?;
        let folder = pool.clone();
        let folding = tokio::spawn(async move {
            loop {
                tokio::time::sleep(FOLD_INTERVAL).await;
                if let Err(e) = fold(&folder).await {
                    tracing::warn!(error = %e, "folding rollup deltas failed; will try again");
                }
            }
        });
        Ok(PgStore { pool, folding })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    pub(super) async fn ingest(&self, batch: IngestBatch) -> Result<(Vec<bool>, IngestBatch), StoreError> {
        // Sorted by id: two replicas inserting the same events lock them in one order.
        let mut order: Vec<usize> = (0..batch.events.len()).collect();
        order.sort_by_key(|&i| batch.events[i].id);
        let mut tries = 0;
        loop {
            tries += 1;
            match self.try_ingest(&batch, &order).await {
                Err(StoreError::Postgres(e)) if tries < TRIES && retryable(&e) => {
                    tracing::debug!(error = %e, "batch lost a race; trying again");
                }
                other => return other.map(|fresh| (fresh, batch)),
            }
        }
    }

    async fn try_ingest(&self, batch: &IngestBatch, order: &[usize]) -> Result<Vec<bool>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let ev: Vec<&StoredEvent> = order.iter().map(|&i| &batch.events[i]).collect();
        macro_rules! col {
            ($f:expr) => {
                ev.iter().map($f).collect::<Vec<_>>()
            };
        }
        let ids = col!(|e| e.id);
        let ts = col!(|e| e.ts_ms);
        let received = col!(|_| batch.received_ms);
        let key_id = col!(|_| batch.key_id.as_str());
        let app = col!(|e| e.app.as_str());
        let team = col!(|e| e.team.as_str());
        let user = col!(|e| e.user.as_str());
        let env = col!(|e| e.env.as_str());
        let operation = col!(|e| e.operation);
        let model_requested = col!(|e| e.model_requested.as_str());
        let provider = col!(|e| e.provider.as_str());
        let deployment = col!(|e| e.deployment.as_str());
        let model = col!(|e| e.model.as_str());
        let stream = col!(|e| e.stream);
        let status = col!(|e| e.status);
        let error_code = col!(|e| e.error_code.as_str());
        let http_status = col!(|e| e.http_status);
        let input = col!(|e| e.input_tokens);
        let output = col!(|e| e.output_tokens);
        let cached = col!(|e| e.cached_input_tokens);
        let cache_write = col!(|e| e.cache_write_tokens);
        let reasoning = col!(|e| e.reasoning_tokens);
        let cost = col!(|e| e.cost_nusd);
        let cost_est = col!(|e| e.cost_is_estimated);
        let latency = col!(|e| e.latency_ms);
        let ttft = col!(|e| e.ttft_ms);
        let attempts = col!(|e| e.attempts);
        let fallback = col!(|e| e.fallback_used);
        let cache_hit = col!(|e| e.cache_hit);
        let policy = col!(|e| e.policy_version.as_deref());
        let labels = col!(|e| e.labels_json());
        let extra = col!(|e| e.extra.as_str());
        let params: [&(dyn ToSql + Sync); 32] = [
            &ids,
            &ts,
            &received,
            &key_id,
            &app,
            &team,
            &user,
            &env,
            &operation,
            &model_requested,
            &provider,
            &deployment,
            &model,
            &stream,
            &status,
            &error_code,
            &http_status,
            &input,
            &output,
            &cached,
            &cache_write,
            &reasoning,
            &cost,
            &cost_est,
            &latency,
            &ttft,
            &attempts,
            &fallback,
            &cache_hit,
            &policy,
            &labels,
            &extra,
        ];
        let stmt = tx.prepare_cached(INSERT_EVENTS).await?;
        let inserted: std::collections::HashSet<Uuid> = tx
            .query(&stmt, &params)
            .await?
            .iter()
            .map(|r| r.get::<_, Uuid>(0))
            .collect();
        let fresh: Vec<bool> = batch.events.iter().map(|e| inserted.contains(&e.id)).collect();
        // Hourly sums only: the fold adds each to its day as well.
        let mut rollups = batch.new_rollups(&fresh);
        rollups.retain(|k, _| k.period_ms == HOUR_MS);
        if !rollups.is_empty() {
            let mut ints: Vec<Vec<i64>> = vec![Vec::new(); 2 + SUM_COLUMNS.len()];
            let mut texts: Vec<Vec<String>> = vec![Vec::new(); 2 + DIM_COLUMNS.len()];
            let (mut lat_sum, mut lat, mut ttft_h) = (Vec::new(), Vec::new(), Vec::new());
            for (k, t) in rollups {
                ints[0].push(k.period_ms);
                ints[1].push(k.start_ms);
                texts[0].push(k.attr);
                texts[1].push(k.attr_value);
                for (i, d) in k.dims.into_iter().enumerate() {
                    texts[2 + i].push(d);
                }
                for (i, s) in t.sums.iter().enumerate() {
                    ints[2 + i].push(*s);
                }
                lat_sum.push(t.latency_sum_ms);
                lat.push(t.latency.to_pg_literal());
                ttft_h.push(t.ttft.to_pg_literal());
            }
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&ints[0], &ints[1]];
            params.extend(texts.iter().map(|v| v as &(dyn ToSql + Sync)));
            params.extend(ints[2..].iter().map(|v| v as &(dyn ToSql + Sync)));
            params.push(&lat_sum);
            params.push(&lat);
            params.push(&ttft_h);
            let stmt = tx.prepare_cached(&insert_deltas_sql()).await?;
            tx.execute(&stmt, &params).await?;
        }
        if let Some((app, n)) = &batch.dropped {
            tx.execute(
                "INSERT INTO client_drops (received_ms, app, dropped) VALUES ($1, $2, $3)",
                &[&batch.received_ms, app, n],
            )
            .await?;
        }
        tx.commit().await?;
        // Answer in the caller's order.
        let mut fresh = vec![false; batch.events.len()];
        for &i in order {
            fresh[i] = inserted.contains(&batch.events[i].id);
        }
        Ok(fresh)
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        self.client()
            .await?
            .query_one("SELECT count(*) FROM refinery_schema_history", &[])
            .await?;
        Ok(())
    }

    async fn query(&self, sql: &Sql) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let owned: Vec<Box<dyn ToSql + Sync + Send>> = sql.params.iter().map(boxed).collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            owned.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
        Ok(self.client().await?.query(&sql.text, &params).await?)
    }

    pub(super) async fn grouped_rows(
        &self,
        sql: Sql,
        time_dims: Vec<bool>,
    ) -> Result<Vec<GroupedRow>, StoreError> {
        let n = time_dims.len();
        let rows = self.query(&sql).await?;
        rows.iter()
            .map(|r| {
                let cells = group_cells(r, &time_dims)?;
                let mut totals = Totals::default();
                for (j, s) in totals.sums.iter_mut().enumerate() {
                    *s = r.try_get::<_, Option<i64>>(n + 2 + j)?.unwrap_or(0);
                }
                totals.latency_sum_ms = r.try_get::<_, Option<f64>>(n + 14)?.unwrap_or(0.0);
                totals.latency =
                    Histogram::from_counts(&r.try_get::<_, Option<Vec<i64>>>(n + 15)?.unwrap_or_default());
                totals.ttft =
                    Histogram::from_counts(&r.try_get::<_, Option<Vec<i64>>>(n + 16)?.unwrap_or_default());
                Ok(GroupedRow {
                    cells,
                    status: r.try_get(n)?,
                    error_code: r.try_get(n + 1)?,
                    totals,
                })
            })
            .collect()
    }

    /// Runs a [`crate::report::sql::bucket_select`]: per group, status and code, a bucket and
    /// its count.
    pub(super) async fn bucket_rows(
        &self,
        sql: Sql,
        time_dims: Vec<bool>,
    ) -> Result<Vec<((Vec<Cell>, String, String), i64, i64)>, StoreError> {
        let n = time_dims.len();
        let rows = self.query(&sql).await?;
        rows.iter()
            .map(|r| {
                let cells = group_cells(r, &time_dims)?;
                Ok((
                    (cells, r.try_get(n)?, r.try_get(n + 1)?),
                    r.try_get(n + 2)?,
                    r.try_get(n + 3)?,
                ))
            })
            .collect()
    }

    pub(super) async fn raw_events(&self, sql: Sql) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = self.query(&sql).await?;
        rows.iter().map(raw_row).collect()
    }

    pub(super) async fn event_page(&self, sql: Sql) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = self.query(&sql).await?;
        rows.iter()
            .map(|r| {
                Ok(page_event(
                    raw_row(r)?,
                    r.try_get(24)?,
                    r.try_get(25)?,
                    r.try_get(26)?,
                    r.try_get(27)?,
                    r.try_get(28)?,
                ))
            })
            .collect()
    }

    pub(super) async fn key(&self, id: String) -> Result<Option<KeyRecord>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"),
                &[&id],
            )
            .await?;
        row.map(|r| key_record(&r)).transpose()
    }

    pub(super) async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_ms, id"),
                &[],
            )
            .await?;
        rows.iter().map(key_record).collect()
    }

    pub(super) async fn insert_key(&self, k: KeyRecord) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                &format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
                &[
                    &k.id,
                    &k.kind.as_str(),
                    &k.app,
                    &k.team,
                    &k.name,
                    &k.secret_sha256,
                    &k.created_ms,
                    &k.expires_ms,
                    &k.revoked_ms,
                ],
            )
            .await?;
        Ok(())
    }

    pub(super) async fn end_key(
        &self,
        id: String,
        revoked_ms: Option<i64>,
        expires_ms: Option<i64>,
    ) -> Result<bool, StoreError> {
        let n = self
            .client()
            .await?
            .execute(
                "UPDATE api_keys SET revoked_ms = coalesce($2, revoked_ms), expires_ms = coalesce($3, expires_ms) WHERE id = $1",
                &[&id, &revoked_ms, &expires_ms],
            )
            .await?;
        Ok(n == 1)
    }

    pub(super) async fn delete_before(
        &self,
        events_before_ms: i64,
        rollups_before_ms: i64,
    ) -> Result<(u64, u64), StoreError> {
        let client = self.client().await?;
        let mut events = 0;
        loop {
            let n = client
                .execute(
                    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < $1 ORDER BY ts LIMIT 5000)",
                    &[&events_before_ms],
                )
                .await?;
            events += n;
            if n < 5000 {
                break;
            }
        }
        let rollups = client
            .execute("DELETE FROM rollups WHERE start_ms < $1", &[&rollups_before_ms])
            .await?;
        client
            .execute(
                "DELETE FROM client_drops WHERE received_ms < $1",
                &[&rollups_before_ms],
            )
            .await?;
        Ok((events, rollups))
    }

    pub(super) async fn count_events(&self) -> Result<i64, StoreError> {
        Ok(self
            .client()
            .await?
            .query_one("SELECT count(*) FROM events", &[])
            .await?
            .get(0))
    }

    pub(super) async fn close(&self) {
        self.folding.abort();
        let _ = fold(&self.pool).await;
        self.pool.close();
    }
}

/// A grouped row's first columns: one per group dimension (bucket starts for day/hour).
fn group_cells(r: &tokio_postgres::Row, time_dims: &[bool]) -> Result<Vec<Cell>, tokio_postgres::Error> {
    time_dims
        .iter()
        .enumerate()
        .map(|(i, time)| {
            Ok(if *time {
                Cell::Time(r.try_get(i)?)
            } else {
                Cell::Text(r.try_get(i)?)
            })
        })
        .collect()
}

/// An event from the columns of [`crate::report::sql::RAW_COLUMNS`].
fn raw_row(r: &tokio_postgres::Row) -> Result<StoredEvent, StoreError> {
    let names = [
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
        r.try_get(5)?,
        r.try_get(6)?,
        r.try_get(7)?,
        r.try_get(8)?,
        r.try_get(9)?,
        r.try_get(10)?,
    ];
    Ok(raw_event(
        r.try_get(0)?,
        names,
        [r.try_get(11)?, r.try_get(18)?, r.try_get(21)?, r.try_get(22)?],
        [
            r.try_get(12)?,
            r.try_get(13)?,
            r.try_get(14)?,
            r.try_get(15)?,
            r.try_get(16)?,
        ],
        r.try_get(17)?,
        r.try_get(19)?,
        r.try_get(20)?,
        r.try_get(23)?,
    ))
}

const KEY_COLUMNS: &str = "id, kind, app, team, name, secret_sha256, created_ms, expires_ms, revoked_ms";

fn key_record(r: &tokio_postgres::Row) -> Result<KeyRecord, StoreError> {
    let kind: String = r.try_get(1)?;
    Ok(KeyRecord {
        id: r.try_get(0)?,
        kind: KeyKind::parse(&kind).unwrap_or(KeyKind::Ingest),
        app: r.try_get(2)?,
        team: r.try_get(3)?,
        name: r.try_get(4)?,
        secret_sha256: r.try_get(5)?,
        created_ms: r.try_get(6)?,
        expires_ms: r.try_get(7)?,
        revoked_ms: r.try_get(8)?,
    })
}
