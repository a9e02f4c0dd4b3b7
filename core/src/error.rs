//! The one error type of modelplug: a flat [`ErrorKind`] with stable string codes, plus the
//! context every binding exposes (provider, HTTP status, retry-after, request id, attempts).
//!
//! Messages never contain prompts, completions or secrets: provider messages are passed through
//! [`crate::redact::scrub`] and cut to a bounded length before they are stored here.

use std::fmt;
use std::time::Duration;

use crate::types::Attempt;

pub use modelplug_schema::{ErrorCode, ErrorKind};

/// A modelplug error. Cheap to move (one box); every field is safe to log.
#[derive(Clone, PartialEq)]
pub struct Error(Box<ErrorInner>);

#[derive(Clone, PartialEq)]
struct ErrorInner {
    kind: ErrorKind,
    message: String,
    provider: Option<String>,
    status: Option<u16>,
    retry_after: Option<Duration>,
    request_id: Option<String>,
    provider_code: Option<String>,
    retryable: bool,
    attempts: Vec<Attempt>,
    /// The provider's raw error body, kept only when the request asked for raw answers.
    raw: Option<String>,
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind`. `message` must not contain prompt text or secrets.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error(Box::new(ErrorInner {
            kind,
            message: message.into(),
            provider: None,
            status: None,
            retry_after: None,
            request_id: None,
            provider_code: None,
            retryable: kind.retryable_by_default(),
            attempts: Vec::new(),
            raw: None,
        }))
    }

    /// Shorthand for an [`ErrorKind::InvalidRequest`] error.
    pub fn invalid_request(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidRequest, message)
    }

    /// Shorthand for an [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Config, message)
    }

    /// Shorthand for an [`ErrorKind::Internal`] error.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }

    /// Shorthand for an [`ErrorKind::Cancelled`] error.
    pub fn cancelled(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Cancelled, message)
    }

    /// Sets the provider this error came from.
    pub fn with_provider(mut self, provider: impl Into<String>) -> Error {
        self.0.provider = Some(provider.into());
        self
    }

    /// Sets the HTTP status the provider answered with.
    pub fn with_status(mut self, status: u16) -> Error {
        self.0.status = Some(status);
        self
    }

    /// Sets how long the provider asked us to wait before retrying.
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Error {
        self.0.retry_after = retry_after;
        self
    }

    /// Sets the provider's request id (for support tickets).
    pub fn with_request_id(mut self, request_id: Option<String>) -> Error {
        self.0.request_id = request_id;
        self
    }

    /// Sets the provider's own error code (e.g. `insufficient_quota`).
    pub fn with_provider_code(mut self, code: Option<String>) -> Error {
        self.0.provider_code = code;
        self
    }

    /// Overrides whether the same deployment may be retried.
    pub fn with_retryable(mut self, retryable: bool) -> Error {
        self.0.retryable = retryable;
        self
    }

    /// Attaches the list of attempts the router made.
    pub fn with_attempts(mut self, attempts: Vec<Attempt>) -> Error {
        self.0.attempts = attempts;
        self
    }

    /// Keeps the provider's raw error body (only for requests that set `include_raw`: it may
    /// quote the prompt).
    pub fn with_raw(mut self, raw: Option<String>) -> Error {
        self.0.raw = raw;
        self
    }

    /// Removes the request's own text (`texts`) from the message wherever the provider echoed
    /// it back (see [`crate::redact::without_request_text`]).
    pub fn without_request_text(mut self, texts: &[&str]) -> Error {
        if let Some(clean) = crate::redact::without_request_text(&self.0.message, texts) {
            self.0.message = clean;
        }
        self
    }

    /// The provider's raw error body, when the request set `include_raw`.
    pub fn raw(&self) -> Option<&str> {
        self.0.raw.as_deref()
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The stable string code of the kind.
    pub fn code(&self) -> &'static str {
        self.0.kind.code()
    }

    /// A human-readable message, free of prompts and secrets.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The provider the failure came from, if any.
    pub fn provider(&self) -> Option<&str> {
        self.0.provider.as_deref()
    }

    /// The provider's HTTP status, if the failure was an HTTP answer.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// How long the provider asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// The provider's request id, if it sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// The provider's own error code string, if any (e.g. `context_length_exceeded`).
    pub fn provider_code(&self) -> Option<&str> {
        self.0.provider_code.as_deref()
    }

    /// Whether retrying the same deployment may succeed.
    pub fn is_retryable(&self) -> bool {
        self.0.retryable
    }

    /// Whether another deployment may succeed where this one failed.
    pub fn allows_fallback(&self) -> bool {
        self.0.kind.allows_fallback()
    }

    /// Every attempt the router made before giving up (empty when no provider was called).
    pub fn attempts(&self) -> &[Attempt] {
        &self.0.attempts
    }

    /// Removes credential values from the message (a provider may echo one back).
    pub fn scrubbed(mut self, secrets: &[crate::redact::Secret]) -> Error {
        let leaks = |text: &str| secrets.iter().any(|s| !s.is_empty() && text.contains(s.expose()));
        let values = || {
            secrets
                .iter()
                .map(crate::redact::Secret::expose)
                .collect::<Vec<&str>>()
        };
        if leaks(&self.0.message) {
            self.0.message = crate::redact::scrub(&self.0.message, &values());
        }
        if let Some(raw) = &self.0.raw
            && leaks(raw)
        {
            let mut clean = raw.clone();
            for v in values().into_iter().filter(|v| !v.is_empty()) {
                clean = clean.replace(v, "***");
            }
            self.0.raw = Some(clean);
        }
        self
    }

    /// The error as JSON: `code`, `message`, `provider`, `status`, `retry_after_ms`,
    /// `request_id`, `provider_code`, `retryable` and `attempts` (and `raw`, the provider's
    /// body, only when the request asked for it) — the form bindings and the shared test
    /// vectors use.
    pub fn to_value(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "code": self.code(),
            "message": self.0.message,
            "provider": self.0.provider,
            "status": self.0.status,
            "retry_after_ms": self.0.retry_after.map(|d| d.as_secs_f64() * 1000.0),
            "request_id": self.0.request_id,
            "provider_code": self.0.provider_code,
            "retryable": self.0.retryable,
            "attempts": self.0.attempts,
        });
        if let Some(raw) = &self.0.raw {
            v["raw"] = raw.as_str().into();
        }
        v
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.code())?;
        if let Some(p) = &self.0.provider {
            write!(f, " {p}:")?;
        }
        write!(f, " {}", self.0.message)?;
        if let Some(s) = self.0.status {
            write!(f, " (HTTP {s})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("message", &self.0.message)
            .field("provider", &self.0.provider)
            .field("status", &self.0.status)
            .field("retry_after", &self.0.retry_after)
            .field("request_id", &self.0.request_id)
            .field("provider_code", &self.0.provider_code)
            .field("retryable", &self.0.retryable)
            .field("attempts", &self.0.attempts.len())
            .field("raw", &self.0.raw.as_ref().map(|r| r.len()))
            .finish()
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_code_provider_and_status() {
        let e = Error::new(ErrorKind::RateLimited, "slow down")
            .with_provider("openai")
            .with_status(429);
        assert_eq!(e.to_string(), "[RATE_LIMITED] openai: slow down (HTTP 429)");
        assert!(e.is_retryable());
        assert!(!Error::invalid_request("x").is_retryable());
    }
}
