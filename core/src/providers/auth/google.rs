//! [`GoogleOAuth`]: Vertex AI's bearer token from a Google credentials file, exchanged at the
//! file's `token_uri` and refreshed before it expires.
//!
//! Two kinds of file are read (Google's own formats): a **service account** key
//! (`"type": "service_account"`: a JWT signed RS256 with its private key, via `ring`, is
//! exchanged with the `urn:ietf:params:oauth:grant-type:jwt-bearer` grant) and the **user
//! credentials** `gcloud auth application-default login` writes (`"type": "authorized_user"`:
//! the `refresh_token` grant). The token is kept until [`REFRESH_BEFORE`] its expiry; one
//! refresh runs at a time, and calls arriving meanwhile wait for it and share its token.
//! Neither the key, the refresh token nor the access token ever appears in an error or in
//! `Debug` output.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::Deserialize;

use super::Auth;
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::Step;

/// A token is replaced this long before it expires (Google's tokens live an hour).
pub const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// The OAuth scope Vertex AI needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The longest a token exchange may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

enum Grant {
    ServiceAccount {
        email: String,
        key_id: Option<String>,
        key: Box<ring::signature::RsaKeyPair>,
    },
    AuthorizedUser {
        client_id: String,
        client_secret: String,
        refresh_token: String,
    },
}

struct Token {
    header: HeaderValue,
    refresh_at: Instant,
}

/// Bearer tokens for Google APIs from a credentials file.
pub struct GoogleOAuth {
    grant: Grant,
    token_uri: String,
    http: reqwest::Client,
    current: RwLock<Option<Token>>,
    /// Held while a refresh runs, so that only one does.
    refreshing: tokio::sync::Mutex<()>,
    /// Names the file in errors.
    source: String,
}

impl std::fmt::Debug for GoogleOAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.grant {
            Grant::ServiceAccount { .. } => "service_account",
            Grant::AuthorizedUser { .. } => "authorized_user",
        };
        f.debug_struct("GoogleOAuth")
            .field("kind", &kind)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct CredentialsFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    token_uri: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl GoogleOAuth {
    /// Reads a credentials file (CONFIG errors name the file and the field, never a value).
    pub fn from_file(path: &Path, http: reqwest::Client) -> Result<Arc<GoogleOAuth>> {
        let source = path.display().to_string();
        let text = std::fs::read(path)
            .map_err(|e| Error::config(format!("{source}: cannot read the Google credentials file: {e}")))?;
        Self::from_json(&text, &source, http)
    }

    /// Reads credentials from the JSON text of a credentials file; `source` names it in errors.
    pub fn from_json(text: &[u8], source: &str, http: reqwest::Client) -> Result<Arc<GoogleOAuth>> {
        let f: CredentialsFile = serde_json::from_slice(text).map_err(|e| {
            Error::config(format!(
                "{source}: not a Google credentials file (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let field = |v: Option<String>, name: &str| {
            v.filter(|s| !s.is_empty())
                .ok_or_else(|| Error::config(format!("{source}: `{name}` is missing")))
        };
        let grant = match f.kind.as_deref() {
            Some("service_account") => {
                let pem = field(f.private_key, "private_key")?;
                let der = pem_body(&pem).ok_or_else(|| {
                    Error::config(format!("{source}: `private_key` is not a PEM private key"))
                })?;
                let key = ring::signature::RsaKeyPair::from_pkcs8(&der).map_err(|_| {
                    Error::config(format!(
                        "{source}: `private_key` is not an RSA key in PKCS#8 form"
                    ))
                })?;
                Grant::ServiceAccount {
                    email: field(f.client_email, "client_email")?,
                    key_id: f.private_key_id,
                    key: Box::new(key),
                }
            }
            Some("authorized_user") => Grant::AuthorizedUser {
                client_id: field(f.client_id, "client_id")?,
                client_secret: field(f.client_secret, "client_secret")?,
                refresh_token: field(f.refresh_token, "refresh_token")?,
            },
            other => {
                return Err(Error::config(format!(
                    "{source}: `type` is {}, expected service_account or authorized_user",
                    other.map_or("missing".to_owned(), |t| format!("`{t}`"))
                )));
            }
        };
        Ok(Arc::new(GoogleOAuth {
            grant,
            token_uri: f.token_uri.unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned()),
            http,
            current: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            source: source.to_owned(),
        }))
    }

    fn valid(&self) -> Option<HeaderValue> {
        let guard = self.current.read().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .filter(|t| Instant::now() < t.refresh_at)
            .map(|t| t.header.clone())
    }

    /// A valid `Authorization` value: the cached token, or a new one.
    pub async fn authorization(&self) -> Result<HeaderValue> {
        if let Some(h) = self.valid() {
            return Ok(h);
        }
        let _one = self.refreshing.lock().await;
        if let Some(h) = self.valid() {
            return Ok(h); // another call refreshed it while this one waited
        }
        let (access_token, lifetime) = self.exchange().await?;
        let mut header = HeaderValue::from_str(&format!("Bearer {access_token}")).map_err(|_| {
            Error::new(
                ErrorKind::Authentication,
                format!(
                    "{}: the token endpoint answered a token that is not a header value",
                    self.source
                ),
            )
        })?;
        header.set_sensitive(true);
        let refresh_at = Instant::now() + lifetime.saturating_sub(REFRESH_BEFORE).max(lifetime / 2);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Token {
            header: header.clone(),
            refresh_at,
        });
        Ok(header)
    }

    /// One token exchange: the access token and how long it lives.
    async fn exchange(&self) -> Result<(String, Duration)> {
        let form: Vec<(&str, String)> = match &self.grant {
            Grant::ServiceAccount { email, key_id, key } => vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned(),
                ),
                ("assertion", self.signed_jwt(email, key_id.as_deref(), key)?),
            ],
            Grant::AuthorizedUser {
                client_id,
                client_secret,
                refresh_token,
            } => vec![
                ("grant_type", "refresh_token".to_owned()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.clone()),
                ("refresh_token", refresh_token.clone()),
            ],
        };
        let what = format!("the Google token exchange ({})", self.source);
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let response = self
            .http
            .post(&self.token_uri)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .timeout(EXCHANGE_TIMEOUT)
            .send()
            .await
            .map_err(|e| {
                let cause = crate::http::transport_error(e, "vertex");
                Error::new(cause.kind(), format!("{what} failed: {}", cause.message()))
            })?;
        let status = response.status().as_u16();
        let body = crate::http::read_error_body(response).await;
        if !(200..300).contains(&status) {
            // OAuth errors: {"error": "invalid_grant", "error_description": "…"}.
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let code = v
                .get("error")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("unknown");
            let kind = match status {
                400..=499 if status != 408 && status != 429 => ErrorKind::Authentication,
                429 => ErrorKind::RateLimited,
                _ => ErrorKind::ProviderUnavailable,
            };
            return Err(
                Error::new(kind, format!("{what} was refused: HTTP {status} `{code}`"))
                    .with_provider_code(Some(code.to_owned())),
            );
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
            Error::new(
                ErrorKind::Authentication,
                format!("{what} answered without an access token"),
            )
        })?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600).max(1));
        Ok((answer.access_token, lifetime))
    }

    fn signed_jwt(
        &self,
        email: &str,
        key_id: Option<&str>,
        key: &ring::signature::RsaKeyPair,
    ) -> Result<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = key_id {
            header["kid"] = kid.into();
        }
        let claims = serde_json::json!({
            "iss": email,
            "scope": CLOUD_PLATFORM_SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signing_input.as_bytes(),
            &mut signature,
        )
        .map_err(|_| Error::internal("cannot sign the service account's token request"))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// The DER bytes of a PEM `PRIVATE KEY` block.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN PRIVATE KEY-----")? + "-----BEGIN PRIVATE KEY-----".len();
    let end = start + pem[start..].find("-----END PRIVATE KEY-----")?;
    let b64: String = pem[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).ok()
}

impl Auth for Arc<GoogleOAuth> {
    fn apply<'a>(&'a self, request: &'a mut reqwest::Request) -> Step<'a, ()> {
        if let Some(h) = self.valid() {
            request.headers_mut().insert(AUTHORIZATION, h);
            return Step::Ready(Ok(()));
        }
        Step::Pending(Box::pin(async move {
            let h = self.authorization().await?;
            request.headers_mut().insert(AUTHORIZATION, h);
            Ok(())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http() -> reqwest::Client {
        crate::http::build_client().unwrap()
    }

    #[test]
    fn bad_files_name_the_field_and_never_a_value() {
        let cases: &[(&str, &str)] = &[
            ("{", "not a Google credentials file"),
            (
                r#"{"type":"external_account"}"#,
                "expected service_account or authorized_user",
            ),
            (
                r#"{"type":"service_account","client_email":"a@b"}"#,
                "`private_key` is missing",
            ),
            (
                r#"{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n"}"#,
                "not an RSA key",
            ),
            (
                r#"{"type":"authorized_user","client_id":"c","client_secret":"s3cr3t"}"#,
                "`refresh_token` is missing",
            ),
        ];
        for (text, want) in cases {
            let e = GoogleOAuth::from_json(text.as_bytes(), "creds.json", http()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.message().contains(want), "{e}");
            assert!(e.message().starts_with("creds.json: "), "{e}");
            assert!(
                !e.message().contains("s3cr3t") && !e.message().contains("c2VjcmV0"),
                "{e}"
            );
        }
    }
}
