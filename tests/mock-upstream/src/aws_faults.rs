//! AWS-shaped faults: the HTTP error answer (`{"message"}` + `x-amzn-ErrorType`, or
//! SageMaker's `ModelError` body), the mid-stream exception frame, and the headers every AWS
//! answer carries (`x-amzn-RequestId`, `Date`).

use serde_json::{Value, json};

use crate::scenario::{ErrorSpec, StreamException};

/// The AWS service a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsService {
    /// Bedrock Runtime (`/model/{modelId}/…`), SigV4 signing name `bedrock`.
    Bedrock,
    /// SageMaker Runtime (`/endpoints/{EndpointName}/…`), SigV4 signing name `sagemaker`.
    SageMaker,
}

impl AwsService {
    /// The SigV4 signing name (the service in the credential scope).
    pub fn signing_name(self) -> &'static str {
        match self {
            AwsService::Bedrock => "bedrock",
            AwsService::SageMaker => "sagemaker",
        }
    }

    /// The `x-amzn-ErrorType` value for error type `kind`.
    pub fn error_type_header(self, kind: &str) -> String {
        let namespace = match self {
            AwsService::Bedrock => "com.amazon.bedrock",
            AwsService::SageMaker => "com.amazon.sagemaker",
        };
        format!("{kind}:http://internal.amazon.com/coral/{namespace}/")
    }
}

/// An AWS error answer before it is shaped: status, error type and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFault {
    /// HTTP status.
    pub status: u16,
    /// The error type, e.g. `InvalidSignatureException`.
    pub kind: String,
    /// The message.
    pub message: String,
}

impl AwsFault {
    /// A fault of type `kind` with `status` and `message`.
    pub fn new(status: u16, kind: &str, message: impl Into<String>) -> AwsFault {
        AwsFault {
            status,
            kind: kind.to_owned(),
            message: message.into(),
        }
    }
}

/// The HTTP status of error type `kind` on `service`, when the mock knows it.
pub fn status_of(service: AwsService, kind: &str) -> Option<u16> {
    let common = match kind {
        "AccessDeniedException"
        | "MissingAuthenticationTokenException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignatureException" => 403,
        "ModelNotReadyException" => 429,
        "ServiceUnavailableException" | "ServiceUnavailable" => 503,
        _ => 0,
    };
    if common != 0 {
        return Some(common);
    }
    let status = match (service, kind) {
        (
            AwsService::Bedrock,
            "ValidationException" | "ServiceQuotaExceededException" | "ConflictException",
        ) => 400,
        (AwsService::Bedrock, "ResourceNotFoundException") => 404,
        (AwsService::Bedrock, "ModelTimeoutException") => 408,
        (AwsService::Bedrock, "ModelErrorException" | "ModelStreamErrorException") => 424,
        (AwsService::Bedrock, "ThrottlingException") => 429,
        (AwsService::Bedrock, "InternalServerException") => 500,
        (AwsService::SageMaker, "ValidationError" | "ThrottlingException") => 400,
        (AwsService::SageMaker, "ModelError") => 424,
        (AwsService::SageMaker, "InternalFailure") => 500,
        (AwsService::SageMaker, "InternalDependencyException") => 530,
        _ => return None,
    };
    Some(status)
}

/// The error type the mock sends for `status` on `service` when the step names none.
pub fn kind_of(service: AwsService, status: u16) -> &'static str {
    match (service, status) {
        (AwsService::Bedrock, 403) => "AccessDeniedException",
        (AwsService::Bedrock, 404) => "ResourceNotFoundException",
        (AwsService::Bedrock, 408) => "ModelTimeoutException",
        (AwsService::Bedrock, 424) => "ModelErrorException",
        (AwsService::Bedrock, 429) => "ThrottlingException",
        (AwsService::Bedrock, 503) => "ServiceUnavailableException",
        (AwsService::Bedrock, 400..=499) => "ValidationException",
        (AwsService::Bedrock, _) => "InternalServerException",
        (AwsService::SageMaker, 403) => "AccessDeniedException",
        (AwsService::SageMaker, 424) => "ModelError",
        (AwsService::SageMaker, 429) => "ThrottlingException",
        (AwsService::SageMaker, 503) => "ServiceUnavailable",
        (AwsService::SageMaker, 400..=499) => "ValidationError",
        (AwsService::SageMaker, _) => "InternalFailure",
    }
}

/// The answer for `fault`: status, headers (`x-amzn-ErrorType`, content type) and the
/// `{"message"}` body.
pub fn fault_response(fault: &AwsFault, service: AwsService) -> (u16, Vec<(String, String)>, Vec<u8>) {
    (
        fault.status,
        vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            (
                "x-amzn-errortype".to_owned(),
                service.error_type_header(&fault.kind),
            ),
        ],
        json!({ "message": fault.message }).to_string().into_bytes(),
    )
}

/// The answer for a step's error on an AWS route: the type from `spec.type` (else from the
/// status), the status from the step (else the type's, else 500). SageMaker's `ModelError`
/// gets its own body, with `spec.code` as the container's status (default 400) and
/// `spec.message` as the container's message; `endpoint` names the log group.
pub fn error_response(
    spec: &ErrorSpec,
    status: Option<u16>,
    service: AwsService,
    endpoint: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let status = status
        .or_else(|| spec.kind.as_deref().and_then(|k| status_of(service, k)))
        .unwrap_or(500);
    let kind = spec
        .kind
        .clone()
        .unwrap_or_else(|| kind_of(service, status).to_owned());
    let fault = AwsFault {
        status,
        kind,
        message: spec.message.clone(),
    };
    let (status, headers, mut body) = fault_response(&fault, service);
    let original = spec.code.as_ref().and_then(Value::as_u64);
    if service == AwsService::SageMaker && fault.kind == "ModelError" {
        body = model_error_body(&spec.message, original.unwrap_or(400), endpoint)
            .to_string()
            .into_bytes();
    } else if service == AwsService::Bedrock
        && fault.kind == "ModelErrorException"
        && let Some(code) = original
    {
        body = json!({"message": fault.message, "originalStatusCode": code, "resourceName": endpoint})
            .to_string()
            .into_bytes();
    }
    (status, headers, body)
}

/// SageMaker's `ModelError` body: the container answered `original_status` with `message`.
pub fn model_error_body(message: &str, original_status: u64, endpoint: &str) -> Value {
    let (class, code) = if original_status >= 500 {
        ("server", "SERVER_ERROR_FROM_MODEL")
    } else {
        ("client", "CLIENT_ERROR_FROM_MODEL")
    };
    let group = format!("/aws/sagemaker/Endpoints/{endpoint}");
    json!({
        "ErrorCode": code,
        "LogStreamArn": format!("arn:aws:logs:us-east-1:123456789012:log-group:{group}"),
        "Message": format!(
            "Received {class} error ({original_status}) from primary with message \"{message}\". See \
             https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group={group} \
             in account 123456789012 for more information."
        ),
        "OriginalMessage": message,
        "OriginalStatusCode": original_status,
    })
}

/// The exception frame for `spec` on `service`: Bedrock's `{"message", "originalStatusCode"?,
/// "originalMessage"?}` (default type `modelStreamErrorException`), SageMaker's
/// `{"Message", "ErrorCode"?}` (default type `ModelStreamError`).
pub fn stream_exception(spec: &StreamException, service: AwsService) -> Vec<u8> {
    let (kind, mut payload) = match service {
        AwsService::Bedrock => ("modelStreamErrorException", json!({"message": spec.message})),
        AwsService::SageMaker => ("ModelStreamError", json!({"Message": spec.message})),
    };
    if let Some(code) = &spec.error_code {
        payload["ErrorCode"] = code.clone().into();
    }
    if let Some(code) = spec.original_status_code {
        payload["originalStatusCode"] = code.into();
    }
    if let Some(m) = &spec.original_message {
        payload["originalMessage"] = m.clone().into();
    }
    crate::eventstream::exception(spec.kind.as_deref().unwrap_or(kind), &payload)
}

/// Adds what every AWS answer carries: `x-amzn-RequestId` (a new UUID) and `Date` (the mock's
/// clock, `now` in Unix seconds), unless already present.
pub fn add_common_headers(headers: &mut Vec<(String, String)>, now: i64) {
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("x-amzn-requestid"))
    {
        headers.push(("x-amzn-requestid".to_owned(), uuid::Uuid::new_v4().to_string()));
    }
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("date")) {
        headers.push(("date".to_owned(), crate::aws_auth::http_date(now)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: Option<&str>, message: &str) -> ErrorSpec {
        ErrorSpec {
            message: message.into(),
            kind: kind.map(str::to_owned),
            ..ErrorSpec::default()
        }
    }

    fn body(b: &[u8]) -> Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn bedrock_types_and_statuses() {
        for (kind, status) in [
            ("ThrottlingException", 429),
            ("ModelNotReadyException", 429),
            ("ServiceUnavailableException", 503),
            ("InternalServerException", 500),
            ("ValidationException", 400),
            ("AccessDeniedException", 403),
            ("ResourceNotFoundException", 404),
            ("ModelTimeoutException", 408),
            ("ServiceQuotaExceededException", 400),
        ] {
            let (s, headers, b) = error_response(&spec(Some(kind), "m"), None, AwsService::Bedrock, "x");
            assert_eq!(s, status, "{kind}");
            assert!(headers.contains(&(
                "x-amzn-errortype".to_owned(),
                format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/")
            )));
            assert_eq!(body(&b), json!({"message": "m"}));
        }
        let (s, headers, _) = error_response(&spec(None, "slow"), Some(429), AwsService::Bedrock, "x");
        assert_eq!(s, 429);
        assert!(headers[1].1.starts_with("ThrottlingException:"));
        let (s, headers, _) = error_response(
            &spec(Some("ThrottlingException"), "x"),
            Some(400),
            AwsService::SageMaker,
            "e",
        );
        assert_eq!(s, 400);
        assert!(headers[1].1.ends_with("/com.amazon.sagemaker/"));
    }

    #[test]
    fn sagemaker_model_error() {
        let mut s = spec(
            Some("ModelError"),
            "{\"object\":\"error\",\"message\":\"too long\"}",
        );
        s.code = Some(json!(400));
        let (status, headers, b) = error_response(&s, None, AwsService::SageMaker, "my-endpoint");
        assert_eq!(status, 424);
        assert_eq!(
            headers[1].1,
            "ModelError:http://internal.amazon.com/coral/com.amazon.sagemaker/"
        );
        let v = body(&b);
        assert_eq!(v["ErrorCode"], "CLIENT_ERROR_FROM_MODEL");
        assert_eq!(v["OriginalStatusCode"], 400);
        assert_eq!(v["OriginalMessage"], s.message);
        assert!(
            v["Message"]
                .as_str()
                .unwrap()
                .starts_with("Received client error (400) from primary with message \"{")
        );
        assert!(
            v["LogStreamArn"]
                .as_str()
                .unwrap()
                .ends_with("/aws/sagemaker/Endpoints/my-endpoint")
        );
        for (kind, status) in [
            ("ValidationError", 400),
            ("ServiceUnavailable", 503),
            ("InternalFailure", 500),
            ("ModelNotReadyException", 429),
        ] {
            let (st, _, b) = error_response(&spec(Some(kind), "m"), None, AwsService::SageMaker, "e");
            assert_eq!(st, status, "{kind}");
            assert_eq!(body(&b), json!({"message": "m"}));
        }
    }

    #[test]
    fn common_headers_are_added_once() {
        let mut h = vec![("date".to_owned(), "x".to_owned())];
        add_common_headers(&mut h, 1_796_212_800);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].1, "x");
        let mut h = Vec::new();
        add_common_headers(&mut h, 1_796_212_800);
        assert_eq!(
            h[1],
            ("date".to_owned(), "Wed, 02 Dec 2026 12:00:00 GMT".to_owned())
        );
    }
}
