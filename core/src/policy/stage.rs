//! The policy's place on the call path: at admission a call takes the policy snapshot in
//! force (rules, prices, content capture, version), is checked against the budgets, and —
//! when the config requires a policy and there is none at all — is refused. When it is
//! recorded, its cost is counted against the budgets and its tokens against the rate limits.

use std::sync::Arc;

use futures_util::FutureExt;

use super::budget::{Refusal, Scopes};
use super::state::PolicyState;
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::{CallCx, Flow, Position, Stage, Step};
use crate::usage::UsageEvent;

/// How long a call waits for this client's budget share (sent within a second of joining).
const SHARE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The admission stage of central policy.
pub(crate) struct PolicyStage(pub(crate) Arc<PolicyState>);

impl PolicyStage {
    /// `Ok(None)`: this client's budget share is on its way; ask again after the next update.
    fn admit(&self, cx: &mut CallCx) -> Result<Option<Flow>> {
        let state = &self.0;
        cx.policy_state = Some(state.clone());
        let Some(applied) = state.current() else {
            if state.settings.required {
                return Err(Error::new(
                    ErrorKind::PermissionDenied,
                    "no central policy is available (the collector was not reached and no verified copy is on disk), and `collector.policy.required` is true",
                ));
            }
            return Ok(Some(Flow::Continue));
        };
        cx.policy_version = Some(applied.version_str.clone());
        cx.guard_rules = Some(applied.rules.clone());
        cx.policy = Some(applied);
        let metadata = cx.request.metadata();
        let who = || Scopes::of_call(metadata, &state.app, state.team.as_deref());
        match state.budgets.admit(who, &mut cx.guardrails) {
            Ok(()) => Ok(Some(Flow::Continue)),
            Err(Refusal::Exceeded(e)) => Err(e),
            Err(Refusal::SharePending) => Ok(None),
        }
    }

    /// Admits after waiting for what is not there yet: the collector's first answer (at
    /// start) and this client's budget share (when it has just joined).
    async fn admit_waiting(&self, cx: &mut CallCx) -> Result<Flow> {
        let state = &self.0;
        if !state.is_ready() {
            let _ = tokio::time::timeout(state.settings.start_timeout, state.wait_ready()).await;
        }
        for _ in 0..2 {
            let update = state.budgets.next_update();
            tokio::pin!(update);
            update.as_mut().enable();
            if let Some(flow) = self.admit(cx)? {
                return Ok(flow);
            }
            let _ = tokio::time::timeout(SHARE_WAIT, update).await;
        }
        Err(Error::new(
            ErrorKind::BudgetExceeded,
            "the collector has not yet given this client its share of a hard budget",
        ))
    }
}

impl Stage for PolicyStage {
    fn name(&self) -> &'static str {
        "policy"
    }

    fn position(&self) -> Position {
        Position::Admit
    }

    fn before<'a>(&'a self, cx: &'a mut CallCx) -> Step<'a, Flow> {
        if self.0.is_ready() {
            match self.admit(cx) {
                Ok(Some(flow)) => return Step::Ready(Ok(flow)),
                Err(e) => return Step::Ready(Err(e)),
                Ok(None) => {}
            }
        }
        // The first calls of a new client wait (bounded) for the collector's first answer,
        // and a call that needs this client's budget share for it.
        Step::Pending(self.admit_waiting(cx).boxed())
    }

    fn recorded(&self, event: &Arc<UsageEvent>) {
        self.0.budgets.record(event);
        let limited = self.0.current().is_some_and(|p| !p.rate_limits.is_empty());
        if limited && let (Some(provider), Some(deployment)) = (&event.provider, &event.deployment) {
            self.0
                .limiter
                .note_tokens(provider, deployment, event.input_tokens + event.output_tokens);
        }
    }
}
