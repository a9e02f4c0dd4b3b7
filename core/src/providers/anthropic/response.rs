//! Messages API answers → unified types: the whole JSON body (streams: `stream`).

use serde::Deserialize;

use super::error_body::error_from_body;
use super::usage::WireUsage;
use crate::error::{Error, ErrorKind, Result};
use crate::types::{AssistantMessage, ChatResponse, FinishReason, ReasoningBlock, ToolCall};

/// The reasoning text that stands for a `redacted_thinking` block: its content is encrypted
/// (only the provider can read it), so callers see that reasoning happened, not what it was.
pub const REDACTED_THINKING: &str = "[redacted thinking]";

/// Maps a `stop_reason`: `end_turn`/`stop_sequence` → stop, `max_tokens` (and
/// `model_context_window_exceeded`) → length, `tool_use` → tool_calls, `refusal` →
/// content_filter, anything else (`pause_turn`, …) → other.
pub fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    content: Option<Vec<WireBlock>>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: Option<String>,
    },
    RedactedThinking {
        #[serde(default)]
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Option<serde_json::Value>,
    },
    #[serde(other)]
    Other,
}

pub(crate) use crate::providers::exchange::malformed;

/// A tool's `input` object as the arguments text of a unified tool call (`{}` when absent).
pub(crate) fn arguments_text(input: Option<serde_json::Value>) -> String {
    match input {
        None | Some(serde_json::Value::Null) => "{}".to_owned(),
        Some(v) => v.to_string(),
    }
}

/// Decodes a non-streaming Messages body. Sets the provider-side fields only (id, message,
/// finish reason, usage, model, raw); the router fills in the rest.
///
/// `answer_tool` is the structured-output tool of the request
/// ([`structured_output_tool`](super::structured_output_tool)): a call of it is the answer,
/// so its input (JSON) becomes the message text, it is not reported as a tool call, and an
/// answer without other tool calls finishes with `stop`.
pub fn decode_messages_response(
    body: &[u8],
    include_raw: bool,
    answer_tool: Option<&str>,
) -> Result<ChatResponse> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| malformed("answer", &e))?;
    if value.get("type").and_then(serde_json::Value::as_str) == Some("error") {
        return Err(error_from_body(&value, None));
    }
    let wire: WireMessage = serde_json::from_value(value).map_err(|e| malformed("answer", &e))?;
    if wire.kind.as_deref().is_some_and(|k| k != "message") {
        return Err(Error::new(
            ErrorKind::ProviderUnavailable,
            "the provider's answer is not a message",
        ));
    }
    let blocks = wire.content.ok_or_else(|| {
        Error::new(
            ErrorKind::ProviderUnavailable,
            "the provider's answer has no content",
        )
    })?;
    let (mut text, mut reasoning) = (None::<String>, None::<String>);
    let mut reasoning_blocks = Vec::new();
    let mut tool_calls = Vec::new();
    let mut answered = false;
    for block in blocks {
        match block {
            WireBlock::Text { text: t } => text.get_or_insert_with(String::new).push_str(&t),
            WireBlock::Thinking { thinking, signature } => {
                reasoning.get_or_insert_with(String::new).push_str(&thinking);
                // As in streams: reasoning without a signature is no block.
                if let Some(signature) = signature.filter(|s| !s.is_empty()) {
                    reasoning_blocks.push(ReasoningBlock::Thinking {
                        text: thinking,
                        signature: Some(signature),
                    });
                }
            }
            WireBlock::RedactedThinking { data } => {
                reasoning
                    .get_or_insert_with(String::new)
                    .push_str(REDACTED_THINKING);
                reasoning_blocks.push(ReasoningBlock::Redacted { data });
            }
            WireBlock::ToolUse { name, input, .. } if answer_tool == Some(name.as_str()) => {
                answered = true;
                text.get_or_insert_with(String::new)
                    .push_str(&arguments_text(input));
            }
            WireBlock::ToolUse { id, name, input } => {
                tool_calls.push(ToolCall::new(id, name, arguments_text(input)));
            }
            WireBlock::Other => {}
        }
    }
    let raw = if include_raw {
        serde_json::from_slice(body).ok()
    } else {
        None
    };
    let finish_reason = match wire
        .stop_reason
        .as_deref()
        .map_or(FinishReason::Stop, finish_reason)
    {
        // The model called only the answer tool: the answer is complete.
        FinishReason::ToolCalls if answered && tool_calls.is_empty() => FinishReason::Stop,
        f => f,
    };
    Ok(ChatResponse {
        id: wire.id,
        message: AssistantMessage {
            role: "assistant".to_owned(),
            content: text,
            tool_calls,
            reasoning: reasoning.filter(|r| !r.is_empty()),
            refusal: None,
            reasoning_blocks,
        },
        finish_reason,
        usage: wire.usage.map(|u| u.normalise()).unwrap_or_default(),
        model: wire.model.unwrap_or_default(),
        raw,
        ..ChatResponse::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Usage;

    #[test]
    fn blocks_become_text_reasoning_and_calls() {
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x",
            "content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"redacted_thinking","data":"xx"},
              {"type":"text","text":"Hi"},{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}},
              {"type":"server_tool_use","id":"s","name":"web_search","input":{}}],
            "stop_reason":"tool_use","stop_sequence":null,
            "usage":{"input_tokens":5,"cache_read_input_tokens":10,"cache_creation_input_tokens":2,"output_tokens":7}}"#;
        let r = decode_messages_response(body, true, None).unwrap();
        assert_eq!(r.text(), "Hi");
        assert_eq!(r.message.reasoning.as_deref(), Some("hmm[redacted thinking]"));
        assert_eq!(
            r.message.reasoning_blocks,
            [
                ReasoningBlock::Thinking {
                    text: "hmm".into(),
                    signature: Some("sig".into())
                },
                ReasoningBlock::Redacted { data: "xx".into() }
            ]
        );
        assert_eq!(r.tool_calls()[0].id, "toolu_1");
        assert_eq!(r.tool_calls()[0].function.arguments, r#"{"a":1}"#);
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 17,
                output_tokens: 7,
                cached_input_tokens: 10,
                cache_write_tokens: 2,
                reasoning_tokens: 0,
                total_tokens: 24
            }
        );
        assert_eq!(r.model, "claude-x");
        assert!(r.raw.is_some());
    }

    #[test]
    fn the_answer_tool_is_the_text() {
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x",
            "content":[{"type":"tool_use","id":"toolu_1","name":"capital","input":{"city":"Paris"}}],
            "stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":7}}"#;
        let r = decode_messages_response(body, false, Some("capital")).unwrap();
        assert_eq!(r.text(), r#"{"city":"Paris"}"#);
        assert!(r.tool_calls().is_empty());
        assert_eq!(r.finish_reason, FinishReason::Stop);
        // Without the structured-output request it is an ordinary tool call.
        let r = decode_messages_response(body, false, None).unwrap();
        assert_eq!(r.message.content, None);
        assert_eq!(r.tool_calls()[0].function.name, "capital");
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        // Beside a call of the caller's own tool, the caller still has a tool to run.
        let body = br#"{"type":"message","content":[
            {"type":"tool_use","id":"toolu_1","name":"lookup","input":{}},
            {"type":"tool_use","id":"toolu_2","name":"capital","input":{}}],"stop_reason":"tool_use"}"#;
        let r = decode_messages_response(body, false, Some("capital")).unwrap();
        assert_eq!(r.text(), "{}");
        assert_eq!(r.tool_calls().len(), 1);
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        // A length stop stays a length stop.
        let body =
            br#"{"type":"message","content":[{"type":"tool_use","id":"t","name":"capital","input":{}}],
            "stop_reason":"max_tokens"}"#;
        let r = decode_messages_response(body, false, Some("capital")).unwrap();
        assert_eq!(r.finish_reason, FinishReason::Length);
    }

    #[test]
    fn stop_reasons() {
        for (s, f) in [
            ("end_turn", FinishReason::Stop),
            ("stop_sequence", FinishReason::Stop),
            ("max_tokens", FinishReason::Length),
            ("tool_use", FinishReason::ToolCalls),
            ("refusal", FinishReason::ContentFilter),
            ("pause_turn", FinishReason::Other),
        ] {
            assert_eq!(finish_reason(s), f, "{s}");
        }
    }

    #[test]
    fn malformed_bodies_are_typed_errors_without_content() {
        for body in [
            &br#"{"content": "the secret answer"}"#[..],
            b"<html>",
            br#"{"type":"message"}"#,
            br#"{"type":"completion","content":[]}"#,
            br#"{"type":"message","content":[{"type":"tool_use","name":"f"}]}"#,
            b"",
            b"null",
        ] {
            let e = decode_messages_response(body, false, None).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ProviderUnavailable, "{e}");
            assert!(!e.message().contains("secret"), "{e}");
        }
        let e = decode_messages_response(
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            false,
            None,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        assert_eq!(e.provider_code(), Some("overloaded_error"));
    }
}
