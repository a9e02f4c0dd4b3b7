//! Turns a config [`Node`] tree into a [`Config`], collecting *every* mistake (not just the
//! first) with its file, line, column and field path.

use super::env::{EnvLookup, InterpolationError, interpolate};
use super::node::{Node, Pos, Value};
use super::{
    Api, Config, ConfigIssue, DEFAULT_DEADLINE_MS, DEFAULT_TIMEOUT_MS, DeploymentConfig, MockConfig,
    ModelConfig, RetryConfig, Strategy,
};
use crate::error::ErrorKind;
use crate::providers::ProviderKind;
use crate::redact::Secret;
use crate::usage::{Price, PriceTable};

mod guardrails;
mod policy;
mod usage;

pub(crate) use policy::validate_policy;

/// What `defaults:` sets for every model and deployment that does not say otherwise.
#[derive(Debug, Clone, Copy)]
struct Defaults {
    timeout_ms: u64,
    deadline_ms: u64,
    retry: RetryConfig,
}

impl Default for Defaults {
    fn default() -> Defaults {
        Defaults {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            deadline_ms: DEFAULT_DEADLINE_MS,
            retry: RetryConfig::default(),
        }
    }
}

const TOP_FIELDS: &[&str] = &[
    "app",
    "team",
    "env",
    "models",
    "defaults",
    "prices",
    "collector",
    "sinks",
    "capture_content",
    "guardrails",
];
const PRICE_FIELDS: &[&str] = &["input", "cached_input", "cache_write", "output"];
const DEFAULTS_FIELDS: &[&str] = &["timeout_ms", "deadline_ms", "retry"];
const MODEL_FIELDS: &[&str] = &[
    "name",
    "strategy",
    "deployments",
    "fallbacks",
    "retry",
    "deadline_ms",
];
const RETRY_FIELDS: &[&str] = &["attempts", "backoff_ms", "max_backoff_ms", "max_retry_after_ms"];
const DEPLOYMENT_FIELDS: &[&str] = &[
    "name",
    "provider",
    "model",
    "api_key",
    "base_url",
    "api_version",
    "deployment",
    "api",
    "timeout_ms",
    "headers",
    "organization",
    "project",
    "location",
    "credentials_file",
    "region",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_profile",
    "endpoint",
    "inference_component",
    "mock",
];
const MOCK_FIELDS: &[&str] = &[
    "reply",
    "latency_ms",
    "fail_first",
    "failure_rate",
    "fail_with",
    "chunk_chars",
];

pub(super) fn validate(root: &Node, file: &str, env: EnvLookup<'_>) -> Result<Config, Vec<ConfigIssue>> {
    let mut v = Validator {
        file: file.to_owned(),
        env,
        issues: Vec::new(),
    };
    let config = v.config(root);
    if v.issues.is_empty() {
        Ok(config)
    } else {
        Err(v.issues)
    }
}

struct Validator<'e> {
    file: String,
    env: EnvLookup<'e>,
    issues: Vec<ConfigIssue>,
}

/// The entries of a mapping that passed the unknown-field check.
struct Fields<'n> {
    node: &'n Node,
    entries: &'n [(String, Node)],
    path: String,
}

impl<'n> Fields<'n> {
    /// A field's node; an explicit `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, n)| n)
            .filter(|n| n.value != Value::Null)
    }

    fn path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

impl Validator<'_> {
    fn issue(&mut self, pos: Option<Pos>, field: &str, message: impl Into<String>) {
        self.issues.push(ConfigIssue {
            file: self.file.clone(),
            pos,
            field: field.to_owned(),
            message: message.into(),
        });
    }

    fn fields<'n>(&mut self, node: &'n Node, path: &str, allowed: &[&str]) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.issue(
                node.pos,
                path,
                format!("expected a mapping, got {}", node.type_name()),
            );
            return None;
        };
        for (key, value) in entries {
            if !allowed.contains(&key.as_str()) {
                let field = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let hint = match closest(key, allowed) {
                    Some(s) => format!(" (did you mean `{s}`?)"),
                    None => format!(" (expected one of: {})", allowed.join(", ")),
                };
                self.issue(
                    value.pos.or(node.pos),
                    &field,
                    format!("unknown field `{key}`{hint}"),
                );
            }
        }
        Some(Fields {
            node,
            entries,
            path: path.to_owned(),
        })
    }

    /// A mapping's entries, or an issue saying it should be a mapping of `what`.
    fn mapping<'n>(&mut self, node: &'n Node, path: &str, what: &str) -> Option<&'n [(String, Node)]> {
        if let Value::Map(entries) = &node.value {
            return Some(entries);
        }
        self.issue(
            node.pos,
            path,
            format!("expected a mapping of {what}, got {}", node.type_name()),
        );
        None
    }

    fn required<'n>(&mut self, f: &Fields<'n>, key: &str) -> Option<&'n Node> {
        let n = f.get(key);
        if n.is_none() {
            self.issue(
                f.node.pos,
                &f.path(key),
                format!("missing required field `{key}`"),
            );
        }
        n
    }

    /// A string, with `${ENV}` references replaced.
    fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        let raw = match &node.value {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(x) => x.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                self.issue(
                    node.pos,
                    path,
                    format!("expected a string, got {}", node.type_name()),
                );
                return None;
            }
        };
        match interpolate(&raw, self.env) {
            Ok(s) => Some(s),
            Err(InterpolationError::Missing(var)) => {
                self.issue(node.pos, path, format!("environment variable {var} is not set"));
                None
            }
            Err(InterpolationError::Syntax(msg)) => {
                self.issue(node.pos, path, msg);
                None
            }
        }
    }

    fn non_empty_string(&mut self, node: &Node, path: &str) -> Option<String> {
        let s = self.string(node, path)?;
        if s.trim().is_empty() {
            self.issue(node.pos, path, "must not be empty");
            return None;
        }
        Some(s)
    }

    fn integer(&mut self, node: &Node, path: &str, min: u64, max: u64) -> Option<u64> {
        let parsed = match &node.value {
            Value::Int(i) => u64::try_from(*i).ok(),
            Value::Str(_) => self.string(node, path).and_then(|s| s.trim().parse::<u64>().ok()),
            _ => None,
        };
        match parsed {
            Some(x) if (min..=max).contains(&x) => Some(x),
            Some(x) => {
                self.issue(node.pos, path, format!("{x} is out of range ({min}–{max})"));
                None
            }
            None => {
                self.issue(
                    node.pos,
                    path,
                    format!("expected a whole number ≥ {min}, got {}", node.type_name()),
                );
                None
            }
        }
    }

    fn fraction(&mut self, node: &Node, path: &str) -> Option<f64> {
        let x = match &node.value {
            Value::Int(i) => *i as f64,
            Value::Float(x) => *x,
            _ => f64::NAN,
        };
        if (0.0..=1.0).contains(&x) {
            Some(x)
        } else {
            self.issue(node.pos, path, "expected a number between 0 and 1");
            None
        }
    }

    fn string_list(&mut self, node: &Node, path: &str) -> Vec<(String, Option<Pos>)> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| Some((self.non_empty_string(n, &format!("{path}[{i}]"))?, n.pos)))
                .collect(),
            Value::Str(_) => self
                .non_empty_string(node, path)
                .map(|s| (s, node.pos))
                .into_iter()
                .collect(),
            _ => {
                self.issue(
                    node.pos,
                    path,
                    format!("expected a list of strings, got {}", node.type_name()),
                );
                Vec::new()
            }
        }
    }

    fn config(&mut self, root: &Node) -> Config {
        let mut config = Config {
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
            source: self.file.clone(),
            hash: String::new(),
        };
        let Some(f) = self.fields(root, "", TOP_FIELDS) else {
            return config;
        };
        if let Some(s) = f.get("app").and_then(|n| self.non_empty_string(n, "app")) {
            config.app = s;
        }
        config.team = f.get("team").and_then(|n| self.non_empty_string(n, "team"));
        config.env = f.get("env").and_then(|n| self.non_empty_string(n, "env"));
        let defaults = match f.get("defaults") {
            Some(n) => self.defaults(n),
            None => Defaults::default(),
        };
        config.deadline_ms = defaults.deadline_ms;
        if let Some(models) = f.get("models") {
            config.models = self.models(models, defaults);
        }
        if let Some(prices) = f.get("prices") {
            config.prices = self.prices(prices);
        }
        if let Some(n) = f.get("collector") {
            config.collector = self.collector(n, &config.app);
            if let Some(reporter) = &config.collector {
                config.policy = self.policy_settings(n, reporter);
            }
        }
        if let Some(n) = f.get("sinks") {
            config.sinks = self.sinks(n);
        }
        if let Some(b) = f
            .get("capture_content")
            .and_then(|n| self.boolean(n, "capture_content"))
        {
            config.capture_content = b;
        }
        if let Some(n) = f.get("guardrails") {
            config.guardrails = self.guardrails(n, "guardrails");
        }
        config
    }

    /// `prices:` — `provider/model: {input, cached_input, output}` in USD per million tokens.
    fn prices(&mut self, node: &Node) -> PriceTable {
        PriceTable::new(self.price_list(node, "prices"))
    }

    /// A `prices:` mapping's entries (`at`: its field path).
    fn price_list(&mut self, node: &Node, at: &str) -> Vec<(String, Price)> {
        let Some(entries) = self.mapping(node, at, "`provider/model` to prices") else {
            return Vec::new();
        };
        let mut prices = Vec::new();
        for (key, value) in entries {
            let path = format!("{at}.{key}");
            let provider_ok = match key.split_once('/') {
                Some((provider, model)) if !model.is_empty() => {
                    self.provider_named(provider, value.pos, &path).is_some()
                }
                _ => {
                    self.issue(value.pos, &path, format!("`{key}` is not `provider/model`"));
                    false
                }
            };
            if let Some(price) = self.price(value, &path)
                && provider_ok
            {
                prices.push((key.clone(), price));
            }
        }
        prices
    }

    fn price(&mut self, node: &Node, path: &str) -> Option<Price> {
        let f = self.fields(node, path, PRICE_FIELDS)?;
        let input = self
            .required(&f, "input")
            .and_then(|n| self.non_negative(n, &f.path("input")));
        let output = self
            .required(&f, "output")
            .and_then(|n| self.non_negative(n, &f.path("output")));
        let cached_input = match f.get("cached_input") {
            Some(n) => Some(self.non_negative(n, &f.path("cached_input"))?),
            None => None,
        };
        let cache_write = match f.get("cache_write") {
            Some(n) => Some(self.non_negative(n, &f.path("cache_write"))?),
            None => None,
        };
        let (input, output) = (input?, output?);
        Some(Price {
            input,
            cached_input: cached_input.unwrap_or(input),
            cache_write: cache_write.unwrap_or(input),
            output,
        })
    }

    fn non_negative(&mut self, node: &Node, path: &str) -> Option<f64> {
        let x = match &node.value {
            Value::Int(i) => *i as f64,
            Value::Float(x) => *x,
            _ => f64::NAN,
        };
        if x.is_finite() && x >= 0.0 {
            return Some(x);
        }
        let got = if x.is_nan() {
            node.type_name().to_owned()
        } else {
            x.to_string()
        };
        self.issue(node.pos, path, format!("expected a number ≥ 0, got {got}"));
        None
    }

    fn defaults(&mut self, node: &Node) -> Defaults {
        let mut d = Defaults::default();
        if let Some(f) = self.fields(node, "defaults", DEFAULTS_FIELDS) {
            if let Some(n) = f.get("timeout_ms") {
                d.timeout_ms = self
                    .integer(n, &f.path("timeout_ms"), 1, u64::MAX)
                    .unwrap_or(d.timeout_ms);
            }
            if let Some(n) = f.get("deadline_ms") {
                d.deadline_ms = self
                    .integer(n, &f.path("deadline_ms"), 1, u64::MAX)
                    .unwrap_or(d.deadline_ms);
            }
            if let Some(n) = f.get("retry") {
                d.retry = self.retry(n, &f.path("retry"), d.retry);
            }
        }
        d
    }

    fn models(&mut self, node: &Node, defaults: Defaults) -> Vec<ModelConfig> {
        let Value::Seq(items) = &node.value else {
            self.issue(
                node.pos,
                "models",
                format!("expected a list of models, got {}", node.type_name()),
            );
            return Vec::new();
        };
        let mut models: Vec<(ModelConfig, Option<Pos>)> = Vec::new();
        let mut fallbacks_to_check = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("models[{i}]");
            let Some((model, fallback_refs)) = self.model(item, &path, defaults) else {
                continue;
            };
            if let Some((_, first)) = models.iter().find(|(m, _)| m.name == model.name) {
                let at = first
                    .map(|p| format!(" (first defined at line {})", p.line))
                    .unwrap_or_default();
                self.issue(
                    item.pos,
                    &format!("{path}.name"),
                    format!("model alias `{}` is defined twice{at}", model.name),
                );
            }
            fallbacks_to_check.extend(fallback_refs);
            models.push((model, item.pos));
        }
        for (path, name, pos) in fallbacks_to_check {
            if !models.iter().any(|(m, _)| m.name == name) {
                let names: Vec<&str> = models.iter().map(|(m, _)| m.name.as_str()).collect();
                let hint = closest(&name, &names)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.issue(pos, &path, format!("unknown model alias `{name}`{hint}"));
            }
        }
        models.into_iter().map(|(m, _)| m).collect()
    }

    #[allow(clippy::type_complexity)]
    fn model(
        &mut self,
        node: &Node,
        path: &str,
        defaults: Defaults,
    ) -> Option<(ModelConfig, Vec<(String, String, Option<Pos>)>)> {
        let Defaults {
            timeout_ms,
            deadline_ms,
            retry,
        } = defaults;
        let f = self.fields(node, path, MODEL_FIELDS)?;
        let name = self
            .required(&f, "name")
            .and_then(|n| self.non_empty_string(n, &f.path("name")));
        let strategy = match f.get("strategy") {
            Some(n) => self.strategy(n, &f.path("strategy")),
            None => Some(Strategy::Priority),
        };
        let retry = match f.get("retry") {
            Some(n) => self.retry(n, &f.path("retry"), retry),
            None => retry,
        };
        let deadline_ms = match f.get("deadline_ms") {
            Some(n) => self
                .integer(n, &f.path("deadline_ms"), 1, u64::MAX)
                .unwrap_or(deadline_ms),
            None => deadline_ms,
        };
        let mut deployments = Vec::new();
        if let Some(n) = self.required(&f, "deployments") {
            let dpath = f.path("deployments");
            match &n.value {
                Value::Seq(items) if !items.is_empty() => {
                    for (i, d) in items.iter().enumerate() {
                        if let Some(dep) = self.deployment(d, &format!("{dpath}[{i}]"), timeout_ms) {
                            deployments.push(dep);
                        }
                    }
                }
                Value::Seq(_) => self.issue(n.pos, &dpath, "a model needs at least one deployment"),
                _ => self.issue(
                    n.pos,
                    &dpath,
                    format!("expected a list of deployments, got {}", n.type_name()),
                ),
            }
        }
        let mut fallback_refs = Vec::new();
        let mut fallbacks = Vec::new();
        if let Some(n) = f.get("fallbacks") {
            let fpath = f.path("fallbacks");
            for (i, (alias, pos)) in self.string_list(n, &fpath).into_iter().enumerate() {
                fallback_refs.push((format!("{fpath}[{i}]"), alias.clone(), pos));
                fallbacks.push(alias);
            }
        }
        Some((
            ModelConfig {
                name: name?,
                strategy: strategy?,
                deployments,
                fallbacks,
                retry,
                deadline_ms,
            },
            fallback_refs,
        ))
    }

    fn strategy(&mut self, node: &Node, path: &str) -> Option<Strategy> {
        let s = self.string(node, path)?;
        let found = Strategy::NAMES.iter().find(|(n, _)| *n == s).map(|(_, st)| *st);
        if found.is_none() {
            let names: Vec<&str> = Strategy::NAMES.iter().map(|(n, _)| *n).collect();
            self.issue(
                node.pos,
                path,
                format!("unknown strategy `{s}` (expected one of: {})", names.join(", ")),
            );
        }
        found
    }

    fn retry(&mut self, node: &Node, path: &str, base: RetryConfig) -> RetryConfig {
        let mut r = base;
        let Some(f) = self.fields(node, path, RETRY_FIELDS) else {
            return r;
        };
        if let Some(n) = f.get("attempts") {
            r.attempts = self
                .integer(n, &f.path("attempts"), 0, 10)
                .map_or(r.attempts, |x| x as u32);
        }
        if let Some(n) = f.get("backoff_ms") {
            r.backoff_ms = self
                .integer(n, &f.path("backoff_ms"), 0, 600_000)
                .unwrap_or(r.backoff_ms);
        }
        if let Some(n) = f.get("max_backoff_ms") {
            r.max_backoff_ms = self
                .integer(n, &f.path("max_backoff_ms"), 0, 600_000)
                .unwrap_or(r.max_backoff_ms);
        }
        if let Some(n) = f.get("max_retry_after_ms") {
            r.max_retry_after_ms = self
                .integer(n, &f.path("max_retry_after_ms"), 0, 3_600_000)
                .unwrap_or(r.max_retry_after_ms);
        }
        r
    }

    fn deployment(&mut self, node: &Node, path: &str, timeout_ms: u64) -> Option<DeploymentConfig> {
        let f = self.fields(node, path, DEPLOYMENT_FIELDS)?;
        let provider = self
            .required(&f, "provider")
            .and_then(|n| self.provider(n, &f.path("provider")));
        let model = self
            .required(&f, "model")
            .and_then(|n| self.non_empty_string(n, &f.path("model")));
        let (provider, model) = (provider?, model?);

        let api_key = self.api_key(&f, provider);
        let base_url = self.base_url(&f, provider);
        let mut d = DeploymentConfig {
            name: format!("{provider}/{model}"),
            provider,
            model,
            api_key,
            base_url,
            api_version: None,
            azure_deployment: None,
            api: Api::Chat,
            timeout_ms,
            headers: Vec::new(),
            organization: None,
            project: None,
            location: None,
            credentials_file: None,
            aws: Default::default(),
            mock: MockConfig::default(),
        };
        if let Some(s) = f
            .get("name")
            .and_then(|n| self.non_empty_string(n, &f.path("name")))
        {
            d.name = s;
        }
        for (key, slot) in [
            ("api_version", &mut d.api_version),
            ("deployment", &mut d.azure_deployment),
        ] {
            if let Some(n) = f.get(key) {
                if provider != ProviderKind::Azure {
                    self.issue(
                        n.pos,
                        &f.path(key),
                        format!("`{key}` applies to provider azure only"),
                    );
                } else {
                    *slot = self.non_empty_string(n, &f.path(key));
                }
            }
        }
        if let Some(n) = f.get("api") {
            d.api = match self.string(n, &f.path("api")).as_deref() {
                Some("chat") => Api::Chat,
                Some("responses") if matches!(provider, ProviderKind::OpenAi | ProviderKind::Azure) => {
                    Api::Responses
                }
                Some("responses") => {
                    self.issue(
                        n.pos,
                        &f.path("api"),
                        "`api: responses` applies to providers openai and azure only",
                    );
                    Api::Chat
                }
                Some(other) => {
                    self.issue(
                        n.pos,
                        &f.path("api"),
                        format!("unknown api `{other}` (expected chat or responses)"),
                    );
                    Api::Chat
                }
                None => Api::Chat,
            };
        }
        if let Some(n) = f.get("timeout_ms") {
            d.timeout_ms = self
                .integer(n, &f.path("timeout_ms"), 1, u64::MAX)
                .unwrap_or(timeout_ms);
        }
        d.organization = f
            .get("organization")
            .and_then(|n| self.non_empty_string(n, &f.path("organization")));
        d.project = f
            .get("project")
            .and_then(|n| self.non_empty_string(n, &f.path("project")));
        for (key, slot) in [
            ("location", &mut d.location),
            ("credentials_file", &mut d.credentials_file),
        ] {
            if let Some(n) = f.get(key) {
                if provider == ProviderKind::Vertex {
                    *slot = self.non_empty_string(n, &f.path(key));
                } else {
                    self.issue(
                        n.pos,
                        &f.path(key),
                        format!("`{key}` applies to provider vertex only"),
                    );
                }
            }
        }
        d.aws = self.aws(&f, provider);
        let mut d = d.with_google_defaults(self.env).with_aws_defaults(self.env);
        if provider == ProviderKind::Vertex && d.project.is_none() {
            self.issue(
                f.node.pos,
                &f.path("project"),
                "provider vertex needs a Google Cloud `project` and GOOGLE_CLOUD_PROJECT is not set",
            );
        }
        if let Some(n) = f.get("headers") {
            d.headers = self.headers(n, &f.path("headers"));
        }
        if let Some(n) = f.get("mock") {
            if provider == ProviderKind::Mock {
                d.mock = self.mock(n, &f.path("mock"));
            } else {
                self.issue(n.pos, &f.path("mock"), "`mock` applies to provider mock only");
            }
        }
        Some(d)
    }

    /// The AWS keys of a Bedrock or SageMaker deployment (refused on other providers).
    fn aws(&mut self, f: &Fields<'_>, provider: ProviderKind) -> crate::config::AwsConfig {
        let mut aws = crate::config::AwsConfig::default();
        let is_aws = matches!(provider, ProviderKind::Bedrock | ProviderKind::SageMaker);
        let text = |v: &mut Self, key: &str, sagemaker_only: bool| -> Option<String> {
            let n = f.get(key)?;
            let applies = if sagemaker_only {
                provider == ProviderKind::SageMaker
            } else {
                is_aws
            };
            if !applies {
                let to = if sagemaker_only {
                    "provider sagemaker"
                } else {
                    "providers bedrock and sagemaker"
                };
                v.issue(n.pos, &f.path(key), format!("`{key}` applies to {to} only"));
                return None;
            }
            v.non_empty_string(n, &f.path(key))
        };
        aws.region = text(self, "region", false);
        let bad_region = aws.region.as_ref().filter(|r| !super::is_aws_region(r));
        if let Some(r) = bad_region {
            let pos = f.get("region").and_then(|n| n.pos);
            let message = format!("`{r}` is not an AWS region (like us-east-1)");
            self.issue(pos, &f.path("region"), message);
            aws.region = None;
        }
        aws.access_key_id = text(self, "aws_access_key_id", false).map(Secret::new);
        aws.secret_access_key = text(self, "aws_secret_access_key", false).map(Secret::new);
        aws.session_token = text(self, "aws_session_token", false).map(Secret::new);
        aws.profile = text(self, "aws_profile", false);
        aws.endpoint = text(self, "endpoint", true);
        aws.inference_component = text(self, "inference_component", true);
        if aws.access_key_id.is_some() != aws.secret_access_key.is_some() {
            let (given, missing) = if aws.access_key_id.is_some() {
                ("aws_access_key_id", "aws_secret_access_key")
            } else {
                ("aws_secret_access_key", "aws_access_key_id")
            };
            let pos = f.get(given).and_then(|n| n.pos);
            self.issue(
                pos,
                &f.path(missing),
                format!("`{given}` is given without `{missing}`"),
            );
        }
        aws
    }

    fn provider(&mut self, node: &Node, path: &str) -> Option<ProviderKind> {
        let s = self.string(node, path)?;
        self.provider_named(&s, node.pos, path)
    }

    fn provider_named(&mut self, name: &str, pos: Option<Pos>, path: &str) -> Option<ProviderKind> {
        let kind = ProviderKind::parse(name);
        if kind.is_none() {
            self.issue(pos, path, crate::providers::unknown_provider_message(name));
        }
        kind
    }

    fn api_key(&mut self, f: &Fields<'_>, provider: ProviderKind) -> Option<Secret> {
        let path = f.path("api_key");
        if let (ProviderKind::SageMaker, Some(n)) = (provider, f.get("api_key")) {
            let message = "provider sagemaker takes no `api_key`: it signs with AWS credentials \
                           (`aws_access_key_id`, `aws_profile`, or the AWS environment)";
            self.issue(n.pos, &path, message);
            return None;
        }
        if let Some(n) = f.get("api_key") {
            let key = self.string(n, &path)?;
            if key.is_empty() && provider.requires_key() {
                self.issue(n.pos, &path, "the API key is empty");
                return None;
            }
            return (!key.is_empty()).then(|| Secret::new(key));
        }
        let var = provider.default_key_env()?;
        match (self.env)(var) {
            Some(k) if !k.is_empty() => Some(Secret::new(k)),
            _ if provider.requires_key() => {
                self.issue(
                    f.node.pos,
                    &path,
                    format!("no api_key given and {var} is not set"),
                );
                None
            }
            _ => None,
        }
    }

    fn base_url(&mut self, f: &Fields<'_>, provider: ProviderKind) -> Option<String> {
        let path = f.path("base_url");
        let (url, pos) = match f.get("base_url") {
            Some(n) => (self.non_empty_string(n, &path)?, n.pos),
            None => {
                let from_env = provider
                    .base_url_env()
                    .and_then(|v| (self.env)(v))
                    .filter(|v| !v.is_empty());
                match from_env {
                    Some(u) => (u, f.node.pos),
                    None if provider.requires_base_url() => {
                        let hint = provider
                            .base_url_env()
                            .map(|v| format!(" and {v} is not set"))
                            .unwrap_or_default();
                        self.issue(
                            f.node.pos,
                            &path,
                            format!("provider {provider} needs a base_url{hint}"),
                        );
                        return None;
                    }
                    None => return None,
                }
            }
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            self.issue(pos, &path, "must start with http:// or https://");
            return None;
        }
        Some(url.trim_end_matches('/').to_owned())
    }

    fn headers(&mut self, node: &Node, path: &str) -> Vec<(String, Secret)> {
        let Some(entries) = self.mapping(node, path, "header names to values") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, value) in entries {
            let hpath = format!("{path}.{name}");
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid_name {
                self.issue(value.pos, &hpath, "not a valid HTTP header name");
                continue;
            }
            if let Some(v) = self.string(value, &hpath) {
                out.push((name.to_ascii_lowercase(), Secret::new(v)));
            }
        }
        out
    }

    fn mock(&mut self, node: &Node, path: &str) -> MockConfig {
        let mut m = MockConfig::default();
        let Some(f) = self.fields(node, path, MOCK_FIELDS) else {
            return m;
        };
        m.reply = f.get("reply").and_then(|n| self.string(n, &f.path("reply")));
        if let Some(n) = f.get("latency_ms") {
            m.latency_ms = self.integer(n, &f.path("latency_ms"), 0, 600_000).unwrap_or(0);
        }
        if let Some(n) = f.get("fail_first") {
            m.fail_first = self
                .integer(n, &f.path("fail_first"), 0, u32::MAX as u64)
                .unwrap_or(0) as u32;
        }
        if let Some(n) = f.get("failure_rate") {
            m.failure_rate = self.fraction(n, &f.path("failure_rate")).unwrap_or(0.0);
        }
        if let Some(n) = f.get("chunk_chars") {
            m.chunk_chars = self
                .integer(n, &f.path("chunk_chars"), 1, 1 << 20)
                .unwrap_or(m.chunk_chars as u64) as usize;
        }
        if let Some(n) = f.get("fail_with") {
            let p = f.path("fail_with");
            if let Some(code) = self.string(n, &p) {
                match ErrorKind::from_code(&code) {
                    Some(k) => m.fail_with = k,
                    None => self.issue(
                        n.pos,
                        &p,
                        format!("unknown error code `{code}` (e.g. RATE_LIMITED, TIMEOUT)"),
                    ),
                }
            }
        }
        m
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
/// The candidate closest to `word`, if any is close enough to be a likely typo.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal-string-alignment distance: edits, with a swap of neighbours counting as one.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_for_typos() {
        assert_eq!(closest("opnai", &["openai", "azure"]), Some("openai"));
        assert_eq!(closest("modle", DEPLOYMENT_FIELDS), Some("model"));
        assert_eq!(closest("zzzzzz", &["openai"]), None);
    }
}
