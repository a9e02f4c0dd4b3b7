//! Synthesised answers — OpenAI-shaped (Chat Completions JSON and SSE, Responses JSON and
//! SSE, Embeddings), Anthropic-shaped (Messages JSON and SSE; also Claude on Vertex's
//! `rawPredict`/`streamRawPredict`), Google-shaped ([`crate::synth_google`]), Bedrock- and
//! SageMaker-shaped ([`crate::synth_aws`], [`crate::synth_sagemaker`]) — and provider-shaped
//! error bodies (OpenAI's envelope, Anthropic's, Google's, AWS's).

use base64::Engine;
use serde_json::{Value, json};

use crate::aws_faults::AwsService;
use crate::scenario::{ErrorSpec, Reply};

/// Which API a request path addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `…/chat/completions`
    Chat,
    /// `…/responses`
    Responses,
    /// `…/embeddings`
    Embeddings,
    /// `…/v1/messages` (Anthropic), `…:rawPredict` / `…:streamRawPredict` (Claude on Vertex)
    Messages,
    /// `…/models/{model}:generateContent` (Gemini API, Vertex AI)
    Generate,
    /// `…:streamGenerateContent`: SSE with `alt=sse`, else one streamed JSON array
    StreamGenerate {
        /// Whether the query asked for `alt=sse`.
        sse: bool,
    },
    /// `…:batchEmbedContents` (Gemini API)
    BatchEmbed,
    /// `…:predict` (Vertex AI embeddings)
    Predict,
    /// Bedrock `POST /model/{modelId}/converse`
    Converse,
    /// Bedrock `POST /model/{modelId}/converse-stream` (eventstream)
    ConverseStream,
    /// Bedrock `POST /model/{modelId}/invoke` (embeddings: Titan, Cohere, Nova bodies)
    InvokeModel,
    /// SageMaker `POST /endpoints/{EndpointName}/invocations` (an OpenAI chat container)
    SageMakerInvoke,
    /// SageMaker `POST /endpoints/{EndpointName}/invocations-response-stream` (eventstream)
    SageMakerStream,
}

impl Endpoint {
    /// Whether the endpoint is Google's (its errors use Google's envelope).
    pub fn is_google(self) -> bool {
        matches!(
            self,
            Endpoint::Generate | Endpoint::StreamGenerate { .. } | Endpoint::BatchEmbed | Endpoint::Predict
        )
    }

    /// The AWS service of the endpoint (SigV4-verified, AWS-shaped errors), if it is AWS's.
    pub fn aws_service(self) -> Option<AwsService> {
        match self {
            Endpoint::Converse | Endpoint::ConverseStream | Endpoint::InvokeModel => {
                Some(AwsService::Bedrock)
            }
            Endpoint::SageMakerInvoke | Endpoint::SageMakerStream => Some(AwsService::SageMaker),
            _ => None,
        }
    }
}

/// The endpoint of `path` with its `query` (Chat Completions when unrecognised).
pub fn endpoint_at(path: &str, query: Option<&str>) -> Endpoint {
    if let Some(e) = crate::synth_aws::endpoint_of(path) {
        return e;
    }
    let method = path.rsplit_once(':').map(|(_, m)| m);
    match method {
        Some("generateContent") => return Endpoint::Generate,
        Some("streamGenerateContent") => {
            let sse = query.is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
            return Endpoint::StreamGenerate { sse };
        }
        Some("batchEmbedContents") => return Endpoint::BatchEmbed,
        Some("predict") => return Endpoint::Predict,
        Some("rawPredict" | "streamRawPredict") => return Endpoint::Messages,
        _ => {}
    }
    endpoint_of(path)
}

/// The endpoint of `path` (Chat Completions when unrecognised).
pub fn endpoint_of(path: &str) -> Endpoint {
    if path.ends_with("/v1/messages") {
        Endpoint::Messages
    } else if path.ends_with("/embeddings") {
        Endpoint::Embeddings
    } else if path.ends_with("/responses") {
        Endpoint::Responses
    } else {
        Endpoint::Chat
    }
}

/// The text of the last user message of a chat or responses request.
pub fn last_user_text(request: &Value) -> String {
    if let Some(t) = crate::synth_google::last_user_text(request) {
        return t;
    }
    let messages = request.get("messages").or_else(|| request.get("input"));
    let Some(Value::Array(items)) = messages else {
        return request
            .get("input")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
    };
    let Some(m) = items
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    else {
        return String::new();
    };
    match m.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

pub(crate) fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

fn prompt_tokens(request: &Value) -> u64 {
    let text = request
        .get("messages")
        .or_else(|| request.get("input"))
        .map(Value::to_string)
        .unwrap_or_default();
    estimate_tokens(&text).max(1)
}

fn usage_of(reply: &Reply, request: &Value) -> (u64, u64) {
    if let Some(u) = &reply.usage {
        let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
        return (get("prompt_tokens"), get("completion_tokens"));
    }
    (prompt_tokens(request), estimate_tokens(&reply.text).max(1))
}

fn model_of(reply: &Reply, request: &Value) -> String {
    reply
        .model
        .clone()
        .or_else(|| request.get("model").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "mock-model".to_owned())
}

pub(crate) fn finish_of(reply: &Reply) -> &str {
    reply
        .finish_reason
        .as_deref()
        .unwrap_or(if reply.tool_calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        })
}

fn chat_usage(reply: &Reply, request: &Value) -> Value {
    if let Some(u) = &reply.usage {
        return u.clone();
    }
    let (p, c) = usage_of(reply, request);
    json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c,
           "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}})
}

fn tool_call_json(tc: &Value, i: usize) -> Value {
    json!({"id": tc.get("id").cloned().unwrap_or_else(|| json!(format!("call_mock_{i}"))), "type": "function",
           "function": {"name": tc.get("name").cloned().unwrap_or(json!("tool")),
                        "arguments": tc.get("arguments").cloned().unwrap_or(json!("{}"))}})
}

/// The answer body for `reply` to `request` at `endpoint`: `(content type, bytes)`.
pub fn answer(reply: &Reply, request: &Value, endpoint: Endpoint) -> (&'static str, Vec<u8>) {
    use crate::synth_google as google;
    let stream = request.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let model = || model_of(reply, request);
    match (endpoint, stream) {
        (e @ (Endpoint::ConverseStream | Endpoint::SageMakerStream), _) => (
            crate::eventstream::CONTENT_TYPE,
            crate::synth_aws::answer(reply, request, e, "").body,
        ),
        (e @ (Endpoint::Converse | Endpoint::InvokeModel | Endpoint::SageMakerInvoke), _) => (
            "application/json",
            crate::synth_aws::answer(reply, request, e, "").body,
        ),
        (Endpoint::Generate, _) => (
            "application/json",
            google::generate_json(reply, request, &model()),
        ),
        (Endpoint::StreamGenerate { sse: true }, _) => {
            ("text/event-stream", google::stream_sse(reply, request, &model()))
        }
        (Endpoint::StreamGenerate { sse: false }, _) => (
            "application/json",
            google::stream_json_array(reply, request, &model()),
        ),
        (Endpoint::BatchEmbed, _) => ("application/json", google::batch_embed(request)),
        (Endpoint::Predict, _) => ("application/json", google::predict_embed(request)),
        (Endpoint::Embeddings, _) => ("application/json", embeddings(request)),
        (Endpoint::Chat, false) => ("application/json", chat_json(reply, request)),
        (Endpoint::Chat, true) => ("text/event-stream", chat_sse(reply, request)),
        (Endpoint::Responses, false) => (
            "application/json",
            responses_json(reply, request).to_string().into_bytes(),
        ),
        (Endpoint::Responses, true) => ("text/event-stream", responses_sse(reply, request)),
        (Endpoint::Messages, false) => (
            "application/json",
            messages_json(reply, request).to_string().into_bytes(),
        ),
        (Endpoint::Messages, true) => ("text/event-stream", messages_sse(reply, request)),
    }
}

/// Anthropic's `stop_reason` for the reply's OpenAI-style finish reason.
fn stop_reason_of(reply: &Reply) -> &'static str {
    match finish_of(reply) {
        "tool_calls" => "tool_use",
        "length" => "max_tokens",
        _ => "end_turn",
    }
}

/// A tool call's arguments as Anthropic's `input` object.
pub(crate) fn tool_input(tc: &Value) -> Value {
    match tc.get("arguments") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_else(|_| json!({})),
        Some(v @ Value::Object(_)) => v.clone(),
        _ => json!({}),
    }
}

fn messages_json(reply: &Reply, request: &Value) -> Value {
    let (p, c) = usage_of(reply, request);
    let mut content = Vec::new();
    if !reply.text.is_empty() {
        content.push(json!({"type": "text", "text": reply.text}));
    }
    for (i, tc) in reply.tool_calls.iter().enumerate() {
        let id = tc
            .get("id")
            .cloned()
            .unwrap_or_else(|| json!(format!("toolu_mock_{i}")));
        content.push(
            json!({"type": "tool_use", "id": id, "name": tc.get("name").cloned().unwrap_or(json!("tool")),
                            "input": tool_input(tc)}),
        );
    }
    json!({"id": "msg_mock", "type": "message", "role": "assistant", "model": model_of(reply, request),
           "content": content, "stop_reason": stop_reason_of(reply), "stop_sequence": null,
           "usage": {"input_tokens": p, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                     "output_tokens": c}})
}

fn messages_sse(reply: &Reply, request: &Value) -> Vec<u8> {
    let (p, c) = usage_of(reply, request);
    let mut out = String::new();
    let mut event = |name: &str, data: Value| {
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message", "role": "assistant",
               "model": model_of(reply, request), "content": [], "stop_reason": null, "stop_sequence": null,
               "usage": {"input_tokens": p, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                         "output_tokens": 1}}}),
    );
    let mut index = 0;
    if !reply.text.is_empty() {
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        );
        event("ping", json!({"type": "ping"}));
        let chars: Vec<char> = reply.text.chars().collect();
        for piece in chars.chunks(8) {
            let text: String = piece.iter().collect();
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}),
            );
        }
        event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        );
        index += 1;
    }
    for (i, tc) in reply.tool_calls.iter().enumerate() {
        let id = tc
            .get("id")
            .cloned()
            .unwrap_or_else(|| json!(format!("toolu_mock_{i}")));
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": id,
                   "name": tc.get("name").cloned().unwrap_or(json!("tool")), "input": {}}}),
        );
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index,
                   "delta": {"type": "input_json_delta", "partial_json": tool_input(tc).to_string()}}),
        );
        event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        );
        index += 1;
    }
    event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason_of(reply), "stop_sequence": null},
               "usage": {"output_tokens": c}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    out.into_bytes()
}

fn chat_json(reply: &Reply, request: &Value) -> Vec<u8> {
    let calls: Vec<Value> = reply
        .tool_calls
        .iter()
        .enumerate()
        .map(|(i, t)| tool_call_json(t, i))
        .collect();
    let mut message = json!({"role": "assistant", "content": if calls.is_empty() { json!(reply.text) } else { Value::Null }});
    if !calls.is_empty() {
        message["tool_calls"] = calls.into();
    }
    json!({"id": "chatcmpl-mock", "object": "chat.completion", "created": 1_700_000_000, "model": model_of(reply, request),
           "choices": [{"index": 0, "message": message, "finish_reason": finish_of(reply), "logprobs": null}],
           "usage": chat_usage(reply, request)})
    .to_string()
    .into_bytes()
}

fn chat_sse(reply: &Reply, request: &Value) -> Vec<u8> {
    let include_usage = request
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let model = model_of(reply, request);
    let usage_field = if include_usage { Some(Value::Null) } else { None };
    let mut out = Vec::new();
    let mut chunk = |delta: Value, finish: Value| {
        let mut c = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
                           "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        if let Some(u) = &usage_field {
            c["usage"] = u.clone();
        }
        out.extend_from_slice(format!("data: {c}\n\n").as_bytes());
    };
    chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    let chars: Vec<char> = reply.text.chars().collect();
    for piece in chars.chunks(4) {
        chunk(json!({"content": piece.iter().collect::<String>()}), Value::Null);
    }
    for (i, tc) in reply.tool_calls.iter().enumerate() {
        let full = tool_call_json(tc, i);
        let args = full["function"]["arguments"].as_str().unwrap_or("{}").to_owned();
        chunk(
            json!({"tool_calls": [{"index": i, "id": full["id"], "type": "function",
                                     "function": {"name": full["function"]["name"], "arguments": ""}}]}),
            Value::Null,
        );
        let args: Vec<char> = args.chars().collect();
        for piece in args.chunks(5) {
            chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": piece.iter().collect::<String>()}}]}),
                Value::Null,
            );
        }
    }
    chunk(json!({}), json!(finish_of(reply)));
    if include_usage {
        let c = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
                       "model": model, "choices": [], "usage": chat_usage(reply, request)});
        out.extend_from_slice(format!("data: {c}\n\n").as_bytes());
    }
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

fn responses_json(reply: &Reply, request: &Value) -> Value {
    let (p, c) = usage_of(reply, request);
    let mut output = Vec::new();
    if !reply.text.is_empty() {
        output.push(
            json!({"type": "message", "id": "msg_mock", "role": "assistant", "status": "completed",
                           "content": [{"type": "output_text", "text": reply.text, "annotations": []}]}),
        );
    }
    for (i, tc) in reply.tool_calls.iter().enumerate() {
        let f = tool_call_json(tc, i);
        output.push(json!({"type": "function_call", "id": format!("fc_mock_{i}"), "call_id": f["id"],
                           "name": f["function"]["name"], "arguments": f["function"]["arguments"], "status": "completed"}));
    }
    json!({"id": "resp_mock", "object": "response", "status": "completed", "model": model_of(reply, request),
           "output": output, "usage": {"input_tokens": p, "output_tokens": c, "total_tokens": p + c,
           "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}})
}

fn responses_sse(reply: &Reply, request: &Value) -> Vec<u8> {
    let full = responses_json(reply, request);
    let mut out = Vec::new();
    let mut seq = 0;
    let mut event = |name: &str, mut data: Value| {
        data["type"] = name.into();
        data["sequence_number"] = seq.into();
        seq += 1;
        out.extend_from_slice(format!("event: {name}\ndata: {data}\n\n").as_bytes());
    };
    let mut created = full.clone();
    created["status"] = "in_progress".into();
    created["output"] = json!([]);
    event("response.created", json!({ "response": created }));
    let chars: Vec<char> = reply.text.chars().collect();
    for piece in chars.chunks(4) {
        event(
            "response.output_text.delta",
            json!({"output_index": 0, "delta": piece.iter().collect::<String>()}),
        );
    }
    let first_call = usize::from(!reply.text.is_empty());
    for (i, item) in full["output"]
        .as_array()
        .into_iter()
        .flatten()
        .skip(first_call)
        .enumerate()
    {
        let mut added = item.clone();
        added["arguments"] = "".into();
        event(
            "response.output_item.added",
            json!({"output_index": first_call + i, "item": added}),
        );
        event(
            "response.function_call_arguments.delta",
            json!({"output_index": first_call + i, "delta": item["arguments"]}),
        );
    }
    event("response.completed", json!({ "response": full }));
    out
}

fn embeddings(request: &Value) -> Vec<u8> {
    let inputs: Vec<String> = match request.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect(),
        _ => Vec::new(),
    };
    let dims = request.get("dimensions").and_then(Value::as_u64).unwrap_or(8) as usize;
    let base64 = request.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let v: Vec<f32> = (0..dims)
                .map(|d| ((text.len() + d * 7 + i) % 13) as f32 / 13.0)
                .collect();
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    let tokens: u64 = inputs.iter().map(|t| estimate_tokens(t)).sum();
    json!({"object": "list", "data": data, "model": request.get("model").cloned().unwrap_or(json!("mock-embed")),
           "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
    .to_string()
    .into_bytes()
}

/// A provider-shaped error body.
pub fn error_body(spec: &ErrorSpec, status: u16) -> Value {
    error_body_at(spec, status, Endpoint::Chat)
}

/// A provider-shaped error body for a request to `endpoint`: the spec's `envelope` (`openai`,
/// `anthropic`, `plain`), or else the envelope of the endpoint's provider family.
pub fn error_body_at(spec: &ErrorSpec, status: u16, endpoint: Endpoint) -> Value {
    let envelope = spec.envelope.as_deref().unwrap_or(match endpoint {
        Endpoint::Messages => "anthropic",
        e if e.is_google() => "google",
        e if e.aws_service().is_some() => "aws",
        _ => "openai",
    });
    if envelope == "aws" {
        let service = endpoint.aws_service().unwrap_or(AwsService::Bedrock);
        let (_, _, body) = crate::aws_faults::error_response(spec, Some(status), service, "");
        return serde_json::from_slice(&body).unwrap_or_default();
    }
    if envelope == "google" {
        return crate::synth_google::error_body(spec, status);
    }
    if envelope == "anthropic" {
        let kind = spec.kind.clone().unwrap_or_else(|| {
            match status {
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                413 => "request_too_large",
                429 => "rate_limit_error",
                529 => "overloaded_error",
                400..=499 => "invalid_request_error",
                _ => "api_error",
            }
            .to_owned()
        });
        return json!({"type": "error", "error": {"type": kind, "message": spec.message},
                      "request_id": "req_mock_0001"});
    }
    let kind = spec.kind.clone().unwrap_or_else(|| {
        match status {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            400..=499 => "invalid_request_error",
            _ => "server_error",
        }
        .to_owned()
    });
    match envelope {
        "plain" => json!({"message": spec.message}),
        _ => json!({"error": {"message": spec.message, "type": kind, "param": null,
                               "code": spec.code.clone().unwrap_or(Value::Null)}}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_envelopes_by_path_or_by_choice() {
        let spec = ErrorSpec {
            message: "Overloaded".into(),
            ..ErrorSpec::default()
        };
        let e = error_body_at(&spec, 529, endpoint_of("/v1/messages"));
        assert_eq!(
            e,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                   "request_id": "req_mock_0001"})
        );
        assert_eq!(
            error_body_at(&spec, 429, Endpoint::Messages)["error"]["type"],
            "rate_limit_error"
        );
        assert_eq!(
            error_body_at(&spec, 500, Endpoint::Messages)["error"]["type"],
            "api_error"
        );
        let chosen = ErrorSpec {
            envelope: Some("anthropic".into()),
            ..spec.clone()
        };
        assert_eq!(error_body(&chosen, 401)["error"]["type"], "authentication_error");
        assert_eq!(error_body(&spec, 500)["error"]["type"], "server_error");
    }

    #[test]
    fn messages_stream_follows_the_grammar() {
        let reply = Reply {
            text: "Hello there, world".into(),
            tool_calls: vec![json!({"name": "f", "arguments": "{\"a\":1}"})],
            ..Reply::default()
        };
        let (ct, body) = answer(
            &reply,
            &json!({"model": "claude-x", "stream": true}),
            Endpoint::Messages,
        );
        assert_eq!(ct, "text/event-stream");
        let text = String::from_utf8(body).unwrap();
        let events: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
        assert_eq!(events.first(), Some(&"message_start"));
        assert_eq!(events.last(), Some(&"message_stop"));
        assert!(text.contains(r#""stop_reason":"tool_use""#));
        let (_, body) = answer(&reply, &json!({"model": "claude-x"}), Endpoint::Messages);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["content"][1]["input"], json!({"a": 1}));
    }
}
