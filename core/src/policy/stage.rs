//! The policy's place on the call path: at admission a call takes the policy snapshot in
//! force (rules, prices, content capture, version), is checked against the budgets, and —
//! when the config requires a policy and there is none at all — is refused. When it is
//! recorded, its cost is counted against the budgets and its tokens against the rate limits.

use std::sync::Arc;

use futures_util::FutureExt;

use super::budget::Scopes;
use super::state::PolicyState;
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::{CallCx, Flow, Position, Stage, Step};
use crate::usage::UsageEvent;

/// The admission stage of central policy.
pub(crate) struct PolicyStage(pub(crate) Arc<PolicyState>);

impl PolicyStage {
    fn admit(&self, cx: &mut CallCx) -> Result<Flow> {
        let state = &self.0;
        cx.policy_state = Some(state.clone());
        let Some(applied) = state.current() else {
            if state.settings.required {
                return Err(Error::new(
                    ErrorKind::PermissionDenied,
                    "no central policy is available (the collector was not reached and no verified copy is on disk), and `collector.policy.required` is true",
                ));
            }
            return Ok(Flow::Continue);
        };
        cx.policy_version = Some(applied.version_str.clone());
        cx.guard_rules = Some(applied.rules.clone());
        cx.policy = Some(applied);
        let who = Scopes::of_call(cx.request.metadata(), &state.app, state.team.as_deref());
        state.budgets.admit(&who, &mut cx.guardrails)?;
        Ok(Flow::Continue)
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
            return Step::Ready(self.admit(cx));
        }
        // The first calls of a new client wait (bounded) for the collector's first answer.
        Step::Pending(
            async move {
                let _ = tokio::time::timeout(self.0.settings.start_timeout, self.0.wait_ready()).await;
                self.admit(cx)
            }
            .boxed(),
        )
    }

    fn recorded(&self, event: &Arc<UsageEvent>) {
        self.0.budgets.record(event);
        if let (Some(provider), Some(deployment)) = (&event.provider, &event.deployment) {
            self.0
                .limiter
                .note_tokens(provider, deployment, event.input_tokens + event.output_tokens);
        }
    }
}
