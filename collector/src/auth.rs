//! Who is calling: the `Authorization: Bearer <key>` header checked against the stored keys,
//! with a short cache (a revoked key stops working on every replica within [`CACHE_TTL`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::keys::{KeyKind, KeyRecord, parse_token, secret_matches};
use crate::store::{Store, StoreError};

/// How long a key lookup is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// Lookups remembered at most (unknown ids included, so a flood of made-up keys is bounded).
const CACHE_MAX: usize = 10_000;

/// Why a request is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// No key, a malformed one, an unknown one or a wrong secret, revoked or expired: 401.
    Unauthenticated,
    /// A valid key that may not do this: 403.
    Forbidden,
}

/// Key lookups, cached.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (Option<KeyRecord>, Instant)>>,
}

impl KeyCache {
    /// The key a request's `Authorization` header names, if it is valid now; `admin_only`
    /// refuses ingest keys.
    pub async fn check(
        &self,
        store: &Store,
        header: Option<&str>,
        admin_only: bool,
        now_ms: i64,
    ) -> Result<Result<KeyRecord, Denied>, StoreError> {
        let Some(token) =
            header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        else {
            return Ok(Err(Denied::Unauthenticated));
        };
        let Some((id, secret)) = parse_token(token.trim()) else {
            return Ok(Err(Denied::Unauthenticated));
        };
        let record = self
            .lookup(store, id)
            .await?
            .filter(|r| secret_matches(r, secret) && r.active(now_ms));
        Ok(Self::permitted(record, admin_only))
    }

    /// The key a dashboard session names (its secret was checked at login), if it is still
    /// active now; `admin_only` refuses ingest keys.
    pub async fn check_id(
        &self,
        store: &Store,
        id: &str,
        admin_only: bool,
        now_ms: i64,
    ) -> Result<Result<KeyRecord, Denied>, StoreError> {
        let record = self.lookup(store, id).await?.filter(|r| r.active(now_ms));
        Ok(Self::permitted(record, admin_only))
    }

    fn permitted(record: Option<KeyRecord>, admin_only: bool) -> Result<KeyRecord, Denied> {
        let Some(record) = record else {
            return Err(Denied::Unauthenticated);
        };
        if admin_only && record.kind != KeyKind::Admin {
            return Err(Denied::Forbidden);
        }
        Ok(record)
    }

    /// The stored record of key `id`, from the cache when fresh.
    async fn lookup(&self, store: &Store, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        let cached = {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries
                .get(id)
                .filter(|(_, at)| at.elapsed() < CACHE_TTL)
                .map(|(k, _)| k.clone())
        };
        if let Some(r) = cached {
            return Ok(r);
        }
        let r = store.key(id).await?;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_MAX {
            entries.clear();
        }
        entries.insert(id.to_owned(), (r.clone(), Instant::now()));
        Ok(r)
    }

    /// Forgets a key at once (this replica), after it was revoked or rotated here.
    pub fn forget(&self, id: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}
