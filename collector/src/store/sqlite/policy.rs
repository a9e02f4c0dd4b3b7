//! Policy versions and the signing seed on SQLite: reads on the read pool, writes on the
//! writer thread (so a version check and its insert are one transaction no batch interleaves).

use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::store::StoreError;
use crate::store::policy::{HISTORY_COLUMNS, POLICY_COLUMNS, PolicyRecord, WatcherRow, WatcherWrite};

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<PolicyRecord> {
    Ok(PolicyRecord {
        version: r.get(0)?,
        document: r.get(1)?,
        created_ms: r.get(2)?,
        author_key_id: r.get(3)?,
        author_name: r.get(4)?,
        diff: r.get(5)?,
        rolled_back_from: r.get(6)?,
    })
}

impl SqliteStore {
    pub(in crate::store) async fn policy_current(&self) -> Result<Option<PolicyRecord>, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {POLICY_COLUMNS} FROM policy_versions ORDER BY version DESC LIMIT 1"),
                [],
                record,
            )
            .optional()?)
        })
        .await
    }

    pub(in crate::store) async fn policy_version(&self, n: i64) -> Result<Option<PolicyRecord>, StoreError> {
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {POLICY_COLUMNS} FROM policy_versions WHERE version = ?1"),
                [n],
                record,
            )
            .optional()?)
        })
        .await
    }

    pub(in crate::store) async fn policy_max_version(&self) -> Result<i64, StoreError> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT coalesce(max(version), 0) FROM policy_versions", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
    }

    pub(in crate::store) async fn policy_history(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {HISTORY_COLUMNS} FROM policy_versions WHERE version < ?1 ORDER BY version DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map([before, limit], record)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub(in crate::store) async fn insert_policy(
        &self,
        current: i64,
        r: PolicyRecord,
    ) -> Result<Result<(), i64>, StoreError> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let newest: i64 =
                tx.query_row("SELECT coalesce(max(version), 0) FROM policy_versions", [], |x| {
                    x.get(0)
                })?;
            if newest != current {
                return Ok(Err(newest));
            }
            tx.execute(
                &format!(
                    "INSERT INTO policy_versions ({POLICY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ),
                params![
                    r.version,
                    r.document,
                    r.created_ms,
                    r.author_key_id,
                    r.author_name,
                    r.diff,
                    r.rolled_back_from
                ],
            )?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await
    }

    pub(in crate::store) async fn policy_signing_seed(
        &self,
        candidate: Vec<u8>,
        now_ms: i64,
    ) -> Result<Vec<u8>, StoreError> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO policy_signing_key (id, seed, created_ms) VALUES (1, ?1, ?2) ON CONFLICT (id) DO NOTHING",
                params![candidate, now_ms],
            )?;
            Ok(c.query_row("SELECT seed FROM policy_signing_key WHERE id = 1", [], |r| {
                r.get(0)
            })?)
        })
        .await
    }

    pub(in crate::store) async fn policy_watchers_write(
        &self,
        replica: String,
        w: WatcherWrite,
        forget_ms: i64,
    ) -> Result<u64, StoreError> {
        let now = crate::server::now_ms();
        self.write(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if w.replace {
                tx.execute("DELETE FROM policy_watchers WHERE replica = ?1", [&replica])?;
            }
            {
                let mut set = tx.prepare_cached(
                    "INSERT INTO policy_watchers (replica, app, team, watchers, seen_ms) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (replica, app, team) DO UPDATE SET watchers = excluded.watchers, seen_ms = excluded.seen_ms",
                )?;
                for (app, team, n) in &w.set {
                    set.execute(params![replica, app, team, n, now])?;
                }
                let mut del = tx.prepare_cached(
                    "DELETE FROM policy_watchers WHERE replica = ?1 AND app = ?2 AND team = ?3",
                )?;
                for (app, team) in &w.removed {
                    del.execute(params![replica, app, team])?;
                }
            }
            let rows = tx.execute(
                "UPDATE policy_watchers SET seen_ms = ?2 WHERE replica = ?1",
                params![replica, now],
            )?;
            tx.execute(
                "DELETE FROM policy_watchers WHERE seen_ms < ?1",
                [now - forget_ms],
            )?;
            tx.commit()?;
            Ok(rows as u64)
        })
        .await
    }

    pub(in crate::store) async fn policy_watchers_live(
        &self,
        max_age_ms: i64,
    ) -> Result<Vec<WatcherRow>, StoreError> {
        let since = crate::server::now_ms() - max_age_ms;
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT replica, app, team, watchers FROM policy_watchers WHERE seen_ms >= ?1",
            )?;
            let rows = stmt.query_map([since], |r| {
                Ok(WatcherRow {
                    replica: r.get(0)?,
                    app: r.get(1)?,
                    team: r.get(2)?,
                    watchers: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub(in crate::store) async fn policy_watchers_clear(&self, replica: String) -> Result<(), StoreError> {
        self.write(move |c| {
            c.execute("DELETE FROM policy_watchers WHERE replica = ?1", [replica])?;
            Ok(())
        })
        .await
    }
}
