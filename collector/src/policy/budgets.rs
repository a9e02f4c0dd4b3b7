//! Budgets: spend per scope in the current period, read from the stored events through the
//! report machinery (rollups plus the events they do not hold yet, so every committed event
//! counts), and each app's [`BudgetPayload`] with the leases its clients may spend between
//! pushes.
//!
//! A budget's section says which events count (the organisation's: all; `teams.T`: team T's;
//! `apps.A`: app A's); `per` groups them (`org`: one scope; `app`, `team`, `user`,
//! `label:<key>`: one scope per value). A lease is what is left of a scope's limit divided
//! among the clients watching that scope on every live replica (see [`super`]).

use std::collections::HashMap;

use modelplug_core::policy::{BudgetMode, BudgetPer, BudgetSpec, PolicyDocument};
use modelplug_schema::policy::{BudgetPayload, BudgetState, ScopeState};
use serde_json::{Value, json};

use crate::report::query::valid_label_key;
use crate::report::{self, Dim, Filter, ReportQuery};
use crate::store::{Store, StoreError};

/// The most `user`/`label:` scopes at or past `warn_at` one payload lists (the highest spenders).
pub const MAX_LISTED_SCOPES: usize = 1000;

/// The section of the policy that lists a budget.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Section {
    /// The organisation's: every event counts.
    Org,
    /// `teams.<name>`: that team's events.
    Team(String),
    /// `apps.<name>`: that app's events.
    App(String),
}

impl Section {
    /// Whether a client of `app` in `team` is within the section.
    pub fn covers(&self, app: &str, team: Option<&str>) -> bool {
        match self {
            Section::Org => true,
            Section::Team(t) => team == Some(t.as_str()),
            Section::App(a) => a == app,
        }
    }

    /// `org`, `team:<name>` or `app:<name>`.
    pub fn label(&self) -> String {
        match self {
            Section::Org => "org".into(),
            Section::Team(t) => format!("team:{t}"),
            Section::App(a) => format!("app:{a}"),
        }
    }

    fn filters(&self) -> Vec<Filter> {
        match self {
            Section::Org => vec![],
            Section::Team(t) => vec![Filter {
                dim: Dim::Team,
                values: vec![t.clone()],
            }],
            Section::App(a) => vec![Filter {
                dim: Dim::App,
                values: vec![a.clone()],
            }],
        }
    }
}

/// One budget's spend this period.
#[derive(Debug, Clone)]
pub struct BudgetSpend {
    /// Where the policy lists it.
    pub section: Section,
    /// The budget.
    pub spec: BudgetSpec,
    /// The current period's start (ms since the epoch).
    pub period_start_ms: i64,
    /// Its end.
    pub period_end_ms: i64,
    /// Spend per scope value, highest first (`""` for `per: org`).
    pub spent: Vec<(String, f64)>,
    by_value: HashMap<String, f64>,
}

impl BudgetSpend {
    /// What the scope `value` has spent.
    pub fn spent_of(&self, value: &str) -> f64 {
        self.by_value.get(value).copied().unwrap_or(0.0)
    }
}

/// Every budget's spend, for one policy version.
#[derive(Debug, Clone)]
pub struct Spends {
    /// The policy version.
    pub version: u64,
    /// When they were read.
    pub as_of_ms: i64,
    /// One per budget of the document, in document order (organisation, teams, apps).
    pub budgets: Vec<BudgetSpend>,
}

impl Spends {
    /// No budgets (before the first read).
    pub fn empty(version: u64) -> Spends {
        Spends {
            version,
            as_of_ms: 0,
            budgets: Vec::new(),
        }
    }
}

/// Every budget of `doc` with the section that lists it.
pub fn budgets_of(doc: &PolicyDocument) -> Vec<(Section, BudgetSpec)> {
    let mut out: Vec<(Section, BudgetSpec)> = doc
        .org
        .budgets
        .iter()
        .map(|b| (Section::Org, b.clone()))
        .collect();
    for (t, s) in &doc.teams {
        out.extend(s.budgets.iter().map(|b| (Section::Team(t.clone()), b.clone())));
    }
    for (a, s) in &doc.apps {
        out.extend(s.budgets.iter().map(|b| (Section::App(a.clone()), b.clone())));
    }
    out
}

/// The dimension a budget groups by (`None` for `per: org`, and for a label key reports
/// cannot read).
fn group_dim(per: &BudgetPer) -> Result<Option<Dim>, ()> {
    Ok(match per {
        BudgetPer::Org => None,
        BudgetPer::App => Some(Dim::App),
        BudgetPer::Team => Some(Dim::Team),
        BudgetPer::User => Some(Dim::User),
        BudgetPer::Label(k) if valid_label_key(k) => Some(Dim::Label(k.clone())),
        BudgetPer::Label(_) => return Err(()),
    })
}

/// Problems the collector has with a document the core accepted: label keys it cannot count.
pub fn unreadable_budgets(doc: &PolicyDocument) -> Vec<String> {
    budgets_of(doc)
        .iter()
        .filter(|(_, b)| group_dim(&b.per).is_err())
        .map(|(s, b)| {
            format!(
                "policy: budget `{}` ({}): per: a label key is 1 to 64 letters, digits, `_-./:`",
                b.name,
                s.label()
            )
        })
        .collect()
}

/// Reads every budget's spend in its period containing `now_ms` (one report per distinct
/// question; budgets asking the same share it).
pub async fn read_spends(
    store: &Store,
    doc: &PolicyDocument,
    version: u64,
    now_ms: i64,
) -> Result<Spends, StoreError> {
    type Question = (Section, Option<Dim>, i64, i64);
    let mut answers: HashMap<Question, Vec<(String, f64)>> = HashMap::new();
    let mut budgets = Vec::new();
    for (section, spec) in budgets_of(doc) {
        let (start, end) = spec.period.bounds(now_ms);
        let spent = match group_dim(&spec.per) {
            Err(()) => Vec::new(),
            Ok(dim) => {
                let q: Question = (section.clone(), dim.clone(), start, end);
                match answers.get(&q) {
                    Some(a) => a.clone(),
                    None => {
                        let a = read_one(store, &section, dim, start, end).await?;
                        answers.insert(q, a.clone());
                        a
                    }
                }
            }
        };
        let by_value = spent.iter().cloned().collect();
        budgets.push(BudgetSpend {
            section,
            spec,
            period_start_ms: start,
            period_end_ms: end,
            spent,
            by_value,
        });
    }
    Ok(Spends {
        version,
        as_of_ms: now_ms,
        budgets,
    })
}

async fn read_one(
    store: &Store,
    section: &Section,
    dim: Option<Dim>,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<(String, f64)>, StoreError> {
    let q = ReportQuery {
        from_ms,
        to_ms,
        group_by: dim.iter().cloned().collect(),
        filters: section.filters(),
    };
    let r = report::run(store, &q).await?;
    let cost = |m: &serde_json::Map<String, Value>| m.get("cost_usd").and_then(Value::as_f64).unwrap_or(0.0);
    let mut out: Vec<(String, f64)> = match &dim {
        None => vec![(String::new(), cost(&r.totals))],
        Some(d) => {
            let col = d.to_string();
            r.rows
                .iter()
                .map(|row| {
                    let v = row.get(&col).and_then(Value::as_str).unwrap_or("").to_owned();
                    (v, cost(row))
                })
                .collect()
        }
    };
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

/// Live watchers per (app, team).
pub type WatcherCounts = HashMap<(String, Option<String>), usize>;

/// Whether a watcher of (`app`, `team`) is in the scope `value` of a `per` budget.
fn in_scope(per: &BudgetPer, value: &str, app: &str, team: Option<&str>) -> bool {
    match per {
        BudgetPer::App => app == value,
        BudgetPer::Team => team.unwrap_or("") == value,
        BudgetPer::Org | BudgetPer::User | BudgetPer::Label(_) => true,
    }
}

fn watchers_in(b: &BudgetSpend, value: &str, counts: &WatcherCounts) -> usize {
    counts
        .iter()
        .filter(|((a, t), _)| {
            b.section.covers(a, t.as_deref()) && in_scope(&b.spec.per, value, a, t.as_deref())
        })
        .map(|(_, n)| *n)
        .sum()
}

/// Watchers within a section, whatever their scope.
pub fn watchers_in_section(section: &Section, counts: &WatcherCounts) -> usize {
    counts
        .iter()
        .filter(|((a, t), _)| section.covers(a, t.as_deref()))
        .map(|(_, n)| *n)
        .sum()
}

fn mode_str(m: BudgetMode) -> &'static str {
    match m {
        BudgetMode::Hard => "hard",
        BudgetMode::Soft => "soft",
    }
}

/// The budget state of one client of `app` in `team`: every budget that applies to it, with
/// its scopes and leases.
pub fn payload_for(spends: &Spends, counts: &WatcherCounts, app: &str, team: Option<&str>) -> BudgetPayload {
    let mut budgets = Vec::new();
    for b in spends.budgets.iter().filter(|b| b.section.covers(app, team)) {
        let limit = b.spec.limit_usd;
        let lease = |spent: f64, n: usize| (limit - spent).max(0.0) / n.max(1) as f64;
        let (scopes, n) = match &b.spec.per {
            BudgetPer::Org | BudgetPer::App | BudgetPer::Team => {
                let value = match b.spec.per {
                    BudgetPer::App => app.to_owned(),
                    BudgetPer::Team => team.unwrap_or("").to_owned(),
                    _ => String::new(),
                };
                let n = watchers_in(b, &value, counts);
                let spent = b.spent_of(&value);
                let scope = ScopeState {
                    value,
                    spent_usd: spent,
                    lease_usd: lease(spent, n),
                };
                (vec![scope], n)
            }
            BudgetPer::User | BudgetPer::Label(_) => {
                let n = watchers_in(b, "", counts);
                let scopes = b
                    .spent
                    .iter()
                    .filter(|(_, s)| *s >= b.spec.warn_at * limit)
                    .take(MAX_LISTED_SCOPES)
                    .map(|(v, s)| ScopeState {
                        value: v.clone(),
                        spent_usd: *s,
                        lease_usd: lease(*s, n),
                    })
                    .collect();
                (scopes, n)
            }
        };
        budgets.push(BudgetState {
            name: b.spec.name.clone(),
            per: b.spec.per.as_string(),
            period: b.spec.period.as_str().to_owned(),
            period_end_ms: b.period_end_ms,
            limit_usd: limit,
            mode: mode_str(b.spec.mode).to_owned(),
            warn_at: b.spec.warn_at,
            scopes,
            default_lease_usd: (1.0 - b.spec.warn_at).max(0.0) * limit / n.max(1) as f64,
        });
    }
    BudgetPayload {
        kind: "budgets".into(),
        app: app.to_owned(),
        policy_version: spends.version,
        as_of_ms: spends.as_of_ms,
        budgets,
        share_pending: false,
    }
}

/// Withholds a newly joined watcher's share: every lease 0 and `share_pending: true` (when
/// there is any budget at all; with none there is nothing to wait for).
pub fn withhold_leases(p: &mut BudgetPayload) {
    if p.budgets.is_empty() {
        return;
    }
    for b in &mut p.budgets {
        b.default_lease_usd = 0.0;
        for s in &mut b.scopes {
            s.lease_usd = 0.0;
        }
    }
    p.share_pending = true;
}

/// `ok`, `near` (at or past `warn_at` of the limit) or `over` (at or past the limit).
pub fn state_of(spent: f64, spec: &BudgetSpec) -> &'static str {
    if spent >= spec.limit_usd {
        "over"
    } else if spent >= spec.warn_at * spec.limit_usd {
        "near"
    } else {
        "ok"
    }
}

/// What `spent` will be at `end_ms` if spending goes on at the pace since `start_ms`: a
/// straight line through the period so far — `None` before a tenth of the period (and at
/// least an hour) has passed, when a line through so little would say more about the hour of
/// the day than about the period; the spend itself once the period is over.
pub fn forecast(spent: f64, start_ms: i64, end_ms: i64, now_ms: i64) -> Option<f64> {
    let (elapsed, length) = ((now_ms - start_ms).max(0), (end_ms - start_ms).max(1));
    if now_ms >= end_ms {
        return Some(spent);
    }
    if elapsed < (length / 10).max(3_600_000) {
        return None;
    }
    Some(spent * length as f64 / elapsed as f64)
}

/// Every budget with every scope that has spent (the admin view, `GET /v1/budgets`), with
/// each scope's forecast to the period's end.
pub fn admin_view(spends: &Spends, counts: &WatcherCounts) -> Value {
    let budgets: Vec<Value> = spends
        .budgets
        .iter()
        .map(|b| {
            let mut spent = b.spent.clone();
            if b.spec.per == BudgetPer::Org && spent.is_empty() {
                spent.push((String::new(), 0.0));
            }
            let scopes: Vec<Value> = spent
                .iter()
                .map(|(v, s)| {
                    let f = forecast(*s, b.period_start_ms, b.period_end_ms, spends.as_of_ms);
                    json!({
                        "value": v,
                        "spent_usd": s,
                        "state": state_of(*s, &b.spec),
                        "forecast_usd": f,
                        "forecast_state": f.map(|f| state_of(f, &b.spec)),
                    })
                })
                .collect();
            json!({
                "name": b.spec.name,
                "section": b.section.label(),
                "per": b.spec.per.as_string(),
                "period": b.spec.period.as_str(),
                "period_start_ms": b.period_start_ms,
                "period_end_ms": b.period_end_ms,
                "limit_usd": b.spec.limit_usd,
                "mode": mode_str(b.spec.mode),
                "warn_at": b.spec.warn_at,
                "watchers": watchers_in_section(&b.section, counts),
                "scopes": scopes,
            })
        })
        .collect();
    json!({"policy_version": spends.version, "as_of_ms": spends.as_of_ms, "budgets": budgets})
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelplug_core::policy::Period;

    #[test]
    fn the_forecast_is_a_straight_line_through_the_period_so_far() {
        let h = 3_600_000;
        // A quarter of a 24-hour day gone: four times the spend.
        assert_eq!(forecast(5.0, 0, 24 * h, 6 * h), Some(20.0));
        assert_eq!(forecast(0.0, 0, 24 * h, 6 * h), Some(0.0));
        // Before a tenth of the period (2.4 h of a day; 3 days of a month; an hour at least):
        // none. Past the end: the spend as it is.
        assert_eq!(forecast(5.0, 0, 24 * h, 2 * h), None);
        assert_eq!(forecast(5.0, 0, 30 * 24 * h, 48 * h), None);
        assert_eq!(forecast(5.0, 0, 30 * 24 * h, 72 * h), Some(50.0));
        assert_eq!(forecast(5.0, 0, 5 * h, h / 2), None);
        assert_eq!(forecast(5.0, 0, 24 * h, 25 * h), Some(5.0));
    }

    fn spend(section: Section, per: BudgetPer, limit: f64, spent: &[(&str, f64)]) -> BudgetSpend {
        let spent: Vec<(String, f64)> = spent.iter().map(|(v, s)| (v.to_string(), *s)).collect();
        BudgetSpend {
            section,
            spec: BudgetSpec {
                name: "b".into(),
                per,
                period: Period::Day,
                limit_usd: limit,
                mode: BudgetMode::Hard,
                warn_at: 0.8,
            },
            period_start_ms: 0,
            period_end_ms: 1,
            by_value: spent.iter().cloned().collect(),
            spent,
        }
    }

    #[test]
    fn leases_divide_what_is_left_among_the_scope_s_watchers() {
        let spends = Spends {
            version: 3,
            as_of_ms: 5,
            budgets: vec![
                spend(Section::Org, BudgetPer::App, 10.0, &[("a", 4.0), ("b", 1.0)]),
                spend(Section::Team("t".into()), BudgetPer::Org, 100.0, &[("", 50.0)]),
                spend(Section::App("b".into()), BudgetPer::Org, 1.0, &[]),
                spend(
                    Section::Org,
                    BudgetPer::User,
                    10.0,
                    &[("u1", 9.0), ("u2", 12.0), ("u3", 1.0)],
                ),
            ],
        };
        let mut counts = WatcherCounts::new();
        counts.insert(("a".into(), Some("t".into())), 2);
        counts.insert(("b".into(), Some("t".into())), 1);
        counts.insert(("c".into(), None), 1);
        let p = payload_for(&spends, &counts, "a", Some("t"));
        assert_eq!(p.policy_version, 3);
        assert_eq!(p.budgets.len(), 3, "app b's own budget does not apply to a");
        assert_eq!(p.budgets[0].scopes[0].value, "a");
        assert_eq!(
            p.budgets[0].scopes[0].lease_usd, 3.0,
            "(10 - 4) / 2 watchers of app a"
        );
        assert_eq!(p.budgets[1].scopes[0].lease_usd, 50.0 / 3.0, "team t: 3 watchers");
        let users = &p.budgets[2];
        assert_eq!(
            users.scopes.iter().map(|s| s.value.as_str()).collect::<Vec<_>>(),
            vec!["u1", "u2"]
        );
        assert_eq!(users.scopes[1].lease_usd, 0.0);
        assert_eq!(
            users.scopes[0].lease_usd,
            1.0 / 4.0,
            "every watcher may serve a user"
        );
        assert!((users.default_lease_usd - 0.5).abs() < 1e-12);
        assert_eq!(state_of(9.0, &spends.budgets[3].spec), "near");
    }
}
