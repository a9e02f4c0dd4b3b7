//! The AWS credential chain: where one deployment's AWS credentials come from, resolved once
//! when the deployment is built and then cached and refreshed for every request.
//!
//! The sources, in the order the AWS SDKs use (the first one that is *configured* wins):
//!
//! 1. keys in the deployment's own config ([`AwsCredentialsConfig`]);
//! 2. the environment: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`)
//!    (`static_keys.rs`);
//! 3. a profile of the shared files `~/.aws/credentials` and `~/.aws/config` (`profile.rs`):
//!    static keys, a `credential_process` (`process.rs`) or a web identity role;
//! 4. web identity (EKS IRSA): `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, exchanged at
//!    STS `AssumeRoleWithWebIdentity` (`web_identity.rs`);
//! 5. container credentials (ECS, EKS Pod Identity) (`container.rs`);
//! 6. otherwise EC2 instance metadata, IMDSv2 (`imds.rs`), unless `AWS_EC2_METADATA_DISABLED`.
//!
//! Credentials that expire are kept until [`REFRESH_BEFORE`] their expiry; one refresh runs
//! at a time and calls arriving meanwhile wait for it and share its result. If a refresh fails
//! while the old credentials have not yet expired, those are used (and the next call tries
//! again). No secret key, session token or token (web identity, container, IMDS) ever appears
//! in an error or in `Debug` output.

mod container;
mod imds;
mod process;
mod profile;
mod static_keys;
mod web_identity;

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;

use crate::error::{Error, ErrorKind, Result};
use crate::redact::Secret;

/// Credentials are replaced this long before they expire — or, when they come with less
/// than twice this left, half their remaining life before (so credentials a source hands out
/// late in their life are not fetched again on every request).
pub const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// After a failed refresh, credentials that have not expired are used this long before the
/// next try (so a failing source is not asked again on every request).
const RETRY_FAILED_REFRESH_AFTER: Duration = Duration::from_secs(10);

/// Reads an environment variable (the process environment, or an injected one in tests).
pub type EnvFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Settings for one deployment's credentials (from its config); all optional.
#[derive(Clone, Default)]
pub struct AwsCredentialsConfig {
    /// The access key id (with `secret_access_key`).
    pub access_key_id: Option<Secret>,
    /// The secret access key (with `access_key_id`).
    pub secret_access_key: Option<Secret>,
    /// The session token of temporary keys.
    pub session_token: Option<Secret>,
    /// A named profile in the shared config files (else `AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
}

impl fmt::Debug for AwsCredentialsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |s: &Option<Secret>| if s.is_some() { "***" } else { "unset" };
        f.debug_struct("AwsCredentialsConfig")
            .field("access_key_id", &set(&self.access_key_id))
            .field("secret_access_key", &set(&self.secret_access_key))
            .field("session_token", &set(&self.session_token))
            .field("profile", &self.profile)
            .finish()
    }
}

/// The environment, with empty values read as unset.
#[derive(Clone)]
struct Vars(EnvFn);

impl Vars {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }
}

/// Where the credentials come from.
enum Source {
    /// Keys that never change (config, environment, a profile's keys).
    Static {
        credentials: Credentials,
        origin: String,
    },
    Process(process::CredentialProcess),
    WebIdentity(web_identity::WebIdentity),
    Container(container::Container),
    Imds(imds::Imds),
    /// Nothing configured and instance metadata disabled: every call fails with `why`.
    Nothing {
        why: String,
    },
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Static { origin, .. } => origin.clone(),
            Source::Process(p) => p.describe(),
            Source::WebIdentity(w) => w.describe(),
            Source::Container(c) => c.describe(),
            Source::Imds(i) => i.describe(),
            Source::Nothing { .. } => "none".to_owned(),
        }
    }
}

/// Where credentials come from, resolved once per deployment and cached.
pub struct CredentialChain {
    source: Source,
    http: reqwest::Client,
    current: RwLock<Option<Credentials>>,
    /// When the current credentials are due for a refresh (see [`refresh_point`]).
    refresh_at: RwLock<Option<SystemTime>>,
    /// Held while a refresh runs, so that only one does.
    refreshing: tokio::sync::Mutex<()>,
    /// When the last refresh failed, and how.
    last_failure: RwLock<Option<(Instant, Error)>>,
    profile: String,
    profile_region: Option<String>,
    /// Secret values read from config, environment and files.
    secrets: Vec<Secret>,
}

impl fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialChain")
            .field("source", &self.source.describe())
            .field("profile", &self.profile)
            .field("profile_region", &self.profile_region)
            .finish_non_exhaustive()
    }
}

impl CredentialChain {
    /// With the process environment.
    pub fn new(config: &AwsCredentialsConfig, http: reqwest::Client) -> Result<CredentialChain> {
        Self::with_env(config, http, Arc::new(|name: &str| std::env::var(name).ok()))
    }

    /// With an injected environment (tests): `env` replaces `std::env::var` for every
    /// variable, `HOME` included. Fails (CONFIG) only for definite mistakes: an access key
    /// without its secret, a named profile that does not exist, a profile file named by
    /// `AWS_SHARED_CREDENTIALS_FILE`/`AWS_CONFIG_FILE` that cannot be read, a profile this
    /// chain cannot use (SSO, `source_profile`), a container URI that is not allowed.
    pub fn with_env(
        config: &AwsCredentialsConfig,
        http: reqwest::Client,
        env: EnvFn,
    ) -> Result<CredentialChain> {
        let vars = Vars(env);
        let mut secrets: Vec<Secret> = Vec::new();
        let mut tried: Vec<String> = Vec::new();

        let (profile_name, named_by) = match (&config.profile, vars.get("AWS_PROFILE")) {
            (Some(p), _) if !p.trim().is_empty() => {
                (p.trim().to_owned(), Some("the deployment's `aws_profile`"))
            }
            (_, Some(p)) => (p.trim().to_owned(), Some("AWS_PROFILE")),
            _ => ("default".to_owned(), None),
        };
        let files = profile::ProfileFiles::load(&vars);
        // A profile named in the deployment must exist, whatever the credentials come from.
        if config.profile.as_deref().is_some_and(|p| !p.trim().is_empty()) {
            let files = files.as_ref().map_err(Clone::clone)?;
            files.require(&profile_name, "the deployment's `aws_profile`")?;
        }
        let profile_region = files
            .as_ref()
            .ok()
            .and_then(|f| f.get(&profile_name, "region"))
            .map(str::to_owned);
        let chain = |source: Source, secrets: Vec<Secret>| CredentialChain {
            current: RwLock::new(match &source {
                Source::Static { credentials, .. } => Some(credentials.clone()),
                _ => None,
            }),
            refresh_at: RwLock::new(None),
            source,
            http: http.clone(),
            refreshing: tokio::sync::Mutex::new(()),
            last_failure: RwLock::new(None),
            profile: profile_name.clone(),
            profile_region: profile_region.clone(),
            secrets,
        };

        // 1. The deployment's own keys.
        if let Some(credentials) = static_keys::from_config(config)? {
            secrets.extend(static_keys::secrets_of(&credentials));
            let origin = "the deployment's aws_access_key_id/aws_secret_access_key".to_owned();
            return Ok(chain(Source::Static { credentials, origin }, secrets));
        }
        tried.push("no aws_access_key_id/aws_secret_access_key in the deployment".to_owned());

        // 2. The environment's keys — unless the deployment names a profile: then that
        // profile is what it asked for (as botocore does with an explicit profile).
        let named_profile = config.profile.as_deref().is_some_and(|p| !p.trim().is_empty());
        if named_profile {
            tried.push("the environment's keys skipped: the deployment names a profile".to_owned());
        } else if let Some(credentials) = static_keys::from_env(&vars)? {
            secrets.extend(static_keys::secrets_of(&credentials));
            let origin = "the environment (AWS_ACCESS_KEY_ID)".to_owned();
            return Ok(chain(Source::Static { credentials, origin }, secrets));
        } else {
            tried.push("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set".to_owned());
        }

        // 3. A profile of the shared files.
        let files = files?;
        if let Some(by) = named_by {
            files.require(&profile_name, by)?;
        }
        match files.credentials(&profile_name, &vars)? {
            profile::ProfileCredentials::Static(credentials) => {
                secrets.extend(static_keys::secrets_of(&credentials));
                let origin = format!("the keys of profile `{profile_name}`");
                return Ok(chain(Source::Static { credentials, origin }, secrets));
            }
            profile::ProfileCredentials::Process(p) => return Ok(chain(Source::Process(p), secrets)),
            profile::ProfileCredentials::WebIdentity(w) => {
                return Ok(chain(Source::WebIdentity(w), secrets));
            }
            profile::ProfileCredentials::None => {
                let state = if files.has(&profile_name) {
                    "has no credentials"
                } else {
                    "not found"
                };
                tried.push(format!(
                    "profile `{profile_name}` {state} ({})",
                    files.describe_paths("and")
                ));
            }
        }

        // 4. Web identity from the environment.
        if let Some(w) = web_identity::WebIdentity::from_env(&vars, profile_region.as_deref())? {
            return Ok(chain(Source::WebIdentity(w), secrets));
        }
        tried.push("AWS_WEB_IDENTITY_TOKEN_FILE not set".to_owned());

        // 5. Container credentials.
        if let Some(c) = container::Container::from_env(&vars)? {
            secrets.extend(c.secrets());
            return Ok(chain(Source::Container(c), secrets));
        }
        tried.push("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI not set".to_owned());

        // 6. Instance metadata, the fallback.
        let tried = tried.join(", ");
        if vars
            .get("AWS_EC2_METADATA_DISABLED")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        {
            let why = format!(
                "no AWS credentials found (tried: {tried}; EC2 instance metadata is disabled by \
                 AWS_EC2_METADATA_DISABLED). {HOW_TO_CONFIGURE}"
            );
            return Ok(chain(Source::Nothing { why }, secrets));
        }
        let imds = imds::Imds::from_env(&vars, tried)?;
        Ok(chain(Source::Imds(imds), secrets))
    }

    /// The region from the profile's `region` (for deployments that give none), if any.
    pub fn profile_region(&self) -> Option<String> {
        self.profile_region.clone()
    }

    /// Every secret value this chain read from config, environment and files, and those of
    /// the credentials it holds now — for [`Error::scrubbed`] on errors that may echo one.
    pub fn secrets(&self) -> Vec<Secret> {
        let mut out = self.secrets.clone();
        if let Some(c) = self.current.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            out.extend(static_keys::secrets_of(c));
        }
        out.sort_by(|a, b| a.expose().cmp(b.expose()));
        out.dedup();
        out
    }

    /// The cached credentials when they are still good for a request (no refresh due), without
    /// waiting: the fast path before [`CredentialChain::credentials`].
    pub fn cached(&self) -> Option<Credentials> {
        let guard = self.current.read().unwrap_or_else(|e| e.into_inner());
        let c = guard.as_ref()?;
        let Some(expiry) = c.expiry() else {
            return Some(c.clone());
        };
        let due = self
            .refresh_at
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_else(|| expiry.checked_sub(REFRESH_BEFORE).unwrap_or(expiry));
        (SystemTime::now() < due).then(|| c.clone())
    }

    /// Credentials for the next request: cached, refreshed [`REFRESH_BEFORE`] they expire, one
    /// refresh at a time (concurrent callers wait for the same refresh).
    pub async fn credentials(&self) -> Result<Credentials> {
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        let arrived = Instant::now();
        let _one = self.refreshing.lock().await;
        if let Some(c) = self.cached() {
            return Ok(c); // another call refreshed them while this one waited
        }
        // A refresh that failed while this call waited for it fails this call too (a machine
        // without instance metadata must not make each waiting call try again in turn).
        let shared = self
            .last_failure
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|(at, _)| *at >= arrived)
            .map(|(_, e)| e.clone());
        let failed_lately = self
            .last_failure
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < RETRY_FAILED_REFRESH_AFTER);
        if failed_lately && let Some(c) = self.still_valid() {
            return Ok(c);
        }
        let e = match shared {
            Some(e) => e,
            None => match self.fetch().await {
                Ok(c) => {
                    *self.refresh_at.write().unwrap_or_else(|e| e.into_inner()) = refresh_point(&c);
                    *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(c.clone());
                    return Ok(c);
                }
                Err(e) => {
                    let e = e.scrubbed(&self.secrets());
                    *self.last_failure.write().unwrap_or_else(|e| e.into_inner()) =
                        Some((Instant::now(), e.clone()));
                    if self.still_valid().is_some() {
                        tracing::warn!(target: "modelplug::aws", "refreshing the AWS credentials failed; the current ones are used until they expire: {e}");
                    }
                    e
                }
            },
        };
        // Credentials in their last minutes are still good: use them, retry next time.
        self.still_valid().ok_or(e)
    }

    /// The cached credentials if they have not expired (even when a refresh is due).
    fn still_valid(&self) -> Option<Credentials> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|c| c.expiry().is_none_or(|t| SystemTime::now() < t))
            .cloned()
    }

    async fn fetch(&self) -> Result<Credentials> {
        match &self.source {
            Source::Static { credentials, .. } => Ok(credentials.clone()),
            Source::Process(p) => p.fetch().await,
            Source::WebIdentity(w) => w.fetch(&self.http).await,
            Source::Container(c) => c.fetch(&self.http).await,
            Source::Imds(i) => i.fetch(&self.http).await,
            Source::Nothing { why } => Err(Error::new(ErrorKind::Authentication, why.clone())),
        }
    }
}

/// When fresh credentials are due for a refresh: [`REFRESH_BEFORE`] their expiry, or half
/// their remaining life before it when they come with less than twice that.
fn refresh_point(c: &Credentials) -> Option<SystemTime> {
    let expiry = c.expiry()?;
    let left = expiry.duration_since(SystemTime::now()).unwrap_or_default();
    expiry.checked_sub(REFRESH_BEFORE.min(left / 2))
}

/// How to give credentials, for the error when none were found.
const HOW_TO_CONFIGURE: &str = "Give the deployment `aws_access_key_id` and `aws_secret_access_key`, \
     set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile of ~/.aws/credentials or \
     ~/.aws/config (`aws_profile` in the deployment, or AWS_PROFILE; `aws configure` writes one)";

/// An [`ErrorKind::Authentication`] error: credentials could not be obtained.
fn auth_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Authentication, message)
}

/// The error kind for a refused HTTP answer of a credentials endpoint.
fn status_kind(status: u16) -> ErrorKind {
    match status {
        429 => ErrorKind::RateLimited,
        408 | 500..=599 => ErrorKind::ProviderUnavailable,
        _ => ErrorKind::Authentication,
    }
}

/// A transport failure while `what` ran (never the URL's query, never a credential).
fn transport(e: reqwest::Error, what: &str) -> Error {
    let cause = crate::http::transport_error(e, "aws");
    Error::new(cause.kind(), format!("{what} failed: {}", cause.message()))
}

/// Credentials from the JSON shape the container endpoint, instance metadata and
/// `credential_process` share: `AccessKeyId`, `SecretAccessKey`, the token under
/// `token_field`, and an optional RFC 3339 `Expiration`. Errors name fields, never values.
fn credentials_from_json(
    body: &[u8],
    what: &str,
    token_field: &str,
    provider: &'static str,
) -> Result<Credentials> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        auth_error(format!(
            "{what} answered something that is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if !v.is_object() {
        return Err(auth_error(format!("{what} answered JSON that is not an object")));
    }
    let field = |name: &str| {
        v.get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let required =
        |name: &str| field(name).ok_or_else(|| auth_error(format!("{what} answered without `{name}`")));
    let access_key_id = required("AccessKeyId")?;
    let secret = required("SecretAccessKey")?;
    let token = field(token_field);
    let expiry = match field("Expiration") {
        Some(t) => Some(parse_rfc3339(t).ok_or_else(|| {
            auth_error(format!(
                "{what} answered an `Expiration` that is not an RFC 3339 time"
            ))
        })?),
        None => None,
    };
    Ok(Credentials::new(
        access_key_id,
        secret,
        token.map(str::to_owned),
        expiry,
        provider,
    ))
}

/// Parses an RFC 3339 time (`2026-12-02T17:00:00Z`, with fractional seconds or an offset)
/// with `aws-smithy-types`' strict parser (the `time` crate's RFC 3339 format).
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let t = DateTime::from_str(text.trim(), Format::DateTimeWithOffset).ok()?;
    SystemTime::try_from(t).ok()
}

/// Reads a small token file (web identity, container authorization), trimmed. Errors name
/// the file and the OS error, never the contents.
fn read_token_file(path: &std::path::Path, what: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| auth_error(format!("cannot read {what} {}: {e}", path.display())))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(auth_error(format!("{what} {} is empty", path.display())));
    }
    Ok(token.to_owned())
}

/// `~` or `~/…` at the start of a path, expanded with the home directory.
fn expand_home(path: &str, vars: &Vars) -> std::path::PathBuf {
    let rest = if path == "~" {
        Some("")
    } else {
        path.strip_prefix("~/").or_else(|| path.strip_prefix("~\\"))
    };
    match (rest, home_dir(vars)) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => std::path::PathBuf::from(path),
    }
}

/// The home directory: `HOME`, else (Windows) `USERPROFILE` or `HOMEDRIVE` + `HOMEPATH`.
fn home_dir(vars: &Vars) -> Option<std::path::PathBuf> {
    vars.get("HOME")
        .or_else(|| vars.get("USERPROFILE"))
        .or_else(|| Some(format!("{}{}", vars.get("HOMEDRIVE")?, vars.get("HOMEPATH")?)))
        .map(std::path::PathBuf::from)
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn rfc3339_times_parse_strictly() {
        let at = |s: &str| parse_rfc3339(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_millis());
        assert_eq!(at("2026-12-02T17:00:00Z"), Some(1_796_230_800_000));
        assert_eq!(at("2026-12-02T17:00:00.250Z"), Some(1_796_230_800_250));
        assert_eq!(at("2026-12-02T18:00:00+01:00"), Some(1_796_230_800_000));
        assert_eq!(at("2026-12-02T12:00:00-05:00"), Some(1_796_230_800_000));
        for bad in [
            "2026-12-02 17:00:00",
            "2026-12-02T17:00:00",
            "Wed, 02 Dec 2026 17:00:00 GMT",
            "",
            "2026-13-02T17:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_errors_name_fields_never_values() {
        let e = credentials_from_json(br#"{"AccessKeyId":"AKIAXXXXXXXXXXXXXXXX"}"#, "x", "Token", "t")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Authentication);
        assert!(e.message().contains("`SecretAccessKey`"), "{e}");
        let e = credentials_from_json(
            br#"{"AccessKeyId":"a","SecretAccessKey":"s3cr3t-value","Expiration":"s3cr3t-value"}"#,
            "x",
            "Token",
            "t",
        )
        .unwrap_err();
        assert!(!format!("{e} {e:?}").contains("s3cr3t"), "{e}");
        let e = credentials_from_json(b"s3cr3t-value", "x", "Token", "t").unwrap_err();
        assert!(!format!("{e} {e:?}").contains("s3cr3t"), "{e}");
        let c = credentials_from_json(
            br#"{"AccessKeyId":"a","SecretAccessKey":"s","Token":"t","Expiration":"2026-12-02T17:00:00Z"}"#,
            "x",
            "Token",
            "p",
        )
        .unwrap();
        assert_eq!(
            (c.access_key_id(), c.secret_access_key(), c.session_token()),
            ("a", "s", Some("t"))
        );
        assert!(c.expiry().is_some());
    }

    #[test]
    fn the_chain_is_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<CredentialChain>();
    }

    #[test]
    fn config_debug_hides_secrets() {
        let config = AwsCredentialsConfig {
            access_key_id: Some(Secret::new("AKIAEXAMPLEKEY123456")),
            secret_access_key: Some(Secret::new("very-secret")),
            session_token: None,
            profile: Some("work".into()),
        };
        let d = format!("{config:?}");
        assert!(!d.contains("AKIAEXAMPLE") && !d.contains("very-secret"), "{d}");
        assert!(d.contains("work") && d.contains("unset"), "{d}");
    }

    #[test]
    fn home_expansion() {
        let vars = Vars(Arc::new(|n: &str| (n == "HOME").then(|| "/home/u".to_owned())));
        assert_eq!(
            expand_home("~/.aws/x", &vars),
            std::path::PathBuf::from("/home/u/.aws/x")
        );
        assert_eq!(expand_home("/etc/x", &vars), std::path::PathBuf::from("/etc/x"));
        assert_eq!(expand_home("~bob/x", &vars), std::path::PathBuf::from("~bob/x"));
    }
}
