//! Container credentials (ECS tasks, EKS Pod Identity): a GET of
//! `http://169.254.170.2{AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}` or of
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with `Authorization` from
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (re-read every time: the agent rotates it) or
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`; the answer is
//! `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`.
//!
//! As in the AWS SDKs, a full URI must be `https`, or `http` to a loopback address or to the
//! ECS / EKS agents' link-local addresses, so that the token is never sent elsewhere in clear.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use aws_credential_types::Credentials;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};

use super::{Vars, credentials_from_json, expand_home, read_token_file, status_kind, transport};
use crate::error::{Error, Result};
use crate::redact::Secret;

/// Where ECS serves a relative URI.
const ECS_HOST: &str = "http://169.254.170.2";

/// The longest a call to the container endpoint may take.
const CONTAINER_TIMEOUT: Duration = Duration::from_secs(5);

enum Token {
    File(PathBuf),
    Value(Secret),
}

pub(super) struct Container {
    url: String,
    token: Option<Token>,
}

impl Container {
    /// From the environment, if a URI is set (the relative one wins, as in the SDKs).
    pub(super) fn from_env(vars: &Vars) -> Result<Option<Container>> {
        let url = if let Some(relative) = vars.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            let relative = relative.trim();
            let slash = if relative.starts_with('/') { "" } else { "/" };
            format!("{ECS_HOST}{slash}{relative}")
        } else if let Some(full) = vars.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            let full = full.trim();
            check_full_uri(full)?;
            full.to_owned()
        } else {
            return Ok(None);
        };
        let token = match vars.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            Some(path) => Some(Token::File(expand_home(path.trim(), vars))),
            None => vars
                .get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
                .map(|t| Token::Value(Secret::new(t.trim()))),
        };
        Ok(Some(Container { url, token }))
    }

    pub(super) fn describe(&self) -> String {
        let token = match &self.token {
            Some(Token::File(path)) => format!(" with the token file {}", path.display()),
            Some(Token::Value(_)) => " with AWS_CONTAINER_AUTHORIZATION_TOKEN".to_owned(),
            None => String::new(),
        };
        format!("container credentials at {}{token}", self.url)
    }

    /// The authorization token given in the environment, if any.
    pub(super) fn secrets(&self) -> Vec<Secret> {
        match &self.token {
            Some(Token::Value(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    pub(super) async fn fetch(&self, http: &reqwest::Client) -> Result<Credentials> {
        let what = format!("the container credentials endpoint {}", self.url);
        let token = match &self.token {
            Some(Token::File(path)) => Some(Secret::new(read_token_file(
                path,
                "the container authorization token file",
            )?)),
            Some(Token::Value(s)) => Some(s.clone()),
            None => None,
        };
        let secrets: Vec<Secret> = token.iter().cloned().collect();
        let mut request = http
            .get(&self.url)
            .header(ACCEPT, "application/json")
            .timeout(CONTAINER_TIMEOUT);
        if let Some(t) = &token {
            let mut value = HeaderValue::from_str(t.expose()).map_err(|_| {
                Error::config("the container authorization token is not a valid header value")
            })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport(e, &what).scrubbed(&secrets))?;
        let status = response.status().as_u16();
        let body = crate::http::read_error_body(response).await;
        if !(200..300).contains(&status) {
            // The agents answer errors as {"code": "…", "message": "…"}; only the code is kept.
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let code = v
                .get("code")
                .or_else(|| v.get("Code"))
                .and_then(serde_json::Value::as_str)
                .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                .map(str::to_owned);
            let shown = code.as_deref().map_or(String::new(), |c| format!(" `{c}`"));
            return Err(Error::new(
                status_kind(status),
                format!("{what} was refused: HTTP {status}{shown}"),
            )
            .with_provider_code(code));
        }
        credentials_from_json(&body, &what, "Token", "container").map_err(|e| e.scrubbed(&secrets))
    }
}

/// A full URI must be https, or http to a loopback or ECS/EKS agent address.
fn check_full_uri(full: &str) -> Result<()> {
    let url = reqwest::Url::parse(full)
        .map_err(|_| Error::config("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL"))?;
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let allowed = match url.scheme() {
        "https" => !host.is_empty(),
        "http" => match bare.parse::<IpAddr>() {
            Ok(ip) => allowed_ip(ip),
            Err(_) => bare.eq_ignore_ascii_case("localhost"),
        },
        _ => false,
    };
    if allowed {
        return Ok(());
    }
    Err(Error::config(format!(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback address, \
         169.254.170.2, 169.254.170.23 or fd00:ec2::23 (host: {})",
        url.host_str().unwrap_or("none")
    )))
}

fn allowed_ip(ip: IpAddr) -> bool {
    ip.is_loopback()
        || ip == IpAddr::from([169, 254, 170, 2])
        || ip == IpAddr::from([169, 254, 170, 23])
        || ip == IpAddr::from([0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x23])
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn container(pairs: &'static [(&'static str, &'static str)]) -> Result<Option<Container>> {
        Container::from_env(&Vars(Arc::new(move |n: &str| {
            pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| (*v).to_owned())
        })))
    }

    #[test]
    fn relative_uri_goes_to_the_ecs_agent_and_wins() {
        let c = container(&[
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/x"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.url, "http://169.254.170.2/v2/credentials/abc");
        assert!(container(&[]).unwrap().is_none());
    }

    #[test]
    fn full_uri_hosts_are_checked() {
        for ok in [
            "http://127.0.0.1:8080/creds",
            "http://localhost/creds",
            "http://[::1]/creds",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "https://creds.example.com/x",
        ] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([("AWS_CONTAINER_CREDENTIALS_FULL_URI", ok)]));
            assert!(container(pairs).unwrap().is_some(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1/creds",
            "http://example.com/creds",
            "not a url",
            "ftp://127.0.0.1/",
        ] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([("AWS_CONTAINER_CREDENTIALS_FULL_URI", bad)]));
            let e = container(pairs).err().unwrap_or_else(|| panic!("{bad} accepted"));
            assert_eq!(e.kind(), crate::error::ErrorKind::Config, "{bad}");
        }
    }
}
