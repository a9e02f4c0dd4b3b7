//! The config file (`modelplug.yaml`, DESIGN §7): parsing, `${ENV}` secrets, validation that
//! names file, line and field for every mistake, and a stable hash.
//!
//! ```yaml
//! app: support-summarizer
//! team: customer-care
//! models:
//!   - name: smart
//!     strategy: priority
//!     deployments:
//!       - { provider: openai, model: gpt-4o, api_key: ${OPENAI_API_KEY}, timeout_ms: 30000 }
//!       - { provider: groq, model: llama-3.3-70b-versatile }
//!     fallbacks: [cheap]
//!     retry: { attempts: 2, backoff_ms: 200 }
//! prices:                       # USD per million tokens; cached_input defaults to input
//!   openai/gpt-4o: { input: 2.50, cached_input: 1.25, output: 10.00 }
//! collector: { url: http://127.0.0.1:4000, key: "${MODELPLUG_KEY}" }   # usage reporting
//! sinks:
//!   - { kind: jsonl, path: usage.jsonl, max_mb: 100, keep: 5 }
//!   - { kind: otlp, endpoint: http://127.0.0.1:4318 }
//! ```

mod env;
mod hash;
mod node;
mod validate;

use std::path::Path;

use crate::error::{Error, Result};
use crate::providers::ProviderKind;
use crate::redact::Secret;
use crate::usage::{PriceTable, ReporterSettings, SinkConfig};

pub use env::{EnvLookup, InterpolationError, interpolate, process_env};
pub use node::{Node, Pos, SyntaxError, Value, parse_yaml};
pub(crate) use validate::{closest, validate_policy};

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The application name reported with every call.
    pub app: String,
    /// The team that owns the application.
    pub team: Option<String>,
    /// The environment (`prod`, `staging`, …).
    pub env: Option<String>,
    /// Model aliases callers can name.
    pub models: Vec<ModelConfig>,
    /// The whole-call deadline of `provider/model` names (`defaults.deadline_ms`).
    pub deadline_ms: u64,
    /// Prices by `provider/model` (`prices:`), versioned `config-<hash>`.
    pub prices: PriceTable,
    /// Where usage events are reported (`collector:`), if anywhere.
    pub collector: Option<ReporterSettings>,
    /// Central policy from the collector (`collector.policy:`), if configured.
    pub policy: Option<crate::policy::PolicySettings>,
    /// Other places usage events go (`sinks:`).
    pub sinks: Vec<SinkConfig>,
    /// Put prompt and completion text on usage events (`capture_content`, off by default).
    pub capture_content: bool,
    /// Guardrail rules (`guardrails:`), in config order.
    pub guardrails: Vec<crate::guardrails::GuardrailSpec>,
    /// Where the config came from (a file path, or `<dict>`).
    pub source: String,
    /// A stable hash of the config's meaning (secrets excluded), 16 hex digits.
    pub hash: String,
}

/// A model alias: one name, several deployments, a strategy to pick among them.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// The alias callers pass as `model`.
    pub name: String,
    /// How a deployment is picked.
    pub strategy: Strategy,
    /// Where the model is served, in priority order.
    pub deployments: Vec<DeploymentConfig>,
    /// Other aliases to try when every deployment of this one failed.
    pub fallbacks: Vec<String>,
    /// Retries of one deployment before moving on.
    pub retry: RetryConfig,
    /// The bound on a whole call to this alias — tries, backoff, fallbacks and reading a
    /// stream to its end — unless the request sets `timeout_ms`.
    pub deadline_ms: u64,
}

/// How a model alias picks among its deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// In the order listed; the next one only when the previous one failed.
    #[default]
    Priority,
    /// Rotate the first choice on every call.
    RoundRobin,
    /// The deployment with the lowest recent latency first.
    LeastLatency,
}

impl Strategy {
    /// Every strategy with its config name.
    pub const NAMES: [(&'static str, Strategy); 3] = [
        ("priority", Strategy::Priority),
        ("round_robin", Strategy::RoundRobin),
        ("least_latency", Strategy::LeastLatency),
    ];
}

/// Retry policy for one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first try (0 = try once).
    pub attempts: u32,
    /// First backoff; doubles on every retry, with jitter.
    pub backoff_ms: u64,
    /// Longest backoff between two tries.
    pub max_backoff_ms: u64,
    /// When a provider asks to wait longer than this, fall back instead of waiting.
    pub max_retry_after_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> RetryConfig {
        RetryConfig {
            attempts: 2,
            backoff_ms: 200,
            max_backoff_ms: 8_000,
            max_retry_after_ms: 30_000,
        }
    }
}

/// Which OpenAI API a deployment speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Api {
    /// `/chat/completions`.
    #[default]
    Chat,
    /// `/responses` (OpenAI and Azure only).
    Responses,
}

/// One place a model is served.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentConfig {
    /// A name for reports (default `provider/model`).
    pub name: String,
    /// Who serves it.
    pub provider: ProviderKind,
    /// The provider's model id (for Azure: the deployment name, unless `deployment` is set).
    pub model: String,
    /// The credential, resolved from the environment.
    pub api_key: Option<Secret>,
    /// The API root, e.g. `https://api.groq.com/openai/v1` (provider default when absent).
    pub base_url: Option<String>,
    /// Azure: the `api-version` query parameter; absent means the `/openai/v1/` path.
    pub api_version: Option<String>,
    /// Azure: the deployment name in the URL (defaults to `model`).
    pub azure_deployment: Option<String>,
    /// Chat Completions or Responses.
    pub api: Api,
    /// Per-try deadline; for streams, the longest wait for the first and each next byte.
    pub timeout_ms: u64,
    /// Extra HTTP headers (values may hold secrets).
    pub headers: Vec<(String, Secret)>,
    /// OpenAI organization header.
    pub organization: Option<String>,
    /// OpenAI: the project header. Vertex AI: the Google Cloud project (else
    /// `GOOGLE_CLOUD_PROJECT`).
    pub project: Option<String>,
    /// Vertex AI: the region (`us-central1`, `europe-west4`, `global`; else
    /// `GOOGLE_CLOUD_LOCATION`, else `us-central1`).
    pub location: Option<String>,
    /// Vertex AI: a Google credentials file (service account key, or gcloud's user
    /// credentials); else `GOOGLE_APPLICATION_CREDENTIALS`.
    pub credentials_file: Option<String>,
    /// AWS (Bedrock, SageMaker): region, credentials, SageMaker endpoint.
    pub aws: AwsConfig,
    /// Settings of the in-process mock provider.
    pub mock: MockConfig,
}

/// Whether `region` can be an AWS region name (`us-east-1`, `us-gov-west-1`): lowercase
/// letters, digits and dashes — it becomes part of a host name that receives credentials.
pub fn is_aws_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A Bedrock or SageMaker deployment's AWS settings (all optional: the region and
/// credentials come from the AWS environment and shared config files when absent).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AwsConfig {
    /// The AWS region (`us-east-1`); else `AWS_REGION`, `AWS_DEFAULT_REGION`, or the
    /// profile's `region`.
    pub region: Option<String>,
    /// An access key id (with `secret_access_key`); else the AWS credential chain.
    pub access_key_id: Option<Secret>,
    /// The secret access key.
    pub secret_access_key: Option<Secret>,
    /// A session token (temporary credentials).
    pub session_token: Option<Secret>,
    /// A profile of the shared AWS config files (else `AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
    /// SageMaker: the endpoint's name (defaults to `model`).
    pub endpoint: Option<String>,
    /// SageMaker: the inference component to invoke on a shared endpoint.
    pub inference_component: Option<String>,
}

/// Default per-try deadline (for streams: the longest wait for the first and each next byte).
pub const DEFAULT_TIMEOUT_MS: u64 = 120_000;

/// Default bound on a whole call (tries, backoff, fallbacks, and reading a stream to its end):
/// five minutes. Without it a stalled provider would hold a call for the per-try timeout times
/// the number of tries, and a stream that trickles bytes forever would never end.
pub const DEFAULT_DEADLINE_MS: u64 = 300_000;

impl DeploymentConfig {
    /// A deployment for `provider/model` written directly in a request, with every default and
    /// the key from the provider's usual environment variable.
    pub fn direct(provider: ProviderKind, model: &str, env: EnvLookup<'_>) -> Result<DeploymentConfig> {
        let api_key = match provider.default_key_env() {
            Some(var) => match env(var) {
                Some(k) if !k.is_empty() => Some(Secret::new(k)),
                _ if provider.requires_key() => {
                    return Err(Error::config(format!(
                        "model `{provider}/{model}`: no API key; set {var} or configure the deployment in the config file"
                    )));
                }
                _ => None,
            },
            None => None,
        };
        let base_url = match provider.base_url_env() {
            Some(var) => env(var).filter(|v| !v.is_empty()),
            None => None,
        };
        if provider.requires_base_url() && base_url.is_none() {
            let hint = provider
                .base_url_env()
                .map(|v| format!("set {v} or "))
                .unwrap_or_default();
            return Err(Error::config(format!(
                "model `{provider}/{model}`: no base_url; {hint}configure the deployment in the config file"
            )));
        }
        Ok(DeploymentConfig {
            name: format!("{provider}/{model}"),
            provider,
            model: model.to_owned(),
            api_key,
            base_url,
            api_version: None,
            azure_deployment: None,
            api: Api::Chat,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            headers: Vec::new(),
            organization: None,
            project: None,
            location: None,
            credentials_file: None,
            aws: AwsConfig::default(),
            mock: MockConfig::default(),
        }
        .with_google_defaults(env)
        .with_aws_defaults(env))
    }
}

impl DeploymentConfig {
    /// AWS's region when the config gives none: `AWS_REGION`, else `AWS_DEFAULT_REGION` (the
    /// profile's region is read when the deployment is built).
    pub(crate) fn with_aws_defaults(mut self, env: EnvLookup<'_>) -> DeploymentConfig {
        use crate::providers::ProviderKind;
        if matches!(self.provider, ProviderKind::Bedrock | ProviderKind::SageMaker)
            && self.aws.region.is_none()
        {
            let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
            self.aws.region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
        }
        self
    }

    /// Vertex AI's settings the config left out, from Google's usual variables
    /// (`GOOGLE_CLOUD_PROJECT`, `GOOGLE_CLOUD_LOCATION`, `GOOGLE_APPLICATION_CREDENTIALS`; an
    /// access token from `GOOGLE_ACCESS_TOKEN` only when no credentials file is given).
    pub(crate) fn with_google_defaults(mut self, env: EnvLookup<'_>) -> DeploymentConfig {
        if self.provider != crate::providers::ProviderKind::Vertex {
            return self;
        }
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        if self.project.is_none() {
            self.project = var("GOOGLE_CLOUD_PROJECT");
        }
        if self.location.is_none() {
            self.location = var("GOOGLE_CLOUD_LOCATION");
        }
        if self.api_key.is_none() && self.credentials_file.is_none() {
            self.api_key = var("GOOGLE_ACCESS_TOKEN").map(Secret::new);
            if self.api_key.is_none() {
                self.credentials_file = var("GOOGLE_APPLICATION_CREDENTIALS");
            }
        }
        self
    }
}

/// Settings of the in-process `mock` provider.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    /// A fixed reply; when absent the mock echoes the last user message.
    pub reply: Option<String>,
    /// Simulated latency before the answer (and before the first stream chunk).
    pub latency_ms: u64,
    /// The first N calls of this deployment fail with `fail_with`.
    pub fail_first: u32,
    /// Probability (0–1) that any call fails with `fail_with`.
    pub failure_rate: f64,
    /// The error the simulated failures raise.
    pub fail_with: crate::ErrorKind,
    /// Characters per stream chunk.
    pub chunk_chars: usize,
}

impl Default for MockConfig {
    fn default() -> MockConfig {
        MockConfig {
            reply: None,
            latency_ms: 0,
            fail_first: 0,
            failure_rate: 0.0,
            fail_with: crate::ErrorKind::ProviderUnavailable,
            chunk_chars: 8,
        }
    }
}

/// The CONFIG error for a number in a config that is NaN or infinite, naming the field (every
/// binding reports it with this message).
pub fn non_finite_error(field: &str, value: f64) -> Error {
    Error::config(format!(
        "<dict>: {field}: must be a finite number, got {}",
        crate::json::non_finite_name(value)
    ))
}

/// One mistake in a config document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The file (or `<dict>`).
    pub file: String,
    /// 1-based line and column, when the document had positions.
    pub pos: Option<Pos>,
    /// The field path, e.g. `models[0].deployments[1].provider`.
    pub field: String,
    /// What is wrong (never a secret's value).
    pub message: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: ", self.file, p.line, p.column)?,
            None => write!(f, "{}: ", self.file)?,
        }
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

impl Config {
    /// An empty config: no aliases; requests name `provider/model` and keys come from the
    /// environment.
    pub fn empty() -> Config {
        let mut c = Config {
            app: "default".to_owned(),
            team: None,
            env: None,
            models: Vec::new(),
            deadline_ms: DEFAULT_DEADLINE_MS,
            prices: PriceTable::default(),
            collector: None,
            policy: None,
            sinks: Vec::new(),
            capture_content: false,
            guardrails: Vec::new(),
            source: "<defaults>".to_owned(),
            hash: String::new(),
        };
        c.hash = hash::config_hash(&Node::from_json(&serde_json::json!({})));
        c
    }

    /// The names of the model aliases the config defines, in config order.
    pub fn model_names(&self) -> Vec<String> {
        self.models.iter().map(|m| m.name.clone()).collect()
    }

    /// Loads and validates a YAML file, reading secrets from the process environment.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("{}: cannot read the config file: {e}", path.display())))?;
        Config::from_yaml_str(&text, &path.display().to_string(), &process_env)
    }

    /// Parses and validates YAML text; `source` names it in errors.
    pub fn from_yaml_str(text: &str, source: &str, env: EnvLookup<'_>) -> Result<Config> {
        let root = parse_yaml(text).map_err(|e| {
            Error::config(
                ConfigIssue {
                    file: source.to_owned(),
                    pos: Some(e.pos),
                    field: String::new(),
                    message: format!("YAML syntax error: {}", e.message),
                }
                .to_string(),
            )
        })?;
        Config::from_node(&root, source, env)
    }

    /// Parses and validates a config given as JSON text (what the Node and Kotlin bindings
    /// pass). A bare `NaN`/`Infinity` token is reported as [`non_finite_error`] naming the field.
    pub fn from_json_str(text: &str, env: EnvLookup<'_>) -> Result<Config> {
        let mut de = serde_json::Deserializer::from_str(text);
        let value: serde_json::Value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            match crate::json::non_finite_in(text, e.inner()) {
                Some(v) => non_finite_error(&e.path().to_string(), v),
                None => Error::config(format!("<dict>: the config is not valid JSON: {}", e.inner())),
            }
        })?;
        Config::from_json_value(&value, env)
    }

    /// Validates a config given as JSON (a Python dict or a JS object).
    pub fn from_json_value(value: &serde_json::Value, env: EnvLookup<'_>) -> Result<Config> {
        Config::from_node(&Node::from_json(value), "<dict>", env)
    }

    fn from_node(root: &Node, source: &str, env: EnvLookup<'_>) -> Result<Config> {
        let mut config = validate::validate(root, source, env).map_err(|issues| {
            let lines: Vec<String> = issues.iter().map(ToString::to_string).collect();
            Error::config(lines.join("\n"))
        })?;
        config.hash = hash::config_hash(root);
        config.prices = std::mem::take(&mut config.prices).with_version(format!("config-{}", config.hash));
        Ok(config)
    }

    /// The model alias named `name`, if configured.
    pub fn model(&self, name: &str) -> Option<&ModelConfig> {
        self.models.iter().find(|m| m.name == name)
    }
}
