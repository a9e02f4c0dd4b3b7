//! One call's walk through its [`Plan`]: which deployment to try next, when to retry it, when
//! to fall back, and the error to give up with. Attempts are recorded as they happen.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Deadline, Deployment, Plan, backoff};
use crate::error::{Error, ErrorKind, Result};
use crate::providers::CallOptions;
use crate::types::Attempt;

/// The state of one call across retries and fallbacks.
pub struct Run {
    plan: Plan,
    /// Index of the step being tried.
    pos: usize,
    /// Retries already made on the current step.
    retries: u32,
    attempts: Vec<Attempt>,
    deadline: Option<Deadline>,
    include_raw: bool,
    last_error: Option<Error>,
    /// Time spent waiting between retries.
    waited: Duration,
}

impl Run {
    /// Starts a call over `plan`; `deadline` bounds the whole call.
    pub fn new(plan: Plan, deadline: Option<Deadline>, include_raw: bool) -> Run {
        Run {
            plan,
            pos: 0,
            retries: 0,
            attempts: Vec::new(),
            deadline,
            include_raw,
            last_error: None,
            waited: Duration::ZERO,
        }
    }

    /// Time spent in backoff between retries so far.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// The attempts so far.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// Takes the attempts (for the usage event, when the call is over).
    pub fn take_attempts(&mut self) -> Vec<Attempt> {
        std::mem::take(&mut self.attempts)
    }

    /// The next deployment to try and its per-try options, or the error to give up with.
    pub fn next_try(&mut self) -> Result<(Arc<Deployment>, CallOptions)> {
        let Some((deployment, _)) = self.plan.steps.get(self.pos) else {
            return Err(self.give_up());
        };
        let mut timeout = Duration::from_millis(deployment.config.timeout_ms);
        if let Some(deadline) = self.deadline {
            if deadline.passed() {
                let e = self.deadline_error(deadline);
                return Err(self.finish_error(e));
            }
            timeout = timeout.min(deadline.left());
        }
        Ok((
            deployment.clone(),
            CallOptions {
                timeout,
                deadline: self.deadline,
                include_raw: self.include_raw,
            },
        ))
    }

    /// Records a successful try.
    pub fn succeeded(&mut self, deployment: &Deployment, try_started: Instant, status: Option<u16>) {
        let elapsed = try_started.elapsed();
        deployment.observe_latency(elapsed.as_micros() as u64);
        self.record(deployment, None, status, elapsed);
    }

    /// Records a failed try and decides what comes next: `Ok(())` means call [`Run::next_try`]
    /// again (after the backoff this waited, if it retries); `Err` is the error to give up with.
    pub async fn failed(
        &mut self,
        deployment: &Deployment,
        try_started: Instant,
        error: Error,
    ) -> Result<()> {
        // A try cut short by the call's deadline: say so (and how long it was).
        let error = match self.deadline {
            Some(d) if error.kind() == ErrorKind::Timeout && d.passed() => {
                let e = d.error();
                match error.provider() {
                    Some(p) => e.with_provider(p.to_owned()),
                    None => e,
                }
            }
            _ => error,
        };
        self.record(
            deployment,
            Some(error.kind()),
            error.status(),
            try_started.elapsed(),
        );
        if self.deadline.is_some_and(|d| d.passed()) {
            return Err(self.finish_error(error));
        }
        let (_, policy) = &self.plan.steps[self.pos];
        if error.is_retryable() && self.retries < policy.attempts {
            let wait = backoff::delay(policy, self.retries, error.retry_after());
            let too_long = wait > Duration::from_millis(policy.max_retry_after_ms);
            let past_deadline = self.deadline.is_some_and(|d| wait >= d.left());
            if !too_long && !past_deadline {
                self.retries += 1;
                self.waited += wait;
                tokio::time::sleep(wait).await;
                return Ok(());
            }
        }
        if !error.allows_fallback() {
            return Err(self.finish_error(error));
        }
        self.pos += 1;
        self.retries = 0;
        self.last_error = Some(error);
        Ok(())
    }

    /// Records a failed try without deciding anything (a stream that broke after content
    /// reached the caller cannot fail over).
    pub fn record_failure(&mut self, deployment: &Deployment, try_started: Instant, error: &Error) {
        self.record(
            deployment,
            Some(error.kind()),
            error.status(),
            try_started.elapsed(),
        );
    }

    fn record(&mut self, d: &Deployment, error: Option<ErrorKind>, status: Option<u16>, elapsed: Duration) {
        self.attempts.push(Attempt {
            provider: d.names.provider.clone(),
            deployment: d.names.deployment.clone(),
            model: d.names.model.clone(),
            error: error.map(Into::into),
            status,
            latency_ms: elapsed.as_secs_f64() * 1000.0,
        });
    }

    /// The call ran out of time before the next try: the last error says why the tries failed.
    fn deadline_error(&self, deadline: Deadline) -> Error {
        let e = deadline.error();
        match &self.last_error {
            Some(last) => {
                let message = format!(
                    "{}; last error: [{}] {}",
                    e.message(),
                    last.code(),
                    last.message()
                );
                Error::new(ErrorKind::Timeout, message)
            }
            None => e,
        }
    }

    /// The plan is exhausted.
    fn give_up(&mut self) -> Error {
        let last = self
            .last_error
            .take()
            .unwrap_or_else(|| Error::internal("the routing plan has no deployments"));
        let mut tried: Vec<&str> = self.attempts.iter().map(|a| &*a.deployment).collect();
        tried.dedup();
        if tried.len() <= 1 {
            return self.finish_error(last);
        }
        let message = format!(
            "all {} deployments failed ({}); last error: [{}] {}",
            tried.len(),
            tried.join(", "),
            last.code(),
            last.message()
        );
        let mut e = Error::new(ErrorKind::AllDeploymentsFailed, message)
            .with_retry_after(last.retry_after())
            .with_request_id(last.request_id().map(str::to_owned))
            .with_provider_code(last.provider_code().map(str::to_owned))
            .with_retryable(false);
        if let Some(p) = last.provider() {
            e = e.with_provider(p);
        }
        if let Some(s) = last.status() {
            e = e.with_status(s);
        }
        self.finish_error(e)
    }

    fn finish_error(&mut self, e: Error) -> Error {
        e.with_attempts(self.attempts.clone())
    }
}
