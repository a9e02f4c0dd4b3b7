//! EC2 instance metadata, IMDSv2 — the chain's fallback when nothing else is configured:
//! `PUT /latest/api/token` (`x-aws-ec2-metadata-token-ttl-seconds: 21600`), then, with
//! `x-aws-ec2-metadata-token`, `GET /latest/meta-data/iam/security-credentials/` (the role's
//! name) and `GET …/{role}` (`{"Code": "Success", "AccessKeyId", "SecretAccessKey", "Token",
//! "Expiration"}`). Every call has a one-second deadline, so that a machine that is not an EC2
//! instance fails fast; its errors say which sources were tried and how to configure one.

use std::time::Duration;

use aws_credential_types::Credentials;
use reqwest::header::HeaderValue;

use super::{HOW_TO_CONFIGURE, Vars, credentials_from_json, status_kind, transport};
use crate::error::{Error, ErrorKind, Result};
use crate::redact::Secret;

const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
const DEFAULT_ENDPOINT_IPV6: &str = "http://[fd00:ec2::254]";

/// The deadline of each metadata call (connect and answer).
const IMDS_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a session token is asked for (the SDKs' value).
const TOKEN_TTL_SECONDS: &str = "21600";

const ROLES_PATH: &str = "/latest/meta-data/iam/security-credentials/";

pub(super) struct Imds {
    endpoint: String,
    /// The sources tried before this one, for the error message.
    tried: String,
}

impl Imds {
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else the IPv4 address (or the IPv6 one with
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`).
    pub(super) fn from_env(vars: &Vars, tried: String) -> Result<Imds> {
        let endpoint = match vars.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
            Some(url) => {
                let url = url.trim().trim_end_matches('/');
                reqwest::Url::parse(url)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| {
                        Error::config("AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http(s) URL")
                    })?;
                url.to_owned()
            }
            None if vars
                .get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("ipv6")) =>
            {
                DEFAULT_ENDPOINT_IPV6.to_owned()
            }
            None => DEFAULT_ENDPOINT.to_owned(),
        };
        Ok(Imds { endpoint, tried })
    }

    pub(super) fn describe(&self) -> String {
        format!("EC2 instance metadata at {}", self.endpoint)
    }

    /// An error of `kind` that says what failed, what was tried before, and how to configure.
    fn error(&self, kind: ErrorKind, what: &str) -> Error {
        Error::new(
            kind,
            format!(
                "could not get AWS credentials (tried: {}; then EC2 instance metadata at {}: {what}). {HOW_TO_CONFIGURE}",
                self.tried, self.endpoint
            ),
        )
    }

    pub(super) async fn fetch(&self, http: &reqwest::Client) -> Result<Credentials> {
        // 1. A session token. No answer here means this is not an EC2 instance.
        let response = http
            .put(format!("{}/latest/api/token", self.endpoint))
            .header("x-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS)
            .timeout(IMDS_TIMEOUT)
            .send()
            .await
            .map_err(|e| {
                let cause = transport(e, "the session token request");
                self.error(ErrorKind::Authentication, cause.message())
            })?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let kind = if status >= 500 {
                ErrorKind::ProviderUnavailable
            } else {
                ErrorKind::Authentication
            };
            return Err(self.error(
                kind,
                &format!("the session token request was refused: HTTP {status}"),
            ));
        }
        let token = response.text().await.map_err(|e| {
            self.error(
                ErrorKind::Authentication,
                transport(e, "reading the session token").message(),
            )
        })?;
        let token = Secret::new(token.trim());
        let secrets = [token.clone()];
        let mut token_header = HeaderValue::from_str(token.expose())
            .ok()
            .filter(|_| !token.is_empty())
            .ok_or_else(|| {
                self.error(
                    ErrorKind::Authentication,
                    "the session token is not a header value",
                )
            })?;
        token_header.set_sensitive(true);

        // 2. The role's name, then 3. its credentials.
        let roles = self
            .get(
                http,
                ROLES_PATH,
                &token_header,
                &secrets,
                "the request for the instance's IAM role",
            )
            .await?;
        let role = String::from_utf8_lossy(&roles)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| self.error(ErrorKind::Authentication, "the instance has no IAM role attached"))?;
        if !role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        {
            return Err(self.error(
                ErrorKind::Authentication,
                "the role name answered is not an IAM role name",
            ));
        }
        let step = "the request for the role's credentials";
        let body = self
            .get(
                http,
                &format!("{ROLES_PATH}{role}"),
                &token_header,
                &secrets,
                step,
            )
            .await?;
        let what = format!("{step} (role {role})");
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
            && let Some(code) = v.get("Code").and_then(serde_json::Value::as_str)
            && code != "Success"
        {
            let code: String = code
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .take(64)
                .collect();
            return Err(self
                .error(
                    ErrorKind::Authentication,
                    &format!("{what} answered `Code` `{code}`"),
                )
                .with_provider_code(Some(code)));
        }
        credentials_from_json(&body, &what, "Token", "imds")
            .map_err(|e| self.error(e.kind(), e.message()).scrubbed(&secrets))
    }

    /// One metadata GET with the session token: the body of a 2xx answer.
    async fn get(
        &self,
        http: &reqwest::Client,
        path: &str,
        token: &HeaderValue,
        secrets: &[Secret],
        step: &str,
    ) -> Result<Vec<u8>> {
        let response = http
            .get(format!("{}{path}", self.endpoint))
            .header("x-aws-ec2-metadata-token", token.clone())
            .timeout(IMDS_TIMEOUT)
            .send()
            .await
            .map_err(|e| {
                let cause = transport(e, step).scrubbed(secrets);
                self.error(cause.kind(), cause.message())
            })?;
        let status = response.status().as_u16();
        let body = crate::http::read_error_body(response).await;
        match status {
            200..=299 => Ok(body),
            404 => Err(self.error(
                ErrorKind::Authentication,
                &format!("{step}: HTTP 404 (the instance has no IAM role attached)"),
            )),
            _ => Err(self.error(status_kind(status), &format!("{step} was refused: HTTP {status}"))),
        }
    }
}
