//! A provider stream over a streaming HTTP response: a [`Framing`] splits the body into frames,
//! an [`EventDecoder`] (the provider's wire format) turns each frame into [`ProviderEvent`]s and
//! says when the provider's terminal event has arrived. Every read is bounded by the try's
//! idle timeout and by the call's deadline.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::framing::{Frame, Framing};
use super::{CallOptions, ProviderEvent, ProviderStream};
use crate::error::{Error, ErrorKind, Result};
use crate::redact::Secret;
use crate::routing::Deadline;

/// The wire-format half of a provider stream.
pub trait EventDecoder: Send {
    /// Handles one frame, pushing whatever it means onto `out`.
    fn on_event(&mut self, event: Frame<'_>, out: &mut VecDeque<ProviderEvent>) -> Result<()>;

    /// Whether the provider's terminal event (`[DONE]`, `response.completed`, …) has arrived.
    fn finished(&self) -> bool;

    /// Whether a body that ends now has ended properly: by default only after the terminal
    /// event; a format whose last event is optional (Bedrock's `metadata` after
    /// `messageStop`) says so here.
    fn complete_at_end(&self) -> bool {
        self.finished()
    }
}

/// Reads a streaming response, framed by `F` and decoded by `D`.
pub struct FramedStream<F, D> {
    response: Option<reqwest::Response>,
    framing: F,
    decoder: D,
    pending: VecDeque<ProviderEvent>,
    idle_timeout: Duration,
    deadline: Option<Deadline>,
    provider: &'static str,
    request_id: Option<String>,
    /// Credentials to remove from any error message.
    secrets: Arc<[Secret]>,
    /// A failure to report once the events decoded before it have been delivered.
    failure: Option<Error>,
    /// The body ended properly (see [`EventDecoder::complete_at_end`]).
    ended: bool,
}

impl<F: Framing, D: EventDecoder> FramedStream<F, D> {
    /// Wraps an accepted (2xx) streaming response; `secrets` are scrubbed from its errors.
    pub fn new(
        response: reqwest::Response,
        framing: F,
        decoder: D,
        opts: CallOptions,
        provider: &'static str,
        secrets: Arc<[Secret]>,
    ) -> Self {
        let request_id = crate::http::request_id(response.headers());
        FramedStream {
            response: Some(response),
            framing,
            decoder,
            pending: VecDeque::with_capacity(4),
            idle_timeout: opts.timeout,
            deadline: opts.deadline,
            provider,
            request_id,
            secrets,
            failure: None,
            ended: false,
        }
    }

    /// Stops reading; `e` is reported after the events already decoded.
    fn fail(&mut self, e: Error) {
        self.response = None;
        let e = e.scrubbed(&self.secrets).with_provider(self.provider);
        self.failure = Some(e.with_request_id(self.request_id.clone()));
    }

    /// Reads what is already buffered after the terminal event, so that the connection goes
    /// back to the pool instead of being closed.
    fn release_connection(&mut self) {
        if let Some(mut r) = self.response.take() {
            while let Some(Ok(Some(_))) = r.chunk().now_or_never() {}
        }
    }

    /// How long the next read may wait, and the error if it waits that long.
    fn read_bound(&self) -> (Duration, Error) {
        let idle = || {
            let msg = format!(
                "no data from the provider for {} ms",
                self.idle_timeout.as_millis()
            );
            Error::new(ErrorKind::Timeout, msg)
        };
        match self.deadline {
            Some(d) if d.left() < self.idle_timeout => (d.left(), d.error()),
            _ => (self.idle_timeout, idle()),
        }
    }

    async fn next_inner(&mut self) -> Option<Result<ProviderEvent>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(Ok(ev));
            }
            if let Some(e) = self.failure.take() {
                return Some(Err(e));
            }
            if self.ended || self.decoder.finished() {
                self.release_connection();
                return None;
            }
            let (bound, timeout_error) = self.read_bound();
            let response = self.response.as_mut()?;
            match tokio::time::timeout(bound, response.chunk()).await {
                Err(_) => self.fail(timeout_error),
                Ok(Err(e)) => {
                    let cause = crate::http::transport_error(e, self.provider);
                    let msg = format!("the stream broke off: {}", cause.message());
                    self.fail(Error::new(ErrorKind::ProviderUnavailable, msg));
                }
                Ok(Ok(None)) => {
                    if let Err(e) = self.framing.end() {
                        self.fail(e);
                        continue;
                    }
                    if self.decoder.complete_at_end() {
                        self.response = None;
                        self.ended = true;
                        continue;
                    }
                    let msg = "the stream ended before the provider's terminal event";
                    self.fail(Error::new(ErrorKind::ProviderUnavailable, msg));
                }
                Ok(Ok(Some(bytes))) => {
                    let (decoder, pending) = (&mut self.decoder, &mut self.pending);
                    if let Err(e) = self
                        .framing
                        .feed_frames(&bytes, &mut |frame| decoder.on_event(frame, pending))
                    {
                        self.fail(e);
                    }
                }
            }
        }
    }
}

impl<F: Framing, D: EventDecoder> ProviderStream for FramedStream<F, D> {
    fn next_event(&mut self) -> BoxFuture<'_, Option<Result<ProviderEvent>>> {
        Box::pin(self.next_inner())
    }

    fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}
