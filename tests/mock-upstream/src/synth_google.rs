//! Synthesised Google answers — Gemini `generateContent` JSON, `streamGenerateContent` as SSE
//! (`alt=sse`, CRLF separators, cumulative usage on every chunk, no terminator) or as one
//! streamed JSON array, `batchEmbedContents` and Vertex `predict` embeddings — and Google's
//! error envelope `{"error":{code,message,status}}`.

use serde_json::{Value, json};

use crate::scenario::{ErrorSpec, Reply};
use crate::synth::{estimate_tokens, finish_of, tool_input};

/// The text of the last user turn of a Gemini request (`contents[].parts[].text`).
pub fn last_user_text(request: &Value) -> Option<String> {
    let contents = request.get("contents")?.as_array()?;
    contents
        .iter()
        .rev()
        .filter(|c| c.get("role").and_then(Value::as_str).unwrap_or("user") == "user")
        .map(|c| {
            c.get("parts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<String>()
        })
        .find(|t| !t.is_empty())
}

/// `(prompt, answer, thoughts)` token counts: the reply's OpenAI-shaped usage, else estimated.
fn usage_of(reply: &Reply, request: &Value) -> (u64, u64, u64) {
    if let Some(u) = &reply.usage {
        let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
        let thoughts = u
            .pointer("/completion_tokens_details/reasoning_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        return (
            get("prompt_tokens"),
            get("completion_tokens") - thoughts.min(get("completion_tokens")),
            thoughts,
        );
    }
    let prompt = request.get("contents").map(Value::to_string).unwrap_or_default();
    (
        estimate_tokens(&prompt).max(1),
        estimate_tokens(&reply.text).max(1),
        0,
    )
}

fn usage_json(prompt: u64, answer: u64, thoughts: u64) -> Value {
    let mut u = json!({"promptTokenCount": prompt, "candidatesTokenCount": answer,
                       "totalTokenCount": prompt + answer + thoughts,
                       "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]});
    if thoughts > 0 {
        u["thoughtsTokenCount"] = thoughts.into();
    }
    u
}

fn finish_reason(reply: &Reply) -> &'static str {
    match finish_of(reply) {
        "length" => "MAX_TOKENS",
        "content_filter" => "SAFETY",
        _ => "STOP",
    }
}

fn call_parts(reply: &Reply) -> Vec<Value> {
    reply
        .tool_calls
        .iter()
        .map(|tc| {
            let mut call =
                json!({"name": tc.get("name").cloned().unwrap_or(json!("tool")), "args": tool_input(tc)});
            if let Some(id) = tc.get("id") {
                call["id"] = id.clone();
            }
            json!({ "functionCall": call })
        })
        .collect()
}

fn chunk(parts: Vec<Value>, finish: Option<&str>, usage: Value, model: &str) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    if let Some(f) = finish {
        candidate["finishReason"] = f.into();
    }
    json!({"candidates": [candidate], "usageMetadata": usage, "modelVersion": model,
           "responseId": "mock-response-0001"})
}

/// A whole `generateContent` answer.
pub fn generate_json(reply: &Reply, request: &Value, model: &str) -> Vec<u8> {
    let (p, a, t) = usage_of(reply, request);
    let mut parts = Vec::new();
    if !reply.text.is_empty() {
        parts.push(json!({"text": reply.text}));
    }
    parts.extend(call_parts(reply));
    chunk(parts, Some(finish_reason(reply)), usage_json(p, a, t), model)
        .to_string()
        .into_bytes()
}

/// The chunks of a streamed answer: text in pieces of 8 characters, then the calls, the
/// last chunk with the finish reason; usage on every chunk, growing.
fn stream_chunks(reply: &Reply, request: &Value, model: &str) -> Vec<Value> {
    let (p, a, t) = usage_of(reply, request);
    let chars: Vec<char> = reply.text.chars().collect();
    let pieces: Vec<String> = chars.chunks(8).map(|c| c.iter().collect()).collect();
    let mut chunks = Vec::new();
    let n = pieces.len().max(1) as u64;
    for (i, piece) in pieces.iter().enumerate() {
        let so_far = (a * (i as u64 + 1) / n).max(1);
        chunks.push(chunk(
            vec![json!({"text": piece})],
            None,
            usage_json(p, so_far, t),
            model,
        ));
    }
    chunks.push(chunk(
        call_parts(reply),
        Some(finish_reason(reply)),
        usage_json(p, a, t),
        model,
    ));
    chunks
}

/// A streamed answer with `alt=sse`: `data:` lines, CRLF, no terminator.
pub fn stream_sse(reply: &Reply, request: &Value, model: &str) -> Vec<u8> {
    let mut out = String::new();
    for c in stream_chunks(reply, request, model) {
        out.push_str(&format!("data: {c}\r\n\r\n"));
    }
    out.into_bytes()
}

/// A streamed answer without `alt=sse`: one JSON array, an element per chunk.
pub fn stream_json_array(reply: &Reply, request: &Value, model: &str) -> Vec<u8> {
    let items: Vec<String> = stream_chunks(reply, request, model)
        .iter()
        .map(Value::to_string)
        .collect();
    format!("[{}]", items.join("\n,\r\n")).into_bytes()
}

fn vector(text: &str, i: usize, dims: usize) -> Vec<f32> {
    (0..dims)
        .map(|d| ((text.len() + d * 7 + i) % 13) as f32 / 13.0)
        .collect()
}

/// A `batchEmbedContents` answer (Gemini reports no token counts here).
pub fn batch_embed(request: &Value) -> Vec<u8> {
    let requests = request
        .get("requests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let embeddings: Vec<Value> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let text: String = r
                .pointer("/content/parts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            let dims = r.get("outputDimensionality").and_then(Value::as_u64).unwrap_or(8) as usize;
            json!({"values": vector(&text, i, dims)})
        })
        .collect();
    json!({ "embeddings": embeddings }).to_string().into_bytes()
}

/// A Vertex `predict` embeddings answer, with each text's token count.
pub fn predict_embed(request: &Value) -> Vec<u8> {
    let instances = request
        .get("instances")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let dims = request
        .pointer("/parameters/outputDimensionality")
        .and_then(Value::as_u64)
        .unwrap_or(8) as usize;
    let predictions: Vec<Value> = instances
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            let text = inst.get("content").and_then(Value::as_str).unwrap_or_default();
            json!({"embeddings": {"values": vector(text, i, dims),
                   "statistics": {"token_count": estimate_tokens(text), "truncated": false}}})
        })
        .collect();
    json!({"predictions": predictions, "metadata": {"billableCharacterCount": 0}})
        .to_string()
        .into_bytes()
}

/// Google's status name for an HTTP status.
pub fn status_name(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        402..=498 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// Google's error envelope; a 429 carries a `RetryInfo` detail when the spec's `code` gives
/// a delay (`"17s"`).
pub fn error_body(spec: &ErrorSpec, status: u16) -> Value {
    let name = spec
        .kind
        .clone()
        .unwrap_or_else(|| status_name(status).to_owned());
    let mut body = json!({"error": {"code": status, "message": spec.message, "status": name}});
    if let Some(Value::String(delay)) = &spec.code {
        body["error"]["details"] =
            json!([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]);
    }
    body
}
