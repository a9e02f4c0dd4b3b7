//! Key administration shared by the CLI (`modelplug-collector keys …`) and the admin API:
//! create, list, revoke, rotate.

use serde_json::{Value, json};

use crate::keys::{KeyKind, KeyRecord, NewKey, new_key};
use crate::store::{Store, StoreError};

/// What can go wrong administering keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyAdminError {
    /// The request is not valid (names the field).
    #[error("{0}")]
    Invalid(String),
    /// No key has that id.
    #[error("no working key with id `{0}`")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn check_name(field: &str, v: &Option<String>) -> Result<(), KeyAdminError> {
    match v {
        Some(s) if s.is_empty() || s.len() > 256 || s.contains('\0') => {
            Err(KeyAdminError::Invalid(format!("`{field}`: 1 to 256 bytes")))
        }
        _ => Ok(()),
    }
}

/// Makes and stores a key: an ingest key needs `app` (and may name a team); an admin key
/// takes neither.
pub async fn create(
    store: &Store,
    kind: KeyKind,
    app: Option<String>,
    team: Option<String>,
    name: Option<String>,
    now_ms: i64,
) -> Result<NewKey, KeyAdminError> {
    check_name("app", &app)?;
    check_name("team", &team)?;
    check_name("name", &name)?;
    match kind {
        KeyKind::Ingest if app.is_none() => {
            return Err(KeyAdminError::Invalid(
                "`app`: an ingest key writes for one app; name it".into(),
            ));
        }
        KeyKind::Admin if app.is_some() || team.is_some() => {
            return Err(KeyAdminError::Invalid(
                "`app`/`team`: an admin key is not bound to an app or team".into(),
            ));
        }
        _ => {}
    }
    let key = new_key(kind, app, team, name, now_ms);
    store.insert_key(key.record.clone()).await?;
    Ok(key)
}

/// Revokes a key at once.
pub async fn revoke(store: &Store, id: &str, now_ms: i64) -> Result<(), KeyAdminError> {
    if store.end_key(id, Some(now_ms), None).await? {
        Ok(())
    } else {
        Err(KeyAdminError::NotFound(id.to_owned()))
    }
}

/// Makes a key with the same binding as `id` and lets the old one work for `grace_ms` more
/// (0: it stops now), so apps can be moved to the new one without losing events.
pub async fn rotate(store: &Store, id: &str, grace_ms: i64, now_ms: i64) -> Result<NewKey, KeyAdminError> {
    let old = store
        .key(id)
        .await?
        .filter(|k| k.active(now_ms))
        .ok_or_else(|| KeyAdminError::NotFound(id.to_owned()))?;
    if grace_ms < 0 {
        return Err(KeyAdminError::Invalid("`grace_s`: 0 or more seconds".into()));
    }
    if old.expires_ms.is_some() {
        // Rotated already: a second successor would cut the first one's grace short.
        return Err(KeyAdminError::Invalid(format!(
            "`{id}` was rotated already and is in its grace period"
        )));
    }
    let key = new_key(
        old.kind,
        old.app.clone(),
        old.team.clone(),
        old.name.clone(),
        now_ms,
    );
    store.insert_key(key.record.clone()).await?;
    store.end_key(id, None, Some(now_ms + grace_ms)).await?;
    Ok(key)
}

/// A key for listings (never its secret or hash).
pub fn describe(k: &KeyRecord, now_ms: i64) -> Value {
    json!({
        "id": k.id,
        "kind": k.kind.as_str(),
        "app": k.app,
        "team": k.team,
        "name": k.name,
        "created": modelplug_schema::Timestamp(k.created_ms.max(0) as u64).to_string(),
        "state": k.state(now_ms),
    })
}
