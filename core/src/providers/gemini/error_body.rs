//! Google error answers → [`Error`], classified per PROTOCOLS.md §7.
//!
//! The envelope is `{"error":{"code","message","status","details"}}` — as a whole non-2xx
//! body, as an SSE chunk after a 200, or as an element of a JSON-array stream. The kind comes
//! from the HTTP status and the `status` name: `RESOURCE_EXHAUSTED` → RATE_LIMITED (with the
//! `RetryInfo` detail's `retryDelay` as the retry-after), an `API_KEY_INVALID` reason →
//! AUTHENTICATION (Google answers it with 400), a prompt over the context window →
//! CONTEXT_LENGTH_EXCEEDED, `INTERNAL`/`UNAVAILABLE` → PROVIDER_UNAVAILABLE,
//! `DEADLINE_EXCEEDED` → TIMEOUT.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::http;
use crate::providers::openai::classify;

/// Builds the error for a non-2xx answer.
pub fn error_from_response(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    // A JSON-array stream wraps its error in a list.
    let envelope = match &parsed {
        Some(Value::Array(items)) => items.first(),
        other => other.as_ref(),
    };
    let err = match envelope {
        Some(v) if v.get("error").is_some_and(Value::is_object) => error_from_body(v, Some(status)),
        _ => Error::new(
            classify(status, None, ""),
            format!("HTTP {status} with a body that is not a Google error"),
        )
        .with_status(status),
    };
    let retry_after = http::retry_after(headers).or(err.retry_after());
    err.with_retry_after(retry_after)
        .with_request_id(http::request_id(headers))
}

/// Builds an error from a Google error JSON (`{"error":{…}}`). `status` is the HTTP status
/// when there was one; an error chunk inside a 200 stream has none, and its `code` stands in.
pub fn error_from_body(v: &Value, status: Option<u16>) -> Error {
    let obj = v.get("error").filter(|e| e.is_object()).unwrap_or(v);
    let message = obj.get("message").and_then(Value::as_str).unwrap_or("");
    let status_name = obj.get("status").and_then(Value::as_str);
    let code = status.or_else(|| {
        obj.get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
    });
    let details = obj.get("details").and_then(Value::as_array);
    let reason = details
        .into_iter()
        .flatten()
        .find_map(|d| d.get("reason").and_then(Value::as_str));
    let kind = kind_of(code, status_name, reason, message);
    let text = if message.is_empty() {
        "the provider reported an error"
    } else {
        message
    };
    let mut err = Error::new(kind, crate::redact::scrub(text, &[]))
        .with_provider_code(status_name.map(str::to_owned))
        .with_retry_after(details.and_then(|d| retry_delay(d)));
    if let Some(c) = code {
        err = err.with_status(c);
    }
    err
}

fn kind_of(code: Option<u16>, status: Option<&str>, reason: Option<&str>, message: &str) -> ErrorKind {
    if reason == Some("API_KEY_INVALID") {
        return ErrorKind::Authentication;
    }
    if is_context_length(message) {
        return ErrorKind::ContextLengthExceeded;
    }
    match status {
        Some("RESOURCE_EXHAUSTED") => ErrorKind::RateLimited,
        Some("UNAUTHENTICATED") => ErrorKind::Authentication,
        Some("PERMISSION_DENIED") => ErrorKind::PermissionDenied,
        Some("NOT_FOUND") => ErrorKind::NotFound,
        Some("DEADLINE_EXCEEDED") => ErrorKind::Timeout,
        Some("INTERNAL" | "UNAVAILABLE" | "ABORTED" | "UNKNOWN") => ErrorKind::ProviderUnavailable,
        Some("INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE") => ErrorKind::InvalidRequest,
        _ => match code {
            Some(c) => classify(c, None, message),
            None => ErrorKind::ProviderUnavailable,
        },
    }
}

/// Google's wording for a prompt over the model's window ("The input token count (…)
/// exceeds the maximum number of tokens allowed (…)").
fn is_context_length(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("exceeds the maximum number of tokens") || m.contains("input token count")
}

/// The `retryDelay` of a `google.rpc.RetryInfo` detail (`"17s"`, `"0.5s"`).
fn retry_delay(details: &[Value]) -> Option<Duration> {
    details
        .iter()
        .filter(|d| {
            d.get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("google.rpc.RetryInfo"))
        })
        .find_map(|d| d.get("retryDelay").and_then(Value::as_str))
        .and_then(|s| s.strip_suffix('s'))
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, body: &str) -> Error {
        error_from_response(status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn statuses_reasons_and_retry_delay() {
        let e = err(
            429,
            r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED",
               "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"17s"}]}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(17)));
        assert_eq!(e.provider_code(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(e.status(), Some(429));
        let e = err(
            400,
            r#"{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT",
               "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Authentication);
        let e = err(
            400,
            r#"{"error":{"code":400,"message":"The input token count (2000000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::ContextLengthExceeded);
        for (status, name, kind) in [
            (404, "NOT_FOUND", ErrorKind::NotFound),
            (403, "PERMISSION_DENIED", ErrorKind::PermissionDenied),
            (401, "UNAUTHENTICATED", ErrorKind::Authentication),
            (500, "INTERNAL", ErrorKind::ProviderUnavailable),
            (503, "UNAVAILABLE", ErrorKind::ProviderUnavailable),
            (504, "DEADLINE_EXCEEDED", ErrorKind::Timeout),
            (400, "INVALID_ARGUMENT", ErrorKind::InvalidRequest),
        ] {
            let body = format!(r#"{{"error":{{"code":{status},"message":"m","status":"{name}"}}}}"#);
            assert_eq!(err(status, &body).kind(), kind, "{name}");
        }
        // The JSON-array stream's wrapped error, and a body that is not Google's.
        let e = err(
            503,
            r#"[{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}]"#,
        );
        assert_eq!(e.message(), "overloaded");
        let e = err(502, "<html>bad gateway</html>");
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        assert!(e.message().contains("not a Google error"));
    }

    #[test]
    fn observed_429s_are_rate_limits() {
        // A Gemini API quota error, and Vertex's wrapped in the JSON-array stream's list.
        for body in [
            include_str!(
                "../../../../tests/provider-specs/recorded/observed-errors/gemini_429_resource_exhausted.json"
            ),
            include_str!(
                "../../../../tests/provider-specs/recorded/observed-errors/vertex_429_resource_exhausted_stream_array.json"
            ),
        ] {
            let e = err(429, body);
            assert_eq!(e.kind(), ErrorKind::RateLimited);
            assert_eq!(e.provider_code(), Some("RESOURCE_EXHAUSTED"));
            assert!(
                e.message().starts_with("You exceeded") || e.message().starts_with("Resource exhausted"),
                "{e}"
            );
        }
    }

    #[test]
    fn an_error_chunk_without_status_uses_its_code() {
        let v: Value = serde_json::from_str(
            r#"{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}"#,
        )
        .unwrap();
        let e = error_from_body(&v, None);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.status(), Some(429));
    }
}
