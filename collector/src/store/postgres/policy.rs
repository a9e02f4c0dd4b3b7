//! Policy versions and the signing seed on PostgreSQL: a new version is inserted under a
//! transaction-scoped advisory lock, after checking it still follows the newest one — so two
//! replicas taking a PUT at once store two versions in order, or answer 412.

use super::{PgStore, pool_error};
use crate::store::StoreError;
use crate::store::policy::{HISTORY_COLUMNS, POLICY_COLUMNS, PolicyRecord, WatcherRow, WatcherWrite};

/// The advisory lock that orders policy writes.
const POLICY_LOCK: i64 = 0x6d70_706f_6c69;

/// The database's clock in ms since the epoch: every replica's `seen_ms` is on one clock.
const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

fn record(r: &tokio_postgres::Row) -> Result<PolicyRecord, StoreError> {
    Ok(PolicyRecord {
        version: r.try_get(0)?,
        document: r.try_get(1)?,
        created_ms: r.try_get(2)?,
        author_key_id: r.try_get(3)?,
        author_name: r.try_get(4)?,
        diff: r.try_get(5)?,
        rolled_back_from: r.try_get(6)?,
    })
}

impl PgStore {
    pub(in crate::store) async fn policy_current(&self) -> Result<Option<PolicyRecord>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!("SELECT {POLICY_COLUMNS} FROM policy_versions ORDER BY version DESC LIMIT 1"),
                &[],
            )
            .await?;
        row.map(|r| record(&r)).transpose()
    }

    pub(in crate::store) async fn policy_version(&self, n: i64) -> Result<Option<PolicyRecord>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!("SELECT {POLICY_COLUMNS} FROM policy_versions WHERE version = $1"),
                &[&n],
            )
            .await?;
        row.map(|r| record(&r)).transpose()
    }

    pub(in crate::store) async fn policy_max_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .client()
            .await?
            .query_one(
                "SELECT coalesce(max(version), 0)::bigint FROM policy_versions",
                &[],
            )
            .await?
            .try_get(0)?)
    }

    pub(in crate::store) async fn policy_history(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {HISTORY_COLUMNS} FROM policy_versions WHERE version < $1 ORDER BY version DESC LIMIT $2"
                ),
                &[&before, &limit],
            )
            .await?;
        rows.iter().map(record).collect()
    }

    pub(in crate::store) async fn insert_policy(
        &self,
        current: i64,
        r: PolicyRecord,
    ) -> Result<Result<(), i64>, StoreError> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&POLICY_LOCK])
            .await?;
        let newest: i64 = tx
            .query_one(
                "SELECT coalesce(max(version), 0)::bigint FROM policy_versions",
                &[],
            )
            .await?
            .try_get(0)?;
        if newest != current {
            return Ok(Err(newest));
        }
        tx.execute(
            &format!("INSERT INTO policy_versions ({POLICY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                &r.version,
                &r.document,
                &r.created_ms,
                &r.author_key_id,
                &r.author_name,
                &r.diff,
                &r.rolled_back_from,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    pub(in crate::store) async fn policy_signing_seed(
        &self,
        candidate: Vec<u8>,
        now_ms: i64,
    ) -> Result<Vec<u8>, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO policy_signing_key (id, seed, created_ms) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
                &[&candidate, &now_ms],
            )
            .await?;
        Ok(client
            .query_one("SELECT seed FROM policy_signing_key WHERE id = 1", &[])
            .await?
            .try_get(0)?)
    }

    pub(in crate::store) async fn policy_watchers_write(
        &self,
        replica: String,
        w: WatcherWrite,
        forget_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await?;
        let now: i64 = tx.query_one(&format!("SELECT {NOW_MS}"), &[]).await?.try_get(0)?;
        if w.replace {
            tx.execute("DELETE FROM policy_watchers WHERE replica = $1", &[&replica])
                .await?;
        }
        if !w.set.is_empty() {
            let apps: Vec<&str> = w.set.iter().map(|r| r.0.as_str()).collect();
            let teams: Vec<&str> = w.set.iter().map(|r| r.1.as_str()).collect();
            let ns: Vec<i64> = w.set.iter().map(|r| r.2).collect();
            tx.execute(
                "INSERT INTO policy_watchers (replica, app, team, watchers, seen_ms) \
                 SELECT $1, a, t, n, $5 FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(a, t, n) \
                 ON CONFLICT (replica, app, team) DO UPDATE SET watchers = excluded.watchers, seen_ms = excluded.seen_ms",
                &[&replica, &apps, &teams, &ns, &now],
            )
            .await?;
        }
        if !w.removed.is_empty() {
            let apps: Vec<&str> = w.removed.iter().map(|r| r.0.as_str()).collect();
            let teams: Vec<&str> = w.removed.iter().map(|r| r.1.as_str()).collect();
            tx.execute(
                "DELETE FROM policy_watchers WHERE replica = $1 \
                 AND (app, team) IN (SELECT a, t FROM unnest($2::text[], $3::text[]) AS u(a, t))",
                &[&replica, &apps, &teams],
            )
            .await?;
        }
        let rows = tx
            .execute(
                "UPDATE policy_watchers SET seen_ms = $2 WHERE replica = $1",
                &[&replica, &now],
            )
            .await?;
        tx.execute(
            "DELETE FROM policy_watchers WHERE seen_ms < $1",
            &[&(now - forget_ms)],
        )
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    pub(in crate::store) async fn policy_watchers_live(
        &self,
        max_age_ms: i64,
    ) -> Result<Vec<WatcherRow>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT replica, app, team, watchers FROM policy_watchers WHERE seen_ms >= {NOW_MS} - $1"
                ),
                &[&max_age_ms],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(WatcherRow {
                    replica: r.try_get(0)?,
                    app: r.try_get(1)?,
                    team: r.try_get(2)?,
                    watchers: r.try_get(3)?,
                })
            })
            .collect()
    }

    pub(in crate::store) async fn policy_watchers_clear(&self, replica: String) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute("DELETE FROM policy_watchers WHERE replica = $1", &[&replica])
            .await?;
        Ok(())
    }
}
