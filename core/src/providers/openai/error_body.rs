//! OpenAI-family error answers → [`Error`], classified per PROTOCOLS.md §7.
//!
//! Envelopes seen: OpenAI `{"error":{message,type,param,code}}` (code a string or null),
//! OpenRouter `{"error":{code: <int>, message, metadata}}`, Groq with `failed_generation`
//! (model output: never copied), and plain-text bodies.

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::http;

/// Builds the error for a non-2xx answer.
pub fn error_from_response(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let mut err = match &parsed {
        Some(v) => error_from_body(v, Some(status)),
        None => Error::new(
            classify(status, None, ""),
            format!("HTTP {status} with a body that is not JSON"),
        ),
    };
    err = err
        .with_status(status)
        .with_retry_after(http::retry_after(headers))
        .with_request_id(http::request_id(headers));
    if let Some(should) = http::should_retry(headers) {
        err = err.with_retryable(should);
    }
    err
}

/// Builds an error from an error JSON (a whole body or its `error` object). `status` is the
/// HTTP status when there was one; otherwise an integer `code` (OpenRouter) stands in for it.
/// Credential-shaped text is masked; the adapter removes its known secrets on top.
pub fn error_from_body(v: &Value, status: Option<u16>) -> Error {
    let obj = v.get("error").unwrap_or(v);
    let obj = if let Value::Array(items) = obj {
        items.first().unwrap_or(obj)
    } else {
        obj
    };
    let message = match obj {
        Value::String(s) => s.as_str(),
        _ => obj.get("message").and_then(Value::as_str).unwrap_or(""),
    };
    let code_value = obj.get("code");
    let code: Option<String> = match code_value {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => obj.get("type").and_then(Value::as_str).map(str::to_owned),
    };
    let status = status.or_else(|| {
        code_value
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
    });
    let kind = match status {
        Some(s) => classify(s, code.as_deref(), message),
        None => classify_without_status(code.as_deref(), message),
    };
    let text = if message.is_empty() {
        "the provider reported an error"
    } else {
        message
    };
    let mut err = Error::new(kind, crate::redact::scrub(text, &[])).with_provider_code(code.clone());
    if let Some(s) = status {
        err = err.with_status(s);
    }
    match code.as_deref() {
        // Billing, not load: waiting will not help, another provider might.
        Some("insufficient_quota") => err.with_retryable(false),
        // Groq: the model wrote malformed tool JSON; asking again usually works.
        Some("tool_use_failed") => err.with_retryable(true),
        _ => err,
    }
}

/// The error kind for an HTTP status and the provider's code and message.
pub fn classify(status: u16, code: Option<&str>, message: &str) -> ErrorKind {
    match status {
        400 | 413 | 422 => {
            if is_context_length(code, message) {
                ErrorKind::ContextLengthExceeded
            } else if is_content_policy(code) {
                ErrorKind::ContentFiltered
            } else {
                ErrorKind::InvalidRequest
            }
        }
        401 => ErrorKind::Authentication,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimited,
        409 | 500..=599 => ErrorKind::ProviderUnavailable,
        400..=499 => ErrorKind::InvalidRequest,
        _ => ErrorKind::Internal,
    }
}

fn classify_without_status(code: Option<&str>, message: &str) -> ErrorKind {
    if is_context_length(code, message) {
        ErrorKind::ContextLengthExceeded
    } else if is_content_policy(code) {
        ErrorKind::ContentFiltered
    } else {
        match code {
            Some("rate_limit_exceeded" | "insufficient_quota") => ErrorKind::RateLimited,
            Some("invalid_request_error") => ErrorKind::InvalidRequest,
            _ => ErrorKind::ProviderUnavailable,
        }
    }
}

fn is_context_length(code: Option<&str>, message: &str) -> bool {
    if code == Some("context_length_exceeded") {
        return true;
    }
    let m = message.to_ascii_lowercase();
    [
        "maximum context length",
        "context length exceeded",
        "context window",
        "prompt is too long",
        "input is too long",
        // Text Generation Inference (SageMaker, Hugging Face endpoints).
        "tokens + `max_new_tokens` must be <=",
    ]
    .iter()
    .any(|p| m.contains(p))
}

fn is_content_policy(code: Option<&str>) -> bool {
    matches!(code, Some("content_policy_violation" | "content_filter"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn classification_table() {
        let cases: &[(u16, &str, ErrorKind)] = &[
            (
                400,
                r#"{"error":{"message":"This model's maximum context length is 4097 tokens.","code":"context_length_exceeded"}}"#,
                ErrorKind::ContextLengthExceeded,
            ),
            (
                400,
                r#"{"error":{"message":"x","code":"content_policy_violation"}}"#,
                ErrorKind::ContentFiltered,
            ),
            (
                400,
                r#"{"error":{"message":"bad","code":"unsupported_value"}}"#,
                ErrorKind::InvalidRequest,
            ),
            (
                401,
                r#"{"error":{"message":"Incorrect API key provided: sk-abcdefghijkl"}}"#,
                ErrorKind::Authentication,
            ),
            (403, "{}", ErrorKind::PermissionDenied),
            (
                404,
                r#"{"error":{"code":"model_not_found","message":"nope"}}"#,
                ErrorKind::NotFound,
            ),
            (
                429,
                r#"{"error":{"code":429,"message":"Provider returned error"}}"#,
                ErrorKind::RateLimited,
            ),
            (503, "<html>busy</html>", ErrorKind::ProviderUnavailable),
            (529, "{}", ErrorKind::ProviderUnavailable),
        ];
        for (status, body, kind) in cases {
            let e = error_from_response(*status, &HeaderMap::new(), body.as_bytes());
            assert_eq!(e.kind(), *kind, "{status} {body}");
            assert_eq!(e.status(), Some(*status));
            assert!(!e.message().contains("abcdefghijkl"));
        }
    }

    #[test]
    fn quota_is_not_retried_and_should_retry_wins() {
        let e = error_from_response(
            429,
            &HeaderMap::new(),
            br#"{"error":{"code":"insufficient_quota","message":"q"}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(!e.is_retryable());
        let mut h = HeaderMap::new();
        h.insert("x-should-retry", HeaderValue::from_static("false"));
        h.insert("retry-after", HeaderValue::from_static("2"));
        let e = error_from_response(503, &h, b"{}");
        assert!(!e.is_retryable());
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(2)));
    }

    #[test]
    fn groq_failed_generation_is_not_copied() {
        let e = error_from_response(
            400,
            &HeaderMap::new(),
            br#"{"error":{"code":"tool_use_failed","failed_generation":"model said secret","message":"Tool choice is required"}}"#);
        assert!(!e.message().contains("secret"));
        assert!(e.is_retryable());
        assert_eq!(e.provider_code(), Some("tool_use_failed"));
    }
}
