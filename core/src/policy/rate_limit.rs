//! Local rate limits from the central policy: requests and tokens per minute per deployment,
//! counted in this process over a sliding minute. A deployment at its limit is left out of a
//! call's plan — the router goes to the next one instead of provoking a 429 — and a call with
//! no deployment left fails with RATE_LIMITED at once, saying when one frees up.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::RateLimitSpec;
use crate::guardrails::glob;
use crate::routing::DeploymentNames;

const MINUTE: Duration = Duration::from_secs(60);

/// A deployment's last minute.
#[derive(Debug, Default)]
struct Window {
    requests: VecDeque<Instant>,
    tokens: VecDeque<(Instant, u64)>,
    token_sum: u64,
}

impl Window {
    fn trim(&mut self, now: Instant) {
        while self
            .requests
            .front()
            .is_some_and(|t| now.duration_since(*t) >= MINUTE)
        {
            self.requests.pop_front();
        }
        while let Some((t, n)) = self.tokens.front().copied()
            && now.duration_since(t) >= MINUTE
        {
            self.tokens.pop_front();
            self.token_sum -= n;
        }
    }
}

/// A deployment: its provider and its name.
type DeploymentKey = (Arc<str>, Arc<str>);

/// Each deployment's last minute (kept across policy updates; the limits themselves come with
/// each call's policy snapshot).
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    windows: Mutex<HashMap<DeploymentKey, Window>>,
}

impl RateLimiter {
    /// The lowest rpm and tpm of the rules matching `d` (`provider/model` or its name).
    fn limits(rules: &[RateLimitSpec], d: &DeploymentNames) -> (Option<u64>, Option<u64>) {
        let full = format!("{}/{}", d.provider, d.model);
        let (mut rpm, mut tpm): (Option<u64>, Option<u64>) = (None, None);
        for r in rules.iter() {
            if glob(&r.deployment, &full) || glob(&r.deployment, &d.deployment) {
                rpm = min_some(rpm, r.rpm);
                tpm = min_some(tpm, r.tpm);
            }
        }
        (rpm, tpm)
    }

    /// `None` when `d` may take a request now under `rules`; otherwise how long until it may.
    pub(crate) fn wait_for(&self, rules: &[RateLimitSpec], d: &DeploymentNames) -> Option<Duration> {
        let (rpm, tpm) = Self::limits(rules, d);
        if rpm.is_none() && tpm.is_none() {
            return None;
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let w = windows.get_mut(&key(d))?;
        w.trim(now);
        let mut wait = None;
        if let Some(rpm) = rpm
            && w.requests.len() as u64 >= rpm
        {
            let oldest = w.requests[w.requests.len() - rpm as usize];
            wait = Some(MINUTE.saturating_sub(now.duration_since(oldest)));
        }
        if let Some(tpm) = tpm
            && w.token_sum >= tpm
        {
            // Free once enough of the oldest tokens leave the window.
            let mut over = w.token_sum - tpm;
            let mut until = Duration::ZERO;
            for (t, n) in &w.tokens {
                until = MINUTE.saturating_sub(now.duration_since(*t));
                if *n > over {
                    break;
                }
                over -= n;
            }
            wait = Some(wait.map_or(until, |w: Duration| w.max(until)));
        }
        wait
    }

    /// Counts one request sent to `d`.
    pub(crate) fn note_request(&self, d: &DeploymentNames) {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let w = windows.entry(key(d)).or_default();
        w.trim(now);
        w.requests.push_back(now);
    }

    /// Counts the tokens a call to `provider`'s `deployment` used.
    pub(crate) fn note_tokens(&self, provider: &str, deployment: &str, tokens: u64) {
        if tokens == 0 {
            return;
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let w = windows.entry((provider.into(), deployment.into())).or_default();
        w.trim(now);
        w.tokens.push_back((now, tokens));
        w.token_sum += tokens;
    }
}

fn key(d: &DeploymentNames) -> DeploymentKey {
    (d.provider.clone(), d.deployment.clone())
}

fn min_some(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(provider: &str, deployment: &str, model: &str) -> DeploymentNames {
        DeploymentNames {
            provider: provider.into(),
            deployment: deployment.into(),
            model: model.into(),
        }
    }

    #[test]
    fn a_deployment_at_its_rpm_waits_and_others_do_not() {
        let l = RateLimiter::default();
        let rules = [RateLimitSpec {
            deployment: "openai/gpt-4o*".into(),
            rpm: Some(2),
            tpm: None,
        }];
        let a = names("openai", "primary", "gpt-4o");
        let b = names("azure", "backup", "gpt-4o");
        assert_eq!(l.wait_for(&rules, &a), None);
        l.note_request(&a);
        l.note_request(&a);
        let wait = l.wait_for(&rules, &a).expect("at its limit");
        assert!(wait <= MINUTE && wait > Duration::from_secs(50), "{wait:?}");
        for _ in 0..5 {
            l.note_request(&b);
        }
        assert_eq!(l.wait_for(&rules, &b), None, "no rule names azure");
    }

    #[test]
    fn tokens_per_minute_and_the_lowest_limit_win() {
        let l = RateLimiter::default();
        let rules = [
            RateLimitSpec {
                deployment: "*".into(),
                rpm: None,
                tpm: Some(1000),
            },
            RateLimitSpec {
                deployment: "primary".into(),
                rpm: None,
                tpm: Some(100),
            },
        ];
        let a = names("openai", "primary", "gpt-4o");
        l.note_request(&a);
        l.note_tokens("openai", "primary", 99);
        assert_eq!(l.wait_for(&rules, &a), None);
        l.note_tokens("openai", "primary", 1);
        assert!(l.wait_for(&rules, &a).is_some());
    }
}
