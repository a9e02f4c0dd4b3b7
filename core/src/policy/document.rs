//! The central policy document: what an admin `PUT`s on the collector, validated here — in the
//! core — so that the collector accepts exactly what every client can apply.
//!
//! ```yaml
//! guardrails: [...]                      # rules, as in a config's `guardrails:`
//! models: { allowed: [...], blocked: [...] }
//! providers: { blocked: [...] }
//! budgets:
//!   - { name: app-daily, per: app, period: day, limit_usd: 50, mode: hard }
//! rate_limits:
//!   - { deployment: "openai/gpt-4o*", rpm: 600, tpm: 200000 }
//! prices: { openai/gpt-4o: { input: 2.5, output: 10 } }
//! capture_content: false
//! teams:
//!   customer-care: { budgets: [...], guardrails: [...] }   # the same fields, for one team
//! apps:
//!   support-summarizer: { models: { allowed: [smart] } }   # the same fields, for one app
//! ```
//!
//! An app's *effective* policy is the organisation's section, its team's and its own, merged
//! so that a narrower section can only add: rules and budgets accumulate, `models`/`providers`
//! become one rule per section (a call must pass every one), the lowest rate limit wins, and
//! prices and `capture_content` are the most specific section's.

use serde_json::{Map, Value};

use crate::config::Node;
use crate::error::{Error, Result};
use crate::guardrails::GuardrailSpec;
use crate::usage::Price;

/// The largest policy document accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;

/// A validated policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    /// The organisation's section.
    pub org: PolicySection,
    /// Each team's section.
    pub teams: Vec<(String, PolicySection)>,
    /// Each app's section.
    pub apps: Vec<(String, PolicySection)>,
    /// The document as JSON (what effective policies are merged from).
    json: Value,
}

/// One section of a policy (the organisation's, a team's or an app's).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicySection {
    /// Guardrail rules (`models:`/`providers:` included, as rules of those kinds).
    pub guardrails: Vec<GuardrailSpec>,
    /// Spending limits.
    pub budgets: Vec<BudgetSpec>,
    /// Request and token rates per deployment.
    pub rate_limits: Vec<RateLimitSpec>,
    /// Prices (`provider/model`, USD per million tokens) that replace the client's.
    pub prices: Vec<(String, Price)>,
    /// Whether events carry prompt and completion text (overrides the client's config).
    pub capture_content: Option<bool>,
}

/// What a budget is counted per.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BudgetPer {
    /// The whole organisation (or the whole team or app whose section lists it).
    Org,
    /// Each app.
    App,
    /// Each team.
    Team,
    /// Each end user (`metadata.user`).
    User,
    /// Each value of one label (`metadata.tags`).
    Label(String),
}

impl BudgetPer {
    /// Reads `org`, `app`, `team`, `user` or `label:<key>`.
    pub fn parse(s: &str) -> Option<BudgetPer> {
        Some(match s {
            "org" => BudgetPer::Org,
            "app" => BudgetPer::App,
            "team" => BudgetPer::Team,
            "user" => BudgetPer::User,
            _ => BudgetPer::Label(s.strip_prefix("label:").filter(|k| !k.is_empty())?.to_owned()),
        })
    }

    /// The name [`BudgetPer::parse`] reads.
    pub fn as_string(&self) -> String {
        match self {
            BudgetPer::Org => "org".into(),
            BudgetPer::App => "app".into(),
            BudgetPer::Team => "team".into(),
            BudgetPer::User => "user".into(),
            BudgetPer::Label(k) => format!("label:{k}"),
        }
    }
}

/// A budget's period (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// A calendar day.
    Day,
    /// A calendar month.
    Month,
}

impl Period {
    /// Reads `day` or `month`.
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "day" => Some(Period::Day),
            "month" => Some(Period::Month),
            _ => None,
        }
    }

    /// `day` or `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Month => "month",
        }
    }

    /// The period containing `ms` (since the epoch): its start and end.
    pub fn bounds(self, ms: i64) -> (i64, i64) {
        const DAY: i64 = 86_400_000;
        let day = ms.div_euclid(DAY);
        match self {
            Period::Day => (day * DAY, (day + 1) * DAY),
            Period::Month => {
                let (y, m, _) = civil_from_days(day);
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                (days_from_civil(y, m, 1) * DAY, days_from_civil(ny, nm, 1) * DAY)
            }
        }
    }
}

/// Year, month (1–12) and day of days since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Hard budgets stop calls; soft ones only say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BudgetMode {
    /// Calls over the limit fail with BUDGET_EXCEEDED.
    Hard,
    /// Calls go on; their events are marked.
    Soft,
}

/// One budget.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSpec {
    /// Its name (unique in the document).
    pub name: String,
    /// What it is counted per.
    pub per: BudgetPer,
    /// Its period.
    pub period: Period,
    /// The limit in US dollars.
    pub limit_usd: f64,
    /// Hard or soft.
    pub mode: BudgetMode,
    /// The share of the limit from which a scope is close to it (default 0.8).
    pub warn_at: f64,
}

/// A rate limit on the deployments whose `provider/model` (or name) matches `deployment`.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitSpec {
    /// A pattern with `*`, matched against `provider/model` and the deployment's name.
    pub deployment: String,
    /// Requests per minute, per process.
    pub rpm: Option<u64>,
    /// Tokens (input + output) per minute, per process.
    pub tpm: Option<u64>,
}

/// The section fields, the same at every level.
pub(crate) const SECTION_FIELDS: &[&str] = &[
    "guardrails",
    "models",
    "providers",
    "budgets",
    "rate_limits",
    "prices",
    "capture_content",
];

impl PolicyDocument {
    /// Parses and validates a policy (YAML, or JSON — which is YAML too); `source` names it in
    /// errors, which give the line and the field of every mistake (CONFIG). Larger than
    /// [`MAX_POLICY_BYTES`] is refused unread.
    pub fn parse(text: &str, source: &str) -> Result<PolicyDocument> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(Error::config(format!(
                "{source}: the policy is {} bytes; at most {MAX_POLICY_BYTES} are accepted",
                text.len()
            )));
        }
        let root = crate::config::parse_yaml(text).map_err(|e| {
            Error::config(format!(
                "{source}:{}:{}: YAML syntax error: {}",
                e.pos.line, e.pos.column, e.message
            ))
        })?;
        Self::from_node(&root, source)
    }

    /// Validates a policy given as JSON (no line numbers in errors).
    pub fn from_json(value: &Value, source: &str) -> Result<PolicyDocument> {
        Self::from_node(&Node::from_json(value), source)
    }

    fn from_node(root: &Node, source: &str) -> Result<PolicyDocument> {
        let (org, teams, apps) = crate::config::validate_policy(root, source).map_err(|issues| {
            let lines: Vec<String> = issues.iter().map(ToString::to_string).collect();
            Error::config(lines.join("\n"))
        })?;
        Ok(PolicyDocument {
            org,
            teams,
            apps,
            json: root.to_json(),
        })
    }

    /// An empty policy (no rules, budgets or limits).
    pub fn empty() -> PolicyDocument {
        PolicyDocument {
            org: PolicySection::default(),
            teams: Vec::new(),
            apps: Vec::new(),
            json: Value::Object(Map::new()),
        }
    }

    /// The document as JSON.
    pub fn to_json(&self) -> &Value {
        &self.json
    }

    /// The team's section, if the document has one.
    pub fn team(&self, team: &str) -> Option<&PolicySection> {
        self.teams.iter().find(|(t, _)| t == team).map(|(_, s)| s)
    }

    /// The app's section, if the document has one.
    pub fn app(&self, app: &str) -> Option<&PolicySection> {
        self.apps.iter().find(|(a, _)| a == app).map(|(_, s)| s)
    }

    /// The effective policy of `app` in `team`, as one section in the document's format
    /// (what the collector signs for that app; [`EffectivePolicy::from_json`] reads it).
    pub fn effective_json(&self, app: &str, team: Option<&str>) -> Value {
        let mut out = Map::new();
        let mut levels: Vec<(String, &Value)> = vec![("org".into(), &self.json)];
        if let Some(t) = team
            && let Some(v) = self.json.get("teams").and_then(|m| m.get(t))
        {
            levels.push((format!("team:{t}"), v));
        }
        if let Some(v) = self.json.get("apps").and_then(|m| m.get(app)) {
            levels.push((format!("app:{app}"), v));
        }
        let mut guardrails = Vec::new();
        let mut budgets = Vec::new();
        let mut rate_limits = Vec::new();
        let mut prices = Map::new();
        for (level, section) in &levels {
            let list = |key: &str| {
                section
                    .get(key)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            };
            guardrails.extend(list("guardrails"));
            for kind in ["models", "providers"] {
                if let Some(Value::Object(lists)) = section.get(kind) {
                    let mut rule = lists.clone();
                    rule.insert("name".into(), Value::String(format!("{kind}@{level}")));
                    rule.insert("kind".into(), Value::String(kind.into()));
                    guardrails.push(Value::Object(rule));
                }
            }
            budgets.extend(list("budgets"));
            rate_limits.extend(list("rate_limits"));
            if let Some(Value::Object(p)) = section.get("prices") {
                prices.extend(p.clone());
            }
            if let Some(b @ Value::Bool(_)) = section.get("capture_content") {
                out.insert("capture_content".into(), b.clone());
            }
        }
        for (key, list) in [
            ("guardrails", guardrails),
            ("budgets", budgets),
            ("rate_limits", rate_limits),
        ] {
            if !list.is_empty() {
                out.insert(key.into(), Value::Array(list));
            }
        }
        if !prices.is_empty() {
            out.insert("prices".into(), Value::Object(prices));
        }
        Value::Object(out)
    }
}

/// One app's effective policy, as a client applies it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EffectivePolicy {
    /// The merged section.
    pub section: PolicySection,
}

impl EffectivePolicy {
    /// Reads an effective policy (a [`PolicyDocument::effective_json`] value).
    pub fn from_json(value: &Value) -> Result<EffectivePolicy> {
        let doc = PolicyDocument::from_json(value, "<central policy>")?;
        if !doc.teams.is_empty() || !doc.apps.is_empty() {
            return Err(Error::config(
                "<central policy>: an effective policy has no `teams:` or `apps:`",
            ));
        }
        Ok(EffectivePolicy { section: doc.org })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_utc_days_and_months() {
        // 2026-12-02T07:00:00Z
        let t = 1_796_194_800_000;
        let (s, e) = Period::Day.bounds(t);
        assert_eq!((s, e), (1_796_169_600_000, 1_796_256_000_000));
        let (s, e) = Period::Month.bounds(t);
        // 2026-12-01 and 2027-01-01
        assert_eq!((s, e), (1_796_083_200_000, 1_798_761_600_000));
        // February of a leap year.
        let (s, e) = Period::Month.bounds(1_709_251_199_000); // 2024-02-29T23:59:59Z
        assert_eq!((s, e), (1_706_745_600_000, 1_709_251_200_000));
    }

    #[test]
    fn budget_per_reads_labels() {
        assert_eq!(
            BudgetPer::parse("label:project"),
            Some(BudgetPer::Label("project".into()))
        );
        assert_eq!(BudgetPer::parse("label:"), None);
        assert_eq!(BudgetPer::parse("region"), None);
        assert_eq!(BudgetPer::parse("user").unwrap().as_string(), "user");
    }
}
