//! The pull-based chat stream: [`ChatStream::next`] yields deltas as they arrive and, last,
//! the assembled [`crate::ChatResponse`]. It drives the pipeline's streamed call (failover
//! until the first content, stream filters, the deadline, the usage event); here are only the
//! pulling, the batching for bindings and cancellation. [`CancelHandle`] stops a stream from
//! another task or thread, even mid-`next`.

use std::sync::Arc;

use futures_util::Stream;
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::ffi::StreamBatch;
use crate::pipeline::{CallStream, Pipeline};
use crate::types::{ChatRequest, StreamEvent};

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
        if self.is_cancelled() {
            return Err(Error::cancelled("the call was cancelled"));
        }
        // The call is polled first: a call that finishes at once never registers a waiter.
        tokio::select! {
            biased;
            r = call => r,
            _ = self.cancelled() => Err(Error::cancelled("the call was cancelled")),
        }
    }
}

/// A streamed chat completion. Pull events with [`ChatStream::next`] until it returns `None`.
/// Dropping it mid-way closes the connection to the provider and records the call as
/// cancelled, with what it delivered.
pub struct ChatStream {
    call: CallStream,
    cancel: CancelHandle,
    cancelled: watch::Receiver<bool>,
}

impl ChatStream {
    pub(crate) fn new(pipeline: Arc<Pipeline>, request: ChatRequest) -> ChatStream {
        ChatStream::driving(pipeline.stream(request))
    }

    /// A stream whose first read fails with `error`.
    pub(crate) fn broken(pipeline: Arc<Pipeline>, error: Error) -> ChatStream {
        ChatStream::driving(CallStream::broken(pipeline, error))
    }

    fn driving(call: CallStream) -> ChatStream {
        let cancel = CancelHandle::new();
        let cancelled = cancel.0.subscribe();
        ChatStream {
            call,
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
        if !self.call.ended() {
            self.call.fail(Error::cancelled("the stream was cancelled"));
        }
    }

    /// Turns this into a [`futures_util::Stream`] of events.
    pub fn into_stream(self) -> impl Stream<Item = Result<StreamEvent>> + Send {
        futures_util::stream::unfold(self, |mut s| async move { s.next().await.map(|ev| (ev, s)) })
    }

    /// The next event; `None` after [`StreamEvent::Done`], an error or cancellation.
    pub async fn next(&mut self) -> Option<Result<StreamEvent>> {
        if self.call.ended() {
            return None;
        }
        let cancelled = || Error::cancelled("the stream was cancelled");
        if *self.cancelled.borrow() {
            return Some(Err(self.call.fail(cancelled())));
        }
        // The stream is polled first: an event that is ready costs no waiter registration.
        let (call, cancel) = (&mut self.call, &mut self.cancelled);
        tokio::select! {
            biased;
            r = call.next() => r,
            _ = cancel.wait_for(|c| *c) => Some(Err(self.call.fail(cancelled()))),
        }
    }

    /// The next events: waits for one, then takes every event that is already buffered (a
    /// network read usually carries many), at most `max`. The batch ends with the stream's
    /// error if it failed; an empty batch without an error is the end. Lets a binding pay one
    /// crossing into its host language per network read, not per token.
    pub async fn next_batch(&mut self, max: usize) -> StreamBatch {
        let mut batch = StreamBatch::default();
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
        if self.call.ended() {
            return Some(None);
        }
        if !self.call.is_reading() {
            return None;
        }
        if *self.cancelled.borrow() {
            return Some(Some(Err(self
                .call
                .fail(Error::cancelled("the stream was cancelled")))));
        }
        self.call.next_if_ready()
    }
}
