//! Building a client's pipeline for one process: the built-in stages in their positions (new
//! concerns are added here), the caller's own stages, the router with its connection pool,
//! and the background services.

use std::sync::Arc;

use super::{Admit, Pipeline, Pricing, Stage};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::guardrails::{CustomGuardrail, Guardrails, RuleSet};
use crate::policy::{PolicyStage, PolicyState, PolicyWatch};
use crate::routing::Router;
use crate::runtime::{Service, ServiceFactory, Services};
use crate::usage::{ClientFacts, PriceCatalog, Reporter, SdkInfo, UsageCallback, UsageLog, sinks};

/// What building a pipeline needs besides the config (kept by the client, to build the
/// pipeline again in a `fork()`ed child).
pub(crate) struct PipelineSettings {
    /// The caller's HTTP client, if it gave one.
    pub(crate) http: Option<reqwest::Client>,
    /// Which SDK the usage events name.
    pub(crate) sdk: Arc<SdkInfo>,
    /// How many usage events the in-process log keeps.
    pub(crate) usage_capacity: usize,
    /// The caller's stages.
    pub(crate) stages: Vec<Arc<dyn Stage>>,
    /// The caller's services.
    pub(crate) services: Vec<ServiceFactory>,
    /// The caller's usage callbacks.
    pub(crate) usage_callbacks: Vec<UsageCallback>,
    /// The caller's host-language guardrails.
    pub(crate) custom_guardrails: Vec<CustomGuardrail>,
}

impl Pipeline {
    /// The pipeline of `config` for this process.
    pub(crate) fn build(config: &Config, settings: &PipelineSettings) -> Result<Pipeline> {
        let http = match &settings.http {
            Some(h) => h.clone(),
            None => crate::http::build_client()?,
        };
        let router = Router::new(config, http.clone())?;
        let facts = ClientFacts {
            app: config.app.as_str().into(),
            team: config.team.as_deref().map(Into::into),
            env: config.env.as_deref().map(Into::into),
            config_hash: config.hash.as_str().into(),
            sdk: settings.sdk.clone(),
            capture_content: config.capture_content,
        };
        let usage = Arc::new(UsageLog::new(settings.usage_capacity));
        let mut stages: Vec<Arc<dyn Stage>> = vec![usage.clone()];
        let mut services: Vec<Arc<dyn Service>> = Vec::new();
        let mut reporter = None;
        if let Some(collector) = &config.collector {
            let user_agent = format!("modelplug-{}/{}", settings.sdk.language, settings.sdk.version);
            let r = Reporter::start(collector, http.clone(), user_agent)?;
            stages.push(r.clone());
            services.push(r.clone());
            reporter = Some(r);
        }
        for sink in sinks::build(config, &http, &settings.usage_callbacks)? {
            stages.push(sink.clone());
            services.push(sink);
        }
        let pricing = Pricing::new(config.prices.clone(), Some(PriceCatalog::builtin()));
        pricing.prepare(config);
        stages.push(Arc::new(pricing));
        stages.push(Arc::new(Admit));
        let rules = RuleSet::compile(&config.guardrails).map_err(|(i, why)| {
            Error::config(format!(
                "guardrails[{i}] (`{}`): {why}",
                config.guardrails[i].name
            ))
        })?;
        let guardrails = Guardrails::new(rules, settings.custom_guardrails.clone());
        stages.extend(guardrails.stages());
        let mut policy = None;
        if let Some(p) = &config.policy {
            let state = Arc::new(PolicyState::new(
                p.clone(),
                config.app.clone(),
                config.team.clone(),
                config.guardrails.clone(),
                guardrails.clone(),
            ));
            let user_agent = format!("modelplug-{}/{}", settings.sdk.language, settings.sdk.version);
            services.push(PolicyWatch::start(
                state.clone(),
                http.clone(),
                user_agent,
                reporter.clone(),
            )?);
            stages.push(Arc::new(PolicyStage(state.clone())));
            policy = Some(state);
        }
        stages.extend(settings.stages.iter().cloned());
        let services = Services::start(services, &settings.services)?;
        let mut pipeline = Pipeline::new(stages, router, facts, services, usage);
        pipeline.reporter = reporter;
        pipeline.guardrails = Some(guardrails);
        pipeline.policy = policy;
        Ok(pipeline)
    }
}
