//! Building a call's usage event: the one place it is made, for every outcome — success,
//! error, block and cancellation.

use std::sync::Arc;
use std::time::Duration;

use super::{CallCx, CallRequest};
use crate::error::{Error, ErrorKind};
use crate::usage::{CallStatus, CapturedContent, CapturedText, ClientFacts, UsageEvent, new_event_id};

/// How a call ended, for its event.
pub(crate) enum Outcome<'a> {
    /// It succeeded; the model as the provider reported serving it, and the answer's text.
    Ok {
        served_model: &'a str,
        text: Option<&'a str>,
    },
    /// It failed, was blocked or was cancelled.
    Err(&'a Error),
}

/// The usage event of the call `cx` that ended with `outcome`. Takes the attempts out of the
/// call's run (nothing needs them after this).
pub(crate) fn build_event(client: &ClientFacts, cx: &mut CallCx, outcome: Outcome<'_>) -> UsageEvent {
    let elapsed = cx.started.elapsed();
    let (waited, attempts) = match cx.run.as_mut() {
        Some(run) => (run.waited(), run.take_attempts()),
        None => (Duration::ZERO, Vec::new()),
    };
    let last = attempts.last();
    let tried: Duration = attempts
        .iter()
        .map(|a| Duration::from_secs_f64(a.latency_ms / 1000.0))
        .sum();
    let overhead = elapsed.saturating_sub(tried).saturating_sub(waited);
    let mut output_text = None;
    let (status, error_code, model) = match outcome {
        Outcome::Ok { served_model, text } => {
            output_text = text;
            // The served model usually equals the configured one: share it when it does.
            let model = match (&cx.served_model, last) {
                (Some(m), _) if &**m == served_model => m.clone(),
                (_, Some(a)) if &*a.model == served_model => a.model.clone(),
                _ => Arc::from(served_model),
            };
            (CallStatus::Ok, None, Some(model))
        }
        Outcome::Err(e) => {
            let status = match e.kind() {
                ErrorKind::GuardrailBlocked | ErrorKind::BudgetExceeded => CallStatus::Blocked,
                ErrorKind::Cancelled => CallStatus::Cancelled,
                _ => CallStatus::Error,
            };
            (status, Some(e.kind().into()), last.map(|a| a.model.clone()))
        }
    };
    let first_deployment = attempts.first().map(|a| a.deployment.clone());
    let metadata = cx.request.metadata();
    let usage = cx.usage;
    UsageEvent {
        schema: modelplug_schema::SCHEMA_VERSION,
        id: new_event_id(cx.started_at),
        ts: crate::usage::Timestamp::of(cx.started_at),
        app: metadata
            .app
            .as_deref()
            .map_or_else(|| client.app.clone(), Arc::from),
        team: metadata
            .team
            .as_deref()
            .map(Arc::from)
            .or_else(|| client.team.clone()),
        user: metadata.user.clone(),
        env: client.env.clone(),
        tags: metadata.tags.clone(),
        operation: cx.request.operation(),
        model_requested: cx.request.model().to_owned(),
        provider: last.map(|a| a.provider.clone()),
        deployment: last.map(|a| a.deployment.clone()),
        model,
        stream: cx.stream,
        status,
        error_code,
        http_status: last.and_then(|a| a.status),
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cached_input_tokens: usage.cached_input_tokens,
        cache_write_tokens: usage.cache_write_tokens,
        reasoning_tokens: usage.reasoning_tokens,
        usage_is_estimated: cx.usage_is_estimated,
        cost_usd: cx.cost,
        cost_is_estimated: cx.cost_is_estimated,
        price_table_version: cx.cost.and(cx.price_table_version.clone()),
        latency_ms: elapsed.as_secs_f64() * 1000.0,
        ttft_ms: cx.ttft.map(|d| d.as_secs_f64() * 1000.0),
        overhead_us: overhead.as_micros() as u64,
        fallback_used: last.map(|a| &a.deployment) != first_deployment.as_ref(),
        attempts,
        cache_hit: cx.cache_hit,
        guardrails: std::mem::take(&mut cx.guardrails),
        config_hash: client.config_hash.clone(),
        policy_version: cx.policy_version.clone(),
        sdk: client.sdk.clone(),
        labels: metadata.labels.clone(),
        traceparent: metadata.traceparent.clone(),
        content: cx
            .policy
            .as_ref()
            .and_then(|p| p.capture_content)
            .unwrap_or(client.capture_content)
            .then(|| captured(&cx.request, output_text)),
    }
}

/// The call's text, for an event of a client that captures content.
fn captured(request: &CallRequest, output: Option<&str>) -> CapturedContent {
    let input = match request {
        CallRequest::Chat(r) => r
            .messages
            .iter()
            .map(|m| CapturedText {
                role: m.role.as_str().to_owned(),
                text: m.content.joined_text(),
            })
            .collect(),
        CallRequest::Embed(r) => r
            .input
            .iter()
            .map(|t| CapturedText {
                role: "input".to_owned(),
                text: t.clone(),
            })
            .collect(),
    };
    CapturedContent {
        input,
        output: output.map(str::to_owned),
    }
}
