//! Synthesised Bedrock Runtime answers: Converse JSON, ConverseStream eventstream frames, and
//! InvokeModel embeddings (Titan text, Cohere, Nova multimodal bodies), plus the routing of
//! AWS paths (`/model/{modelId}/…`, `/endpoints/{EndpointName}/…`) to [`Endpoint`]s.

use serde_json::{Value, json};

use crate::aws_faults::{AwsFault, AwsService, fault_response};
use crate::eventstream;
use crate::scenario::Reply;
use crate::synth::{Endpoint, estimate_tokens, finish_of, tool_input};

/// A synthesised AWS answer.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsAnswer {
    /// HTTP status.
    pub status: u16,
    /// Headers, content type first.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl AwsAnswer {
    fn ok(content_type: &str, body: Vec<u8>) -> AwsAnswer {
        AwsAnswer {
            status: 200,
            headers: vec![("content-type".to_owned(), content_type.to_owned())],
            body,
        }
    }

    fn with(mut self, name: &str, value: impl Into<String>) -> AwsAnswer {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// An AWS-shaped 400 `ValidationException` (Bedrock) / `ValidationError` (SageMaker).
    pub fn invalid(service: AwsService, message: impl Into<String>) -> AwsAnswer {
        let kind = match service {
            AwsService::Bedrock => "ValidationException",
            AwsService::SageMaker => "ValidationError",
        };
        let (status, headers, body) = fault_response(&AwsFault::new(400, kind, message), service);
        AwsAnswer {
            status,
            headers,
            body,
        }
    }
}

/// The AWS endpoint of `path`: a path ending in `/model/{modelId}/converse`,
/// `…/converse-stream`, `…/invoke`, or `/endpoints/{EndpointName}/invocations`,
/// `…/invocations-response-stream`.
pub fn endpoint_of(path: &str) -> Option<Endpoint> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let [.., kind, _, op] = segments[..] else {
        return None;
    };
    let endpoint = match (kind, op) {
        ("model", "converse") => Endpoint::Converse,
        ("model", "converse-stream") => Endpoint::ConverseStream,
        ("model", "invoke") => Endpoint::InvokeModel,
        ("endpoints", "invocations") => Endpoint::SageMakerInvoke,
        ("endpoints", "invocations-response-stream") => Endpoint::SageMakerStream,
        _ => return None,
    };
    Some(endpoint)
}

/// The model id or endpoint name in an AWS `path`, percent-decoded.
pub fn resource_of(path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let raw = segments.len().checked_sub(2).map_or("", |i| segments[i]);
    percent_decode(raw)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The answer for `reply` to `request` at AWS `endpoint`, for model or endpoint `resource`.
pub fn answer(reply: &Reply, request: &Value, endpoint: Endpoint, resource: &str) -> AwsAnswer {
    let service = endpoint.aws_service().unwrap_or(AwsService::Bedrock);
    if !request.is_object() {
        return AwsAnswer::invalid(
            service,
            "Malformed input request: the body is not a JSON object, please reformat your input and try again.",
        );
    }
    match endpoint {
        Endpoint::Converse => AwsAnswer::ok(
            "application/json",
            converse_json(reply, request).to_string().into_bytes(),
        ),
        Endpoint::ConverseStream => AwsAnswer::ok(eventstream::CONTENT_TYPE, converse_stream(reply, request)),
        Endpoint::InvokeModel => invoke(request, resource),
        Endpoint::SageMakerInvoke => crate::synth_sagemaker::invocations(reply, request),
        _ => crate::synth_sagemaker::response_stream(reply, request),
    }
}

/// Converse's `stopReason` for the reply's finish reason (`stop` → `end_turn`, `tool_calls` →
/// `tool_use`, `length` → `max_tokens`, `content_filter` → `content_filtered`; any other value,
/// e.g. `guardrail_intervened` or `stop_sequence`, as given).
pub fn stop_reason(reply: &Reply) -> String {
    match finish_of(reply) {
        "stop" => "end_turn",
        "tool_calls" => "tool_use",
        "length" => "max_tokens",
        "content_filter" => "content_filtered",
        other => other,
    }
    .to_owned()
}

/// Converse's `usage`. The reply's usage is used as given when it is Bedrock-shaped (has
/// `inputTokens`); when OpenAI-shaped, `prompt_tokens_details.cached_tokens` becomes
/// `cacheReadInputTokens`, `prompt_tokens_details.cache_write_tokens` (or
/// `cache_creation_input_tokens`) `cacheWriteInputTokens`, and `inputTokens` is the rest of
/// `prompt_tokens` (Bedrock's excludes cache tokens). Without usage, estimated.
pub fn usage(reply: &Reply, request: &Value) -> Value {
    let Some(u) = &reply.usage else {
        let prompt = format!(
            "{}{}",
            request.get("system").unwrap_or(&Value::Null),
            request["messages"]
        );
        let input = estimate_tokens(&prompt).max(1);
        let output =
            estimate_tokens(&reply.text).max(1) + estimate_tokens(reply.reasoning.as_deref().unwrap_or(""));
        return json!({"inputTokens": input, "outputTokens": output, "totalTokens": input + output});
    };
    if u.get("inputTokens").is_some() {
        let mut u = u.clone();
        if u.get("totalTokens").is_none() {
            let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
            u["totalTokens"] = (get("inputTokens")
                + get("outputTokens")
                + get("cacheReadInputTokens")
                + get("cacheWriteInputTokens"))
            .into();
        }
        return u;
    }
    let get = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let (prompt, output) = (get("/prompt_tokens"), get("/completion_tokens"));
    let read = get("/prompt_tokens_details/cached_tokens");
    let write = get("/prompt_tokens_details/cache_write_tokens").max(get("/cache_creation_input_tokens"));
    let mut out = json!({"inputTokens": prompt.saturating_sub(read + write), "outputTokens": output,
                         "totalTokens": prompt.max(read + write) + output});
    if read > 0 || write > 0 {
        out["cacheReadInputTokens"] = read.into();
        out["cacheWriteInputTokens"] = write.into();
    }
    out
}

fn tool_use_id(tc: &Value, i: usize) -> Value {
    tc.get("id")
        .cloned()
        .unwrap_or_else(|| json!(format!("tooluse_mock_{i}")))
}

fn tool_name(tc: &Value) -> Value {
    tc.get("name").cloned().unwrap_or(json!("tool"))
}

fn signature(reply: &Reply) -> String {
    reply
        .reasoning_signature
        .clone()
        .unwrap_or_else(|| "mock-signature".to_owned())
}

/// A whole Converse answer.
pub fn converse_json(reply: &Reply, request: &Value) -> Value {
    let mut content = Vec::new();
    if let Some(r) = &reply.reasoning {
        content
            .push(json!({"reasoningContent": {"reasoningText": {"text": r, "signature": signature(reply)}}}));
    }
    if !reply.text.is_empty() {
        content.push(json!({ "text": reply.text }));
    }
    for (i, tc) in reply.tool_calls.iter().enumerate() {
        content.push(json!({"toolUse": {"toolUseId": tool_use_id(tc, i), "name": tool_name(tc), "input": tool_input(tc)}}));
    }
    json!({"output": {"message": {"role": "assistant", "content": content}},
           "stopReason": stop_reason(reply), "usage": usage(reply, request), "metrics": {"latencyMs": 100}})
}

fn pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

/// The frames of a ConverseStream answer: `messageStart`, per block (reasoning, text, each
/// tool call) `contentBlockStart` (tool blocks only) / `contentBlockDelta`s /
/// `contentBlockStop`, then `messageStop` and `metadata`. Text comes in pieces of 4
/// characters, reasoning of 8, tool input JSON of 5.
pub fn converse_stream(reply: &Reply, request: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let mut n = 0;
    let mut frame = |event: &str, payload: Value| {
        out.extend(eventstream::json_event(event, payload, n));
        n += 1;
    };
    frame("messageStart", json!({"role": "assistant"}));
    let mut index = 0;
    if let Some(r) = &reply.reasoning {
        for piece in pieces(r, 8) {
            frame(
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"reasoningContent": {"text": piece}}}),
            );
        }
        frame(
            "contentBlockDelta",
            json!({"contentBlockIndex": index, "delta": {"reasoningContent": {"signature": signature(reply)}}}),
        );
        frame("contentBlockStop", json!({ "contentBlockIndex": index }));
        index += 1;
    }
    if !reply.text.is_empty() {
        for piece in pieces(&reply.text, 4) {
            frame(
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"text": piece}}),
            );
        }
        frame("contentBlockStop", json!({ "contentBlockIndex": index }));
        index += 1;
    }
    for (i, tc) in reply.tool_calls.iter().enumerate() {
        frame(
            "contentBlockStart",
            json!({"contentBlockIndex": index,
                   "start": {"toolUse": {"toolUseId": tool_use_id(tc, i), "name": tool_name(tc)}}}),
        );
        for piece in pieces(&tool_input(tc).to_string(), 5) {
            frame(
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}),
            );
        }
        frame("contentBlockStop", json!({ "contentBlockIndex": index }));
        index += 1;
    }
    frame("messageStop", json!({ "stopReason": stop_reason(reply) }));
    frame(
        "metadata",
        json!({"usage": usage(reply, request), "metrics": {"latencyMs": 100}}),
    );
    out
}

/// A deterministic vector for `text` (the OpenAI embeddings synth's formula:
/// `((len(text) + 7·d + i) mod 13) / 13`), unit-normalised when `normalize`.
fn vector(text: &str, i: usize, dims: usize, normalize: bool) -> Vec<f32> {
    let v: Vec<f32> = (0..dims)
        .map(|d| ((text.len() + d * 7 + i) % 13) as f32 / 13.0)
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if normalize && norm > 0.0 {
        v.iter().map(|x| x / norm).collect()
    } else {
        v
    }
}

fn dims(request: &Value, pointer: &str, default: u64) -> usize {
    request
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or(default)
        .clamp(1, 16_384) as usize
}

/// InvokeModel embeddings, by the body's family: Titan text (`inputText`; `dimensions`,
/// default 1024, 1536 for Titan v1; `normalize: true` unit-normalises), Cohere (`texts`;
/// `output_dimension`, default 1024, 1536 for embed v4, 384 for the light models;
/// `embedding_types` gives `embeddings_by_type`), Nova multimodal (`taskType:
/// SINGLE_EMBEDDING`; `embeddingDimension`, default 3072). Token counts are estimated (4
/// characters a token) and also sent as `x-amzn-bedrock-input-token-count`.
pub fn invoke(request: &Value, model: &str) -> AwsAnswer {
    let (body, tokens) = if let Some(text) = request.get("inputText").and_then(Value::as_str) {
        let default = if model.contains("titan-embed-text-v1") || model.contains("titan-embed-g1") {
            1536
        } else {
            1024
        };
        let normalize = request.get("normalize").and_then(Value::as_bool) == Some(true);
        let tokens = estimate_tokens(text);
        (
            json!({"embedding": vector(text, 0, dims(request, "/dimensions", default), normalize),
                   "inputTextTokenCount": tokens}),
            tokens,
        )
    } else if let Some(Value::Array(texts)) = request.get("texts") {
        cohere(request, texts, model)
    } else if request.get("taskType").and_then(Value::as_str) == Some("SINGLE_EMBEDDING") {
        let text = request
            .pointer("/singleEmbeddingParams/text/value")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let dims = dims(request, "/singleEmbeddingParams/embeddingDimension", 3072);
        (
            json!({"embeddings": [{"embeddingType": "TEXT", "embedding": vector(text, 0, dims, false)}]}),
            estimate_tokens(text),
        )
    } else {
        return AwsAnswer::invalid(
            AwsService::Bedrock,
            "Malformed input request: expected `inputText` (Titan), `texts` (Cohere) or \
             `taskType: SINGLE_EMBEDDING` (Nova), please reformat your input and try again.",
        );
    };
    AwsAnswer::ok("application/json", body.to_string().into_bytes())
        .with("x-amzn-bedrock-input-token-count", tokens.to_string())
        .with("x-amzn-bedrock-invocation-latency", "100")
}

fn cohere(request: &Value, texts: &[Value], model: &str) -> (Value, u64) {
    let texts: Vec<&str> = texts.iter().map(|t| t.as_str().unwrap_or_default()).collect();
    let default = if model.contains("embed-v4") {
        1536
    } else if model.contains("light") {
        384
    } else {
        1024
    };
    let dims = dims(request, "/output_dimension", default);
    let floats: Vec<Vec<f32>> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| vector(t, i, dims, false))
        .collect();
    let tokens = texts.iter().map(|t| estimate_tokens(t)).sum();
    let id = "5b9a2c7e-0000-4000-8000-000000000001";
    let body = match request.get("embedding_types").and_then(Value::as_array) {
        Some(types) => {
            let mut by_type = serde_json::Map::new();
            for t in types.iter().filter_map(Value::as_str) {
                let v = match t {
                    "float" => json!(floats),
                    _ => json!(
                        floats
                            .iter()
                            .map(|v| v.iter().map(|x| (x * 127.0) as i64).collect::<Vec<_>>())
                            .collect::<Vec<_>>()
                    ),
                };
                by_type.insert(t.to_owned(), v);
            }
            json!({"id": id, "embeddings": by_type, "response_type": "embeddings_by_type", "texts": texts})
        }
        None => json!({"id": id, "embeddings": floats, "response_type": "embeddings_floats", "texts": texts}),
    };
    (body, tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &[u8]) -> Vec<(String, Value)> {
        crate::eventstream::decode_all(body)
            .unwrap()
            .into_iter()
            .map(|(h, p)| {
                let event = h
                    .iter()
                    .find(|(k, _)| k == ":event-type")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                (event, serde_json::from_slice(&p).unwrap())
            })
            .collect()
    }

    #[test]
    fn routes() {
        assert_eq!(
            endpoint_of("/model/us.amazon.nova-micro-v1%3A0/converse"),
            Some(Endpoint::Converse)
        );
        assert_eq!(
            endpoint_of("/model/x/converse-stream"),
            Some(Endpoint::ConverseStream)
        );
        assert_eq!(endpoint_of("/model/x/invoke"), Some(Endpoint::InvokeModel));
        assert_eq!(
            endpoint_of("/endpoints/e/invocations"),
            Some(Endpoint::SageMakerInvoke)
        );
        assert_eq!(
            endpoint_of("/endpoints/e/invocations-response-stream"),
            Some(Endpoint::SageMakerStream)
        );
        assert_eq!(endpoint_of("/v1/chat/completions"), None);
        assert_eq!(endpoint_of("/converse"), None);
        assert_eq!(
            resource_of("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse"),
            "arn:aws:bedrock:us-east-1:1:inference-profile/us.x"
        );
    }

    #[test]
    fn converse_json_maps_the_reply() {
        let reply = Reply {
            text: "Hi".into(),
            reasoning: Some("think".into()),
            tool_calls: vec![json!({"id": "t1", "name": "f", "arguments": "{\"a\":1}"})],
            usage: Some(json!({"prompt_tokens": 1330, "completion_tokens": 5,
                               "prompt_tokens_details": {"cached_tokens": 1322}})),
            ..Reply::default()
        };
        let v = converse_json(&reply, &json!({"messages": []}));
        assert_eq!(
            v["output"]["message"]["content"],
            json!([{"reasoningContent": {"reasoningText": {"text": "think", "signature": "mock-signature"}}},
                   {"text": "Hi"}, {"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}}])
        );
        assert_eq!(v["stopReason"], "tool_use");
        assert_eq!(
            v["usage"],
            json!({"inputTokens": 8, "outputTokens": 5, "totalTokens": 1335,
                   "cacheReadInputTokens": 1322, "cacheWriteInputTokens": 0})
        );
        let v = converse_json(
            &Reply {
                text: "x".into(),
                finish_reason: Some("length".into()),
                ..Reply::default()
            },
            &json!({"messages": [{"role": "user", "content": [{"text": "hello"}]}]}),
        );
        assert_eq!(v["stopReason"], "max_tokens");
        assert!(v["usage"]["inputTokens"].as_u64().unwrap() > 0);
    }

    #[test]
    fn converse_stream_grammar() {
        let reply = Reply {
            text: "Hello there".into(),
            reasoning: Some("because".into()),
            reasoning_signature: Some("sig".into()),
            tool_calls: vec![json!({"name": "f", "arguments": {"city": "Paris"}})],
            ..Reply::default()
        };
        let frames = decode(&converse_stream(&reply, &json!({"messages": []})));
        let events: Vec<&str> = frames.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(events.first(), Some(&"messageStart"));
        assert_eq!(&events[events.len() - 2..], &["messageStop", "metadata"]);
        let text: String = frames
            .iter()
            .filter_map(|(_, p)| p.pointer("/delta/text").and_then(Value::as_str))
            .collect();
        assert_eq!(text, "Hello there");
        assert!(
            frames
                .iter()
                .filter(|(_, p)| p.pointer("/delta/text").is_some())
                .count()
                > 1
        );
        let reasoning: String = frames
            .iter()
            .filter_map(|(_, p)| p.pointer("/delta/reasoningContent/text").and_then(Value::as_str))
            .collect();
        assert_eq!(reasoning, "because");
        assert!(
            frames
                .iter()
                .any(|(_, p)| p.pointer("/delta/reasoningContent/signature") == Some(&json!("sig")))
        );
        let start = frames.iter().find(|(e, _)| e == "contentBlockStart").unwrap();
        assert_eq!(start.1["contentBlockIndex"], 2);
        assert_eq!(start.1["start"]["toolUse"]["name"], "f");
        let input: String = frames
            .iter()
            .filter_map(|(_, p)| p.pointer("/delta/toolUse/input").and_then(Value::as_str))
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&input).unwrap(),
            json!({"city": "Paris"})
        );
        assert_eq!(frames[frames.len() - 2].1["stopReason"], "tool_use");
        assert!(frames.iter().all(|(_, p)| p["p"].is_string()));
    }

    #[test]
    fn embeddings_by_family() {
        let a = invoke(
            &json!({"inputText": "hello", "dimensions": 256}),
            "amazon.titan-embed-text-v2:0",
        );
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(v["embedding"].as_array().unwrap().len(), 256);
        assert_eq!(v["inputTextTokenCount"], 2);
        let a = invoke(
            &json!({"inputText": "hello", "normalize": true}),
            "amazon.titan-embed-text-v2:0",
        );
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        let e: Vec<f64> = v["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(e.len(), 1024);
        assert!((e.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-4);

        let a = invoke(
            &json!({"texts": ["a", "bb"], "input_type": "search_document"}),
            "cohere.embed-english-v3",
        );
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(v["response_type"], "embeddings_floats");
        assert_eq!(v["embeddings"].as_array().unwrap().len(), 2);
        assert_eq!(v["embeddings"][0].as_array().unwrap().len(), 1024);
        assert_eq!(v["texts"], json!(["a", "bb"]));
        assert!(
            a.headers
                .contains(&("x-amzn-bedrock-input-token-count".into(), "2".into()))
        );
        let a = invoke(
            &json!({"texts": ["a"], "input_type": "search_query", "embedding_types": ["float"]}),
            "cohere.embed-v4:0",
        );
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(v["response_type"], "embeddings_by_type");
        assert_eq!(v["embeddings"]["float"][0].as_array().unwrap().len(), 1536);

        let a = invoke(
            &json!({"taskType": "SINGLE_EMBEDDING", "singleEmbeddingParams": {"embeddingPurpose": "GENERIC_RETRIEVAL",
                    "embeddingDimension": 256, "text": {"value": "Test Nova dimensions", "truncationMode": "NONE"}}}),
            "amazon.nova-2-multimodal-embeddings-v1:0",
        );
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(v["embeddings"][0]["embeddingType"], "TEXT");
        assert_eq!(v["embeddings"][0]["embedding"].as_array().unwrap().len(), 256);
        assert!(
            a.headers
                .contains(&("x-amzn-bedrock-input-token-count".into(), "5".into()))
        );

        let a = invoke(&json!({"prompt": "x"}), "m");
        assert_eq!(a.status, 400);
        assert!(a.headers[1].1.starts_with("ValidationException:"));
        let a = answer(&Reply::default(), &json!("not json"), Endpoint::Converse, "m");
        assert_eq!(a.status, 400);
    }
}
