//! `GET /v1/policy/watch`: the push channel, as server-sent events (`text/event-stream`).
//!
//! On connect, at once: `event: policy` (with `id: <version>`) and `event: budgets`, each
//! with a `data:` line holding a `SignedEnvelope` as one line of JSON. Then a new
//! `event: policy` whenever the version in force changes, an `event: budgets` whenever this
//! app's budget payload changes, and a `: ping` comment every [`PING_INTERVAL`]. A watcher
//! holds no database connection: it waits on the hub's channels, and every watcher of one
//! (app, team) sends the same signed bytes.
//!
//! A new watcher's share of the leases is withheld at first (`share_pending: true`, leases
//! 0): the next budget read divides the leases among one more watcher and tells the others
//! their smaller share; the read after that hands this watcher its own (with other live
//! replicas, once they have had time to tell theirs: [`super::SHARE_SETTLE`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use tokio::sync::watch::Receiver;
use tokio::time::{Interval, MissedTickBehavior};

use super::{Current, PolicyHub, WatcherGuard};
use modelplug_schema::policy::event_names;

/// How often an idle stream gets a comment (keeps proxies from closing it).
pub const PING_INTERVAL: Duration = Duration::from_secs(15);

/// One event as sent.
fn event(name: &str, id: Option<u64>, data: &str) -> String {
    match id {
        Some(id) => format!("event: {name}\nid: {id}\ndata: {data}\n\n"),
        None => format!("event: {name}\ndata: {data}\n\n"),
    }
}

struct Watch {
    hub: Arc<PolicyHub>,
    app: String,
    team: Option<String>,
    policy: Receiver<Arc<Current>>,
    budgets: Receiver<u64>,
    shutdown: Receiver<bool>,
    ping: Interval,
    sent_version: Option<u64>,
    sent_budgets: Option<Arc<str>>,
    guard: WatcherGuard,
}

impl Watch {
    fn policy_event(&mut self) -> Option<String> {
        let (version, env) = self.hub.policy_envelope(&self.app, self.team.as_deref());
        if self.sent_version == Some(version) {
            return None;
        }
        self.sent_version = Some(version);
        self.hub.pushed(event_names::POLICY);
        Some(event(event_names::POLICY, Some(version), &env))
    }

    fn budgets_event(&mut self) -> Option<String> {
        let generation = *self.budgets.borrow_and_update();
        let pending = self.guard.share_pending(generation);
        let env = self.hub.budget_envelope(&self.app, self.team.as_deref(), pending);
        if self.sent_budgets.as_deref() == Some(&*env) {
            return None;
        }
        let out = event(event_names::BUDGETS, None, &env);
        self.sent_budgets = Some(env);
        self.hub.pushed(event_names::BUDGETS);
        Some(out)
    }

    /// The next chunk to send; `None` ends the stream (shutdown).
    async fn next(&mut self) -> Option<String> {
        if self.sent_version.is_none() {
            self.policy.borrow_and_update();
            let mut first = self.policy_event().unwrap_or_default();
            first.push_str(&self.budgets_event().unwrap_or_default());
            return Some(first);
        }
        loop {
            if *self.shutdown.borrow() {
                return None;
            }
            tokio::select! {
                biased;
                r = self.shutdown.changed() => if r.is_err() { return None },
                r = self.policy.changed() => {
                    if r.is_err() {
                        return None;
                    }
                    self.policy.borrow_and_update();
                    if let Some(e) = self.policy_event() {
                        return Some(e);
                    }
                }
                r = self.budgets.changed() => {
                    if r.is_err() {
                        return None;
                    }
                    if let Some(e) = self.budgets_event() {
                        return Some(e);
                    }
                }
                _ = self.ping.tick() => return Some(": ping\n\n".to_owned()),
            }
        }
    }
}

/// The event stream of a client of `app` in `team`.
pub fn stream(hub: Arc<PolicyHub>, app: String, team: Option<String>) -> Response {
    let guard = hub.watch(&app, team.as_deref());
    let (policy, budgets, shutdown) = hub.subscribe();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let w = Watch {
        hub,
        app,
        team,
        policy,
        budgets,
        shutdown,
        ping,
        sent_version: None,
        sent_budgets: None,
        guard,
    };
    let body = futures_util::stream::unfold(w, |mut w| async move {
        let chunk = w.next().await?;
        Some((Ok::<Bytes, Infallible>(Bytes::from(chunk)), w))
    });
    let mut r = Response::new(Body::from_stream(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}
