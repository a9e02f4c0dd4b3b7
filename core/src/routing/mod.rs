//! Routing: model aliases → deployments, ordered by the alias's strategy and followed by its
//! fallbacks. [`Run`] then walks that plan, retrying and falling back per PROTOCOLS.md §7.

mod backoff;
mod deadline;
mod run;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use crate::config::{Config, DeploymentConfig, EnvLookup, ModelConfig, RetryConfig, Strategy, process_env};
use crate::error::{Error, ErrorKind, Result};
use crate::providers::{self, Provider, ProviderKind};
use crate::redact::Secret;
pub use deadline::Deadline;
pub use run::Run;

/// A deployment ready to call, with its health statistics.
pub struct Deployment {
    /// What the config said.
    pub config: DeploymentConfig,
    /// The adapter.
    pub provider: Arc<dyn Provider>,
    /// The provider, deployment and model names, shared by every attempt record.
    pub names: DeploymentNames,
    /// Exponentially weighted mean latency of successful calls, in µs (0 = unknown).
    latency_ewma_us: AtomicU64,
}

impl Deployment {
    fn new(config: DeploymentConfig, shared: &Shared) -> Result<Arc<Deployment>> {
        let provider = providers::build(&config, &shared.http, &shared.secrets)?;
        let names = DeploymentNames {
            provider: config.provider.name().into(),
            deployment: config.name.as_str().into(),
            model: config.model.as_str().into(),
        };
        Ok(Arc::new(Deployment {
            config,
            provider,
            names,
            latency_ewma_us: AtomicU64::new(0),
        }))
    }

    /// Records a successful call's latency.
    pub fn observe_latency(&self, micros: u64) {
        let old = self.latency_ewma_us.load(Ordering::Relaxed);
        let new = if old == 0 { micros } else { (old * 4 + micros) / 5 };
        self.latency_ewma_us.store(new.max(1), Ordering::Relaxed);
    }
}

/// A deployment's names, allocated once.
#[derive(Debug, Clone)]
pub struct DeploymentNames {
    /// `openai`, `azure`, …
    pub provider: Arc<str>,
    /// The configured deployment name.
    pub deployment: Arc<str>,
    /// The configured model id.
    pub model: Arc<str>,
}

/// A model alias ready to route.
struct Alias {
    strategy: Strategy,
    deployments: Vec<Arc<Deployment>>,
    fallbacks: Vec<String>,
    retry: RetryConfig,
    /// The whole call's deadline when this alias is the one asked for.
    deadline_ms: u64,
    next_first: AtomicUsize,
}

impl Alias {
    fn new(m: &ModelConfig, shared: &Shared) -> Result<Alias> {
        Ok(Alias {
            strategy: m.strategy,
            deployments: m
                .deployments
                .iter()
                .map(|d| Deployment::new(d.clone(), shared))
                .collect::<Result<_>>()?,
            fallbacks: m.fallbacks.clone(),
            retry: m.retry,
            deadline_ms: m.deadline_ms,
            next_first: AtomicUsize::new(0),
        })
    }

    /// This alias's deployments in the order the strategy picks them for one call.
    fn ordered(&self) -> Vec<Arc<Deployment>> {
        let mut d = self.deployments.clone();
        match self.strategy {
            Strategy::Priority => {}
            Strategy::RoundRobin => {
                let n = d.len().max(1);
                d.rotate_left(self.next_first.fetch_add(1, Ordering::Relaxed) % n);
            }
            Strategy::LeastLatency => d.sort_by_key(|x| x.latency_ewma_us.load(Ordering::Relaxed)),
        }
        d
    }
}

/// The ordered list of (deployment, retry policy) one call may try, and the call's deadline.
#[derive(Clone)]
pub struct Plan {
    steps: Vec<(Arc<Deployment>, RetryConfig)>,
    deadline_ms: u64,
}

impl Plan {
    /// Keeps only the deployments `keep` accepts (guardrails on models and providers).
    pub fn retain(&mut self, mut keep: impl FnMut(&DeploymentNames) -> bool) {
        self.steps.retain(|(d, _)| keep(&d.names));
    }

    /// How many deployments the plan may try.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the plan has no deployment left.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The whole call's deadline (the requested alias's, or the config default), in ms.
    pub fn deadline_ms(&self) -> u64 {
        self.deadline_ms
    }
}

/// What building any deployment needs.
struct Shared {
    http: reqwest::Client,
    /// Every credential in the config: no provider's error message may echo any of them.
    secrets: Vec<Secret>,
    /// The call deadline of `provider/model` names.
    deadline_ms: u64,
}

/// Resolves model names to plans. Built once per client.
pub struct Router {
    aliases: HashMap<String, Arc<Alias>>,
    /// `provider/model` deployments built on first use.
    direct: RwLock<HashMap<String, Arc<Alias>>>,
    shared: Shared,
    env: fn(&str) -> Option<String>,
}

impl Router {
    /// Builds every configured deployment's adapter.
    pub fn new(config: &Config, http: reqwest::Client) -> Result<Router> {
        let deployments = config.models.iter().flat_map(|m| &m.deployments);
        let secrets: Vec<Secret> = deployments
            .flat_map(|d| {
                let aws = [&d.aws.secret_access_key, &d.aws.session_token];
                d.api_key
                    .iter()
                    .chain(d.headers.iter().map(|(_, v)| v))
                    .chain(aws.into_iter().flatten())
            })
            .filter(|s| !s.is_empty())
            .cloned()
            .collect();
        let shared = Shared {
            http,
            secrets,
            deadline_ms: config.deadline_ms,
        };
        let aliases = config
            .models
            .iter()
            .map(|m| Ok((m.name.clone(), Arc::new(Alias::new(m, &shared)?))))
            .collect::<Result<_>>()?;
        Ok(Router {
            aliases,
            direct: RwLock::new(HashMap::new()),
            shared,
            env: process_env,
        })
    }

    /// The plan for `model`: an alias (with its fallbacks) or `provider/model`.
    pub fn plan(&self, model: &str) -> Result<Plan> {
        let first = self.resolve(model)?;
        let deadline_ms = first.deadline_ms;
        let mut steps: Vec<(Arc<Deployment>, RetryConfig)> = Vec::new();
        let mut queue = vec![(model.to_owned(), first)];
        let mut seen = vec![model.to_owned()];
        while !queue.is_empty() {
            let (_, alias) = queue.remove(0);
            for d in alias.ordered() {
                if !steps.iter().any(|(s, _)| Arc::ptr_eq(s, &d)) {
                    steps.push((d, alias.retry));
                }
            }
            for f in &alias.fallbacks {
                if !seen.contains(f) {
                    seen.push(f.clone());
                    queue.push((f.clone(), self.resolve(f)?));
                }
            }
        }
        Ok(Plan { steps, deadline_ms })
    }

    fn resolve(&self, model: &str) -> Result<Arc<Alias>> {
        if let Some(a) = self.aliases.get(model) {
            return Ok(a.clone());
        }
        if let Some(a) = self.direct.read().unwrap_or_else(|e| e.into_inner()).get(model) {
            return Ok(a.clone());
        }
        let alias = Arc::new(self.direct_alias(model, &self.env)?);
        let mut direct = self.direct.write().unwrap_or_else(|e| e.into_inner());
        Ok(direct.entry(model.to_owned()).or_insert(alias).clone())
    }

    fn direct_alias(&self, model: &str, env: EnvLookup<'_>) -> Result<Alias> {
        let Some((provider, name)) = model.split_once('/') else {
            let known: Vec<&str> = self.aliases.keys().map(String::as_str).collect();
            let listed = if known.is_empty() {
                "none configured".to_owned()
            } else {
                known.join(", ")
            };
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "unknown model `{model}`: not an alias ({listed}); to call a provider directly, name it `provider/model`"
                ),
            ));
        };
        let kind = ProviderKind::parse(provider).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "model `{model}`: {}",
                    providers::unknown_provider_message(provider)
                ),
            )
        })?;
        if name.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("model `{model}`: the model after `{provider}/` is missing"),
            ));
        }
        let config = DeploymentConfig::direct(kind, name, env)?;
        Ok(Alias {
            strategy: Strategy::Priority,
            deployments: vec![Deployment::new(config, &self.shared)?],
            fallbacks: Vec::new(),
            retry: RetryConfig::default(),
            deadline_ms: self.shared.deadline_ms,
            next_first: AtomicUsize::new(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(yaml: &str) -> Router {
        let config = Config::from_yaml_str(yaml, "t.yaml", &|_| None).unwrap();
        Router::new(&config, crate::http::build_client().unwrap()).unwrap()
    }

    fn names(p: &Plan) -> Vec<String> {
        p.steps.iter().map(|(d, _)| d.config.name.clone()).collect()
    }

    const YAML: &str = "models:
  - name: a
    strategy: round_robin
    deployments: [{provider: mock, model: a1}, {provider: mock, model: a2}]
    fallbacks: [b]
  - name: b
    deployments: [{provider: mock, model: b1}]
    fallbacks: [a]
";

    #[test]
    fn plans_follow_strategy_and_fallbacks_once() {
        let r = router(YAML);
        assert_eq!(names(&r.plan("a").unwrap()), ["mock/a1", "mock/a2", "mock/b1"]);
        assert_eq!(names(&r.plan("a").unwrap()), ["mock/a2", "mock/a1", "mock/b1"]);
        assert_eq!(names(&r.plan("b").unwrap())[0], "mock/b1");
        assert_eq!(names(&r.plan("b").unwrap()).len(), 3);
    }

    #[test]
    fn direct_models_and_unknown_names() {
        let r = router(YAML);
        assert_eq!(names(&r.plan("mock/x").unwrap()), ["mock/x"]);
        let e = r.plan("gpt-4o").err().unwrap();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(
            e.message().contains("a, b") || e.message().contains("b, a"),
            "{e}"
        );
        let e = r.plan("nope/x").err().unwrap();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.message().contains("unknown provider `nope`"), "{e}");
        // A provider that needs more than a key: its own setting is named.
        let e = r.plan("bedrock/claude-sonnet-4").err().unwrap();
        assert!(!e.message().contains("not `provider/model`"), "{e}");
        assert!(
            e.message().contains("bedrock") && e.message().contains("`region`"),
            "{e}"
        );
    }

    #[test]
    fn least_latency_prefers_the_faster_deployment() {
        let r = router(
            "models:\n  - name: l\n    strategy: least_latency\n    deployments: [{provider: mock, model: slow}, {provider: mock, model: fast}]\n",
        );
        let p = r.plan("l").unwrap();
        p.steps[0].0.observe_latency(9_000);
        p.steps[1].0.observe_latency(1_000);
        assert_eq!(names(&r.plan("l").unwrap()), ["mock/fast", "mock/slow"]);
    }
}
