//! Budgets in a client: the collector's last word on each budget (spend as ingested, and a
//! lease — the share of what is left that this client may spend before it hears again) and
//! the client's own spend since, so that a hard budget stops calls between pushes.
//!
//! The bound (see docs/policy.md): the leases the collector hands out at one time add up to
//! at most what is left of the budget, and a client admits a call only while its own spend
//! since the update is below its lease. When an update arrives, the client counts as its own
//! spend everything it recorded within the last `window` (the reporter's flush interval plus
//! ingest and push time) — events that may not be in the collector's figures yet — and, while
//! the reporter cannot deliver, everything since the last update. So the only overshoot is
//! the calls already admitted when a lease runs out: at most, per client, its concurrent calls
//! times the dearest call's cost.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use modelplug_schema::policy::{BudgetPayload, BudgetState};

use crate::error::{Error, ErrorKind};
use crate::types::Metadata;
use crate::usage::{GuardrailOutcome, UsageEvent};

/// Who a call is for: what budget scopes it falls in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Scopes {
    pub(crate) app: String,
    pub(crate) team: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) labels: Vec<(String, String)>,
}

impl Scopes {
    /// The scopes of a call about to be made.
    pub(crate) fn of_call(metadata: &Metadata, app: &str, team: Option<&str>) -> Scopes {
        Scopes {
            app: metadata.app.clone().unwrap_or_else(|| app.to_owned()),
            team: metadata.team.clone().or_else(|| team.map(str::to_owned)),
            user: metadata.user.clone(),
            labels: metadata
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The scopes of a recorded call.
    pub(crate) fn of_event(e: &UsageEvent) -> Scopes {
        Scopes {
            app: e.app.to_string(),
            team: e.team.as_deref().map(str::to_owned),
            user: e.user.clone(),
            labels: e.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }

    /// This call's value for a budget counted `per`, if it has one.
    fn value(&self, per: &str) -> Option<&str> {
        match per {
            "org" => Some(""),
            "app" => Some(&self.app),
            "team" => self.team.as_deref(),
            "user" => self.user.as_deref(),
            _ => {
                let key = per.strip_prefix("label:")?;
                self.labels
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.as_str())
            }
        }
    }
}

/// One budget as the client tracks it.
#[derive(Debug)]
struct Tracked {
    state: BudgetState,
    /// Per scope value: the lease and what this client spent since the update.
    scopes: HashMap<String, Scope>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Scope {
    lease: f64,
    spent_here: f64,
}

impl Tracked {
    fn scope(&mut self, value: &str, now_ms: i64) -> &mut Scope {
        if now_ms >= self.state.period_end_ms {
            // A new period the collector has not reported on yet: the listed spend no longer
            // counts; each scope may spend what an unlisted one may.
            self.state.period_end_ms = i64::MAX;
            self.scopes.clear();
        }
        let default = self.state.default_lease_usd;
        self.scopes.entry(value.to_owned()).or_insert(Scope {
            lease: default,
            spent_here: 0.0,
        })
    }
}

/// A client's budgets.
#[derive(Debug)]
pub(crate) struct BudgetBook {
    inner: Mutex<Book>,
    updated: tokio::sync::Notify,
    /// How far back this client's own spend may be missing from an update.
    window: Duration,
}

/// Why a call may not go on yet.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// A hard budget's lease is spent.
    Exceeded(Error),
    /// This client's share is on its way: wait for the next update, then ask again.
    SharePending,
}

#[derive(Debug, Default)]
struct Book {
    budgets: Vec<Tracked>,
    /// This client's share comes with the next update.
    share_pending: bool,
    /// An update has arrived (so an empty `budgets` means none apply).
    updated_once: bool,
    /// Recent spend (when, cost, scopes), kept for `window`.
    recent: VecDeque<(Instant, f64, Scopes)>,
    as_of_ms: i64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl BudgetBook {
    /// A book with no budget yet; `window`: how far back this client's own spend may be
    /// missing from the collector's figures (the reporter's flush interval plus ingest and
    /// push time).
    pub(crate) fn new(window: Duration) -> BudgetBook {
        BudgetBook {
            inner: Mutex::default(),
            updated: tokio::sync::Notify::new(),
            window,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies the collector's update. `delivering`: whether the reporter is delivering
    /// events (when it is not, nothing spent since the last update is in the collector's
    /// figures).
    pub(crate) fn update(&self, payload: BudgetPayload, delivering: bool) {
        let mut book = self.lock();
        if payload.as_of_ms < book.as_of_ms {
            return;
        }
        book.forget_older_than(self.window);
        let old: HashMap<String, Tracked> = std::mem::take(&mut book.budgets)
            .into_iter()
            .map(|t| (t.state.name.clone(), t))
            .collect();
        let mut budgets = Vec::with_capacity(payload.budgets.len());
        for state in payload.budgets {
            let mut scopes: HashMap<String, Scope> = HashMap::new();
            for s in &state.scopes {
                scopes.insert(
                    s.value.clone(),
                    Scope {
                        lease: s.lease_usd.max(0.0),
                        spent_here: 0.0,
                    },
                );
            }
            let mut t = Tracked { state, scopes };
            if !delivering && let Some(prev) = old.get(&t.state.name) {
                // Nothing reached the collector since: keep counting from the last update.
                for (value, p) in &prev.scopes {
                    let default = t.state.default_lease_usd;
                    t.scopes
                        .entry(value.clone())
                        .or_insert(Scope {
                            lease: default,
                            spent_here: 0.0,
                        })
                        .spent_here += p.spent_here;
                }
            } else {
                for (_, cost, who) in &book.recent {
                    if let Some(v) = who.value(&t.state.per) {
                        let default = t.state.default_lease_usd;
                        t.scopes
                            .entry(v.to_owned())
                            .or_insert(Scope {
                                lease: default,
                                spent_here: 0.0,
                            })
                            .spent_here += cost;
                    }
                }
            }
            budgets.push(t);
        }
        book.budgets = budgets;
        book.as_of_ms = payload.as_of_ms;
        book.share_pending = payload.share_pending;
        book.updated_once = true;
        drop(book);
        self.updated.notify_waiters();
    }

    /// The next update (the caller bounds the wait; `enable` it before checking).
    pub(crate) fn next_update(&self) -> tokio::sync::futures::Notified<'_> {
        self.updated.notified()
    }

    /// Whether a call for `who` may go on: BUDGET_EXCEEDED naming the first hard budget it
    /// would exceed (its scope, period and limit — nothing of other apps); soft budgets past
    /// their lease leave a `warn` outcome named `budget:<name>`.
    /// `who` is asked for only when some budget applies (a call without budgets allocates
    /// nothing here).
    pub(crate) fn admit(
        &self,
        who: impl FnOnce() -> Scopes,
        outcomes: &mut Vec<GuardrailOutcome>,
    ) -> Result<(), Refusal> {
        let mut book = self.lock();
        if book.budgets.is_empty() {
            return Ok(());
        }
        let who = who();
        let now = now_ms();
        let pending = book.share_pending;
        for t in &mut book.budgets {
            let Some(value) = who.value(&t.state.per) else {
                continue;
            };
            let scope = *t.scope(value, now);
            if scope.spent_here < scope.lease {
                continue;
            }
            if t.state.mode == "hard" {
                if pending {
                    return Err(Refusal::SharePending);
                }
                return Err(Refusal::Exceeded(Error::new(
                    ErrorKind::BudgetExceeded,
                    format!(
                        "the budget `{}` ({}, per {}) of ${:.2} is spent for {}",
                        t.state.name,
                        t.state.period,
                        t.state.per,
                        t.state.limit_usd,
                        describe(&t.state.per, value)
                    ),
                )));
            }
            outcomes.push(GuardrailOutcome {
                name: format!("budget:{}", t.state.name),
                stage: "input".to_owned(),
                action: "warn".to_owned(),
                count: 1,
            });
        }
        Ok(())
    }

    /// Counts a recorded call's cost against every budget it falls in, and remembers it for
    /// the window: an update that arrives next may not include it yet. Nothing is kept (or
    /// allocated) once the collector has said no budget applies.
    pub(crate) fn record(&self, event: &UsageEvent) {
        let Some(cost) = event.cost_usd.filter(|c| *c > 0.0) else {
            return;
        };
        let none_apply = {
            let book = self.lock();
            book.budgets.is_empty() && book.updated_once
        };
        if !none_apply {
            self.spent(Scopes::of_event(event), cost);
        }
    }

    /// Counts `cost` spent for `who`.
    pub(crate) fn spent(&self, who: Scopes, cost: f64) {
        let mut book = self.lock();
        book.forget_older_than(self.window);
        let now = now_ms();
        for t in &mut book.budgets {
            if let Some(value) = who.value(&t.state.per) {
                t.scope(value, now).spent_here += cost;
            }
        }
        book.recent.push_back((Instant::now(), cost, who));
        // Bounded: a client making very many calls keeps the last 100,000 (the older ones
        // are long in the collector's figures).
        if book.recent.len() > 100_000 {
            book.recent.pop_front();
        }
    }
}

impl Book {
    fn forget_older_than(&mut self, window: Duration) {
        let now = Instant::now();
        while self
            .recent
            .front()
            .is_some_and(|(t, _, _)| now.duration_since(*t) > window)
        {
            self.recent.pop_front();
        }
    }
}

/// The scope, in an error: the caller's own app, team or label value; a user is not named.
fn describe(per: &str, value: &str) -> String {
    match per {
        "org" => "the organisation".to_owned(),
        "user" => "this user".to_owned(),
        _ => format!("{per} `{value}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelplug_schema::policy::ScopeState;

    fn payload(as_of_ms: i64, lease: f64) -> BudgetPayload {
        BudgetPayload {
            kind: "budgets".into(),
            app: "a".into(),
            policy_version: 1,
            as_of_ms,
            share_pending: false,
            budgets: vec![BudgetState {
                name: "daily".into(),
                per: "app".into(),
                period: "day".into(),
                period_end_ms: i64::MAX - 1,
                limit_usd: 10.0,
                mode: "hard".into(),
                warn_at: 0.8,
                scopes: vec![ScopeState {
                    value: "a".into(),
                    spent_usd: 10.0 - lease,
                    lease_usd: lease,
                }],
                default_lease_usd: 2.0,
            }],
        }
    }

    fn who() -> Scopes {
        Scopes {
            app: "a".into(),
            ..Scopes::default()
        }
    }

    #[test]
    fn a_lease_is_spent_locally_then_renewed() {
        let book = BudgetBook::new(Duration::from_secs(60));
        book.update(payload(1, 0.5), true);
        let mut out = Vec::new();
        assert!(book.admit(who, &mut out).is_ok());
        book.spent(who(), 0.6);
        let Err(Refusal::Exceeded(err)) = book.admit(who, &mut out) else {
            panic!("not refused")
        };
        assert_eq!(err.kind(), ErrorKind::BudgetExceeded);
        assert!(
            err.message().contains("`daily` (day, per app) of $10.00"),
            "{err}"
        );
        // An update within the window still counts the recent spend: still over a 0.5 lease…
        book.update(payload(2, 0.5), true);
        assert!(book.admit(who, &mut out).is_err());
        // …and a bigger lease lets calls go on.
        book.update(payload(3, 5.0), true);
        assert!(book.admit(who, &mut out).is_ok());
        // An older update is ignored.
        book.update(payload(1, 0.0), true);
        assert!(book.admit(who, &mut out).is_ok());
    }

    #[test]
    fn soft_budgets_warn_and_other_apps_are_not_counted() {
        let book = BudgetBook::new(Duration::from_secs(60));
        let mut p = payload(1, 0.0);
        p.budgets[0].mode = "soft".into();
        book.update(p, true);
        let mut out = Vec::new();
        book.admit(who, &mut out).unwrap();
        assert_eq!(out[0].name, "budget:daily");
        assert_eq!(out[0].action, "warn");
        // Another app's scope is not listed: it gets the default lease.
        let other = Scopes {
            app: "b".into(),
            ..Scopes::default()
        };
        let mut out = Vec::new();
        book.admit(|| other.clone(), &mut out).unwrap();
        assert!(out.is_empty());
    }
}
