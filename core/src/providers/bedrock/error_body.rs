//! AWS error answers (Bedrock and SageMaker) → [`Error`], classified per PROTOCOLS.md §7.
//!
//! A non-2xx answer is JSON `{"message": …}` (SageMaker: `Message`, and for a container's
//! error `OriginalStatusCode`/`OriginalMessage`) with the error type in the
//! `x-amzn-ErrorType` header (`ThrottlingException:http://internal.amazon.com/…`), else in
//! the body's `__type`/`code`. Mid-stream, an exception message names its type in
//! `:exception-type` (`throttlingException`, `modelStreamErrorException`, SageMaker's
//! `ModelStreamError`, …). Types are matched case-insensitively:
//!
//! - throttling, `ModelNotReadyException` (the model is loading) → RATE_LIMITED, retried;
//!   `ServiceQuotaExceededException` → RATE_LIMITED, not retried (another deployment may
//!   answer);
//! - `ValidationException`/`ValidationError` → INVALID_REQUEST, or CONTEXT_LENGTH_EXCEEDED
//!   when the message says the input is too long;
//! - `AccessDeniedException` → PERMISSION_DENIED; unknown keys, bad or expired signatures and
//!   tokens → AUTHENTICATION; `ResourceNotFoundException` → NOT_FOUND;
//! - `ModelTimeoutException` → TIMEOUT; server-side and model failures
//!   (`InternalServerException`, `ServiceUnavailableException`, `ModelErrorException`,
//!   `ModelStreamErrorException`, SageMaker's `InternalFailure`, `ServiceUnavailable`,
//!   `InternalStreamFailure`) → PROVIDER_UNAVAILABLE, retried;
//! - SageMaker's `ModelError` (424: the container answered an error) → classified by the
//!   container's own status (`OriginalStatusCode`): a 4xx is the request's fault.
//!
//! A signature rejected because the clocks disagree ([`is_clock_skew`]) is AUTHENTICATION: the
//! signer corrects its clock from the answer's `Date` and the exchange sends the request once
//! more within the same try, so a refusal that reaches the router is not retried.
//!
//! AWS may quote the canonical request in a signature error; its `x-amz-security-token` line
//! and any `Signature=` value are masked.

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::http;
use crate::providers::openai::classify;

/// The error type of a non-2xx AWS answer: `x-amzn-ErrorType` (before its `:`), else the
/// body's `__type` (after its `#`) or `code`.
pub fn error_type(headers: &HeaderMap, body: Option<&Value>) -> Option<String> {
    let from_header = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.split(':').next().unwrap_or(t).trim().to_owned());
    from_header.filter(|t| !t.is_empty()).or_else(|| {
        let b = body?;
        let t = b
            .get("__type")
            .or_else(|| b.get("code"))
            .or_else(|| b.get("Code"))
            .and_then(Value::as_str)?;
        Some(t.rsplit('#').next().unwrap_or(t).to_owned())
    })
}

/// A refusal's error type and message, as [`error_from_response`] reads them.
pub fn error_parts(headers: &HeaderMap, body: &[u8]) -> (Option<String>, String) {
    let parsed: Option<Value> = serde_json::from_slice(body).ok().filter(Value::is_object);
    (
        error_type(headers, parsed.as_ref()),
        message_of(parsed.as_ref()).to_owned(),
    )
}

/// Masks what a quoted canonical request or authorization header may carry: the session
/// token's value and signatures.
fn mask_signing_material(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(value_start) = next_marker_end(rest) {
        out.push_str(&rest[..value_start]);
        let after = &rest[value_start..];
        let value_len = after
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | ',' | '\\'))
            .unwrap_or(after.len());
        out.push_str("***");
        rest = &after[value_len..];
    }
    out.push_str(rest);
    out
}

/// Where the value after the next `x-amz-security-token:` or `Signature=` starts
/// (case-insensitive; the markers are ASCII, so byte offsets are the same in `text`).
fn next_marker_end(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    ["x-amz-security-token:", "signature="]
        .iter()
        .filter_map(|m| lower.find(m).map(|i| i + m.len()))
        .min()
}

fn message_of(body: Option<&Value>) -> &str {
    body.and_then(|b| {
        b.get("message")
            .or_else(|| b.get("Message"))
            .and_then(Value::as_str)
    })
    .unwrap_or("")
}

/// Whether a rejected request failed because the client's clock is off (the signature's
/// time is more than 5 minutes from the server's).
pub fn is_clock_skew(error_type: Option<&str>, message: &str) -> bool {
    let t = error_type.unwrap_or("").to_ascii_lowercase();
    matches!(
        t.as_str(),
        "requesttimetooskewed" | "requestexpired" | "requestinthefuture"
    ) || (matches!(
        t.as_str(),
        "invalidsignatureexception" | "signaturedoesnotmatch" | "authfailure" | ""
    ) && (message.contains("Signature expired") || message.contains("Signature not yet current")))
}

/// Builds the error for a non-2xx AWS answer.
pub fn error_from_response(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok().filter(Value::is_object);
    let kind_name = error_type(headers, parsed.as_ref());
    let message = message_of(parsed.as_ref());
    let mut err = if parsed.is_none() && kind_name.is_none() {
        Error::new(
            classify(status, None, ""),
            format!("HTTP {status} with a body that is not an AWS error"),
        )
    } else {
        classified(kind_name.as_deref(), Some(status), message, parsed.as_ref())
    };
    err = err
        .with_status(status)
        .with_retry_after(http::retry_after(headers))
        .with_request_id(http::request_id(headers));
    err
}

/// Builds the error for an exception message in the middle of a stream.
pub fn error_from_exception(exception_type: &str, payload: &[u8]) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(payload).ok().filter(Value::is_object);
    let message = message_of(parsed.as_ref());
    classified(Some(exception_type), None, message, parsed.as_ref())
}

fn classified(kind_name: Option<&str>, status: Option<u16>, message: &str, body: Option<&Value>) -> Error {
    let lower = kind_name.unwrap_or("").to_ascii_lowercase();
    let lower = lower.as_str();
    let skew = is_clock_skew(kind_name, message);
    let mut retryable = None;
    let kind = match lower {
        _ if skew => ErrorKind::Authentication,
        "throttlingexception" | "toomanyrequestsexception" | "modelnotreadyexception" | "throttling" => {
            ErrorKind::RateLimited
        }
        "servicequotaexceededexception" => {
            retryable = Some(false);
            ErrorKind::RateLimited
        }
        "validationexception" | "validationerror" => classify(400, None, message),
        "accessdeniedexception" => ErrorKind::PermissionDenied,
        "unrecognizedclientexception"
        | "invalidsignatureexception"
        | "missingauthenticationtokenexception"
        | "incompletesignatureexception"
        | "expiredtokenexception"
        | "signaturedoesnotmatch"
        | "invalidclienttokenid" => ErrorKind::Authentication,
        "resourcenotfoundexception" => ErrorKind::NotFound,
        "modeltimeoutexception" => ErrorKind::Timeout,
        "modelerror" => model_error_kind(body, message),
        "internalserverexception"
        | "serviceunavailableexception"
        | "modelerrorexception"
        | "modelstreamerrorexception"
        | "modelstreamerror"
        | "internalfailure"
        | "serviceunavailable"
        | "internalstreamfailure"
        | "internalservererror" => ErrorKind::ProviderUnavailable,
        _ => match status {
            Some(s) => classify(s, None, message),
            None => ErrorKind::ProviderUnavailable,
        },
    };
    let text = match (kind_name, message.is_empty()) {
        (Some(t), false) => format!("{t}: {message}"),
        (Some(t), true) => t.to_owned(),
        (None, false) => message.to_owned(),
        (None, true) => "the provider reported an error".to_owned(),
    };
    let text = mask_signing_material(&text);
    let mut err =
        Error::new(kind, crate::redact::scrub(&text, &[])).with_provider_code(kind_name.map(str::to_owned));
    if let Some(r) = retryable {
        err = err.with_retryable(r);
    }
    err
}

/// SageMaker's `ModelError`: the container's own status decides (a 4xx is the request's
/// fault, e.g. a prompt longer than the model's context); without one the model failed.
fn model_error_kind(body: Option<&Value>, message: &str) -> ErrorKind {
    let original = body
        .and_then(|b| b.get("OriginalStatusCode"))
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok());
    let original_message = body
        .and_then(|b| b.get("OriginalMessage"))
        .and_then(Value::as_str)
        .unwrap_or(message);
    match original {
        Some(s @ 400..=499) => classify(s, None, original_message),
        _ => ErrorKind::ProviderUnavailable,
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn answer(status: u16, kind: &str, body: &str) -> Error {
        let mut h = HeaderMap::new();
        if !kind.is_empty() {
            h.insert(
                "x-amzn-errortype",
                HeaderValue::from_str(&format!(
                    "{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"
                ))
                .unwrap(),
            );
        }
        h.insert("x-amzn-requestid", HeaderValue::from_static("req-1"));
        error_from_response(status, &h, body.as_bytes())
    }

    #[test]
    fn classification_table() {
        let cases: &[(u16, &str, &str, ErrorKind, bool)] = &[
            (
                429,
                "ThrottlingException",
                "Too many requests",
                ErrorKind::RateLimited,
                true,
            ),
            (
                429,
                "ModelNotReadyException",
                "loading",
                ErrorKind::RateLimited,
                true,
            ),
            (
                400,
                "ServiceQuotaExceededException",
                "quota",
                ErrorKind::RateLimited,
                false,
            ),
            (
                400,
                "ValidationException",
                "The provided model identifier is invalid.",
                ErrorKind::InvalidRequest,
                false,
            ),
            (
                400,
                "ValidationException",
                "Input is too long for requested model.",
                ErrorKind::ContextLengthExceeded,
                false,
            ),
            (
                403,
                "AccessDeniedException",
                "no access",
                ErrorKind::PermissionDenied,
                false,
            ),
            (
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
                ErrorKind::Authentication,
                false,
            ),
            (
                404,
                "ResourceNotFoundException",
                "no model",
                ErrorKind::NotFound,
                false,
            ),
            (408, "ModelTimeoutException", "slow", ErrorKind::Timeout, true),
            (
                424,
                "ModelErrorException",
                "boom",
                ErrorKind::ProviderUnavailable,
                true,
            ),
            (
                500,
                "InternalServerException",
                "oops",
                ErrorKind::ProviderUnavailable,
                true,
            ),
            (
                503,
                "ServiceUnavailableException",
                "busy",
                ErrorKind::ProviderUnavailable,
                true,
            ),
            (
                403,
                "InvalidSignatureException",
                "Signature expired: 20261202T120000Z is now earlier than 20261202T121500Z (20261202T122000Z - 5 min.)",
                ErrorKind::Authentication,
                false,
            ),
        ];
        for (status, kind, message, expected, retryable) in cases {
            let e = answer(*status, kind, &format!(r#"{{"message":"{message}"}}"#));
            assert_eq!(e.kind(), *expected, "{kind}");
            assert_eq!(e.is_retryable(), *retryable, "{kind}");
            assert_eq!(e.provider_code(), Some(*kind));
            assert_eq!(e.request_id(), Some("req-1"));
            assert!(e.message().contains(message), "{e}");
        }
    }

    #[test]
    fn a_quoted_canonical_request_loses_its_token_and_signatures() {
        let body = r#"{"message":"The request signature we calculated does not match the signature you provided. The Canonical String for this request should have been\n'POST\n/model/x/converse\n\nhost:bedrock-runtime.us-east-1.amazonaws.com\nx-amz-date:20261202T120000Z\nx-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLETOKENVALUE\n'\n Authorization=AWS4-HMAC-SHA256 Credential=AKID/x, Signature=0123456789abcdef0123"}"#;
        let e = answer(403, "InvalidSignatureException", body);
        assert!(
            !e.message().contains("IQoJb3JpZ2lu") && !e.message().contains("0123456789abcdef"),
            "{e}"
        );
        assert!(e.message().contains("x-amz-security-token:***"), "{e}");
    }

    #[test]
    fn sagemaker_model_errors_follow_the_containers_status() {
        let body = r#"{"ErrorCode":"CLIENT_ERROR_FROM_MODEL","Message":"Received client error (400) from primary","OriginalMessage":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 5000 `inputs` tokens and 20 `max_new_tokens`","OriginalStatusCode":400}"#;
        let e = answer(424, "ModelError", body);
        assert_eq!(e.kind(), ErrorKind::ContextLengthExceeded);
        let body = r#"{"Message":"Received client error (400) from primary","OriginalMessage":"Input validation error: `temperature` must be strictly positive","OriginalStatusCode":400}"#;
        assert_eq!(answer(424, "ModelError", body).kind(), ErrorKind::InvalidRequest);
        let body = r#"{"Message":"Received server error (500) from primary","OriginalStatusCode":500}"#;
        assert_eq!(
            answer(424, "ModelError", body).kind(),
            ErrorKind::ProviderUnavailable
        );
    }

    #[test]
    fn type_from_the_body_and_plain_bodies() {
        let e = answer(
            400,
            "",
            r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}"#,
        );
        assert_eq!(e.provider_code(), Some("ValidationException"));
        let e = answer(502, "", "<html>bad gateway</html>");
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        let e = error_from_exception("throttlingException", br#"{"message":"Too many tokens"}"#);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        let e = error_from_exception(
            "modelStreamErrorException",
            br#"{"message":"x","originalStatusCode":500}"#,
        );
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        let e = error_from_exception("ModelStreamError", br#"{"Message":"x","ErrorCode":"ModelError"}"#);
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    }
}
