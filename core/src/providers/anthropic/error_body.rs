//! Anthropic error answers → [`Error`], classified per PROTOCOLS.md §7.
//!
//! The envelope is `{"type":"error","error":{"type","message"},"request_id"}`, both as a whole
//! non-2xx body and as an `error` event in the middle of a 200 stream. Types: 400
//! `invalid_request_error`, 401 `authentication_error`, 403 `permission_error`, 404
//! `not_found_error`, 413 `request_too_large`, 429 `rate_limit_error`, 500 `api_error`,
//! 529 `overloaded_error` (retried, then another deployment).

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::http;
use crate::providers::openai::classify;

/// Builds the error for a non-2xx answer: the kind from the status (and the message for
/// context-length errors), `retry-after`, the request id (header, else the body's) and
/// `x-should-retry`.
pub fn error_from_response(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let mut err = match &parsed {
        Some(v) if v.is_object() => error_from_body(v, Some(status)),
        _ => Error::new(
            classify(status, None, ""),
            format!("HTTP {status} with a body that is not an Anthropic error"),
        ),
    };
    let request_id = http::request_id(headers).or_else(|| {
        parsed
            .as_ref()
            .and_then(|v| v.get("request_id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    err = err
        .with_status(status)
        .with_retry_after(http::retry_after(headers))
        .with_request_id(request_id);
    if let Some(should) = http::should_retry(headers) {
        err = err.with_retryable(should);
    }
    err
}

/// Builds an error from an Anthropic error JSON (the whole envelope or its `error` object).
/// `status` is the HTTP status when there was one; a mid-stream `error` event has none, and
/// its `error.type` decides the kind. The message is kept (credential-shaped text masked);
/// the adapter removes its known secrets on top.
pub fn error_from_body(v: &Value, status: Option<u16>) -> Error {
    let obj = match v.get("error") {
        Some(e) if e.is_object() => e,
        _ => v,
    };
    let kind_name = obj.get("type").and_then(Value::as_str).filter(|t| *t != "error");
    let message = obj.get("message").and_then(Value::as_str).unwrap_or("");
    let kind = match status {
        Some(s) => classify(s, kind_name, message),
        None => classify_type(kind_name, message),
    };
    let text = if message.is_empty() {
        "the provider reported an error"
    } else {
        message
    };
    let mut err =
        Error::new(kind, crate::redact::scrub(text, &[])).with_provider_code(kind_name.map(str::to_owned));
    if let Some(s) = status {
        err = err.with_status(s);
    }
    if let Some(id) = v.get("request_id").and_then(Value::as_str) {
        err = err.with_request_id(Some(id.to_owned()));
    }
    err
}

/// The kind of an error that came without an HTTP status (an `error` event mid-stream).
fn classify_type(kind: Option<&str>, message: &str) -> ErrorKind {
    match kind {
        Some("invalid_request_error" | "request_too_large") => classify(400, kind, message),
        Some("authentication_error") => ErrorKind::Authentication,
        Some("permission_error" | "billing_error") => ErrorKind::PermissionDenied,
        Some("not_found_error") => ErrorKind::NotFound,
        Some("rate_limit_error") => ErrorKind::RateLimited,
        Some("timeout_error") => ErrorKind::Timeout,
        // overloaded_error, api_error and anything new: the provider is failing.
        _ => ErrorKind::ProviderUnavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_and_types() {
        let body = |t: &str, m: &str| {
            format!(r#"{{"type":"error","error":{{"type":"{t}","message":"{m}"}},"request_id":"req_1"}}"#)
        };
        let cases: &[(u16, &str, &str, ErrorKind)] = &[
            (400, "invalid_request_error", "bad", ErrorKind::InvalidRequest),
            (
                400,
                "invalid_request_error",
                "prompt is too long: 250000 tokens > 200000 maximum",
                ErrorKind::ContextLengthExceeded,
            ),
            (
                401,
                "authentication_error",
                "invalid x-api-key",
                ErrorKind::Authentication,
            ),
            (403, "permission_error", "no", ErrorKind::PermissionDenied),
            (404, "not_found_error", "model: x", ErrorKind::NotFound),
            (413, "request_too_large", "too big", ErrorKind::InvalidRequest),
            (429, "rate_limit_error", "slow down", ErrorKind::RateLimited),
            (500, "api_error", "oops", ErrorKind::ProviderUnavailable),
            (
                529,
                "overloaded_error",
                "Overloaded",
                ErrorKind::ProviderUnavailable,
            ),
        ];
        for (status, t, m, kind) in cases {
            let e = error_from_response(*status, &HeaderMap::new(), body(t, m).as_bytes());
            assert_eq!(e.kind(), *kind, "{status} {t}");
            assert_eq!(e.status(), Some(*status));
            assert_eq!(e.provider_code(), Some(*t));
            assert_eq!(e.request_id(), Some("req_1"));
            assert_eq!(e.message(), *m);
        }
        let e = error_from_response(
            529,
            &HeaderMap::new(),
            body("overloaded_error", "Overloaded").as_bytes(),
        );
        assert!(e.is_retryable() && e.allows_fallback());
    }

    #[test]
    fn rate_limit_carries_retry_after_and_headers_win() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        h.insert("request-id", HeaderValue::from_static("req_hdr"));
        let e = error_from_response(
            429,
            &h,
            br#"{"type":"error","error":{"type":"rate_limit_error","message":"r"},"request_id":"req_body"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(7)));
        assert_eq!(e.request_id(), Some("req_hdr"));
    }

    #[test]
    fn mid_stream_types_and_odd_bodies() {
        let v: Value = serde_json::from_str(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        )
        .unwrap();
        let e = error_from_body(&v, None);
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        assert!(e.is_retryable());
        assert_eq!(e.status(), None);
        for (t, k) in [
            ("rate_limit_error", ErrorKind::RateLimited),
            ("invalid_request_error", ErrorKind::InvalidRequest),
            ("authentication_error", ErrorKind::Authentication),
            ("something_new", ErrorKind::ProviderUnavailable),
        ] {
            let v = serde_json::json!({"type": "error", "error": {"type": t, "message": "m"}});
            assert_eq!(error_from_body(&v, None).kind(), k, "{t}");
        }
        let e = error_from_response(502, &HeaderMap::new(), b"<html>bad gateway</html>");
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        let e = error_from_response(400, &HeaderMap::new(), b"[1,2]");
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        let e = error_from_response(
            401,
            &HeaderMap::new(),
            br#"{"error":"sk-ant-abcdefghijklmnopqrstuv"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Authentication);
        assert!(!e.message().contains("abcdefghijklmnop"), "{e}");
    }
}
