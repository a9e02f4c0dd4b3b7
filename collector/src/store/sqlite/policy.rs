//! Policy versions and the signing seed on SQLite: reads on the read pool, writes on the
//! writer thread (so a version check and its insert are one transaction no batch interleaves).

use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::store::StoreError;
use crate::store::policy::{HISTORY_COLUMNS, POLICY_COLUMNS, PolicyRecord};

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
}
