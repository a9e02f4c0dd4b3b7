//! Central policy on the wire: what the collector signs and pushes to every client, and what a
//! client keeps on disk.
//!
//! Every message is a [`SignedEnvelope`]: the exact bytes of a JSON payload (a string, so the
//! signature covers bytes and no canonical form is needed), an Ed25519 signature of them and
//! the id of the key that made it. The payload is a [`PolicyPayload`] (the effective policy of
//! one app) or a [`BudgetPayload`] (the state of that app's budgets, with the leases it may
//! spend between pushes). Both name the app they are for, so a payload meant for one app
//! cannot be replayed to another. A [`PricesPayload`] (a price catalog) is fetched apart, when
//! a policy names a catalog version the client does not have.

use serde::{Deserialize, Serialize};

/// What the push channel (`GET /v1/policy/watch`, server-sent events) calls each event.
pub mod event_names {
    /// `data:` is a [`super::SignedEnvelope`] of a [`super::PolicyPayload`].
    pub const POLICY: &str = "policy";
    /// `data:` is a [`super::SignedEnvelope`] of a [`super::BudgetPayload`].
    pub const BUDGETS: &str = "budgets";
}

/// A signed payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedEnvelope {
    /// The payload's JSON text, exactly as signed.
    pub payload: String,
    /// The Ed25519 signature of `payload`'s UTF-8 bytes, base64 (standard alphabet, padded).
    pub signature: String,
    /// The signing key's id: the first 8 bytes of SHA-256 of the public key, hex.
    pub key_id: String,
}

/// One app's effective policy at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyPayload {
    /// Always `"policy"`.
    pub kind: String,
    /// The organisation's policy version (1, 2, …; 0 = no policy stored yet). Every version,
    /// a rollback included, is higher than the one before, so a client never goes back.
    pub version: u64,
    /// The app this effective policy is for.
    pub app: String,
    /// The team whose section was merged in, if any.
    #[serde(default)]
    pub team: Option<String>,
    /// When the collector signed it (ms since the epoch).
    pub issued_ms: i64,
    /// The effective policy: one section (the organisation's, the team's and the app's merged)
    /// in the policy document's format, without `teams:` or `apps:`.
    pub policy: serde_json::Value,
    /// The version of the price catalog the collector publishes (`GET /v1/prices`), which
    /// replaces the client's built-in one; `None`: clients keep their own.
    #[serde(default)]
    pub price_catalog: Option<String>,
}

/// A price catalog (`GET /v1/prices`): price data in the genai-prices format, newer than the
/// one built into the clients, that replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricesPayload {
    /// Always `"prices"`.
    pub kind: String,
    /// The catalog's version (events priced by it carry it as `price_table_version`).
    pub version: String,
    /// The data (genai-prices JSON).
    pub data: String,
}

/// One app's budgets as the collector last computed them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetPayload {
    /// Always `"budgets"`.
    pub kind: String,
    /// The app these states are for.
    pub app: String,
    /// The policy version whose budgets these are.
    pub policy_version: u64,
    /// When the spend was read (ms since the epoch, the collector's clock).
    pub as_of_ms: i64,
    /// Each budget that applies to the app.
    pub budgets: Vec<BudgetState>,
    /// This client joined after the current leases were divided: its leases are 0 in this
    /// update and its share comes with the next one (well within a second), once every other
    /// client has been told its smaller share. A call that needs a lease waits for it.
    #[serde(default)]
    pub share_pending: bool,
}

/// One budget's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetState {
    /// The budget's name in the policy.
    pub name: String,
    /// What it is counted per: `org`, `app`, `team`, `user` or `label:<key>`.
    pub per: String,
    /// `day` or `month` (UTC).
    pub period: String,
    /// When the current period ends (ms since the epoch).
    pub period_end_ms: i64,
    /// The limit in US dollars.
    pub limit_usd: f64,
    /// `hard` (calls fail with BUDGET_EXCEEDED) or `soft` (calls go on; events say so).
    pub mode: String,
    /// The share of the limit from which a scope counts as close to it.
    pub warn_at: f64,
    /// The scopes the collector reports: for `org`, `app` and `team` budgets the one scope the
    /// app is in; for `user` and `label:` budgets the values at or past `warn_at`.
    pub scopes: Vec<ScopeState>,
    /// What this client may spend, between pushes, in a scope of a `user` or `label:` budget
    /// that is not listed (one far from its limit).
    pub default_lease_usd: f64,
}

/// One scope of a budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeState {
    /// The scope's value (the app's, team's, user's or label's value; empty for `org`).
    pub value: String,
    /// What the scope has spent this period, as ingested.
    pub spent_usd: f64,
    /// What this client may spend in the scope before it hears from the collector again: the
    /// remaining budget divided among the clients watching it.
    pub lease_usd: f64,
}
