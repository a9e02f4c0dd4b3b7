//! [`Stage`]: one concern on every call's path (admission, guardrails, cache, pricing,
//! recording), behind one trait. The [`super::Pipeline`] runs the stages in [`Position`] order
//! around the attempts, the same way for chat, streams and embeddings.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::CallCx;
use crate::error::Result;
use crate::types::{ChatResponse, EmbedResponse, StreamEvent, Usage};
use crate::usage::UsageEvent;

/// Where a stage sits, outermost first. A call does its work in this order: `before` hooks run
/// outer → inner (admit, input guardrails, cache lookup), then the attempts, then `after`
/// hooks inner → outer (output guardrails, cache store, pricing), and last the usage event is
/// recorded. Stages at the same position keep the order they were added in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Position {
    /// Sees every call's usage event (the in-process log, reporters, budgets).
    Record,
    /// Settles what a call cost.
    Price,
    /// Lets a call in or not: request validity, policy, budgets.
    Admit,
    /// Checks and rewrites the request before it leaves the process.
    GuardInput,
    /// Answers from the response cache, and stores answers in it.
    Cache,
    /// Checks the answer (for streams, each delta with a hold-back window).
    GuardOutput,
}

/// A hook's result: ready at once (most stages; no allocation) or after some waiting (a
/// host-language check, a Redis lookup).
pub enum Step<'a, T> {
    /// The result, without waiting.
    Ready(Result<T>),
    /// A future to wait for.
    Pending(BoxFuture<'a, Result<T>>),
}

impl<T> Step<'_, T> {
    /// Waits for the result.
    pub async fn resolve(self) -> Result<T> {
        match self {
            Step::Ready(r) => r,
            Step::Pending(f) => f.await,
        }
    }
}

impl<T> From<Result<T>> for Step<'_, T> {
    fn from(r: Result<T>) -> Self {
        Step::Ready(r)
    }
}

/// What a `before` hook decides.
pub enum Flow {
    /// Go on with the call.
    Continue,
    /// The call is answered (a cache hit): no provider is called, and only the stages outside
    /// this one see the answer.
    Answer(Reply),
}

/// A call's answer. Boxed: it travels through several futures on its way out, and moving a
/// pointer is cheaper than copying a response at every step.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A chat completion (for streams: the assembled response).
    Chat(Box<ChatResponse>),
    /// Embeddings.
    Embed(Box<EmbedResponse>),
}

/// A call's answer, for a stage to read or change.
#[derive(Debug)]
pub enum ReplyMut<'a> {
    /// A chat completion (for streams: the assembled response, before `Done` is sent).
    Chat(&'a mut ChatResponse),
    /// Embeddings.
    Embed(&'a mut EmbedResponse),
}

impl Reply {
    /// The answer, for a stage.
    pub fn as_mut(&mut self) -> ReplyMut<'_> {
        match self {
            Reply::Chat(r) => ReplyMut::Chat(r),
            Reply::Embed(r) => ReplyMut::Embed(r),
        }
    }

    /// Its token counts.
    pub fn usage(&self) -> &Usage {
        match self {
            Reply::Chat(r) => &r.usage,
            Reply::Embed(r) => &r.usage,
        }
    }

    /// A chat answer's text (`None` for embeddings).
    pub fn chat_text(&self) -> Option<&str> {
        match self {
            Reply::Chat(r) => Some(r.text()),
            Reply::Embed(_) => None,
        }
    }

    /// The model as the provider reported serving it.
    pub fn model(&self) -> &str {
        match self {
            Reply::Chat(r) => &r.model,
            Reply::Embed(r) => &r.model,
        }
    }

    pub(crate) fn set_cost(&mut self, cost: Option<f64>) {
        match self {
            Reply::Chat(r) => r.cost_usd = cost,
            Reply::Embed(r) => r.cost_usd = cost,
        }
    }
}

/// A per-stream filter every event passes on its way to the caller (output guardrails with a
/// hold-back window). It may hold events back and release them later: whatever it pushes onto
/// `out` goes on, in order. The stream's last event, `Done`, passes too, so a filter releases
/// what it still holds before it; an error ends the stream.
pub trait StreamFilter: Send {
    /// Takes one event; pushes what may go on now.
    fn on_event(
        &mut self,
        cx: &mut CallCx,
        event: StreamEvent,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<()>;
}

/// One concern on every call's path. Every hook has a default that does nothing, so a stage
/// implements only what it needs.
pub trait Stage: Send + Sync + 'static {
    /// A short name, for diagnostics.
    fn name(&self) -> &'static str;

    /// Where the stage runs.
    fn position(&self) -> Position;

    /// Before any provider is called (outer → inner): may rewrite `cx.request`, end the call
    /// with an error (a block, a spent budget), or answer it ([`Flow::Answer`]).
    fn before<'a>(&'a self, cx: &'a mut CallCx) -> Step<'a, Flow> {
        let _ = cx;
        Step::Ready(Ok(Flow::Continue))
    }

    /// After a successful answer (inner → outer): may check or change it, or turn the call
    /// into an error. For streams it sees the assembled response before `Done` is sent.
    fn after<'a>(&'a self, cx: &'a mut CallCx, reply: ReplyMut<'a>) -> Step<'a, ()> {
        let _ = (cx, reply);
        Step::Ready(Ok(()))
    }

    /// For a stream: a filter for this call's events, if the stage needs one.
    fn stream_filter(&self, cx: &CallCx) -> Option<Box<dyn StreamFilter>> {
        let _ = cx;
        None
    }

    /// When the call ends, whatever the outcome — success, error, block or cancellation (also
    /// from `Drop`, so it cannot wait) — before its usage event is built (inner → outer).
    fn settle(&self, cx: &mut CallCx) {
        let _ = cx;
    }

    /// The call's usage event, once, whatever the outcome.
    fn recorded(&self, event: &Arc<UsageEvent>) {
        let _ = event;
    }
}
