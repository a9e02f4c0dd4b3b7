//! Converse answers → unified types: the whole JSON body (streams: `stream`).

use serde::Deserialize;
use serde_json::Value;

use super::usage::WireUsage;
use crate::error::{Error, ErrorKind, Result};
use crate::providers::anthropic::{REDACTED_THINKING, arguments_text};
use crate::providers::exchange::malformed;
use crate::types::{AssistantMessage, ChatResponse, FinishReason, ReasoningBlock, ToolCall};

/// Maps a `stopReason`: `end_turn`/`stop_sequence` → stop, `max_tokens` (and
/// `model_context_window_exceeded`) → length, `tool_use` → tool_calls,
/// `guardrail_intervened`/`content_filtered` → content_filter, anything else
/// (`malformed_model_output`, …) → other.
pub fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAnswer {
    #[serde(default)]
    output: Option<WireOutput>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireOutput {
    #[serde(default)]
    message: Option<WireMessage>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Vec<WireBlock>,
}

/// One content block: a union, of which only the members modelplug reads are named.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireBlock {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tool_use: Option<WireToolUse>,
    #[serde(default)]
    reasoning_content: Option<WireReasoning>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireToolUse {
    tool_use_id: String,
    name: String,
    #[serde(default)]
    input: Option<Value>,
    /// `server_tool_use`: a tool Bedrock ran itself (not the caller's to run).
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireReasoning {
    #[serde(default)]
    reasoning_text: Option<WireReasoningText>,
    #[serde(default)]
    redacted_content: Option<String>,
}

#[derive(Deserialize)]
struct WireReasoningText {
    #[serde(default)]
    text: String,
    #[serde(default)]
    signature: Option<String>,
}

/// Decodes a non-streaming Converse body. Sets the provider-side fields only (message, finish
/// reason, usage, raw); Converse gives no completion id or served model, and the router fills
/// in the rest.
///
/// `answer_tool` is the structured-output tool of the request: a call of it is the answer,
/// so its input (JSON) becomes the message text, it is not reported as a tool call, and an
/// answer without other tool calls finishes with `stop`.
pub fn decode_converse_response(
    body: &[u8],
    include_raw: bool,
    answer_tool: Option<&str>,
) -> Result<ChatResponse> {
    let wire: WireAnswer = serde_json::from_slice(body).map_err(|e| malformed("answer", &e))?;
    let message = wire.output.and_then(|o| o.message).ok_or_else(|| {
        Error::new(
            ErrorKind::ProviderUnavailable,
            "the provider's answer has no output message",
        )
    })?;
    let (mut text, mut reasoning) = (None::<String>, None::<String>);
    let mut reasoning_blocks = Vec::new();
    let mut tool_calls = Vec::new();
    let mut answered = false;
    for block in message.content {
        if let Some(t) = block.text {
            text.get_or_insert_with(String::new).push_str(&t);
        }
        if let Some(r) = block.reasoning_content {
            if let Some(rt) = r.reasoning_text {
                reasoning.get_or_insert_with(String::new).push_str(&rt.text);
                if let Some(signature) = rt.signature.filter(|s| !s.is_empty()) {
                    reasoning_blocks.push(ReasoningBlock::Thinking {
                        text: rt.text,
                        signature: Some(signature),
                    });
                }
            }
            if let Some(data) = r.redacted_content {
                reasoning
                    .get_or_insert_with(String::new)
                    .push_str(REDACTED_THINKING);
                reasoning_blocks.push(ReasoningBlock::Redacted { data });
            }
        }
        if let Some(call) = block
            .tool_use
            .filter(|c| c.kind.as_deref() != Some("server_tool_use"))
        {
            if answer_tool == Some(call.name.as_str()) {
                answered = true;
                text.get_or_insert_with(String::new)
                    .push_str(&arguments_text(call.input));
            } else {
                tool_calls.push(ToolCall::new(
                    call.tool_use_id,
                    call.name,
                    arguments_text(call.input),
                ));
            }
        }
    }
    // Read as a whole only when asked for (a body the structs accept may still hold what a
    // `Value` refuses, such as a number beyond f64: then the answer is malformed).
    let raw = if include_raw {
        Some(serde_json::from_slice(body).map_err(|e| malformed("answer", &e))?)
    } else {
        None
    };
    let finish_reason = match wire
        .stop_reason
        .as_deref()
        .map_or(FinishReason::Stop, finish_reason)
    {
        FinishReason::ToolCalls if answered && tool_calls.is_empty() => FinishReason::Stop,
        f => f,
    };
    Ok(ChatResponse {
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
        raw,
        ..ChatResponse::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_text_reasoning_calls_and_usage() {
        let body = br#"{"output":{"message":{"role":"assistant","content":[
            {"reasoningContent":{"reasoningText":{"text":"hmm","signature":"sig"}}},
            {"reasoningContent":{"redactedContent":"ZW5j"}},
            {"text":"Hi"},
            {"toolUse":{"toolUseId":"tooluse_1","name":"f","input":{"a":1}}}]}},
            "stopReason":"tool_use","usage":{"inputTokens":5,"outputTokens":7,"totalTokens":12,"cacheReadInputTokens":3},
            "metrics":{"latencyMs":10}}"#;
        let r = decode_converse_response(body, true, None).unwrap();
        assert_eq!(r.text(), "Hi");
        assert_eq!(r.message.reasoning.as_deref(), Some("hmm[redacted thinking]"));
        assert_eq!(r.message.reasoning_blocks.len(), 2);
        assert_eq!(r.message.tool_calls[0].function.arguments, r#"{"a":1}"#);
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        assert_eq!((r.usage.input_tokens, r.usage.cached_input_tokens), (8, 3));
        assert!(r.raw.is_some());
    }

    #[test]
    fn the_answer_tool_is_the_text() {
        let body = br#"{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"t","name":"city","input":{"name":"Paris"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":1,"outputTokens":1}}"#;
        let r = decode_converse_response(body, false, Some("city")).unwrap();
        assert_eq!(r.text(), r#"{"name":"Paris"}"#);
        assert_eq!(r.finish_reason, FinishReason::Stop);
        assert!(r.message.tool_calls.is_empty());
    }

    #[test]
    fn a_raw_answer_is_kept_whole_or_refused() {
        // The structs skip the unknown member; a `Value` cannot hold its number.
        let body =
            br#"{"output":{"message":{"content":[{"text":"Hi"}]}},"stopReason":"end_turn","extra":1e999}"#;
        assert!(decode_converse_response(body, false, None).is_ok());
        let e = decode_converse_response(body, true, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    }

    #[test]
    fn malformed_answers_are_typed() {
        for body in [
            &b"{"[..],
            br#"{"output":{}}"#,
            br#"{"output":{"message":{"content":[{"toolUse":{"name":1}}]}}}"#,
        ] {
            let e = decode_converse_response(body, false, None).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ProviderUnavailable, "{e}");
        }
    }
}
