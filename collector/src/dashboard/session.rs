//! Dashboard sessions: an admin key, typed once at `/login`, becomes a signed session cookie
//! (`mp_session`, HttpOnly, SameSite=Lax), so the browser never holds the key itself. `Lax`,
//! not `Strict`: a dashboard link opened from chat or mail arrives signed in; no action rides
//! on that, since every action needs the CSRF token and a same-origin request.
//!
//! The cookie is stateless — `v1.<key id>.<issued ms>.<nonce>.<mac>`, an HMAC-SHA256 over the
//! rest — so any replica on the same database accepts it: the MAC key is derived from the
//! policy signing seed every replica already shares. Each use also checks that the key it
//! names is still an active admin key, so revoking the key ends its sessions (within the key
//! cache's few seconds). Actions made with the cookie need a CSRF token derived from the
//! session ([`SessionKeys::csrf_token`]), sent in the `x-csrf-token` header: a cross-site page
//! can neither read it nor set that header.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The cookie's name.
pub const COOKIE: &str = "mp_session";
/// How long a session lasts from its login (absolute; log in again after).
pub const LIFETIME_MS: i64 = 12 * 3_600_000;
/// The header an action made with the cookie carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

const VERSION: &str = "v1";

/// A valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The admin key it was opened with.
    pub key_id: String,
    /// When it was opened (ms since the epoch).
    pub issued_ms: i64,
    /// The cookie's value, as sent.
    token: String,
}

impl Session {
    /// When it ends (ms since the epoch).
    pub fn expires_ms(&self) -> i64 {
        self.issued_ms + LIFETIME_MS
    }
}

/// The MAC key sessions are signed with, and the sessions logged out on this replica.
pub struct SessionKeys {
    mac_key: [u8; 32],
    /// Logged-out tokens until they would have expired (this replica only: a cookie is
    /// also cleared in the browser that logs out).
    ended: Mutex<HashMap<String, i64>>,
}

impl SessionKeys {
    /// Keys derived from the policy signing seed (domain-separated: a session MAC can never
    /// be taken for anything signed with the seed itself).
    pub fn from_seed(seed: &[u8]) -> SessionKeys {
        let mut h = Sha256::new();
        h.update(b"modelplug dashboard session mac key v1\0");
        h.update(seed);
        SessionKeys {
            mac_key: h.finalize().into(),
            ended: Mutex::default(),
        }
    }

    fn mac(&self, purpose: &str, text: &str) -> String {
        let mut m =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.mac_key).expect("HMAC takes any key length");
        m.update(purpose.as_bytes());
        m.update(b"\0");
        m.update(text.as_bytes());
        URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
    }

    /// A new session's cookie value for admin key `key_id`.
    pub fn issue(&self, key_id: &str, now_ms: i64) -> Result<String, getrandom::Error> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce)?;
        let body = format!("{VERSION}.{key_id}.{now_ms}.{}", URL_SAFE_NO_PAD.encode(nonce));
        let mac = self.mac("session", &body);
        Ok(format!("{body}.{mac}"))
    }

    /// The session a cookie value stands for, if its MAC holds and it has not expired nor
    /// been logged out.
    pub fn verify(&self, token: &str, now_ms: i64) -> Option<Session> {
        let (body, mac) = token.rsplit_once('.')?;
        let expected = self.mac("session", body);
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        let mut parts = body.split('.');
        let (v, key_id, issued, _nonce) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if v != VERSION || parts.next().is_some() {
            return None;
        }
        let issued_ms: i64 = issued.parse().ok()?;
        let session = Session {
            key_id: key_id.to_owned(),
            issued_ms,
            token: token.to_owned(),
        };
        // A little slack for a clock a replica is behind by.
        if now_ms >= session.expires_ms() || issued_ms > now_ms + 60_000 {
            return None;
        }
        let ended = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        (!ended.contains_key(token)).then_some(session)
    }

    /// The CSRF token of a session (the page reads it from `/ui/session`).
    pub fn csrf_token(&self, s: &Session) -> String {
        self.mac("csrf", &s.token)
    }

    /// Whether `sent` is the session's CSRF token.
    pub fn csrf_matches(&self, s: &Session, sent: &str) -> bool {
        bool::from(self.csrf_token(s).as_bytes().ct_eq(sent.as_bytes()))
    }

    /// Logs a session out on this replica.
    pub fn end(&self, s: &Session, now_ms: i64) {
        let mut ended = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        ended.retain(|_, expires| *expires > now_ms);
        ended.insert(s.token.clone(), s.expires_ms());
    }

    /// The session a request's cookie names, if valid.
    pub fn from_headers(&self, headers: &HeaderMap, now_ms: i64) -> Option<Session> {
        cookie_value(headers, COOKIE).and_then(|t| self.verify(&t, now_ms))
    }
}

/// One cookie's value from the `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

/// The `Set-Cookie` value opening a session (`secure` over HTTPS).
pub fn set_cookie(token: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        LIFETIME_MS / 1000,
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value ending a session in the browser.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_verifies_until_it_expires_or_ends() {
        let k = SessionKeys::from_seed(&[1; 32]);
        let t = k.issue("key1", 1_000).unwrap();
        let s = k.verify(&t, 2_000).unwrap();
        assert_eq!(s.key_id, "key1");
        assert_eq!(s.expires_ms(), 1_000 + LIFETIME_MS);
        assert!(k.verify(&t, 1_000 + LIFETIME_MS).is_none());
        k.end(&s, 3_000);
        assert!(k.verify(&t, 3_000).is_none());
    }

    #[test]
    fn tampered_or_foreign_tokens_are_refused() {
        let k = SessionKeys::from_seed(&[1; 32]);
        let t = k.issue("key1", 1_000).unwrap();
        let forged = t.replacen("key1", "key2", 1);
        assert!(k.verify(&forged, 2_000).is_none());
        let other = SessionKeys::from_seed(&[2; 32]);
        assert!(other.verify(&t, 2_000).is_none());
        for junk in ["", ".", "v1.a.b.c.d", "v1.key1.x.n.mac", "a.b"] {
            assert!(k.verify(junk, 2_000).is_none(), "{junk}");
        }
    }

    #[test]
    fn the_csrf_token_belongs_to_one_session() {
        let k = SessionKeys::from_seed(&[1; 32]);
        let a = k.verify(&k.issue("key1", 1_000).unwrap(), 1_000).unwrap();
        let b = k.verify(&k.issue("key1", 1_000).unwrap(), 1_000).unwrap();
        let token = k.csrf_token(&a);
        assert!(k.csrf_matches(&a, &token));
        assert!(!k.csrf_matches(&b, &token));
        assert!(!k.csrf_matches(&a, ""));
    }

    #[test]
    fn cookies_are_read_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; mp_session=abc.def".parse().unwrap());
        assert_eq!(cookie_value(&h, COOKIE).as_deref(), Some("abc.def"));
        assert_eq!(cookie_value(&h, "b"), None);
        let c = set_cookie("t", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("; Secure"));
    }
}
