//! `/metrics`: the collector's own numbers in the Prometheus/OpenMetrics text format — ingest
//! requests and latency, events by app, model, provider and status, tokens and cost, rejected
//! and duplicate events, events clients reported dropping, database errors, policy watchers
//! and pushes.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::event::StoredEvent;

type Labels = Vec<(&'static str, String)>;

/// The collector's metrics.
pub struct Metrics {
    registry: Registry,
    ingest_requests: Family<Labels, Counter>,
    ingest_seconds: Histogram,
    events: Family<Labels, Counter>,
    duplicates: Counter,
    rejected: Family<Labels, Counter>,
    tokens: Family<Labels, Counter>,
    cost: Family<Labels, Counter<f64, AtomicU64>>,
    client_dropped: Family<Labels, Counter>,
    db_errors: Family<Labels, Counter>,
    reports: Counter,
    policy: PolicyMetrics,
}

/// The central policy's numbers (cheap clones of the registered metrics, for the policy hub).
#[derive(Clone, Default)]
pub struct PolicyMetrics {
    /// Watch streams open on this replica.
    pub watchers: Gauge,
    /// Events pushed to watchers, by kind (`policy`, `budgets`).
    pub pushes: Family<Labels, Counter>,
    /// The policy version in force on this replica.
    pub version: Gauge,
    /// Budget spend reads.
    pub budget_reads: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("modelplug_collector");
        let m = Metrics {
            ingest_requests: Family::default(),
            ingest_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            events: Family::default(),
            duplicates: Counter::default(),
            rejected: Family::default(),
            tokens: Family::default(),
            cost: Family::default(),
            client_dropped: Family::default(),
            db_errors: Family::default(),
            reports: Counter::default(),
            policy: PolicyMetrics::default(),
            registry: Registry::default(),
        };
        registry.register(
            "ingest_requests",
            "Ingest requests by HTTP status",
            m.ingest_requests.clone(),
        );
        registry.register(
            "ingest_duration_seconds",
            "Time to answer an ingest request",
            m.ingest_seconds.clone(),
        );
        registry.register(
            "events",
            "Events stored, by app, model, provider and status",
            m.events.clone(),
        );
        registry.register(
            "events_duplicate",
            "Events received again and not stored twice",
            m.duplicates.clone(),
        );
        registry.register("events_rejected", "Events refused, by reason", m.rejected.clone());
        registry.register(
            "tokens",
            "Tokens of stored events, by app, model and kind",
            m.tokens.clone(),
        );
        registry.register(
            "cost_usd",
            "Cost of stored events in USD, by app and model",
            m.cost.clone(),
        );
        registry.register(
            "client_dropped_events",
            "Events clients reported dropping, by app",
            m.client_dropped.clone(),
        );
        registry.register(
            "db_errors",
            "Database operations that failed, by operation",
            m.db_errors.clone(),
        );
        registry.register("reports", "Reports answered", m.reports.clone());
        registry.register(
            "policy_watchers",
            "Policy watch streams open on this replica",
            m.policy.watchers.clone(),
        );
        registry.register(
            "policy_pushes",
            "Events pushed to policy watchers, by kind",
            m.policy.pushes.clone(),
        );
        registry.register(
            "policy_version",
            "The policy version in force on this replica",
            m.policy.version.clone(),
        );
        registry.register(
            "budget_reads",
            "Times budget spend was read from the events",
            m.policy.budget_reads.clone(),
        );
        Metrics { registry, ..m }
    }

    /// One ingest request answered with `status` after `seconds`.
    pub fn ingest_request(&self, status: u16, seconds: f64) {
        self.ingest_requests
            .get_or_create(&vec![("status", status.to_string())])
            .inc();
        self.ingest_seconds.observe(seconds);
    }

    /// Events stored by one request: summed per label set first, so the families are touched
    /// once per (app, model, …) rather than once per event.
    pub fn stored<'a>(&self, events: impl IntoIterator<Item = &'a StoredEvent>) {
        type Key<'a> = (&'a str, &'a str, &'a str, &'a str);
        let mut sums: std::collections::HashMap<Key<'a>, (u64, [u64; 4], i64)> =
            std::collections::HashMap::new();
        for e in events {
            let s = sums
                .entry((e.app.as_str(), e.model.as_str(), e.provider.as_str(), e.status))
                .or_default();
            s.0 += 1;
            for (t, n) in s.1.iter_mut().zip([
                e.input_tokens,
                e.output_tokens,
                e.cached_input_tokens,
                e.reasoning_tokens,
            ]) {
                *t += n as u64;
            }
            s.2 += e.cost_nusd.unwrap_or(0);
        }
        for ((app, model, provider, status), (n, tokens, cost)) in sums {
            let base = || vec![("app", app.to_owned()), ("model", model.to_owned())];
            let mut l = base();
            l.push(("provider", provider.to_owned()));
            l.push(("status", status.to_owned()));
            self.events.get_or_create(&l).inc_by(n);
            for (kind, n) in ["input", "output", "cached_input", "reasoning"]
                .into_iter()
                .zip(tokens)
            {
                if n > 0 {
                    let mut l = base();
                    l.push(("kind", kind.to_owned()));
                    self.tokens.get_or_create(&l).inc_by(n);
                }
            }
            if cost > 0 {
                self.cost.get_or_create(&base()).inc_by(cost as f64 / 1e9);
            }
        }
    }

    /// `n` events already stored.
    pub fn duplicates(&self, n: u64) {
        self.duplicates.inc_by(n);
    }

    /// One event refused.
    pub fn rejected(&self, reason: &str) {
        self.rejected
            .get_or_create(&vec![("reason", reason.to_owned())])
            .inc();
    }

    /// A client reported dropping `n` events.
    pub fn client_dropped(&self, app: &str, n: u64) {
        self.client_dropped
            .get_or_create(&vec![("app", app.to_owned())])
            .inc_by(n);
    }

    /// A database operation failed.
    pub fn db_error(&self, op: &'static str) {
        self.db_errors.get_or_create(&vec![("op", op.to_owned())]).inc();
    }

    /// A report was answered.
    pub fn report(&self) {
        self.reports.inc();
    }

    /// The central policy's metrics.
    pub fn policy(&self) -> PolicyMetrics {
        self.policy.clone()
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        out
    }
}
