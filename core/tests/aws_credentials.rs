//! The AWS credential chain against real local servers standing in for STS, the container
//! credentials endpoint and EC2 instance metadata (IMDSv2), with profile files in temporary
//! directories and an injected environment: each source in the chain's order, what the client
//! sends (form fields, `Authorization`, the IMDS session token), caching and refresh five
//! minutes before expiry, one refresh for concurrent callers, and typed errors that never
//! contain a secret.
#![cfg(feature = "aws")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_smithy_types::date_time::{DateTime, Format};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use modelplug_core::providers::auth::aws::credentials::{AwsCredentialsConfig, CredentialChain};
use modelplug_core::{Error, ErrorKind, Secret};

// ---------------------------------------------------------------------------------------------
// A small HTTP server that records what it is sent.

/// One request the server got.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// The request target as sent (absolute when it came through a proxy).
    uri: String,
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    fn form(&self) -> HashMap<String, String> {
        form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
}

struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

fn reply(status: u16, body: impl Into<String>) -> Reply {
    Reply {
        status,
        body: body.into(),
        delay: Duration::ZERO,
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let shared = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, handler) = (shared.clone(), handler.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, seen.clone(), handler.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn handle(
    req: Request<Incoming>,
    seen: Arc<Mutex<Vec<Seen>>>,
    handler: Handler,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let method = req.method().to_string();
    let uri = req.uri().to_string();
    let path = req.uri().path().to_owned();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = String::from_utf8_lossy(&req.into_body().collect().await?.to_bytes()).into_owned();
    let s = Seen {
        method,
        uri,
        path,
        headers,
        body,
    };
    seen.lock().unwrap().push(s.clone());
    let r = handler(&s);
    if !r.delay.is_zero() {
        tokio::time::sleep(r.delay).await;
    }
    Ok(Response::builder()
        .status(r.status)
        .body(Full::new(Bytes::from(r.body)))
        .unwrap())
}

/// A loopback port nothing listens on.
async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// Environments, files, answers.

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "modelplug-aws-creds-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to `name` under the directory, creating parents; returns the path.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// An environment with `HOME` at `home` and `pairs`, nothing else.
fn env(home: &TempDir, pairs: &[(&str, &str)]) -> Env {
    let mut vars: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    vars.entry("HOME".to_owned())
        .or_insert_with(|| home.path().display().to_string());
    Arc::new(move |name| vars.get(name).cloned())
}

fn http() -> reqwest::Client {
    modelplug_core::http::build_client().unwrap()
}

fn chain(config: &AwsCredentialsConfig, env: Env) -> CredentialChain {
    CredentialChain::with_env(config, http(), env).unwrap()
}

fn chain_err(config: &AwsCredentialsConfig, env: Env) -> Error {
    CredentialChain::with_env(config, http(), env).unwrap_err()
}

/// An RFC 3339 time `d` from now (with fractional seconds, as `aws-smithy-types` writes them).
fn expires_in(d: Duration) -> String {
    DateTime::from(SystemTime::now() + d)
        .fmt(Format::DateTime)
        .unwrap()
}

/// Credentials handed out late in their life: due for a refresh half-way to their expiry
/// (3 s from now), as [`wait_until_due`] waits.
const SHORT_LIVED: Duration = Duration::from_secs(6);

/// Waits until credentials fetched with [`SHORT_LIVED`] left are due for a refresh (and still
/// valid for well over a second, even on a busy machine).
async fn wait_until_due() {
    tokio::time::sleep(Duration::from_millis(3_300)).await;
}
const ONE_HOUR: Duration = Duration::from_secs(3600);

/// The JSON the container endpoint and IMDS answer.
fn creds_json(akid: &str, secret: &str, token: &str, expiry: Duration) -> String {
    serde_json::json!({
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": akid,
        "SecretAccessKey": secret,
        "Token": token,
        "Expiration": expires_in(expiry),
    })
    .to_string()
}

fn sts_xml(akid: &str, secret: &str, token: &str, expiry: Duration) -> String {
    format!(
        r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:default:app</SubjectFromWebIdentityToken>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/app/s</Arn>
      <AssumedRoleId>AROA:s</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{akid}</AccessKeyId>
      <SecretAccessKey>{secret}</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{}</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>"#,
        expires_in(expiry)
    )
}

/// Asserts that neither the error's text nor its `Debug` form contains any of `secrets`.
fn assert_clean(e: &Error, secrets: &[&str]) {
    let text = format!("{e} | {e:?}");
    for s in secrets {
        assert!(!text.contains(s), "`{s}` leaked into: {text}");
    }
}

fn keys(akid: &str, secret: &str, token: Option<&str>) -> AwsCredentialsConfig {
    AwsCredentialsConfig {
        access_key_id: Some(Secret::new(akid)),
        secret_access_key: Some(Secret::new(secret)),
        session_token: token.map(Secret::new),
        profile: None,
    }
}

// ---------------------------------------------------------------------------------------------
// 1–2. Static keys.

#[tokio::test]
async fn explicit_keys_come_first_and_never_show() {
    let home = TempDir::new();
    home.write(
        ".aws/credentials",
        "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = file-secret\n",
    );
    let e = env(
        &home,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ],
    );
    let config = keys("AKIACONFIG", "config-secret-value", Some("config-session-token"));
    let chain = chain(&config, e);
    let c = chain.credentials().await.unwrap();
    assert_eq!(c.access_key_id(), "AKIACONFIG");
    assert_eq!(c.secret_access_key(), "config-secret-value");
    assert_eq!(c.session_token(), Some("config-session-token"));
    assert_eq!(c.expiry(), None);
    assert!(chain.cached().is_some());
    let shown = format!("{config:?} {chain:?}");
    for s in ["AKIACONFIG", "config-secret-value", "config-session-token"] {
        assert!(!shown.contains(s), "{shown}");
    }
    let secrets: Vec<String> = chain.secrets().iter().map(|s| s.expose().to_owned()).collect();
    assert!(secrets.contains(&"config-secret-value".to_owned()));
    assert!(secrets.contains(&"config-session-token".to_owned()));
}

#[tokio::test]
async fn environment_keys_with_a_session_token() {
    let home = TempDir::new();
    let e = env(
        &home,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret-value"),
            ("AWS_SESSION_TOKEN", "env-session-token"),
            ("AWS_PROFILE", "ignored-as-keys-come-first"),
        ],
    );
    let chain = chain(&AwsCredentialsConfig::default(), e);
    let c = chain.credentials().await.unwrap();
    assert_eq!(
        (c.access_key_id(), c.secret_access_key(), c.session_token()),
        ("AKIAENVEXAMPLE", "env-secret-value", Some("env-session-token"))
    );
    let shown = format!("{chain:?}");
    assert!(shown.contains("environment"), "{shown}");
    assert!(
        !shown.contains("env-secret-value") && !shown.contains("env-session-token"),
        "{shown}"
    );
}

#[tokio::test]
async fn half_a_key_pair_is_a_config_error_without_the_secret() {
    let home = TempDir::new();
    let mut config = keys("AKIAHALFPAIR", "x", None);
    config.secret_access_key = None;
    let e = chain_err(&config, env(&home, &[]));
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.message()
            .contains("`aws_access_key_id` without `aws_secret_access_key`"),
        "{e}"
    );
    assert_clean(&e, &["AKIAHALFPAIR"]);

    let e = chain_err(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_SECRET_ACCESS_KEY", "lonely-env-secret")]),
    );
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.message()
            .contains("AWS_SECRET_ACCESS_KEY` without `AWS_ACCESS_KEY_ID"),
        "{e}"
    );
    assert_clean(&e, &["lonely-env-secret"]);

    home.write(
        ".aws/credentials",
        "[default]\naws_secret_access_key = lonely-file-secret\n",
    );
    let e = chain_err(&AwsCredentialsConfig::default(), env(&home, &[]));
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("profile `default`"), "{e}");
    assert_clean(&e, &["lonely-file-secret"]);
}

// ---------------------------------------------------------------------------------------------
// 3. Profiles.

const CREDENTIALS_FILE: &str = "\
# comment
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret

[work]
aws_access_key_id = AKIAWORK
aws_secret_access_key = work-secret ; the credentials file wins
";

const CONFIG_FILE: &str = "\
[default]
region = us-west-2

[profile dev]
region = eu-central-1
aws_access_key_id = AKIADEV
aws_secret_access_key = dev-secret
aws_session_token = dev-session-token

[devonly]
aws_access_key_id = AKIANOTAPROFILE
aws_secret_access_key = not-a-profile-secret

[profile work]
region = eu-west-3
aws_secret_access_key = overridden-secret
";

#[tokio::test]
async fn profiles_by_name_by_aws_profile_and_by_default() {
    let home = TempDir::new();
    home.write(".aws/credentials", CREDENTIALS_FILE);
    home.write(".aws/config", CONFIG_FILE);
    let named = |p: &str| AwsCredentialsConfig {
        profile: Some(p.to_owned()),
        ..AwsCredentialsConfig::default()
    };

    let c = chain(&AwsCredentialsConfig::default(), env(&home, &[]));
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "AKIADEFAULT");
    assert_eq!(c.profile_region().as_deref(), Some("us-west-2"));

    // `[work]` in the credentials file merged with `[profile work]` in the config file.
    let c = chain(&named("work"), env(&home, &[("AWS_PROFILE", "dev")]));
    let creds = c.credentials().await.unwrap();
    assert_eq!(
        (creds.access_key_id(), creds.secret_access_key()),
        ("AKIAWORK", "work-secret")
    );
    assert_eq!(c.profile_region().as_deref(), Some("eu-west-3"));

    // `[profile dev]` in the config file, chosen by AWS_PROFILE.
    let c = chain(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_PROFILE", "dev")]),
    );
    let creds = c.credentials().await.unwrap();
    assert_eq!(
        (
            creds.access_key_id(),
            creds.secret_access_key(),
            creds.session_token()
        ),
        ("AKIADEV", "dev-secret", Some("dev-session-token"))
    );
    assert_eq!(c.profile_region().as_deref(), Some("eu-central-1"));
    assert!(!format!("{c:?}").contains("dev-secret"));

    // `[devonly]` in the config file is not a profile (it needs `profile `).
    let e = chain_err(&named("devonly"), env(&home, &[]));
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("`devonly`"), "{e}");
    assert_clean(&e, &["not-a-profile-secret"]);

    // Keys from the config win over the profile, whose region still counts.
    let mut config = keys("AKIACFG", "cfg-secret", None);
    config.profile = Some("dev".into());
    let c = chain(&config, env(&home, &[]));
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "AKIACFG");
    assert_eq!(c.profile_region().as_deref(), Some("eu-central-1"));
}

#[tokio::test]
async fn profile_files_from_the_environment_variables() {
    let home = TempDir::new();
    let dir = TempDir::new();
    let creds = dir.write(
        "elsewhere/creds.ini",
        "[ci]\naws_access_key_id=AKIACI\naws_secret_access_key=ci-secret\n",
    );
    let config = dir.write("elsewhere/config.ini", "[profile ci]\nregion = sa-east-1\n");
    let e = env(
        &home,
        &[
            ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_PROFILE", "ci"),
        ],
    );
    let c = chain(&AwsCredentialsConfig::default(), e);
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "AKIACI");
    assert_eq!(c.profile_region().as_deref(), Some("sa-east-1"));
}

#[tokio::test]
async fn a_profile_the_deployment_names_beats_the_environments_keys() {
    let home = TempDir::new();
    let dir = TempDir::new();
    let creds = dir.write(
        "creds.ini",
        "[prod]\naws_access_key_id=AKIAPROD\naws_secret_access_key=prod-secret\n",
    );
    let e = env(
        &home,
        &[
            ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
            ("AWS_ACCESS_KEY_ID", "AKIAENVCI"),
            ("AWS_SECRET_ACCESS_KEY", "env-ci-secret"),
        ],
    );
    let config = AwsCredentialsConfig {
        profile: Some("prod".into()),
        ..AwsCredentialsConfig::default()
    };
    let c = chain(&config, e.clone());
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "AKIAPROD");
    // Without a named profile, the environment's keys come first.
    let c = chain(&AwsCredentialsConfig::default(), e);
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "AKIAENVCI");
}

#[tokio::test]
async fn definite_profile_mistakes_are_config_errors() {
    let home = TempDir::new();
    home.write(".aws/credentials", CREDENTIALS_FILE);
    let named = |p: &str| AwsCredentialsConfig {
        profile: Some(p.to_owned()),
        ..AwsCredentialsConfig::default()
    };

    let e = chain_err(&named("nope"), env(&home, &[]));
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.message()
            .contains("the deployment's `aws_profile` names the AWS profile `nope`"),
        "{e}"
    );

    let e = chain_err(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_PROFILE", "nope")]),
    );
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.message().contains("AWS_PROFILE names the AWS profile `nope`"),
        "{e}"
    );

    let missing = home.path().join("no/such/file");
    let e = chain_err(
        &AwsCredentialsConfig::default(),
        env(
            &home,
            &[("AWS_SHARED_CREDENTIALS_FILE", missing.to_str().unwrap())],
        ),
    );
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("AWS_SHARED_CREDENTIALS_FILE names"), "{e}");

    // Profiles this chain cannot use say what to do instead.
    home.write(
        ".aws/config",
        "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = dev\n\
         [profile assume]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n",
    );
    let e = chain_err(&named("sso"), env(&home, &[]));
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("credential_process"), "{e}");
    let e = chain_err(&named("assume"), env(&home, &[]));
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("source_profile"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// credential_process.

#[tokio::test]
async fn credential_process_runs_and_reruns_when_its_keys_near_expiry() {
    let home = TempDir::new();
    let output = home.write(
        "out.json",
        &serde_json::json!({
            "Version": 1,
            "AccessKeyId": "AKIAPROCESS",
            "SecretAccessKey": "process-secret",
            "SessionToken": "process-token",
            "Expiration": expires_in(SHORT_LIVED),
        })
        .to_string(),
    );
    let runs = home.path().join("runs");
    home.write(
        ".aws/config",
        &format!(
            "[profile tool]\ncredential_process = sh -c 'echo run >> \"{}\"; cat \"{}\"'\n",
            runs.display(),
            output.display()
        ),
    );
    let c = chain(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_PROFILE", "tool")]),
    );
    let creds = c.credentials().await.unwrap();
    assert_eq!(
        (
            creds.access_key_id(),
            creds.secret_access_key(),
            creds.session_token()
        ),
        ("AKIAPROCESS", "process-secret", Some("process-token"))
    );
    assert!(creds.expiry().is_some());
    assert!(c.cached().is_some(), "six seconds left: kept for half of them");
    wait_until_due().await;
    assert!(c.cached().is_none(), "now due for a refresh");
    // Due: the next call runs the command again; an hour left: it does not.
    std::fs::write(
        &output,
        serde_json::json!({"Version": 1, "AccessKeyId": "AKIAPROCESS2", "SecretAccessKey": "s2",
            "Expiration": expires_in(ONE_HOUR)})
        .to_string(),
    )
    .unwrap();
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "AKIAPROCESS2");
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "AKIAPROCESS2");
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 2);
}

#[tokio::test]
async fn credential_process_failures_are_typed_and_clean() {
    let home = TempDir::new();
    let bad_version = home.write(
        "v2.json",
        r#"{"Version": 2, "AccessKeyId": "AKIAV2", "SecretAccessKey": "v2-secret-value"}"#,
    );
    let not_json = home.write("garbage.txt", "secret-garbage-value\n");
    home.write(
        ".aws/config",
        &format!(
            "[profile v2]\ncredential_process = cat \"{}\"\n\
             [profile garbage]\ncredential_process = cat \"{}\"\n\
             [profile fails]\ncredential_process = sh -c 'echo \"the SSO session expired; run aws sso login\" >&2; exit 3'\n",
            bad_version.display(),
            not_json.display()
        ),
    );
    let run = |profile: &'static str| {
        let e = env(&home, &[("AWS_PROFILE", profile)]);
        async move {
            chain(&AwsCredentialsConfig::default(), e)
                .credentials()
                .await
                .unwrap_err()
        }
    };
    let e = run("v2").await;
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert!(e.message().contains("Version"), "{e}");
    assert_clean(&e, &["v2-secret-value"]);
    let e = run("garbage").await;
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert!(e.message().contains("not JSON"), "{e}");
    assert_clean(&e, &["secret-garbage-value"]);
    let e = run("fails").await;
    assert_eq!(e.kind(), ErrorKind::Authentication);
    // What the helper printed is not shown (a failing helper may print what it holds).
    assert!(
        e.message().contains("profile `fails`")
            && e.message().contains("run it yourself")
            && !e.message().contains("run aws sso login"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Web identity.

/// An STS stand-in: checks the form and answers keys numbered by call, expiring in `expiry`.
async fn sts(expiry: Duration) -> Server {
    let calls = AtomicUsize::new(0);
    Server::start(move |s| {
        let f = s.form();
        let ok = s.method == "POST"
            && s.path == "/"
            && s.header("content-type") == Some("application/x-www-form-urlencoded")
            && f.get("Action").map(String::as_str) == Some("AssumeRoleWithWebIdentity")
            && f.get("Version").map(String::as_str) == Some("2011-06-15")
            && f.contains_key("RoleArn")
            && f.contains_key("RoleSessionName")
            && f.contains_key("WebIdentityToken")
            && s.header("authorization").is_none();
        if !ok {
            return reply(
                400,
                "<ErrorResponse><Error><Code>BadRequest</Code></Error></ErrorResponse>",
            );
        }
        let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
        reply(
            200,
            sts_xml(
                &format!("ASIASTS{n}"),
                &format!("sts-secret-{n}"),
                &format!("sts-token-{n}"),
                expiry,
            ),
        )
    })
    .await
}

#[tokio::test]
async fn web_identity_from_the_environment_rereads_its_token_on_refresh() {
    let server = sts(SHORT_LIVED).await;
    let home = TempDir::new();
    let token_file = home.write("eks/token", "web-identity-token-one\n");
    let url = server.url();
    let e = env(
        &home,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/app"),
            ("AWS_ROLE_SESSION_NAME", "app-session"),
            ("AWS_ENDPOINT_URL_STS", &url),
        ],
    );
    let c = chain(&AwsCredentialsConfig::default(), e);
    let creds = c.credentials().await.unwrap();
    assert_eq!(
        (
            creds.access_key_id(),
            creds.secret_access_key(),
            creds.session_token()
        ),
        ("ASIASTS1", "sts-secret-1", Some("sts-token-1"))
    );
    let expiry = creds.expiry().unwrap();
    assert!(expiry > SystemTime::now() && expiry < SystemTime::now() + Duration::from_secs(300));

    std::fs::write(&token_file, "web-identity-token-two").unwrap();
    wait_until_due().await;
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "ASIASTS2");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let forms: Vec<_> = seen.iter().map(Seen::form).collect();
    assert_eq!(forms[0]["RoleArn"], "arn:aws:iam::123456789012:role/app");
    assert_eq!(forms[0]["RoleSessionName"], "app-session");
    assert_eq!(forms[0]["WebIdentityToken"], "web-identity-token-one");
    assert_eq!(forms[1]["WebIdentityToken"], "web-identity-token-two");
    assert!(!format!("{c:?}").contains("web-identity-token"));
}

#[tokio::test]
async fn web_identity_from_a_profile_is_cached_for_its_hour() {
    let server = sts(ONE_HOUR).await;
    let home = TempDir::new();
    let token_file = home.write("token", "profile-web-token");
    home.write(
        ".aws/config",
        &format!(
            "[default]\nrole_arn = arn:aws:iam::123456789012:role/batch\nweb_identity_token_file = {}\n\
             role_session_name = batch-job\nregion = eu-north-1\n",
            token_file.display()
        ),
    );
    let url = server.url();
    let c = chain(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_ENDPOINT_URL_STS", &url)]),
    );
    assert_eq!(c.profile_region().as_deref(), Some("eu-north-1"));
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "ASIASTS1");
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "ASIASTS1");
    assert!(c.cached().is_some());
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].form()["RoleSessionName"], "batch-job");
    assert_eq!(seen[0].form()["RoleArn"], "arn:aws:iam::123456789012:role/batch");
}

#[tokio::test]
async fn sts_errors_are_typed_and_never_echo_the_token() {
    const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.secret-web-identity-token.sig";
    let server = Server::start(|s| {
        let token = s.form().get("WebIdentityToken").cloned().unwrap_or_default();
        match s.form().get("RoleArn").map(String::as_str) {
            Some("arn:aws:iam::1:role/denied") => reply(
                400,
                format!(
                    r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>
    <Message>Incorrect token audience for {token}</Message></Error>
  <RequestId>3d3b8f1a</RequestId>
</ErrorResponse>"#
                ),
            ),
            Some("arn:aws:iam::1:role/throttled") => reply(
                400,
                "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>",
            ),
            Some("arn:aws:iam::1:role/down") => reply(503, "unavailable"),
            _ => reply(
                200,
                "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
                 <AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>half-answer-secret</SecretAccessKey>\
                 </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
            ),
        }
    })
    .await;
    let home = TempDir::new();
    let token_file = home.write("token", TOKEN);
    let url = server.url();
    let run = |role: &str| {
        let e = env(
            &home,
            &[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
                ("AWS_ROLE_ARN", role),
                ("AWS_ENDPOINT_URL_STS", &url),
            ],
        );
        async move {
            chain(&AwsCredentialsConfig::default(), e)
                .credentials()
                .await
                .unwrap_err()
        }
    };
    let e = run("arn:aws:iam::1:role/denied").await;
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_eq!(e.provider_code(), Some("InvalidIdentityToken"));
    assert!(e.message().contains("Incorrect token audience"), "{e}");
    assert_clean(&e, &[TOKEN, "secret-web-identity-token"]);

    let e = run("arn:aws:iam::1:role/throttled").await;
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    let e = run("arn:aws:iam::1:role/down").await;
    assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    let e = run("arn:aws:iam::1:role/half").await;
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert!(e.message().contains("`SessionToken`"), "{e}");
    assert_clean(&e, &[TOKEN, "half-answer-secret"]);

    // A token file that went away.
    std::fs::remove_file(&token_file).unwrap();
    let e = run("arn:aws:iam::1:role/any").await;
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert!(e.message().contains("web identity token file"), "{e}");

    // The token file without a role is a config mistake.
    let e = chain_err(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token")]),
    );
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("AWS_ROLE_ARN"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// 5. Container credentials.

#[tokio::test]
async fn container_full_uri_sends_the_token_file_reread_each_time() {
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    let server = Server::start(move |s| {
        if !s
            .header("authorization")
            .is_some_and(|a| a.starts_with("pod-identity-token-"))
        {
            return reply(401, r#"{"code":"InvalidToken","message":"bad token"}"#);
        }
        let i = n.fetch_add(1, Ordering::Relaxed) + 1;
        reply(
            200,
            creds_json(&format!("ASIAPOD{i}"), "pod-secret", "pod-token", SHORT_LIVED),
        )
    })
    .await;
    let home = TempDir::new();
    let token_file = home.write("eks-pod-identity-token", "pod-identity-token-1\n");
    let uri = format!("{}/v1/credentials", server.url());
    let e = env(
        &home,
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token_file.to_str().unwrap(),
            ),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                "ignored-when-a-file-is-given",
            ),
        ],
    );
    let c = chain(&AwsCredentialsConfig::default(), e);
    let creds = c.credentials().await.unwrap();
    assert_eq!(
        (
            creds.access_key_id(),
            creds.secret_access_key(),
            creds.session_token()
        ),
        ("ASIAPOD1", "pod-secret", Some("pod-token"))
    );
    std::fs::write(&token_file, "pod-identity-token-2").unwrap();
    wait_until_due().await;
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "ASIAPOD2");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/v1/credentials")
    );
    assert_eq!(seen[0].header("authorization"), Some("pod-identity-token-1"));
    assert_eq!(seen[1].header("authorization"), Some("pod-identity-token-2"));
}

#[tokio::test]
async fn container_relative_uri_goes_to_the_ecs_agent_address() {
    // The test's client sends everything through the local server as a proxy, which sees the
    // absolute URI the chain asked for.
    let server = Server::start(|s| {
        if s.header("authorization") != Some("ecs-auth-token") {
            return reply(401, "{}");
        }
        reply(200, creds_json("ASIAECS", "ecs-secret", "ecs-token", ONE_HOUR))
    })
    .await;
    let _ = modelplug_core::http::build_client();
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(server.url()).unwrap())
        .build()
        .unwrap();
    let home = TempDir::new();
    let e = env(
        &home,
        &[
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/6f1b2e"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-auth-token"),
        ],
    );
    let c = CredentialChain::with_env(&AwsCredentialsConfig::default(), client, e).unwrap();
    assert!(!format!("{c:?}").contains("ecs-auth-token"));
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "ASIAECS");
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "ASIAECS");
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].uri, "http://169.254.170.2/v2/credentials/6f1b2e");
}

#[tokio::test]
async fn container_errors_are_typed_and_clean() {
    let server = Server::start(|s| match s.path.as_str() {
        "/malformed" => reply(200, r#"{"AccessKeyId": "ASIAM", "SecretAccessKey": "malformed-secret", "#),
        "/no-secret" => reply(200, r#"{"AccessKeyId": "ASIAM", "Token": "lonely-token-value"}"#),
        "/bad-expiry" => reply(
            200,
            r#"{"AccessKeyId":"ASIAM","SecretAccessKey":"expiry-secret","Token":"t","Expiration":"tomorrow"}"#,
        ),
        "/denied" => reply(403, r#"{"code":"AccessDenied","message":"token container-auth-secret is bad"}"#),
        _ => reply(500, "oops"),
    })
    .await;
    let home = TempDir::new();
    let run = |path: &str| {
        let uri = format!("{}{path}", server.url());
        let e = env(
            &home,
            &[
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-secret"),
            ],
        );
        async move {
            chain(&AwsCredentialsConfig::default(), e)
                .credentials()
                .await
                .unwrap_err()
        }
    };
    let all = [
        "malformed-secret",
        "lonely-token-value",
        "expiry-secret",
        "container-auth-secret",
    ];
    for (path, kind, says) in [
        ("/malformed", ErrorKind::Authentication, "not JSON"),
        ("/no-secret", ErrorKind::Authentication, "`SecretAccessKey`"),
        ("/bad-expiry", ErrorKind::Authentication, "`Expiration`"),
        ("/denied", ErrorKind::Authentication, "HTTP 403 `AccessDenied`"),
        ("/boom", ErrorKind::ProviderUnavailable, "HTTP 500"),
    ] {
        let e = run(path).await;
        assert_eq!(e.kind(), kind, "{path}: {e}");
        assert!(e.message().contains(says), "{path}: {e}");
        assert_clean(&e, &all);
    }
    // Only https, loopback and the agents' addresses may receive the token.
    let e = chain_err(
        &AwsCredentialsConfig::default(),
        env(
            &home,
            &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.7/creds")],
        ),
    );
    assert_eq!(e.kind(), ErrorKind::Config);
}

// ---------------------------------------------------------------------------------------------
// 6. Instance metadata.

/// An IMDSv2 stand-in: a session token for a PUT with the TTL header, then the role and its
/// keys for GETs that carry the token. `role` empty: no role attached (404).
async fn imds(role: &'static str, answer: String) -> Server {
    Server::start(move |s| match (s.method.as_str(), s.path.as_str()) {
        ("PUT", "/latest/api/token") => match s.header("x-aws-ec2-metadata-token-ttl-seconds") {
            Some("21600") => reply(200, "imds-session-token"),
            _ => reply(400, ""),
        },
        _ if s.header("x-aws-ec2-metadata-token") != Some("imds-session-token") => reply(401, ""),
        ("GET", "/latest/meta-data/iam/security-credentials/") if !role.is_empty() => {
            reply(200, format!("{role}\n"))
        }
        ("GET", p)
            if !role.is_empty() && p == format!("/latest/meta-data/iam/security-credentials/{role}") =>
        {
            reply(200, answer.clone())
        }
        _ => reply(404, "<html>Not Found</html>"),
    })
    .await
}

#[tokio::test]
async fn imds_v2_token_flow_and_an_hour_of_caching() {
    let server = imds(
        "web-server",
        creds_json("ASIAIMDS", "imds-secret", "imds-token", ONE_HOUR),
    )
    .await;
    let home = TempDir::new();
    let url = server.url();
    let c = chain(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)]),
    );
    let creds = c.credentials().await.unwrap();
    assert_eq!(
        (
            creds.access_key_id(),
            creds.secret_access_key(),
            creds.session_token()
        ),
        ("ASIAIMDS", "imds-secret", Some("imds-token"))
    );
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "ASIAIMDS");
    let seen: Vec<(String, String)> = server.seen().into_iter().map(|s| (s.method, s.path)).collect();
    assert_eq!(
        seen,
        [
            ("PUT".to_owned(), "/latest/api/token".to_owned()),
            (
                "GET".to_owned(),
                "/latest/meta-data/iam/security-credentials/".to_owned()
            ),
            (
                "GET".to_owned(),
                "/latest/meta-data/iam/security-credentials/web-server".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn imds_failures_say_what_was_tried_and_how_to_configure() {
    let home = TempDir::new();
    let how = |e: &Error| {
        let m = e.message();
        assert!(m.contains("AWS_ACCESS_KEY_ID"), "{e}");
        assert!(m.contains("AWS_PROFILE"), "{e}");
        assert!(m.contains("AWS_WEB_IDENTITY_TOKEN_FILE not set"), "{e}");
        assert!(m.contains("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), "{e}");
        assert!(m.contains("profile `default` not found"), "{e}");
    };

    // No role attached.
    let server = imds("", String::new()).await;
    let url = server.url();
    let e = chain(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)]),
    )
    .credentials()
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert!(e.message().contains("HTTP 404"), "{e}");
    how(&e);
    assert_clean(&e, &["imds-session-token"]);

    // Malformed keys, or a failure code.
    for (answer, says) in [
        (
            r#"{"Code":"Success","AccessKeyId":"ASIA","SecretAccessKey":"imds-bad-secret""#.to_owned(),
            "not JSON",
        ),
        (
            r#"{"Code":"AssumeRoleUnauthorizedAccess","Message":"x"}"#.to_owned(),
            "AssumeRoleUnauthorizedAccess",
        ),
    ] {
        let server = imds("role", answer).await;
        let url = server.url();
        let e = chain(
            &AwsCredentialsConfig::default(),
            env(&home, &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)]),
        )
        .credentials()
        .await
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Authentication);
        assert!(e.message().contains(says), "{e}");
        assert_clean(&e, &["imds-session-token", "imds-bad-secret"]);
    }

    // Nothing listening (a laptop): fails at once, saying what to do.
    let url = format!("http://127.0.0.1:{}", closed_port().await);
    let c = chain(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)]),
    );
    let e = c.credentials().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    how(&e);

    // Instance metadata disabled.
    let c = chain(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_EC2_METADATA_DISABLED", "true")]),
    );
    let e = c.credentials().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert!(e.message().contains("AWS_EC2_METADATA_DISABLED"), "{e}");
    how(&e);
}

// ---------------------------------------------------------------------------------------------
// Caching and refresh.

// On the current-thread runtime every spawned caller runs up to the refresh lock before any
// network event is handled, so all of them are waiting when the first refresh ends.
#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let server = Server::start(|_| Reply {
        delay: Duration::from_millis(100),
        ..reply(
            200,
            creds_json("ASIASHARED", "shared-secret", "shared-token", ONE_HOUR),
        )
    })
    .await;
    let home = TempDir::new();
    let uri = format!("{}/creds", server.url());
    let c = Arc::new(chain(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)]),
    ));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.credentials().await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().access_key_id(), "ASIASHARED");
    }
    assert_eq!(server.seen().len(), 1);
}

// On the current-thread runtime every spawned caller runs up to the refresh lock before any
// network event is handled, so all of them are waiting when the first refresh ends.
#[tokio::test]
async fn concurrent_callers_share_one_failed_refresh() {
    let server = Server::start(|_| Reply {
        delay: Duration::from_millis(100),
        ..reply(503, r#"{"code":"Unavailable"}"#)
    })
    .await;
    let home = TempDir::new();
    let uri = format!("{}/creds", server.url());
    let c = Arc::new(chain(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)]),
    ));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.credentials().await })
        })
        .collect();
    for t in tasks {
        assert_eq!(
            t.await.unwrap().unwrap_err().kind(),
            ErrorKind::ProviderUnavailable
        );
    }
    assert_eq!(server.seen().len(), 1);
    // A later call tries again.
    assert!(c.credentials().await.is_err());
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn a_failed_refresh_keeps_keys_that_have_not_expired() {
    let calls = AtomicUsize::new(0);
    let server = Server::start(move |_| match calls.fetch_add(1, Ordering::Relaxed) {
        0 => reply(
            200,
            creds_json("ASIAFIRST", "first-secret", "first-token", SHORT_LIVED),
        ),
        1 => reply(503, "down"),
        _ => reply(
            200,
            creds_json("ASIATHIRD", "third-secret", "third-token", ONE_HOUR),
        ),
    })
    .await;
    let home = TempDir::new();
    let uri = format!("{}/creds", server.url());
    let c = chain(
        &AwsCredentialsConfig::default(),
        env(&home, &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)]),
    );
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "ASIAFIRST");
    wait_until_due().await;
    // The refresh fails: the seconds left are still usable.
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "ASIAFIRST");
    // The failing source is not asked again at once (10 s later it is).
    assert_eq!(c.credentials().await.unwrap().access_key_id(), "ASIAFIRST");
    assert_eq!(server.seen().len(), 2);
}
