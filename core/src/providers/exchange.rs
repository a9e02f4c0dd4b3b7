//! One HTTP exchange with a provider, the same for every wire-format family: build the POST,
//! apply this attempt's credentials, bound it by the try's timeout, turn a non-2xx answer into
//! the family's classified error, and read a 2xx body. The adapters differ only in their
//! URLs, bodies and error envelopes.

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

use super::CallOptions;
use super::auth::Auth;
use crate::error::{Error, ErrorKind, Result};
use crate::http;

/// A family's reading of a non-2xx answer: status, headers and body → a classified error.
pub(crate) type ClassifyError = fn(u16, &HeaderMap, &[u8]) -> Error;

/// Where and how an adapter sends.
pub(crate) struct Exchange<'a> {
    /// The shared connection pool.
    pub(crate) http: &'a reqwest::Client,
    /// Headers sent with every request (content type, version headers, configured ones).
    pub(crate) headers: &'a HeaderMap,
    /// This deployment's credentials, applied to every attempt.
    pub(crate) auth: &'a dyn Auth,
    /// The provider's name in errors.
    pub(crate) provider: &'static str,
    /// The family's error envelope.
    pub(crate) classify: ClassifyError,
}

/// What one send got.
enum Sent {
    Accepted(reqwest::Response),
    Refused {
        status: u16,
        headers: HeaderMap,
        body: Vec<u8>,
    },
}

/// A 2xx answer's body.
pub(crate) struct Answer {
    pub(crate) body: bytes::Bytes,
    pub(crate) status: u16,
    pub(crate) request_id: Option<String>,
}

impl Exchange<'_> {
    /// POSTs `body` to `url`; a non-2xx answer becomes the family's classified error. With
    /// `whole`, the timeout bounds the whole exchange (the body is read within it too);
    /// otherwise only the wait for the headers.
    pub(crate) async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        opts: CallOptions,
        whole: bool,
    ) -> Result<reqwest::Response> {
        let body = bytes::Bytes::from(body);
        let started = std::time::Instant::now();
        let mut resent = false;
        let mut this_send = opts;
        loop {
            match self.send(url, body.clone(), this_send, whole).await? {
                Sent::Accepted(response) => return Ok(response),
                Sent::Refused {
                    status,
                    headers,
                    body: answer,
                } => {
                    // A credential that corrected itself (SigV4's clock) gets one more send,
                    // within what is left of the try's timeout.
                    let left = opts.timeout.saturating_sub(started.elapsed());
                    if !resent && !left.is_zero() && self.auth.corrected_after(status, &headers, &answer) {
                        resent = true;
                        this_send.timeout = left;
                        continue;
                    }
                    let raw = opts
                        .include_raw
                        .then(|| String::from_utf8_lossy(&answer).into_owned());
                    return Err((self.classify)(status, &headers, &answer)
                        .with_provider(self.provider)
                        .with_raw(raw));
                }
            }
        }
    }

    /// One send: a 2xx response, or the refusal's status, headers and body.
    async fn send(&self, url: &str, body: bytes::Bytes, opts: CallOptions, whole: bool) -> Result<Sent> {
        let provider = self.provider;
        let mut req = self
            .http
            .post(url)
            .headers(self.headers.clone())
            .body(body)
            .build()
            .map_err(|e| Error::internal(format!("cannot build the request: {}", e.without_url())))?;
        if whole {
            *req.timeout_mut() = Some(opts.timeout);
        }
        // Credentials may first be fetched (an STS exchange, instance metadata): within the
        // try's timeout too.
        match tokio::time::timeout(opts.timeout, self.auth.apply(&mut req).resolve()).await {
            Ok(applied) => applied?,
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the credentials were not ready within {} ms (the try's timeout)",
                        opts.timeout.as_millis()
                    ),
                )
                .with_provider(provider));
            }
        }
        let within = || {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "no answer within {} ms (the try's timeout)",
                    opts.timeout.as_millis()
                ),
            )
            .with_provider(provider)
        };
        let sent = if whole {
            self.http.execute(req).await
        } else {
            match tokio::time::timeout(opts.timeout, self.http.execute(req)).await {
                Ok(r) => r,
                Err(_) => return Err(within()),
            }
        };
        let response = match sent {
            Err(e) if e.is_timeout() => return Err(within()),
            r => r.map_err(|e| http::transport_error(e, provider))?,
        };
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(Sent::Accepted(response));
        }
        let headers = response.headers().clone();
        let body = http::read_error_body(response).await;
        Ok(Sent::Refused {
            status,
            headers,
            body,
        })
    }

    /// Reads a 2xx answer's body. A body that breaks off is the provider's fault
    /// (PROVIDER_UNAVAILABLE, or TIMEOUT, with its status and request id), never retried on
    /// this deployment: a 2xx was billed (a fallback may still answer).
    pub(crate) async fn read_body(&self, response: reqwest::Response, opts: CallOptions) -> Result<Answer> {
        let request_id = http::request_id(response.headers());
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| {
            let e = if e.is_timeout() {
                Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the answer did not arrive whole within {} ms (the try's timeout)",
                        opts.timeout.as_millis()
                    ),
                )
            } else {
                let cause = http::transport_error(e, self.provider);
                Error::new(
                    ErrorKind::ProviderUnavailable,
                    format!("the answer broke off before its end: {}", cause.message()),
                )
            };
            self.failed_2xx(e, status, &request_id)
        })?;
        Ok(Answer {
            body,
            status,
            request_id,
        })
    }

    /// A 2xx answer that is an error (an error envelope, a malformed body): it names the
    /// provider, status and request id, and is not retried on this deployment — a 2xx was
    /// billed, and asking again would throw another answer away (a fallback may still answer).
    pub(crate) fn failed_2xx(&self, e: Error, status: u16, request_id: &Option<String>) -> Error {
        let e = e
            .with_provider(self.provider)
            .with_request_id(request_id.clone())
            .with_retryable(false);
        if e.status().is_none() {
            e.with_status(status)
        } else {
            e
        }
    }
}

/// How a 2xx answer's body came: JSON (an answer or an error envelope) or an event stream.
pub(crate) fn is_json(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.trim_start().to_ascii_lowercase();
            ct.starts_with("application/json") || ct.starts_with("text/json")
        })
}

/// A secret header value (never shown by `Debug`); `what` names it in the error.
pub(crate) fn header_value(secret: &str, what: &str) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(secret).map_err(|_| {
        Error::config(format!(
            "{what} contains characters not allowed in an HTTP header"
        ))
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// A provider answer that cannot be understood (a body, an event, an embeddings answer):
/// PROVIDER_UNAVAILABLE, since the provider is misbehaving and another may answer. The serde
/// message is scrubbed of any value it quotes.
pub(crate) fn malformed(what: &str, e: &serde_json::Error) -> Error {
    Error::new(
        ErrorKind::ProviderUnavailable,
        format!(
            "the provider's {what} is malformed: {}",
            crate::redact::scrub_serde_message(&e.to_string())
        ),
    )
}
