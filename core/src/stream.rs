//! The pull-based chat stream: [`ChatStream::next`] yields deltas as they arrive and, last,
//! the assembled [`ChatResponse`]. Failover is allowed until the first content reaches the
//! caller. [`CancelHandle`] stops a stream from another task or thread, even mid-`next`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::Stream;
use tokio::sync::watch;

use crate::client::{CallClock, ClientInner, Routed};
use crate::error::{Error, Result};
use crate::providers::{ProviderEvent, ProviderStream};
use crate::routing::{Deployment, Run};
use crate::types::{AssistantMessage, ChatRequest, ChatResponse, FinishReason, StreamEvent, ToolCall, Usage};
use crate::usage::CallFacts;

/// A cancellation signal: stops a [`ChatStream`] (see [`ChatStream::cancel_handle`]), or any
/// call a binding runs under [`CancelHandle::run`]. Cheap to clone; usable from any thread.
#[derive(Clone, Debug)]
pub struct CancelHandle(Arc<watch::Sender<bool>>);

impl Default for CancelHandle {
    fn default() -> CancelHandle {
        CancelHandle(Arc::new(watch::channel(false).0))
    }
}

impl CancelHandle {
    /// A signal that has not fired.
    pub fn new() -> CancelHandle {
        CancelHandle::default()
    }

    /// Fires the signal: a stream's pending or later `next` returns a `CANCELLED` error and
    /// the connection to the provider is closed; a call under [`CancelHandle::run`] stops.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    /// Whether [`CancelHandle::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the signal fires.
    pub async fn cancelled(&self) {
        let _ = self.0.subscribe().wait_for(|c| *c).await;
    }

    /// Runs `call` until it finishes or the signal fires; then `call` is dropped (which
    /// closes its connection) and the result is a `CANCELLED` error.
    pub async fn run<T>(&self, call: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            biased;
            _ = self.cancelled() => Err(Error::cancelled("the call was cancelled")),
            r = call => r,
        }
    }
}

enum State {
    /// No provider stream is open: not started yet, or failing over.
    Opening,
    /// Reading from a deployment.
    Open {
        deployment: Arc<Deployment>,
        try_started: Instant,
        inner: Box<dyn ProviderStream>,
    },
    /// Done, failed or cancelled: `next` returns `None`.
    Finished,
}

/// A streamed chat completion. Pull events with [`ChatStream::next`] until it returns `None`.
/// Dropping it mid-way closes the connection to the provider.
pub struct ChatStream {
    client: Arc<ClientInner>,
    request: ChatRequest,
    state: State,
    /// The call's walk through its deployments (kept outside `state` so that a cancelled
    /// `next` does not lose the attempts made so far).
    run: Option<Run>,
    clock: Option<CallClock>,
    ttft: Option<Duration>,
    assembler: Assembler,
    /// Content reached the caller: no more failover.
    delivered: bool,
    /// The last event (Done or an error) was returned: `next` gives `None` from now on.
    ended: bool,
    cancel: CancelHandle,
    cancelled: watch::Receiver<bool>,
}

impl ChatStream {
    pub(crate) fn new(client: Arc<ClientInner>, request: ChatRequest) -> ChatStream {
        let cancel = CancelHandle::new();
        let cancelled = cancel.0.subscribe();
        ChatStream {
            client,
            request,
            state: State::Opening,
            run: None,
            clock: None,
            ttft: None,
            assembler: Assembler::default(),
            delivered: false,
            ended: false,
            cancel,
            cancelled,
        }
    }

    /// A handle that cancels this stream from elsewhere.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    /// Cancels the stream now and closes the connection.
    pub fn cancel(&mut self) {
        self.cancel.cancel();
        self.finish(Err(&Error::cancelled("the stream was cancelled")));
    }

    /// Turns this into a [`futures_util::Stream`] of events.
    pub fn into_stream(self) -> impl Stream<Item = Result<StreamEvent>> + Send {
        futures_util::stream::unfold(self, |mut s| async move { s.next().await.map(|ev| (ev, s)) })
    }

    /// The next event; `None` after [`StreamEvent::Done`], an error or cancellation.
    pub async fn next(&mut self) -> Option<Result<StreamEvent>> {
        if self.ended {
            return None;
        }
        if self.clock.is_none() {
            self.clock = Some(CallClock::start());
        }
        let mut cancelled = self.cancelled.clone();
        let result = tokio::select! {
            biased;
            _ = cancelled.wait_for(|c| *c) => Some(Err(Error::cancelled("the stream was cancelled"))),
            r = self.advance() => r,
        };
        match &result {
            Some(Ok(StreamEvent::Done { response })) => self.finish(Ok(response)),
            Some(Err(e)) => {
                let e = e.clone();
                self.finish(Err(&e));
                let attempts = self.run.as_mut().map(Run::take_attempts).unwrap_or_default();
                return Some(Err(if e.attempts().is_empty() {
                    e.with_attempts(attempts)
                } else {
                    e
                }));
            }
            None => self.ended = true,
            Some(Ok(_)) => {}
        }
        result
    }

    /// Ends the stream and records its usage event (once).
    fn finish(&mut self, outcome: std::result::Result<&ChatResponse, &Error>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let in_flight = std::mem::replace(&mut self.state, State::Finished);
        if let (
            State::Open {
                deployment,
                try_started,
                ..
            },
            Some(run),
            Err(e),
        ) = (&in_flight, self.run.as_mut(), outcome)
        {
            // Cut short mid-stream (cancelled or dropped): the try in flight ends here.
            run.record_failure(deployment, *try_started, e);
        }
        let Some(clock) = self.clock else {
            return; // never started: nothing was called
        };
        let run_attempts = self.run.as_ref().map(Run::attempts).unwrap_or_default();
        let attempts = match outcome {
            Ok(r) => r.attempts.as_slice(),
            Err(e) if !e.attempts().is_empty() => e.attempts(),
            Err(_) => run_attempts,
        };
        let facts = CallFacts {
            operation: crate::usage::Operation::Chat,
            model_requested: &self.request.model,
            metadata: &self.request.metadata,
            stream: true,
            started: clock.wall,
            elapsed: clock.instant.elapsed(),
            waited: self.run.as_ref().map(Run::waited).unwrap_or_default(),
            ttft: self.ttft,
            attempts,
        };
        self.client.record(&facts, outcome.map(|r| r.summary()));
    }

    /// The next events: waits for one, then takes every event that is already buffered (a
    /// network read usually carries many), at most `max`. The batch ends with the stream's
    /// error if it failed; an empty batch without an error is the end. Lets a binding pay one
    /// crossing into its host language per network read, not per token.
    pub async fn next_batch(&mut self, max: usize) -> StreamBatch {
        let mut batch = StreamBatch {
            events: Vec::new(),
            error: None,
        };
        let mut next = self.next().await;
        loop {
            match next {
                None => return batch,
                Some(Err(e)) => {
                    batch.error = Some(e);
                    return batch;
                }
                Some(Ok(ev)) => {
                    let done = matches!(ev, StreamEvent::Done { .. });
                    batch.events.push(ev);
                    if done || batch.events.len() >= max {
                        return batch;
                    }
                }
            }
            match self.next_ready() {
                Some(ready) => next = ready,
                None => return batch,
            }
        }
    }

    /// The next event if it is ready without waiting for the network: `None` means "would
    /// wait", `Some(None)` the end. Lets a binding hand several buffered events across in one
    /// go. Only reads while content is flowing (never opens or fails over).
    pub fn next_ready(&mut self) -> Option<Option<Result<StreamEvent>>> {
        if self.ended {
            return Some(None);
        }
        if !(self.delivered && matches!(self.state, State::Open { .. })) {
            return None;
        }
        futures_util::FutureExt::now_or_never(self.next())
    }

    /// Moves the stream along until it has an event for the caller. Cancel-safe while
    /// reading: dropping it at the await on the provider stream loses nothing.
    async fn advance(&mut self) -> Option<Result<StreamEvent>> {
        loop {
            if matches!(self.state, State::Opening) {
                match self.open().await {
                    Ok(state) => self.state = state,
                    Err(e) => {
                        self.state = State::Finished;
                        return Some(Err(e));
                    }
                }
                continue;
            }
            let State::Open {
                deployment,
                try_started,
                inner,
            } = &mut self.state
            else {
                return None;
            };
            let event = inner.next_event().await;
            let run = self.run.as_mut()?;
            match event {
                Some(Ok(ev)) => {
                    if let Some(out) = self.assembler.apply(ev) {
                        if !self.delivered && !matches!(out, StreamEvent::Usage { .. }) {
                            self.delivered = true;
                            self.ttft = self.clock.map(|c| c.instant.elapsed());
                        }
                        return Some(Ok(out));
                    }
                }
                Some(Err(e)) if !self.delivered => {
                    // Nothing reached the caller yet: this try failed, the next one may not.
                    let (deployment, try_started) = (deployment.clone(), *try_started);
                    self.state = State::Opening;
                    self.assembler = Assembler::default();
                    if let Err(e) = run.failed(&deployment, try_started, e).await {
                        self.state = State::Finished;
                        return Some(Err(e));
                    }
                }
                Some(Err(e)) => {
                    run.record_failure(deployment, *try_started, &e);
                    let attempts = run.take_attempts();
                    self.state = State::Finished;
                    return Some(Err(e.with_attempts(attempts)));
                }
                None => {
                    run.succeeded(deployment, *try_started, Some(200));
                    let request_id = inner.request_id().map(str::to_owned);
                    let deployment = deployment.clone();
                    self.state = State::Finished;
                    let mut response = std::mem::take(&mut self.assembler).finish();
                    response.request_id = request_id;
                    response.stamp(&deployment, run.started().elapsed(), run.take_attempts());
                    return Some(Ok(StreamEvent::Done {
                        response: Box::new(response),
                    }));
                }
            }
        }
    }

    /// Opens a provider stream, retrying and falling back until one accepts the request.
    async fn open(&mut self) -> Result<State> {
        if self.run.is_none() {
            self.client.check_open()?;
            crate::client::validate_chat(&self.request)?;
            let plan = self.client.router.plan(&self.request.model)?;
            self.run = Some(Run::new(
                plan,
                self.request.timeout_ms.map(Duration::from_millis),
                false,
            ));
        }
        let run = self.run.as_mut().expect("set above");
        loop {
            let (deployment, opts) = run.next_try()?;
            let try_started = Instant::now();
            match deployment.provider.stream(&self.request, opts).await {
                Ok(inner) => {
                    return Ok(State::Open {
                        deployment,
                        try_started,
                        inner,
                    });
                }
                Err(e) => run.failed(&deployment, try_started, e).await?,
            }
        }
    }
}

impl Drop for ChatStream {
    fn drop(&mut self) {
        if !self.ended && self.clock.is_some() {
            self.finish(Err(&Error::cancelled("the stream was dropped before its end")));
        }
    }
}

/// Events taken together by [`ChatStream::next_batch`].
#[derive(Debug, Default)]
pub struct StreamBatch {
    /// The events, in order.
    pub events: Vec<StreamEvent>,
    /// The stream's error, after its last event.
    pub error: Option<Error>,
}

impl StreamBatch {
    /// True for the end of the stream (no events, no error).
    pub fn is_end(&self) -> bool {
        self.events.is_empty() && self.error.is_none()
    }

    /// `{"events": [...], "err": error | null}`: the form the Node and Kotlin bindings hand over.
    pub fn to_json(&self) -> String {
        let events = serde_json::to_string(&self.events).unwrap_or_else(|_| "[]".to_owned());
        let error = self
            .error
            .as_ref()
            .map_or_else(|| "null".to_owned(), |e| e.to_value().to_string());
        format!("{{\"events\":{events},\"err\":{error}}}")
    }
}

/// Accumulates provider events into the final response.
#[derive(Default)]
struct Assembler {
    id: Option<String>,
    model: Option<String>,
    text: Option<String>,
    reasoning: Option<String>,
    refusal: Option<String>,
    tool_calls: Vec<(u32, ToolCall)>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl Assembler {
    /// Folds one provider event in; returns what the caller should see, if anything.
    fn apply(&mut self, ev: ProviderEvent) -> Option<StreamEvent> {
        match ev {
            ProviderEvent::Meta { id, model } => {
                self.id = self.id.take().or(id);
                self.model = self.model.take().or(model);
                None
            }
            ProviderEvent::Text(text) => {
                self.text.get_or_insert_with(String::new).push_str(&text);
                Some(StreamEvent::TextDelta { text })
            }
            ProviderEvent::Reasoning(text) => {
                self.reasoning.get_or_insert_with(String::new).push_str(&text);
                Some(StreamEvent::ReasoningDelta { text })
            }
            ProviderEvent::Refusal(text) => {
                self.refusal.get_or_insert_with(String::new).push_str(&text);
                None
            }
            ProviderEvent::ToolCall {
                index,
                id,
                name,
                arguments,
            } => {
                match self.tool_calls.iter_mut().find(|(i, _)| *i == index) {
                    Some((_, call)) => {
                        call.function.arguments.push_str(&arguments);
                        if let Some(n) = &name {
                            if call.function.name.is_empty() {
                                call.function.name.clone_from(n);
                            }
                        }
                    }
                    None => self.tool_calls.push((
                        index,
                        ToolCall::new(
                            id.clone().unwrap_or_default(),
                            name.clone().unwrap_or_default(),
                            arguments.clone(),
                        ),
                    )),
                }
                Some(StreamEvent::ToolCallDelta {
                    index,
                    id,
                    name,
                    arguments,
                })
            }
            ProviderEvent::Usage(usage) => {
                self.usage = Some(usage);
                Some(StreamEvent::Usage { usage })
            }
            ProviderEvent::Finish(reason) => {
                self.finish = Some(reason);
                None
            }
        }
    }

    fn finish(mut self) -> ChatResponse {
        self.tool_calls.sort_by_key(|(i, _)| *i);
        let tool_calls: Vec<ToolCall> = self.tool_calls.into_iter().map(|(_, c)| c).collect();
        let finish_reason = self.finish.unwrap_or(if tool_calls.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        });
        ChatResponse {
            id: self.id,
            message: AssistantMessage {
                role: "assistant".to_owned(),
                content: self.text,
                tool_calls,
                reasoning: self.reasoning,
                refusal: self.refusal,
            },
            finish_reason,
            usage: self.usage.unwrap_or_default(),
            model: self.model.unwrap_or_default(),
            ..ChatResponse::default()
        }
    }
}
