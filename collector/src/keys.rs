//! Ingest and admin keys: made here, shown once, stored as a SHA-256 of their secret and
//! compared in constant time.
//!
//! A key reads `mpk_<id>_<secret>`: the id (16 hex digits) finds the record, the secret (32
//! random bytes, base64url) proves it. Keys are long random strings, not passwords, so one
//! SHA-256 is the right hash (a slow password hash would only slow every request).

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Everything: reports, keys, and (later) policy.
    Admin,
    /// Send events for its app only (and, with central policy, read its app's policy).
    Ingest,
}

impl KeyKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Admin => "admin",
            KeyKind::Ingest => "ingest",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<KeyKind> {
        match s {
            "admin" => Some(KeyKind::Admin),
            "ingest" => Some(KeyKind::Ingest),
            _ => None,
        }
    }
}

/// A stored key (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The public id.
    pub id: String,
    /// What it may do.
    pub kind: KeyKind,
    /// The app an ingest key writes for.
    pub app: Option<String>,
    /// The team an ingest key is bound to, if any.
    pub team: Option<String>,
    /// A note for people.
    pub name: Option<String>,
    /// SHA-256 of the secret.
    pub secret_sha256: Vec<u8>,
    /// When it was made (ms since the epoch).
    pub created_ms: i64,
    /// When it stops working (set when rotated with a grace period).
    pub expires_ms: Option<i64>,
    /// When it was revoked.
    pub revoked_ms: Option<i64>,
}

impl KeyRecord {
    /// Whether the key works at `now_ms`.
    pub fn active(&self, now_ms: i64) -> bool {
        self.revoked_ms.is_none() && self.expires_ms.is_none_or(|e| now_ms < e)
    }

    /// `active`, `revoked` or `expires <time>`/`expired`, for listings.
    pub fn state(&self, now_ms: i64) -> String {
        match (self.revoked_ms, self.expires_ms) {
            (Some(_), _) => "revoked".into(),
            (None, Some(e)) if now_ms >= e => "expired".into(),
            (None, Some(e)) => format!("expires {}", modelplug_schema::Timestamp(e.max(0) as u64)),
            (None, None) => "active".into(),
        }
    }
}

/// A key as just made: the token (shown once) and the record to store.
#[derive(Debug)]
pub struct NewKey {
    /// `mpk_<id>_<secret>`: give it to the app or the administrator; it is not stored.
    pub token: String,
    /// What is stored.
    pub record: KeyRecord,
}

/// Makes a key.
pub fn new_key(
    kind: KeyKind,
    app: Option<String>,
    team: Option<String>,
    name: Option<String>,
    now_ms: i64,
) -> NewKey {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut id).expect("the operating system's random source");
    getrandom::fill(&mut secret).expect("the operating system's random source");
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    NewKey {
        token: format!("mpk_{id}_{secret}"),
        record: KeyRecord {
            id,
            kind,
            app,
            team,
            name,
            secret_sha256: Sha256::digest(secret.as_bytes()).to_vec(),
            created_ms: now_ms,
            expires_ms: None,
            revoked_ms: None,
        },
    }
}

/// Splits a token into its id and secret; `None` when it is not shaped like a key.
pub fn parse_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix("mpk_")?;
    let (id, secret) = (rest.get(..16)?, rest.get(17..)?);
    (rest.as_bytes().get(16) == Some(&b'_')
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && !secret.is_empty()
        && secret.len() <= 64)
        .then_some((id, secret))
}

/// Whether `secret` is the one `record` was made with, in constant time.
pub fn secret_matches(record: &KeyRecord, secret: &str) -> bool {
    let digest = Sha256::digest(secret.as_bytes());
    digest.as_slice().ct_eq(&record.secret_sha256).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_verifies_and_a_changed_one_does_not() {
        let k = new_key(KeyKind::Ingest, Some("a".into()), None, None, 0);
        let (id, secret) = parse_token(&k.token).unwrap();
        assert_eq!(id, k.record.id);
        assert!(secret_matches(&k.record, secret));
        let mut wrong = secret.to_owned();
        wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
        assert!(!secret_matches(&k.record, &wrong));
        assert!(parse_token("Bearer x").is_none());
        assert!(parse_token("mpk_zzzzzzzzzzzzzzzz_abc").is_none());
    }

    #[test]
    fn rotation_expiry_and_revocation_end_a_key() {
        let mut k = new_key(KeyKind::Admin, None, None, None, 0).record;
        assert!(k.active(10));
        k.expires_ms = Some(5);
        assert!(!k.active(10) && k.active(4));
        k.revoked_ms = Some(1);
        assert!(!k.active(4));
        assert_eq!(k.state(4), "revoked");
    }
}
