//! Stored policy versions and the policy signing seed: the operations both databases answer.

use super::{Store, StoreError};

/// One stored version of the policy document (an audit entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    /// 1, 2, … (every change, a rollback included, is a new, higher version).
    pub version: i64,
    /// The document exactly as it was PUT (empty in history listings).
    pub document: String,
    /// When it was stored (ms since the epoch).
    pub created_ms: i64,
    /// The id of the admin key that stored it.
    pub author_key_id: String,
    /// That key's name (its id when it has none).
    pub author_name: String,
    /// The structural diff against the version before, JSON text (see `policy::diff`).
    pub diff: String,
    /// The version this one restored, for a rollback.
    pub rolled_back_from: Option<i64>,
}

/// One replica's live watchers of one (app, team), as stored (`team` empty for none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatcherRow {
    /// The replica's id.
    pub replica: String,
    /// The app watched.
    pub app: String,
    /// Its team (`""`: none).
    pub team: String,
    /// How many watchers.
    pub watchers: i64,
}

/// A replica's watcher counts to store: rows to set (app, team, watchers) and rows to delete
/// (app, team); with `replace`, every row of the replica is deleted first.
#[derive(Debug, Clone, Default)]
pub struct WatcherWrite {
    /// Rows to insert or update.
    pub set: Vec<(String, String, i64)>,
    /// Rows to delete.
    pub removed: Vec<(String, String)>,
    /// Whether `set` is the whole of the replica's rows (the others are deleted).
    pub replace: bool,
}

/// The columns of a full record, in [`PolicyRecord`] order.
pub(crate) const POLICY_COLUMNS: &str =
    "version, document, created_ms, author_key_id, author_name, diff, rolled_back_from";
/// The columns of a history entry (the document left out).
pub(crate) const HISTORY_COLUMNS: &str =
    "version, '' AS document, created_ms, author_key_id, author_name, diff, rolled_back_from";

impl Store {
    /// The newest version, if any.
    pub async fn policy_current(&self) -> Result<Option<PolicyRecord>, StoreError> {
        match self {
            Store::Sqlite(s) => s.policy_current().await,
            Store::Postgres(s) => s.policy_current().await,
        }
    }

    /// Version `n`, if stored.
    pub async fn policy_version(&self, n: i64) -> Result<Option<PolicyRecord>, StoreError> {
        match self {
            Store::Sqlite(s) => s.policy_version(n).await,
            Store::Postgres(s) => s.policy_version(n).await,
        }
    }

    /// The newest version number (0: none) — cheap, polled by every replica.
    pub async fn policy_max_version(&self) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => s.policy_max_version().await,
            Store::Postgres(s) => s.policy_max_version().await,
        }
    }

    /// Up to `limit` versions older than `before` (all when `None`), newest first, without
    /// their documents.
    pub async fn policy_history(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PolicyRecord>, StoreError> {
        let before = before.unwrap_or(i64::MAX);
        match self {
            Store::Sqlite(s) => s.policy_history(before, limit).await,
            Store::Postgres(s) => s.policy_history(before, limit).await,
        }
    }

    /// Stores `record` (whose version is `current + 1`) if the newest stored version is still
    /// `current`: `Ok(Err(actual))` with the newest version when another change came first.
    pub async fn insert_policy(
        &self,
        current: i64,
        record: PolicyRecord,
    ) -> Result<Result<(), i64>, StoreError> {
        debug_assert_eq!(record.version, current + 1);
        match self {
            Store::Sqlite(s) => s.insert_policy(current, record).await,
            Store::Postgres(s) => s.insert_policy(current, record).await,
        }
    }

    /// The policy signing seed: the stored one, or `candidate` stored now when there is none
    /// (the first replica to store one wins; every other gets that one).
    pub async fn policy_signing_seed(&self, candidate: Vec<u8>, now_ms: i64) -> Result<Vec<u8>, StoreError> {
        match self {
            Store::Sqlite(s) => s.policy_signing_seed(candidate, now_ms).await,
            Store::Postgres(s) => s.policy_signing_seed(candidate, now_ms).await,
        }
    }

    /// Stores replica `replica`'s watcher counts (see [`WatcherWrite`]), marks all its rows
    /// seen now (the database's clock on PostgreSQL), and deletes any replica's rows not seen
    /// for `forget_ms`: the number of rows the replica has after it.
    pub async fn policy_watchers_write(
        &self,
        replica: &str,
        w: WatcherWrite,
        forget_ms: i64,
    ) -> Result<u64, StoreError> {
        let replica = replica.to_owned();
        match self {
            Store::Sqlite(s) => s.policy_watchers_write(replica, w, forget_ms).await,
            Store::Postgres(s) => s.policy_watchers_write(replica, w, forget_ms).await,
        }
    }

    /// Every replica's watcher rows seen within the last `max_age_ms`.
    pub async fn policy_watchers_live(&self, max_age_ms: i64) -> Result<Vec<WatcherRow>, StoreError> {
        match self {
            Store::Sqlite(s) => s.policy_watchers_live(max_age_ms).await,
            Store::Postgres(s) => s.policy_watchers_live(max_age_ms).await,
        }
    }

    /// Deletes replica `replica`'s watcher rows (it is stopping).
    pub async fn policy_watchers_clear(&self, replica: &str) -> Result<(), StoreError> {
        let replica = replica.to_owned();
        match self {
            Store::Sqlite(s) => s.policy_watchers_clear(replica).await,
            Store::Postgres(s) => s.policy_watchers_clear(replica).await,
        }
    }
}
