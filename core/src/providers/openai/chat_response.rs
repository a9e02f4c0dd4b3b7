//! Chat Completions answers → unified types: the whole JSON body (streams: `chat_stream`).

use serde::Deserialize;

use super::error_body::error_from_body;
use crate::error::{Error, ErrorKind, Result};
use crate::types::{AssistantMessage, ChatResponse, FinishReason, ToolCall, Usage};

/// Usage as the OpenAI family reports it.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
    /// DeepSeek reports its prompt cache here instead of `prompt_tokens_details`.
    #[serde(default)]
    prompt_cache_hit_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl WireUsage {
    pub(crate) fn normalise(&self) -> Usage {
        let input = self.prompt_tokens.unwrap_or(0);
        let output = self.completion_tokens.unwrap_or(0);
        Usage {
            input_tokens: input,
            output_tokens: output,
            cached_input_tokens: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .or(self.prompt_cache_hit_tokens)
                .unwrap_or(0),
            reasoning_tokens: self
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
            total_tokens: self.total_tokens.unwrap_or(input.saturating_add(output)),
            // OpenAI caches prompts on its own and does not bill cache writes apart.
            cache_write_tokens: 0,
        }
    }
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Option<Vec<WireChoice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
    /// DeepSeek.
    #[serde(default)]
    reasoning_content: Option<String>,
    /// Groq, Ollama, OpenRouter.
    #[serde(default)]
    reasoning: Option<String>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: Option<serde_json::Value>,
}

/// A tool-call id for servers that send none (Gemini's compatibility endpoint).
pub(crate) fn synthesize_call_id() -> String {
    let mut id = String::with_capacity(29);
    id.push_str("call_");
    for _ in 0..24 {
        id.push(fastrand::alphanumeric());
    }
    id
}

/// Arguments arrive as a JSON text, or (some servers) as a JSON object.
fn arguments_text(v: Option<serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s,
        Some(other) => other.to_string(),
    }
}

pub(crate) use crate::providers::exchange::malformed;

/// Decodes a non-streaming Chat Completions body. Sets the provider-side fields only (id,
/// message, finish reason, usage, model, raw); the router fills in the rest.
pub fn decode_chat_response(body: &[u8], include_raw: bool) -> Result<ChatResponse> {
    let wire: WireResponse = serde_json::from_slice(body).map_err(|e| malformed("answer", &e))?;
    if let Some(err) = &wire.error
        && wire.choices.as_ref().is_none_or(Vec::is_empty)
    {
        return Err(error_from_body(err, None));
    }
    let choice = wire.choices.and_then(|c| c.into_iter().next()).ok_or_else(|| {
        Error::new(
            ErrorKind::ProviderUnavailable,
            "the provider's answer has no choices",
        )
    })?;
    let msg = choice.message.unwrap_or(WireMessage {
        content: None,
        refusal: None,
        tool_calls: None,
        reasoning_content: None,
        reasoning: None,
    });
    let tool_calls: Vec<ToolCall> = msg
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .map(|tc| {
            let id = tc.id.filter(|s| !s.is_empty()).unwrap_or_else(synthesize_call_id);
            ToolCall::new(id, tc.function.name, arguments_text(tc.function.arguments))
        })
        .collect();
    let raw = if include_raw {
        serde_json::from_slice(body).ok()
    } else {
        None
    };
    Ok(ChatResponse {
        id: wire.id,
        message: AssistantMessage {
            role: "assistant".to_owned(),
            content: msg.content,
            tool_calls,
            reasoning: msg.reasoning_content.or(msg.reasoning).filter(|r| !r.is_empty()),
            refusal: msg.refusal,
            reasoning_blocks: Vec::new(),
        },
        finish_reason: choice
            .finish_reason
            .as_deref()
            .map_or(FinishReason::Stop, FinishReason::from_openai),
        usage: wire.usage.map(|u| u.normalise()).unwrap_or_default(),
        model: wire.model.unwrap_or_default(),
        raw,
        ..ChatResponse::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_usage_counts_saturate() {
        let body = br#"{"choices":[{"finish_reason":"stop","message":{"content":"hi"}}],
            "usage":{"prompt_tokens":18446744073709551615,"completion_tokens":2}}"#;
        let r = decode_chat_response(body, false).unwrap();
        assert_eq!(r.usage.total_tokens, u64::MAX);
    }

    #[test]
    fn non_stream_with_reasoning_and_missing_tool_id() {
        let body = br#"{"id":"x","model":"m","choices":[{"finish_reason":"tool_calls","message":{"content":null,
            "reasoning_content":"think","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]}}],
            "usage":{"prompt_tokens":3,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":null}}}"#;
        let r = decode_chat_response(body, true).unwrap();
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        assert_eq!(r.message.reasoning.as_deref(), Some("think"));
        assert!(r.tool_calls()[0].id.starts_with("call_"));
        assert_eq!(r.tool_calls()[0].function.arguments, r#"{"a":1}"#);
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 3,
                output_tokens: 4,
                total_tokens: 7,
                ..Usage::default()
            }
        );
        assert!(r.raw.is_some());
    }

    #[test]
    fn malformed_bodies_are_typed_errors_without_content() {
        let e = decode_chat_response(br#"{"choices": "the secret answer"}"#, false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        assert!(!e.message().contains("secret"), "{e}");
        let e = decode_chat_response(b"<html>", false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        let e = decode_chat_response(br#"{"choices": []}"#, false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    }

    #[test]
    fn error_inside_a_200_body() {
        let e = decode_chat_response(
            br#"{"error":{"code":429,"message":"Provider returned error"}}"#,
            false,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
    }
}
