//! The OpenAI Responses API (`/responses`, also Azure's `/openai/v1/responses`): request
//! encoding, the JSON answer, and the named-event SSE stream (PROTOCOLS.md §1.5).

use std::collections::VecDeque;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::chat_request::to_body_with_extra;
use super::chat_response::malformed;
use super::error_body::error_from_body;
use crate::error::{Error, ErrorKind, Result};
use crate::providers::framing::Frame;
use crate::providers::{EventDecoder, ProviderEvent};
use crate::types::{
    AssistantMessage, ChatRequest, ChatResponse, Content, ContentPart, FinishReason, ResponseFormat, Role,
    ToolCall, ToolChoice, Usage,
};

/// The `/responses` body for `req`, sent to `model`.
pub fn encode_responses_request(req: &ChatRequest, model: &str, stream: bool) -> Result<Vec<u8>> {
    if !req.stop.is_empty() {
        return Err(Error::invalid_request(
            "the Responses API does not support `stop` sequences",
        ));
    }
    if req.seed.is_some() {
        return Err(Error::invalid_request(
            "the Responses API does not support `seed`",
        ));
    }
    let mut instructions = Vec::new();
    let mut input = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        match m.role {
            Role::System | Role::Developer => instructions.push(m.content.joined_text()),
            Role::User => input.push(json!({"role": "user", "content": input_content(&m.content)})),
            Role::Assistant => {
                if !m.content.is_empty() {
                    input.push(json!({"role": "assistant", "content": m.content.joined_text()}));
                }
                for tc in &m.tool_calls {
                    input.push(
                        json!({"type": "function_call", "call_id": tc.id, "name": tc.function.name,
                                      "arguments": tc.function.arguments}),
                    );
                }
            }
            Role::Tool => {
                input.push(json!({"type": "function_call_output",
                "call_id": m.tool_call_id.as_deref().unwrap_or_default(), "output": m.content.joined_text()}))
            }
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("input".into(), input.into());
    if !instructions.is_empty() {
        body.insert("instructions".into(), instructions.join("\n\n").into());
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut o = json!({"type": "function", "name": t.function.name});
                for (k, v) in [
                    ("description", t.function.description.clone().map(Value::from)),
                    ("parameters", t.function.parameters.clone()),
                    ("strict", t.function.strict.map(Value::from)),
                ] {
                    if let Some(v) = v {
                        o[k] = v;
                    }
                }
                o
            })
            .collect();
        body.insert("tools".into(), tools.into());
    }
    if let Some(tc) = &req.tool_choice {
        let v = match tc {
            ToolChoice::Function(name) => json!({"type": "function", "name": name}),
            other => serde_json::to_value(other).unwrap_or(Value::Null),
        };
        body.insert("tool_choice".into(), v);
    }
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => {
            body.insert("text".into(), json!({"format": {"type": "json_object"}}));
        }
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let mut f = json!({"type": "json_schema", "name": json_schema.name});
            if let Some(s) = &json_schema.schema {
                f["schema"] = s.clone();
            }
            if let Some(s) = json_schema.strict {
                f["strict"] = s.into();
            }
            if let Some(d) = &json_schema.description {
                f["description"] = d.as_str().into();
            }
            body.insert("text".into(), json!({ "format": f }));
        }
        Some(ResponseFormat::Text) | None => {}
    }
    let numbers = [("temperature", req.temperature), ("top_p", req.top_p)];
    for (k, v) in numbers {
        if let Some(v) = v {
            body.insert(k.into(), v.into());
        }
    }
    if let Some(v) = req.max_tokens {
        body.insert("max_output_tokens".into(), v.into());
    }
    if let Some(v) = req.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), v.into());
    }
    if let Some(e) = &req.reasoning_effort {
        body.insert("reasoning".into(), json!({ "effort": e }));
    }
    if stream {
        body.insert("stream".into(), true.into());
    }
    to_body_with_extra(&Value::Object(body), &req.extra)
}

fn input_content(c: &Content) -> Value {
    match c {
        Content::Text(t) => t.as_str().into(),
        Content::Parts(parts) => parts
            .iter()
            .map(|p| match p {
                ContentPart::Text { text } => json!({"type": "input_text", "text": text}),
                ContentPart::Image(img) => {
                    // `detail` is required here (unlike Chat Completions); `auto` is the default.
                    let detail = img.detail.as_deref().unwrap_or("auto");
                    json!({"type": "input_image", "image_url": img.source.to_url(), "detail": detail})
                }
            })
            .collect(),
    }
}

#[derive(Deserialize, Default)]
struct WireResponse {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    incomplete_details: Option<IncompleteDetails>,
    #[serde(default)]
    output: Vec<WireItem>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct IncompleteDetails {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireItem {
    Message {
        #[serde(default)]
        content: Vec<WireContent>,
    },
    FunctionCall {
        #[serde(default)]
        call_id: Option<String>,
        name: String,
        #[serde(default)]
        arguments: String,
    },
    Reasoning {
        #[serde(default)]
        summary: Vec<WireSummary>,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireContent {
    OutputText {
        text: String,
    },
    Refusal {
        refusal: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireSummary {
    #[serde(default)]
    text: String,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    total_tokens: Option<u64>,
    #[serde(default)]
    input_tokens_details: Option<Value>,
    #[serde(default)]
    output_tokens_details: Option<Value>,
}

impl WireUsage {
    fn normalise(&self) -> Usage {
        let detail = |d: &Option<Value>, k: &str| {
            d.as_ref()
                .and_then(|v| v.get(k))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        Usage {
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cached_input_tokens: detail(&self.input_tokens_details, "cached_tokens"),
            reasoning_tokens: detail(&self.output_tokens_details, "reasoning_tokens"),
            total_tokens: self
                .total_tokens
                .unwrap_or(self.input_tokens + self.output_tokens),
            // OpenAI caches prompts on its own and does not bill cache writes apart.
            cache_write_tokens: 0,
        }
    }
}

fn finish_reason(w: &WireResponse, has_tool_calls: bool) -> FinishReason {
    if has_tool_calls {
        return FinishReason::ToolCalls;
    }
    match (
        w.status.as_deref(),
        w.incomplete_details.as_ref().and_then(|d| d.reason.as_deref()),
    ) {
        (Some("incomplete"), Some("max_output_tokens")) => FinishReason::Length,
        (Some("incomplete"), Some("content_filter")) => FinishReason::ContentFilter,
        (Some("incomplete"), _) => FinishReason::Other,
        _ => FinishReason::Stop,
    }
}

fn to_chat_response(w: WireResponse) -> Result<ChatResponse> {
    if let Some(err) = w.error.as_ref().filter(|e| !e.is_null()) {
        return Err(error_from_body(err, None));
    }
    let mut text: Option<String> = None;
    let mut refusal: Option<String> = None;
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    for item in &w.output {
        match item {
            WireItem::Message { content } => {
                for c in content {
                    match c {
                        WireContent::OutputText { text: t } => {
                            text.get_or_insert_with(String::new).push_str(t)
                        }
                        WireContent::Refusal { refusal: r } => {
                            refusal.get_or_insert_with(String::new).push_str(r)
                        }
                        WireContent::Other => {}
                    }
                }
            }
            WireItem::FunctionCall {
                call_id,
                name,
                arguments,
            } => {
                let id = call_id
                    .clone()
                    .unwrap_or_else(super::chat_response::synthesize_call_id);
                tool_calls.push(ToolCall::new(id, name.clone(), arguments.clone()));
            }
            WireItem::Reasoning { summary } => summary.iter().for_each(|s| reasoning.push_str(&s.text)),
            WireItem::Other => {}
        }
    }
    let finish = finish_reason(&w, !tool_calls.is_empty());
    Ok(ChatResponse {
        id: w.id,
        message: AssistantMessage {
            role: "assistant".to_owned(),
            content: text,
            tool_calls,
            reasoning: (!reasoning.is_empty()).then_some(reasoning),
            refusal,
        },
        finish_reason: finish,
        usage: w.usage.as_ref().map(WireUsage::normalise).unwrap_or_default(),
        model: w.model.unwrap_or_default(),
        ..ChatResponse::default()
    })
}

/// Decodes a non-streaming `/responses` answer.
pub fn decode_responses_response(body: &[u8], include_raw: bool) -> Result<ChatResponse> {
    let wire: WireResponse = serde_json::from_slice(body).map_err(|e| malformed("answer", &e))?;
    let mut r = to_chat_response(wire)?;
    if include_raw {
        r.raw = serde_json::from_slice(body).ok();
    }
    Ok(r)
}

#[derive(Deserialize)]
struct WireStreamEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    delta: Option<String>,
    #[serde(default)]
    output_index: Option<u32>,
    #[serde(default)]
    item: Option<Value>,
    #[serde(default)]
    response: Option<Value>,
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

/// Decodes the Responses API stream; the terminal event is `response.completed` (or
/// `response.incomplete`); `response.failed` and `error` become errors.
#[derive(Debug, Default)]
pub struct ResponsesStreamDecoder {
    done: bool,
    sent_meta: bool,
    /// `output_index` of each function call, in call order.
    call_outputs: Vec<u32>,
}

impl ResponsesStreamDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> ResponsesStreamDecoder {
        ResponsesStreamDecoder::default()
    }

    fn call_index(&self, output_index: Option<u32>) -> u32 {
        output_index
            .and_then(|o| self.call_outputs.iter().position(|x| *x == o))
            .unwrap_or(self.call_outputs.len().saturating_sub(1)) as u32
    }
}

impl EventDecoder for ResponsesStreamDecoder {
    fn on_event(&mut self, event: Frame<'_>, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        let ev: WireStreamEvent =
            serde_json::from_str(event.data).map_err(|e| malformed("stream event", &e))?;
        match ev.kind.as_str() {
            "response.created" | "response.queued" | "response.in_progress" if !self.sent_meta => {
                let r = ev.response.unwrap_or_default();
                let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
                self.sent_meta = true;
                out.push_back(ProviderEvent::Meta {
                    id: s("id"),
                    model: s("model"),
                });
            }
            "response.output_text.delta" => out.push_back(ProviderEvent::Text(ev.delta.unwrap_or_default())),
            "response.refusal.delta" => out.push_back(ProviderEvent::Refusal(ev.delta.unwrap_or_default())),
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                out.push_back(ProviderEvent::Reasoning(ev.delta.unwrap_or_default()));
            }
            "response.output_item.added" => {
                let item = ev.item.unwrap_or_default();
                if item.get("type").and_then(Value::as_str) == Some("function_call") {
                    self.call_outputs
                        .push(ev.output_index.unwrap_or(self.call_outputs.len() as u32));
                    let s = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
                    out.push_back(ProviderEvent::ToolCall {
                        index: (self.call_outputs.len() - 1) as u32,
                        id: s("call_id").or_else(|| Some(super::chat_response::synthesize_call_id())),
                        name: s("name"),
                        arguments: s("arguments").unwrap_or_default(),
                    });
                }
            }
            "response.function_call_arguments.delta" => out.push_back(ProviderEvent::ToolCall {
                index: self.call_index(ev.output_index),
                id: None,
                name: None,
                arguments: ev.delta.unwrap_or_default(),
            }),
            "response.completed" | "response.incomplete" => {
                let wire: WireResponse = ev
                    .response
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(|e| malformed("final stream event", &e))?
                    .unwrap_or_default();
                let has_calls = !self.call_outputs.is_empty();
                let usage = wire.usage.as_ref().map(WireUsage::normalise).unwrap_or_default();
                out.push_back(ProviderEvent::Usage(usage));
                out.push_back(ProviderEvent::Finish(finish_reason(&wire, has_calls)));
                self.done = true;
            }
            "response.failed" => {
                let err = ev
                    .response
                    .as_ref()
                    .and_then(|r| r.get("error"))
                    .cloned()
                    .unwrap_or(Value::Null);
                let mut e = error_from_body(&err, None);
                if err.is_null() {
                    e = Error::new(
                        ErrorKind::ProviderUnavailable,
                        "the provider reported the response as failed",
                    );
                }
                return Err(e);
            }
            "error" => {
                let body = json!({"code": ev.code, "message": ev.message});
                return Err(error_from_body(&body, None));
            }
            _ => {}
        }
        Ok(())
    }

    fn finished(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_shape() {
        let req = ChatRequest::from_value(json!({"model": "a", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "https://x"}}]},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object"}, "strict": true}},
            "max_tokens": 9}))
        .unwrap();
        let body: Value =
            serde_json::from_slice(&encode_responses_request(&req, "gpt", true).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"model": "gpt", "instructions": "be brief", "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "hi"}, {"type": "input_image", "image_url": "https://x", "detail": "auto"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"}],
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
            "tool_choice": {"type": "function", "name": "f"},
            "text": {"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}, "strict": true}},
            "max_output_tokens": 9, "stream": true})
        );
    }

    #[test]
    fn unsupported_parameters_are_rejected() {
        let req = ChatRequest {
            stop: vec!["x".into()],
            ..ChatRequest::new("a", "b")
        };
        assert_eq!(
            encode_responses_request(&req, "m", false).unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn incomplete_answer_is_length() {
        let body = br#"{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},
            "output":[{"type":"message","content":[{"type":"output_text","text":"Par"}]}],
            "usage":{"input_tokens":3,"output_tokens":1}}"#;
        let r = decode_responses_response(body, false).unwrap();
        assert_eq!(r.finish_reason, FinishReason::Length);
        assert_eq!(r.text(), "Par");
        assert_eq!(r.usage.total_tokens, 4);
    }
}
