//! [`CallCx`]: one call's state on its way through the pipeline — the request (which stages
//! may rewrite), the clock, the attempts, the tokens delivered so far and what each stage
//! found. The usage event is built from it, once.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::routing::{Deployment, DeploymentNames, Run};
use crate::types::{ChatRequest, Content, ContentPart, EmbedRequest, Metadata, Usage};
use crate::usage::{GuardrailOutcome, Operation};

/// What a call asks for.
#[derive(Debug, Clone, PartialEq)]
// Moved, not copied, once per call: boxing would cost an allocation per call.
#[allow(clippy::large_enum_variant)]
pub enum CallRequest {
    /// A chat completion, streamed or not.
    Chat(ChatRequest),
    /// Embeddings.
    Embed(EmbedRequest),
}

impl CallRequest {
    /// The model name asked for.
    pub fn model(&self) -> &str {
        match self {
            CallRequest::Chat(r) => &r.model,
            CallRequest::Embed(r) => &r.model,
        }
    }

    /// Who is calling.
    pub fn metadata(&self) -> &Metadata {
        match self {
            CallRequest::Chat(r) => &r.metadata,
            CallRequest::Embed(r) => &r.metadata,
        }
    }

    /// `chat` or `embeddings`.
    pub fn operation(&self) -> Operation {
        match self {
            CallRequest::Chat(_) => Operation::Chat,
            CallRequest::Embed(_) => Operation::Embeddings,
        }
    }

    /// The caller's deadline for the whole call, if it set one.
    pub fn timeout_ms(&self) -> Option<u64> {
        match self {
            CallRequest::Chat(r) => r.timeout_ms,
            CallRequest::Embed(r) => r.timeout_ms,
        }
    }

    /// Whether the caller asked for the provider's raw answers.
    pub fn include_raw(&self) -> bool {
        match self {
            CallRequest::Chat(r) => r.include_raw,
            CallRequest::Embed(_) => false,
        }
    }

    /// Every piece of text the request carries — system, user, assistant and tool messages,
    /// tool-call arguments, embedding inputs — for checks that must look at all of it.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            CallRequest::Chat(r) => {
                let mut out = Vec::with_capacity(r.messages.len());
                for m in &r.messages {
                    match &m.content {
                        Content::Text(t) => out.push(t.as_str()),
                        Content::Parts(parts) => out.extend(parts.iter().filter_map(|p| match p {
                            ContentPart::Text { text } => Some(text.as_str()),
                            ContentPart::Image(_) => None,
                        })),
                    }
                    out.extend(m.tool_calls.iter().map(|c| c.function.arguments.as_str()));
                }
                out
            }
            CallRequest::Embed(r) => r.input.iter().map(String::as_str).collect(),
        }
    }

    /// The same texts as [`CallRequest::texts`], to rewrite (input guardrails redact here).
    pub fn texts_mut(&mut self) -> Vec<&mut String> {
        match self {
            CallRequest::Chat(r) => {
                let mut out = Vec::with_capacity(r.messages.len());
                for m in &mut r.messages {
                    match &mut m.content {
                        Content::Text(t) => out.push(t),
                        Content::Parts(parts) => out.extend(parts.iter_mut().filter_map(|p| match p {
                            ContentPart::Text { text } => Some(text),
                            ContentPart::Image(_) => None,
                        })),
                    }
                    out.extend(m.tool_calls.iter_mut().map(|c| &mut c.function.arguments));
                }
                out
            }
            CallRequest::Embed(r) => r.input.iter_mut().collect(),
        }
    }
}

/// One call's state, owned by the pipeline and lent to each stage's hooks.
pub struct CallCx {
    /// The request; `before` hooks may rewrite it (redaction) before it leaves the process.
    pub request: CallRequest,
    /// Whether the caller streams the answer.
    pub stream: bool,
    /// Token counts so far: the provider's report (merged per [`Usage::merge`]), or an
    /// estimate of what was delivered when the call ended before the provider reported.
    pub usage: Usage,
    /// Whether `usage` is modelplug's estimate.
    pub usage_is_estimated: bool,
    /// What the call cost, once settled (the price stage sets it).
    pub cost: Option<f64>,
    /// Whether `cost` was priced from estimated tokens.
    pub cost_is_estimated: bool,
    /// The price table that priced it.
    pub price_table_version: Option<Arc<str>>,
    /// What guardrails did (name, stage, action).
    pub guardrails: Vec<GuardrailOutcome>,
    /// Whether the answer came from the response cache.
    pub cache_hit: bool,
    /// The central policy version in force for this call.
    pub policy_version: Option<String>,
    /// Time to the first content the caller received (streams).
    pub ttft: Option<Duration>,
    pub(crate) started_at: SystemTime,
    pub(crate) started: Instant,
    /// The call's deadline, set when its plan is made.
    pub(crate) deadline: Option<Instant>,
    /// The walk through the deployments (absent until the plan is made).
    pub(crate) run: Option<Run>,
    /// The try in progress, if any: a call dropped now records it as cancelled.
    pub(crate) in_flight: Option<(Arc<Deployment>, Instant)>,
    /// The deployment that answered (or is being read, for a stream).
    pub(crate) answered_by: Option<Arc<Deployment>>,
    /// The model as the provider reported serving it, once the answer is complete.
    pub(crate) served_model: Option<Arc<str>>,
    /// Characters of content the caller has received (streams).
    pub(crate) delivered_chars: u64,
    /// The guardrail rules this call runs on (the set in force when it started).
    pub(crate) guard_rules: Option<Arc<crate::guardrails::RuleSet>>,
    /// The central policy in force when the call was admitted.
    pub(crate) policy: Option<Arc<crate::policy::Applied>>,
    /// The client's policy state (rate limits), when it has central policy.
    pub(crate) policy_state: Option<Arc<crate::policy::PolicyState>>,
}

impl CallCx {
    pub(crate) fn new(request: CallRequest, stream: bool) -> CallCx {
        CallCx {
            request,
            stream,
            usage: Usage::default(),
            usage_is_estimated: false,
            cost: None,
            cost_is_estimated: false,
            price_table_version: None,
            guardrails: Vec::new(),
            cache_hit: false,
            policy_version: None,
            ttft: None,
            started_at: SystemTime::now(),
            started: Instant::now(),
            deadline: None,
            run: None,
            in_flight: None,
            answered_by: None,
            served_model: None,
            delivered_chars: 0,
            guard_rules: None,
            policy: None,
            policy_state: None,
        }
    }

    /// The chat request, for chat and stream calls.
    pub fn chat_request(&self) -> Option<&ChatRequest> {
        match &self.request {
            CallRequest::Chat(r) => Some(r),
            CallRequest::Embed(_) => None,
        }
    }

    /// How long the call has run.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The provider, deployment and model that answered (or is answering, for a stream).
    pub fn answered_by(&self) -> Option<&DeploymentNames> {
        self.answered_by.as_ref().map(|d| &d.names)
    }

    /// The model as the provider reported serving it (often a dated snapshot of the
    /// deployment's model, e.g. `gpt-4o-2024-08-06`), once the answer is complete: set
    /// before the `settle` hooks run.
    pub fn served_model(&self) -> Option<&str> {
        self.served_model.as_deref()
    }

    /// Notes the model the answer reports (shared with the deployment's name when equal).
    pub(crate) fn note_served_model(&mut self, model: &str) {
        self.served_model = Some(match &self.answered_by {
            Some(d) if &*d.names.model == model => d.names.model.clone(),
            _ => Arc::from(model),
        });
    }
}
