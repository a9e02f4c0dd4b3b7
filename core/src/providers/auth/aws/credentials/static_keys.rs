//! Static keys: from the deployment's config, from `AWS_ACCESS_KEY_ID` +
//! `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), or from a profile's `aws_access_key_id` +
//! `aws_secret_access_key` (+ `aws_session_token`). They never expire as far as the chain
//! knows, so they are never refreshed.

use aws_credential_types::Credentials;

use super::{AwsCredentialsConfig, Vars};
use crate::error::{Error, Result};
use crate::redact::Secret;

/// The names of the three values where they were read, for errors.
pub(super) struct Names<'a> {
    pub(super) place: &'a str,
    pub(super) access_key_id: &'a str,
    pub(super) secret_access_key: &'a str,
    pub(super) session_token: &'a str,
}

/// Keys from the deployment's config, if it gives any.
pub(super) fn from_config(config: &AwsCredentialsConfig) -> Result<Option<Credentials>> {
    let value = |s: &Option<Secret>| {
        s.as_ref()
            .map(|s| s.expose().trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    build(
        value(&config.access_key_id),
        value(&config.secret_access_key),
        value(&config.session_token),
        "modelplug-config",
        &Names {
            place: "the deployment",
            access_key_id: "aws_access_key_id",
            secret_access_key: "aws_secret_access_key",
            session_token: "aws_session_token",
        },
    )
}

/// Keys from the environment, if it has any.
pub(super) fn from_env(vars: &Vars) -> Result<Option<Credentials>> {
    let value = |name: &str| vars.get(name).map(|v| v.trim().to_owned());
    build(
        value("AWS_ACCESS_KEY_ID"),
        value("AWS_SECRET_ACCESS_KEY"),
        value("AWS_SESSION_TOKEN"),
        "environment",
        &Names {
            place: "the environment",
            access_key_id: "AWS_ACCESS_KEY_ID",
            secret_access_key: "AWS_SECRET_ACCESS_KEY",
            session_token: "AWS_SESSION_TOKEN",
        },
    )
}

/// Credentials from the three values: none when none is given, a CONFIG error when one of
/// the pair is missing (naming it, never a value).
pub(super) fn build(
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    provider: &'static str,
    names: &Names<'_>,
) -> Result<Option<Credentials>> {
    let Names {
        place,
        access_key_id: akid_name,
        secret_access_key: secret_name,
        session_token: token_name,
    } = names;
    match (access_key_id, secret_access_key) {
        (Some(akid), Some(secret)) => Ok(Some(Credentials::new(
            akid,
            secret,
            session_token,
            None,
            provider,
        ))),
        (Some(_), None) => Err(Error::config(format!(
            "{place} sets `{akid_name}` without `{secret_name}`"
        ))),
        (None, Some(_)) => Err(Error::config(format!(
            "{place} sets `{secret_name}` without `{akid_name}`"
        ))),
        (None, None) if session_token.is_some() => Err(Error::config(format!(
            "{place} sets `{token_name}` without `{akid_name}` and `{secret_name}`"
        ))),
        (None, None) => Ok(None),
    }
}

/// The secret parts of `credentials` (the secret key and the session token).
pub(super) fn secrets_of(credentials: &Credentials) -> Vec<Secret> {
    let mut out = vec![Secret::new(credentials.secret_access_key())];
    if let Some(t) = credentials.session_token() {
        out.push(Secret::new(t));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn half_a_pair_is_a_config_error_naming_the_missing_one() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            Vars(Arc::new(move |n: &str| {
                pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| (*v).to_owned())
            }))
        };
        let e = from_env(&env(&[("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("without `AWS_SECRET_ACCESS_KEY`"), "{e}");
        assert!(!e.message().contains("AKIAIOSFODNN7EXAMPLE"), "{e}");
        let e = from_env(&env(&[("AWS_SESSION_TOKEN", "tok-secret")])).unwrap_err();
        assert!(!e.message().contains("tok-secret"), "{e}");
        assert!(from_env(&env(&[("AWS_ACCESS_KEY_ID", " ")])).unwrap().is_none());
        let c = from_env(&env(&[
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "s\n"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            (c.access_key_id(), c.secret_access_key(), c.session_token()),
            ("a", "s", None)
        );
    }
}
