//! The Responses API answer: the JSON body's `output` items (messages, reasoning summaries,
//! function calls), status and usage → a unified [`ChatResponse`].

use serde::Deserialize;
use serde_json::Value;

use super::super::chat_response::malformed;
use super::super::error_body::error_from_body;
use crate::error::Result;
use crate::types::{AssistantMessage, ChatResponse, FinishReason, ToolCall, Usage};

#[derive(Deserialize, Default)]
pub(super) struct WireResponse {
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
    pub(super) usage: Option<WireUsage>,
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
pub(super) struct WireUsage {
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
    pub(super) fn normalise(&self) -> Usage {
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
                .unwrap_or(self.input_tokens.saturating_add(self.output_tokens)),
            // OpenAI caches prompts on its own and does not bill cache writes apart.
            cache_write_tokens: 0,
        }
    }
}

pub(super) fn finish_reason(w: &WireResponse, has_tool_calls: bool) -> FinishReason {
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
                    .unwrap_or_else(super::super::chat_response::synthesize_call_id);
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
            reasoning_blocks: Vec::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

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
