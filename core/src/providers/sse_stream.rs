//! A provider stream over an HTTP response in `text/event-stream` form. The wire-format part
//! is an [`EventDecoder`]: it turns each SSE event into [`ProviderEvent`]s and says when the
//! provider's terminal event has arrived.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::{ProviderEvent, ProviderStream};
use crate::error::{Error, ErrorKind, Result};
use crate::redact::Secret;
use crate::sse::{SseDecoder, SseEvent};

/// The wire-format half of an SSE provider stream.
pub trait EventDecoder: Send {
    /// Handles one SSE event, pushing whatever it means onto `out`.
    fn on_event(&mut self, event: SseEvent<'_>, out: &mut VecDeque<ProviderEvent>) -> Result<()>;

    /// Whether the provider's terminal event (`[DONE]`, `response.completed`, …) has arrived.
    fn finished(&self) -> bool;
}

/// Reads an SSE response and decodes it with `D`.
pub struct SseProviderStream<D> {
    response: Option<reqwest::Response>,
    sse: SseDecoder,
    decoder: D,
    pending: VecDeque<ProviderEvent>,
    idle_timeout: Duration,
    provider: &'static str,
    request_id: Option<String>,
    /// Credentials to remove from any error message.
    secrets: Arc<[Secret]>,
    /// A failure to report once the events decoded before it have been delivered.
    failure: Option<Error>,
}

impl<D: EventDecoder> SseProviderStream<D> {
    /// Wraps an accepted (2xx) streaming response; `secrets` are scrubbed from its errors.
    pub fn new(
        response: reqwest::Response,
        decoder: D,
        idle_timeout: Duration,
        provider: &'static str,
        secrets: Arc<[Secret]>,
    ) -> Self {
        let request_id = crate::http::request_id(response.headers());
        SseProviderStream {
            response: Some(response),
            sse: SseDecoder::new(),
            decoder,
            pending: VecDeque::with_capacity(4),
            idle_timeout,
            provider,
            request_id,
            secrets,
            failure: None,
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

    async fn next_inner(&mut self) -> Option<Result<ProviderEvent>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(Ok(ev));
            }
            if let Some(e) = self.failure.take() {
                return Some(Err(e));
            }
            if self.decoder.finished() {
                self.release_connection();
                return None;
            }
            let response = self.response.as_mut()?;
            match tokio::time::timeout(self.idle_timeout, response.chunk()).await {
                Err(_) => {
                    let msg = format!(
                        "no data from the provider for {} ms",
                        self.idle_timeout.as_millis()
                    );
                    self.fail(Error::new(ErrorKind::Timeout, msg));
                }
                Ok(Err(e)) => {
                    let cause = crate::http::transport_error(e, self.provider);
                    let msg = format!("the stream broke off: {}", cause.message());
                    self.fail(Error::new(ErrorKind::ProviderUnavailable, msg));
                }
                Ok(Ok(None)) => {
                    if self.decoder.finished() {
                        self.response = None;
                        continue;
                    }
                    let msg = "the stream ended before the provider's terminal event";
                    self.fail(Error::new(ErrorKind::ProviderUnavailable, msg));
                }
                Ok(Ok(Some(bytes))) => {
                    let (decoder, pending) = (&mut self.decoder, &mut self.pending);
                    if let Err(e) = self.sse.feed(&bytes, |ev| decoder.on_event(ev, pending)) {
                        self.fail(e);
                    }
                }
            }
        }
    }
}

impl<D: EventDecoder> ProviderStream for SseProviderStream<D> {
    fn next_event(&mut self) -> BoxFuture<'_, Option<Result<ProviderEvent>>> {
        Box::pin(self.next_inner())
    }

    fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}
