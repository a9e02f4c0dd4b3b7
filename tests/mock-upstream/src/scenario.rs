//! Scenarios: a scripted list of [`Step`]s, one consumed per request (the last one repeats),
//! and the requests the scenario received.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What to answer one request with, and which faults to inject.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Replay a recording, e.g. `openai/chat_nonstream_text` (status, headers and body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
    /// Synthesise an answer (JSON or SSE, as the request asked) in the path's wire format
    /// (OpenAI's, Anthropic's for `…/v1/messages`, Google's, Bedrock's for `/model/…`,
    /// SageMaker's for `/endpoints/…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    /// Synthesise an answer echoing the last user message.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub echo: bool,
    /// A provider-shaped error body (with `status`, default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSpec>,
    /// A literal JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// A literal text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// HTTP status (default: the recording's, 200 for replies, 500 for errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Extra response headers (e.g. `retry-after`).
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub headers: HashMap<String, String>,
    /// Wait before sending the headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Send the body in pieces of this many bytes…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_bytes: Option<usize>,
    /// …waiting this long between pieces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_delay_ms: Option<u64>,
    /// Abort the connection after this many body bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_after_bytes: Option<usize>,
    /// Splice bytes into the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrupt: Option<Corruption>,
    /// Flip the lowest bit of the body byte at this offset (clamped to the last byte), after
    /// `corrupt`: on an eventstream body the client sees a CRC mismatch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flip_byte_at: Option<usize>,
    /// AWS routes: shift the mock's clock by this many seconds for this request. SigV4
    /// verification rejects an `X-Amz-Date` more than 5 minutes from the mock's clock, and
    /// every AWS answer's `Date` header shows the mock's clock, so a test can make the
    /// client's clock look wrong: with one repeating step, the first request is rejected
    /// (`InvalidSignatureException`, "Signature expired: …") and the client's retry, signed
    /// with its clock corrected from `Date`, is accepted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub aws_clock_skew_s: i64,
    /// Eventstream answers (Bedrock ConverseStream, SageMaker response streams, synthesised or
    /// replayed): keep the first `after_frames` frames, then send one exception frame and end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_exception: Option<StreamException>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// An exception frame ending an eventstream answer (`:message-type: exception`,
/// `:exception-type`, `:content-type: application/json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamException {
    /// The `:exception-type`: on Bedrock `throttlingException`, `modelStreamErrorException`
    /// (default), `validationException`, `internalServerException`,
    /// `serviceUnavailableException`; on SageMaker `ModelStreamError` (default),
    /// `InternalStreamFailure`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub kind: Option<String>,
    /// The message: the payload's `message` (Bedrock) or `Message` (SageMaker).
    #[serde(default)]
    pub message: String,
    /// How many event frames of the answer to send first.
    #[serde(default)]
    pub after_frames: usize,
    /// SageMaker `ModelStreamError`: the payload's `ErrorCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Bedrock `modelStreamErrorException`: the payload's `originalStatusCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_status_code: Option<u16>,
    /// Bedrock `modelStreamErrorException`: the payload's `originalMessage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_message: Option<String>,
}

/// A synthesised answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// The answer text.
    #[serde(default)]
    pub text: String,
    /// Tool calls as `{"id","name","arguments"}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<Value>,
    /// `stop` unless tool calls are present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Usage as OpenAI reports it; estimated (4 characters a token) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Value>,
    /// The served model name (default: the requested one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Reasoning text, before the answer (Bedrock Converse: a `reasoningContent` block).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The reasoning block's signature (Bedrock Converse; default `mock-signature` when
    /// there is reasoning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_signature: Option<String>,
}

/// A provider-shaped error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// The error message.
    #[serde(default)]
    pub message: String,
    /// The provider's error type (`invalid_request_error`, …).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub kind: Option<String>,
    /// The provider's error code (a string, or a number for OpenRouter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Value>,
    /// The envelope: `openai`, `anthropic` (`{"type":"error","error":{type,message},"request_id"}`,
    /// type from the status: 429 `rate_limit_error`, 529 `overloaded_error`, …), `google`
    /// (`{"error":{code,message,status}}`, status from the HTTP status: 429
    /// `RESOURCE_EXHAUSTED`, 503 `UNAVAILABLE`, …; `type` replaces the status name and a
    /// string `code` such as `"17s"` adds a `RetryInfo` detail) or `plain`.
    /// `aws`: status + `x-amzn-ErrorType: <type>:http://internal.amazon.com/coral/com.amazon.bedrock/`
    /// (`…sagemaker/` on SageMaker routes) + `{"message"}`; `type` is the error type
    /// (`ThrottlingException`, `ValidationException`, … — from the status when absent) and
    /// gives the status when the step has none (ThrottlingException 429, …); SageMaker's
    /// `ModelError` (424) gets its own body, `code` being the container's status (default 400)
    /// and `message` the container's message.
    /// Default: the family of the request's path (`anthropic` for `…/v1/messages` and Claude
    /// on Vertex, `google` for `…:generateContent` and Google's other methods, `aws` for
    /// Bedrock's `/model/…` and SageMaker's `/endpoints/…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<String>,
}

/// Bytes to splice into a body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Corruption {
    /// Byte offset (clamped to the body length).
    pub at: usize,
    /// Text to insert.
    #[serde(default)]
    pub text: Option<String>,
    /// Raw bytes to insert (for invalid UTF-8).
    #[serde(default)]
    pub bytes: Option<Vec<u8>>,
}

/// A request the mock received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapturedRequest {
    /// HTTP method.
    pub method: String,
    /// Path after the scenario prefix (e.g. `/v1/chat/completions`).
    pub path: String,
    /// Query string (without `?`), if any.
    pub query: Option<String>,
    /// Headers, names lowercased.
    pub headers: HashMap<String, String>,
    /// The body as JSON, or as a string when it is not JSON.
    pub body: Value,
    /// Whether the whole answer body was sent.
    pub finished: bool,
    /// Whether the client went away before the answer body was complete.
    pub client_aborted: bool,
}

/// A registered scenario.
#[derive(Debug)]
pub struct Scenario {
    steps: Vec<Step>,
    served: usize,
    /// Requests received, in order.
    pub requests: Vec<Arc<Mutex<CapturedRequest>>>,
}

impl Scenario {
    /// A scenario playing `steps` in order (the last one repeats).
    pub fn new(steps: Vec<Step>) -> Scenario {
        Scenario {
            steps,
            served: 0,
            requests: Vec::new(),
        }
    }

    /// The step for the next request.
    pub fn next_step(&mut self) -> Step {
        let i = self.served.min(self.steps.len().saturating_sub(1));
        self.served += 1;
        self.steps.get(i).cloned().unwrap_or_default()
    }
}
