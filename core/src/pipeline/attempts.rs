//! The attempts: the routing plan walked try by try — retries with backoff, fallbacks, the
//! call's deadline — for a call answered at once (`call`) and for opening a stream (`open`).
//! Every provider error loses any request text the provider echoed back before it goes on.

use std::sync::Arc;
use std::time::Instant;

use super::{CallCx, CallRequest, Reply};
use crate::error::{Error, Result};
use crate::providers::ProviderStream;
use crate::routing::{Deadline, Deployment, Router, Run};

/// Makes the call's plan and deadline, once.
fn begin(router: &Router, cx: &mut CallCx) -> Result<()> {
    if cx.run.is_none() {
        let mut plan = router.plan(cx.request.model())?;
        if let Some(rules) = cx.guard_rules.clone()
            && rules.has_plan_rules()
        {
            let mut tally = crate::guardrails::RuleSet::tally(&rules);
            let requested = cx.request.model().to_owned();
            plan.retain(|d| rules.permits(&requested, d, &mut tally));
            rules.plan_outcomes(&tally, plan.len(), &mut cx.guardrails)?;
        }
        if let (Some(state), Some(policy)) = (&cx.policy_state, &cx.policy)
            && !policy.rate_limits.is_empty()
        {
            let mut soonest: Option<std::time::Duration> = None;
            plan.retain(|d| match state.limiter.wait_for(&policy.rate_limits, d) {
                None => true,
                Some(w) => {
                    soonest = Some(soonest.map_or(w, |s| s.min(w)));
                    false
                }
            });
            if plan.is_empty() {
                return Err(Error::new(
                    crate::error::ErrorKind::RateLimited,
                    format!(
                        "every deployment of `{}` is at its rate limit (central policy)",
                        cx.request.model()
                    ),
                )
                .with_retry_after(soonest));
            }
        }
        let total_ms = cx.request.timeout_ms().unwrap_or(plan.deadline_ms());
        let deadline = Deadline::new(cx.started, total_ms);
        cx.deadline = Some(deadline.at());
        cx.run = Some(Run::new(plan, Some(deadline), cx.request.include_raw()));
    }
    Ok(())
}

/// The provider's error without the request's own text (a provider may quote the prompt).
pub(crate) fn without_request_text(e: Error, request: &CallRequest) -> Error {
    e.without_request_text(&request.texts())
}

/// Runs a chat or embeddings call over its plan until a deployment answers or the plan gives up.
pub(crate) async fn call(router: &Router, cx: &mut CallCx) -> Result<Reply> {
    begin(router, cx)?;
    loop {
        let (deployment, opts) = cx.run.as_mut().expect("begun").next_try()?;
        if let (Some(state), Some(policy)) = (&cx.policy_state, &cx.policy)
            && !policy.rate_limits.is_empty()
        {
            state.limiter.note_request(&deployment.names);
        }
        let started = Instant::now();
        cx.in_flight = Some((deployment.clone(), started));
        let result = match &cx.request {
            CallRequest::Chat(r) => deployment
                .provider
                .chat(r, opts)
                .await
                .map(|r| Reply::Chat(Box::new(r))),
            CallRequest::Embed(r) => deployment
                .provider
                .embed(r, opts)
                .await
                .map(|r| Reply::Embed(Box::new(r))),
        };
        cx.in_flight = None;
        match result {
            Ok(mut reply) => {
                cx.run
                    .as_mut()
                    .expect("begun")
                    .succeeded(&deployment, started, Some(200));
                if let Reply::Embed(r) = &mut reply {
                    estimate_uncounted_embedding(r, cx);
                }
                cx.usage = *reply.usage();
                stamp(&mut reply, &deployment, cx);
                cx.answered_by = Some(deployment);
                return Ok(reply);
            }
            Err(e) => failed(cx, &deployment, started, e).await?,
        }
    }
}

/// A try failed: `Ok` to try again (the same deployment after its backoff, or the next one),
/// `Err` to give up with. The provider's error loses any request text it echoed.
pub(crate) async fn failed(
    cx: &mut CallCx,
    deployment: &Deployment,
    started: Instant,
    e: Error,
) -> Result<()> {
    let e = without_request_text(e, &cx.request);
    let run = cx
        .run
        .as_mut()
        .ok_or_else(|| Error::internal("a try failed before the call's plan was made"))?;
    run.failed(deployment, started, e).await
}

/// Opens a provider stream, retrying and falling back until one accepts the request. The
/// opened try stays in `cx.in_flight` while it is read.
pub(crate) async fn open(router: &Router, cx: &mut CallCx) -> Result<Box<dyn ProviderStream>> {
    begin(router, cx)?;
    loop {
        let (deployment, opts) = cx.run.as_mut().expect("begun").next_try()?;
        if let (Some(state), Some(policy)) = (&cx.policy_state, &cx.policy)
            && !policy.rate_limits.is_empty()
        {
            state.limiter.note_request(&deployment.names);
        }
        let started = Instant::now();
        cx.in_flight = Some((deployment.clone(), started));
        let CallRequest::Chat(request) = &cx.request else {
            return Err(Error::internal("only chat calls stream"));
        };
        match deployment.provider.stream(request, opts).await {
            Ok(inner) => {
                cx.answered_by = Some(deployment);
                return Ok(inner);
            }
            Err(e) => {
                cx.in_flight = None;
                failed(cx, &deployment, started, e).await?;
            }
        }
    }
}

/// Sets who answered, when (the call's wall time so far) and after which tries.
pub(crate) fn stamp(reply: &mut Reply, d: &Deployment, cx: &CallCx) {
    let attempts = cx.run.as_ref().map(|r| r.attempts().to_vec()).unwrap_or_default();
    let latency_ms = cx.elapsed().as_secs_f64() * 1000.0;
    macro_rules! fill {
        ($r:expr) => {{
            $r.provider = d.config.provider.name().to_owned();
            $r.deployment.clone_from(&d.config.name);
            if $r.model.is_empty() {
                $r.model.clone_from(&d.config.model);
            }
            $r.latency_ms = latency_ms;
            $r.attempts = attempts;
        }};
    }
    match reply {
        Reply::Chat(r) => fill!(r),
        Reply::Embed(r) => fill!(r),
    }
}

/// Records the try in flight (if any) as failed with `e`'s kind: the call ends now.
pub(crate) fn abandon_in_flight(cx: &mut CallCx, e: &Error) {
    if let (Some((deployment, started)), Some(run)) = (cx.in_flight.take(), cx.run.as_mut()) {
        run.record_failure(&deployment, started, e);
    }
}

/// The deployment being read, for a stream that ends well.
pub(crate) fn finish_in_flight(cx: &mut CallCx) -> Option<Arc<Deployment>> {
    let (deployment, started) = cx.in_flight.take()?;
    if let Some(run) = cx.run.as_mut() {
        run.succeeded(&deployment, started, Some(200));
    }
    Some(deployment)
}

/// A provider that counts no embedding tokens (the Gemini API's `batchEmbedContents`): the
/// input is estimated (about four characters a token) and the event says so, rather than
/// reporting a free call.
fn estimate_uncounted_embedding(r: &mut crate::types::EmbedResponse, cx: &mut CallCx) {
    if r.usage.input_tokens > 0 {
        return;
    }
    let tokens: u64 = cx
        .request
        .texts()
        .iter()
        .map(|t| crate::usage::estimate_tokens(t))
        .sum();
    if tokens > 0 {
        r.usage.input_tokens = tokens;
        r.usage.total_tokens = tokens;
        cx.usage_is_estimated = true;
    }
}
