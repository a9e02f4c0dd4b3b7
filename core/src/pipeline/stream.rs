//! A streamed call through the pipeline: the same stages as a call answered at once, with
//! the assembly of deltas, failover until the provider's first content, the stages' stream
//! filters between the provider and the caller, and the call's deadline enforced while the
//! stream is read.

use std::collections::VecDeque;
use std::sync::Arc;

use super::assemble::Assembler;
use super::call::Call;
use super::{CallRequest, Flow, Pipeline, Reply, StreamFilter, attempts};
use crate::error::{Error, Result};
use crate::providers::{ProviderStream, ReplayStream};
use crate::types::{ChatRequest, ChatResponse, StreamEvent};

// Moved, not copied, once per call: boxing the request would cost an allocation per call.
#[allow(clippy::large_enum_variant)]
enum State {
    /// Not started: the first `next` starts the call.
    Idle(ChatRequest),
    /// The `before` hooks ran; no provider stream is open (not yet, or failing over).
    Opening,
    /// Reading a provider stream (or replaying a stage's answer).
    Reading(Box<dyn ProviderStream>),
    /// The provider stream ended (with this request id): the `after` hooks are next. Kept as
    /// a state so that a read that must not wait (`ready_only`) stops here instead of
    /// starting hooks it could not finish.
    Ended(Option<String>),
    /// Could not start at all: the first `next` returns this error.
    Broken(Error),
    /// Done, failed or cancelled.
    Finished,
}

/// One streamed call. Cancel-safe while reading: dropping a pending [`CallStream::next`]
/// loses no event (every bit of state lives here, not in the future).
pub(crate) struct CallStream {
    pipeline: Arc<Pipeline>,
    state: State,
    call: Option<Call>,
    assembler: Assembler,
    /// A stage's answer (a cache hit) being replayed: the `Done` response.
    answered: Option<ChatResponse>,
    /// How many stages (outermost first) see this call's answer: all, or those outside the
    /// stage that answered.
    outer: usize,
    filters: Vec<Box<dyn StreamFilter>>,
    /// Events that passed the filters, waiting for the caller.
    out: VecDeque<StreamEvent>,
    /// Provider content arrived: no more failover.
    content_started: bool,
    /// The last event (`Done` or an error) was returned.
    ended: bool,
    /// The read in progress must not wait (it is polled once and dropped if pending): the
    /// end-of-stream hooks, which may wait (a host-language check), are left for the next read.
    ready_only: bool,
}

impl CallStream {
    pub(crate) fn new(pipeline: Arc<Pipeline>, request: ChatRequest) -> CallStream {
        let outer = pipeline.stages.len();
        CallStream {
            pipeline,
            state: State::Idle(request),
            call: None,
            assembler: Assembler::default(),
            answered: None,
            outer,
            filters: Vec::new(),
            out: VecDeque::new(),
            content_started: false,
            ended: false,
            ready_only: false,
        }
    }

    /// A stream that fails on its first read with `error` (its client could not be used).
    pub(crate) fn broken(pipeline: Arc<Pipeline>, error: Error) -> CallStream {
        let mut stream = CallStream::new(pipeline, ChatRequest::default());
        stream.state = State::Broken(error);
        stream
    }

    /// True once the last event was returned.
    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// Whether content is flowing from an open provider stream (reads need no opening).
    pub(crate) fn is_reading(&self) -> bool {
        self.content_started && matches!(self.state, State::Reading(_))
    }

    /// The next event if it is ready without waiting (see `ready_only`): `None` means
    /// "would wait". Safe to use while reading: whatever the read left undone stays in the
    /// state for the next one.
    pub(crate) fn next_if_ready(&mut self) -> Option<Option<Result<StreamEvent>>> {
        self.ready_only = true;
        let r = futures_util::FutureExt::now_or_never(self.next());
        self.ready_only = false;
        r
    }

    /// The next event; `None` after `Done` or an error.
    pub(crate) async fn next(&mut self) -> Option<Result<StreamEvent>> {
        loop {
            if let Some(ev) = self.out.pop_front() {
                self.delivering(&ev);
                return Some(Ok(ev));
            }
            if self.ended {
                return None;
            }
            let step = match self.advance().await {
                Ok(ev) => self.filter(ev),
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                return Some(Err(self.fail(e)));
            }
        }
    }

    /// Ends the stream now with `e` (a cancellation): the try being read is recorded as
    /// failed, the content delivered so far is counted, the connection is closed.
    pub(crate) fn fail(&mut self, e: Error) -> Error {
        self.state = State::Finished;
        self.ended = true;
        self.out.clear();
        let Some(call) = self.call.as_mut() else {
            return e; // never started
        };
        attempts::abandon_in_flight(&mut call.cx, &e);
        let e = match &call.cx.run {
            Some(run) if e.attempts().is_empty() => e.with_attempts(run.attempts().to_vec()),
            _ => e,
        };
        call.end_err(&e);
        e
    }

    /// Bookkeeping for an event on its way to the caller.
    fn delivering(&mut self, ev: &StreamEvent) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        let chars = match ev {
            StreamEvent::TextDelta { text } | StreamEvent::ReasoningDelta { text } => text.len(),
            StreamEvent::ToolCallDelta { arguments, name, .. } => {
                arguments.len() + name.as_ref().map_or(0, String::len)
            }
            StreamEvent::Usage { .. } => 0,
            StreamEvent::Done { response } => {
                self.ended = true;
                call.end_ok(&response.model, Some(response.text()));
                return;
            }
        };
        if chars > 0 {
            call.cx.delivered_chars += chars as u64;
            if call.cx.ttft.is_none() {
                call.cx.ttft = Some(call.cx.elapsed());
            }
        }
    }

    /// Passes an event through the stages' filters (innermost first) to the caller's queue.
    fn filter(&mut self, ev: StreamEvent) -> Result<()> {
        if self.filters.is_empty() {
            self.out.push_back(ev);
            return Ok(());
        }
        let cx = &mut self.call.as_mut().expect("a filtered stream has started").cx;
        let mut batch = VecDeque::from([ev]);
        for f in &mut self.filters {
            let mut passed = VecDeque::with_capacity(batch.len());
            for e in batch {
                f.on_event(cx, e, &mut passed)?;
            }
            batch = passed;
        }
        self.out.extend(batch);
        Ok(())
    }

    /// Moves the call along until it has an event for the filters.
    async fn advance(&mut self) -> Result<StreamEvent> {
        loop {
            match &mut self.state {
                State::Idle(_) => self.start().await?,
                State::Opening => {
                    let call = self.call.as_mut().expect("started");
                    let inner = attempts::open(&self.pipeline.router, &mut call.cx).await?;
                    self.state = State::Reading(inner);
                }
                State::Reading(inner) => match inner.next_event().await {
                    Some(Ok(pe)) => {
                        if let Some(ev) = self.assembler.apply(pe) {
                            let call = self.call.as_mut().expect("started");
                            match &ev {
                                StreamEvent::Usage { usage } => call.cx.usage = *usage,
                                _ => self.content_started = true,
                            }
                            return Ok(ev);
                        }
                    }
                    Some(Err(e)) => {
                        let call = self.call.as_mut().expect("started");
                        match call.cx.in_flight.take() {
                            // Nothing reached the caller yet: this try failed, the next may not.
                            Some((deployment, started)) if !self.content_started => {
                                self.state = State::Opening;
                                self.assembler = Assembler::default();
                                call.cx.usage = Default::default();
                                attempts::failed(&mut call.cx, &deployment, started, e).await?;
                            }
                            in_flight => {
                                call.cx.in_flight = in_flight;
                                return Err(attempts::without_request_text(e, &call.cx.request));
                            }
                        }
                    }
                    None => {
                        let request_id = inner.request_id().map(str::to_owned);
                        self.state = State::Ended(request_id);
                    }
                },
                State::Ended(_) if self.ready_only => std::future::pending::<()>().await,
                State::Ended(request_id) => {
                    let request_id = request_id.take();
                    return self.complete(request_id).await;
                }
                State::Broken(e) => return Err(e.clone()),
                State::Finished => return Err(Error::internal("the stream already ended")),
            }
        }
    }

    /// Starts the call: the `before` hooks, then either a stage's answer to replay or the
    /// provider stream to open.
    async fn start(&mut self) -> Result<()> {
        let State::Idle(request) = std::mem::replace(&mut self.state, State::Opening) else {
            return Ok(());
        };
        self.pipeline.check_open()?;
        let call = self.call.insert(Call::start(
            self.pipeline.clone(),
            CallRequest::Chat(request),
            true,
        ));
        let pipeline = self.pipeline.clone();
        let (flow, answered_at) = pipeline.before(&mut call.cx).await?;
        if let Flow::Answer(reply) = flow {
            let Reply::Chat(response) = reply else {
                return Err(Error::internal("a stage answered a chat stream with embeddings"));
            };
            self.outer = answered_at;
            self.state = State::Reading(Box::new(ReplayStream::of_response(&response, usize::MAX)));
            self.answered = Some(*response);
        }
        let stages = &pipeline.stages[..self.outer];
        self.filters = stages
            .iter()
            .rev()
            .filter_map(|s| s.stream_filter(&call.cx))
            .collect();
        Ok(())
    }

    /// The provider finished: the assembled response goes through the `after` hooks, the
    /// call is settled, and `Done` carries the result.
    async fn complete(&mut self, request_id: Option<String>) -> Result<StreamEvent> {
        self.state = State::Finished;
        let call = self.call.as_mut().expect("started");
        let assembled = std::mem::take(&mut self.assembler).finish();
        let mut reply = match self.answered.take() {
            Some(answer) => Reply::Chat(Box::new(answer)),
            None => {
                let mut response = assembled;
                response.request_id = request_id;
                let mut reply = Reply::Chat(Box::new(response));
                if let Some(deployment) = attempts::finish_in_flight(&mut call.cx) {
                    attempts::stamp(&mut reply, &deployment, &call.cx);
                }
                reply
            }
        };
        call.cx.usage = *reply.usage();
        call.cx.note_served_model(reply.model());
        for stage in self.pipeline.stages[..self.outer].iter().rev() {
            stage.after(&mut call.cx, reply.as_mut()).resolve().await?;
        }
        call.settle();
        reply.set_cost(call.cx.cost);
        let Reply::Chat(response) = reply else {
            return Err(Error::internal("a stage turned a chat answer into embeddings"));
        };
        Ok(StreamEvent::Done { response })
    }
}
