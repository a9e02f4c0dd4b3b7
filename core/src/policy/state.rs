//! A client's central policy in force: verified, compiled and swapped in whole. A call takes
//! one [`Applied`] snapshot when it is admitted — rules, prices, content capture, version — so
//! no call ever sees half of one policy and half of another.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use modelplug_schema::policy::{BudgetPayload, PolicyPayload, PricesPayload, SignedEnvelope};
use tokio::sync::Notify;

use super::budget::BudgetBook;
use super::rate_limit::RateLimiter;
use super::{EffectivePolicy, PolicySettings, RateLimitSpec};
use crate::error::{Error, ErrorKind, Result};
use crate::guardrails::{GuardrailSpec, Guardrails, RuleSet};
use crate::usage::{PriceCatalog, PriceTable};

/// One policy version, ready to use.
#[derive(Debug)]
pub(crate) struct Applied {
    /// The version number.
    pub(crate) version: u64,
    /// The version as events carry it.
    pub(crate) version_str: String,
    /// The central rules followed by the config's own.
    pub(crate) rules: Arc<RuleSet>,
    /// The central rules alone (to compile again with new local rules).
    central_rules: Vec<GuardrailSpec>,
    /// The central prices (version `policy-<n>`), if the policy sets any.
    pub(crate) prices: Option<Arc<PriceTable>>,
    /// Content capture, when the policy decides it.
    pub(crate) capture_content: Option<bool>,
    /// Rate limits per deployment.
    pub(crate) rate_limits: Arc<Vec<RateLimitSpec>>,
    /// The collector's price catalog, once fetched (it replaces the built-in one).
    pub(crate) catalog: Option<Arc<PriceCatalog>>,
    /// The catalog version the policy names.
    wanted_catalog: Option<String>,
}

impl Applied {
    /// The same version with other rules or another catalog.
    fn with(
        &self,
        rules: Arc<RuleSet>,
        central_rules: Vec<GuardrailSpec>,
        catalog: Option<Arc<PriceCatalog>>,
    ) -> Applied {
        Applied {
            version: self.version,
            version_str: self.version_str.clone(),
            rules,
            central_rules,
            prices: self.prices.clone(),
            capture_content: self.capture_content,
            rate_limits: self.rate_limits.clone(),
            catalog,
            wanted_catalog: self.wanted_catalog.clone(),
        }
    }
}

/// What a policy update did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A newer version is in force.
    Applied,
    /// The client already has this version or a newer one.
    Unchanged,
}

/// Counters, for tests and [`crate::Client::policy_status`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyStatus {
    /// The version in force, if any.
    pub version: Option<u64>,
    /// Versions applied since start (the cached one included).
    pub applied: u64,
    /// Documents refused: bad signature, another key, another app, invalid.
    pub refused: u64,
    /// Whether the watch is connected to the collector now.
    pub connected: bool,
}

/// The policy state shared by the admission stage and the watcher.
pub(crate) struct PolicyState {
    pub(crate) settings: PolicySettings,
    pub(crate) app: String,
    pub(crate) team: Option<String>,
    current: RwLock<Option<Arc<Applied>>>,
    local_rules: RwLock<Vec<GuardrailSpec>>,
    guardrails: Arc<Guardrails>,
    pub(crate) budgets: BudgetBook,
    pub(crate) limiter: RateLimiter,
    /// The last price catalog fetched from the collector.
    catalog: RwLock<Option<Arc<PriceCatalog>>>,
    /// Set once the first answer from the collector (or the failure to get one) is in.
    ready: AtomicBool,
    ready_notify: Notify,
    pub(crate) connected: AtomicBool,
    applied: AtomicU64,
    refused: AtomicU64,
}

impl std::fmt::Debug for PolicyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyState")
            .field("app", &self.app)
            .field("version", &self.current().map(|a| a.version))
            .finish_non_exhaustive()
    }
}

impl PolicyState {
    pub(crate) fn new(
        settings: PolicySettings,
        app: String,
        team: Option<String>,
        local_rules: Vec<GuardrailSpec>,
        guardrails: Arc<Guardrails>,
    ) -> PolicyState {
        let budgets = BudgetBook::new(settings.budget_window);
        PolicyState {
            settings,
            app,
            team,
            current: RwLock::new(None),
            local_rules: RwLock::new(local_rules),
            guardrails,
            budgets,
            limiter: RateLimiter::default(),
            catalog: RwLock::new(None),
            ready: AtomicBool::new(false),
            ready_notify: Notify::new(),
            connected: AtomicBool::new(false),
            applied: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// The version in force.
    pub(crate) fn current(&self) -> Option<Arc<Applied>> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The counters.
    pub(crate) fn status(&self) -> PolicyStatus {
        PolicyStatus {
            version: self.current().map(|a| a.version),
            applied: self.applied.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            connected: self.connected.load(Ordering::Relaxed),
        }
    }

    /// Marks the first answer in: calls waiting for it go on.
    pub(crate) fn mark_ready(&self) {
        if !self.ready.swap(true, Ordering::AcqRel) {
            self.ready_notify.notify_waiters();
        }
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Waits until [`PolicyState::mark_ready`] (the caller bounds the wait).
    pub(crate) async fn wait_ready(&self) {
        loop {
            let notified = self.ready_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_ready() {
                return;
            }
            notified.await;
        }
    }

    fn refuse(&self, e: Error) -> Error {
        self.refused.fetch_add(1, Ordering::Relaxed);
        e
    }

    /// Verifies a signed policy and, when it is newer than the one in force, compiles it with
    /// the config's own rules and puts it in force whole. Nothing changes on any error.
    pub(crate) fn apply_policy(&self, envelope: &SignedEnvelope) -> Result<Outcome> {
        let payload = self
            .settings
            .verifier
            .open(envelope)
            .map_err(|e| self.refuse(e))?;
        let p: PolicyPayload = serde_json::from_str(payload).map_err(|e| {
            self.refuse(Error::new(
                ErrorKind::PermissionDenied,
                format!("the signed policy is not a policy payload: {e}"),
            ))
        })?;
        if p.kind != "policy" || p.app != self.app {
            return Err(self.refuse(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "the signed policy is a `{}` for app `{}`, not the policy of `{}`",
                    p.kind, p.app, self.app
                ),
            )));
        }
        if self.current().is_some_and(|c| c.version >= p.version) {
            return Ok(Outcome::Unchanged);
        }
        let effective = EffectivePolicy::from_json(&p.policy).map_err(|e| self.refuse(e))?;
        let section = effective.section;
        let compiled = self
            .compile(
                &section.guardrails,
                &self.local_rules.read().unwrap_or_else(|e| e.into_inner()),
            )
            .map_err(|e| self.refuse(e))?;
        let prices = (!section.prices.is_empty()).then(|| {
            Arc::new(PriceTable::new(section.prices.clone()).with_version(format!("policy-{}", p.version)))
        });
        let applied = Arc::new(Applied {
            version: p.version,
            version_str: p.version.to_string(),
            rules: Arc::new(compiled),
            central_rules: section.guardrails,
            prices,
            capture_content: section.capture_content,
            rate_limits: Arc::new(section.rate_limits),
            catalog: self.catalog_if(p.price_catalog.as_deref()),
            wanted_catalog: p.price_catalog,
        });
        {
            // Under the write lock, so two updates cannot interleave their halves.
            let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
            if current.as_ref().is_some_and(|c| c.version >= applied.version) {
                return Ok(Outcome::Unchanged);
            }
            self.guardrails.replace_shared(applied.rules.clone());
            *current = Some(applied);
        }
        self.applied.fetch_add(1, Ordering::Relaxed);
        Ok(Outcome::Applied)
    }

    /// The central rules followed by `local` ones, compiled.
    fn compile(&self, central: &[GuardrailSpec], local: &[GuardrailSpec]) -> Result<RuleSet> {
        let rules: Vec<GuardrailSpec> = central.iter().chain(local).cloned().collect();
        RuleSet::compile(&rules).map_err(|(i, why)| {
            Error::config(format!(
                "the guardrail rule `{}` does not compile: {why}",
                rules[i].name
            ))
        })
    }

    /// Replaces the config's own rules (`Client::replace_guardrails`): they are compiled with
    /// the central ones in force, which stay first and cannot be removed this way.
    pub(crate) fn replace_local(&self, local: Vec<GuardrailSpec>) -> Result<()> {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        let central = current
            .as_ref()
            .map(|c| c.central_rules.clone())
            .unwrap_or_default();
        let compiled = Arc::new(self.compile(&central, &local)?);
        if let Some(c) = current.as_ref() {
            *current = Some(Arc::new(c.with(compiled.clone(), central, c.catalog.clone())));
        }
        self.guardrails.replace_shared(compiled);
        *self.local_rules.write().unwrap_or_else(|e| e.into_inner()) = local;
        Ok(())
    }

    /// The fetched catalog, if it is the one `wanted`.
    fn catalog_if(&self, wanted: Option<&str>) -> Option<Arc<PriceCatalog>> {
        let have = self.catalog.read().unwrap_or_else(|e| e.into_inner()).clone()?;
        (Some(have.version()) == wanted).then_some(have)
    }

    /// The catalog version the policy in force names, when this client does not have it yet.
    pub(crate) fn missing_catalog(&self) -> Option<String> {
        let current = self.current()?;
        let wanted = current.wanted_catalog.clone()?;
        current.catalog.is_none().then_some(wanted)
    }

    /// Verifies a signed price catalog and, when it is the one the policy names, prices calls
    /// with it from now on (instead of the built-in catalog).
    pub(crate) fn apply_prices(&self, envelope: &SignedEnvelope) -> Result<()> {
        let payload = self
            .settings
            .verifier
            .open(envelope)
            .map_err(|e| self.refuse(e))?;
        let p: PricesPayload = serde_json::from_str(payload).map_err(|e| {
            self.refuse(Error::new(
                ErrorKind::PermissionDenied,
                format!("the signed price catalog is not a prices payload: {e}"),
            ))
        })?;
        if p.kind != "prices" {
            return Err(self.refuse(Error::new(
                ErrorKind::PermissionDenied,
                format!("the signed price catalog is a `{}`", p.kind),
            )));
        }
        let catalog =
            Arc::new(PriceCatalog::from_json(p.data, p.version.as_str()).map_err(|e| self.refuse(e))?);
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        *self.catalog.write().unwrap_or_else(|e| e.into_inner()) = Some(catalog.clone());
        if let Some(c) = current.as_ref()
            && c.wanted_catalog.as_deref() == Some(catalog.version())
        {
            *current = Some(Arc::new(c.with(
                c.rules.clone(),
                c.central_rules.clone(),
                Some(catalog),
            )));
        }
        Ok(())
    }

    /// Verifies and applies a budget update. `delivering`: whether the reporter delivers.
    pub(crate) fn apply_budgets(&self, envelope: &SignedEnvelope, delivering: bool) -> Result<()> {
        let payload = self
            .settings
            .verifier
            .open(envelope)
            .map_err(|e| self.refuse(e))?;
        let p: BudgetPayload = serde_json::from_str(payload).map_err(|e| {
            self.refuse(Error::new(
                ErrorKind::PermissionDenied,
                format!("the signed budgets are not a budget payload: {e}"),
            ))
        })?;
        if p.kind != "budgets" || p.app != self.app {
            return Err(self.refuse(Error::new(
                ErrorKind::PermissionDenied,
                format!("the signed budgets are for app `{}`, not `{}`", p.app, self.app),
            )));
        }
        self.budgets.update(p, delivering);
        Ok(())
    }
}
