//! What callers get back: [`ChatResponse`], [`EmbedResponse`], [`Usage`] and the per-try
//! [`Attempt`] record.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::request::ToolCall;
use crate::error::ErrorKind;

/// A chat completion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The provider's id for this completion, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The assistant's message (text, tool calls, reasoning).
    pub message: AssistantMessage,
    /// Why generation stopped.
    pub finish_reason: FinishReason,
    /// Token counts.
    pub usage: Usage,
    /// What the call cost, when the price is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// The provider that answered (`openai`, `azure`, `groq`, `mock`, …).
    pub provider: String,
    /// The deployment that answered (its configured name, or `provider/model`).
    pub deployment: String,
    /// The model as the provider reported serving it.
    pub model: String,
    /// Wall time of the whole call, retries and fallbacks included.
    pub latency_ms: f64,
    /// Every try the router made, in order; the last one succeeded.
    pub attempts: Vec<Attempt>,
    /// Whether the answer came from the response cache.
    pub cache_hit: bool,
    /// The provider's request id (for support tickets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The provider's raw JSON answer, when the request asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
}

impl ChatResponse {
    /// The answer's text (empty when the model only called tools).
    pub fn text(&self) -> &str {
        self.message.content.as_deref().unwrap_or("")
    }

    /// The tool calls the model made.
    pub fn tool_calls(&self) -> &[ToolCall] {
        &self.message.tool_calls
    }
}

/// The assistant's side of a completion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssistantMessage {
    /// Always `assistant`.
    #[serde(default = "assistant_role")]
    pub role: String,
    /// The answer text, if any.
    pub content: Option<String>,
    /// Tool calls, in the order the model made them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Reasoning text the provider exposed (DeepSeek `reasoning_content`, Groq/Ollama `reasoning`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The model's refusal message, when it refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

fn assistant_role() -> String {
    "assistant".to_owned()
}

/// Why generation stopped, normalised across providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A natural end or a stop sequence.
    #[default]
    Stop,
    /// The token limit was reached.
    Length,
    /// The model called tools and waits for their results.
    ToolCalls,
    /// The provider's content filter stopped the answer.
    ContentFilter,
    /// Anything else the provider reported.
    #[serde(other)]
    Other,
}

impl FinishReason {
    /// Maps an OpenAI-family `finish_reason` string.
    pub fn from_openai(s: &str) -> FinishReason {
        match s {
            "stop" | "end_turn" | "stop_sequence" => FinishReason::Stop,
            "length" | "max_tokens" => FinishReason::Length,
            "tool_calls" | "function_call" | "tool_use" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            _ => FinishReason::Other,
        }
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other => "other",
        }
    }
}

/// Token counts, normalised: `output_tokens` includes `reasoning_tokens`, and
/// `cached_input_tokens` is the part of `input_tokens` served from the provider's prompt cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens, reasoning included.
    pub output_tokens: u64,
    /// Prompt tokens read from the provider's cache (a subset of `input_tokens`).
    pub cached_input_tokens: u64,
    /// Hidden reasoning tokens (a subset of `output_tokens`).
    pub reasoning_tokens: u64,
    /// Input plus output.
    pub total_tokens: u64,
}

/// One try of one deployment. The names are shared (`Arc<str>`): recording a try allocates
/// nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The provider tried.
    pub provider: Arc<str>,
    /// The deployment tried.
    pub deployment: Arc<str>,
    /// The model asked for.
    pub model: Arc<str>,
    /// `None` when this try succeeded, else the error kind.
    pub error: Option<ErrorKind>,
    /// The provider's HTTP status, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How long this try took.
    pub latency_ms: f64,
}

impl Attempt {
    /// `"ok"` or the error code: the form usage events and tables use.
    pub fn outcome(&self) -> &'static str {
        self.error.map_or("ok", ErrorKind::code)
    }
}

/// Embedding vectors for a batch of texts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbedResponse {
    /// One vector per input text, in input order.
    pub embeddings: Vec<Vec<f32>>,
    /// Token counts (only `input_tokens` and `total_tokens` are set).
    pub usage: Usage,
    /// What the call cost, when the price is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// The provider that answered.
    pub provider: String,
    /// The deployment that answered.
    pub deployment: String,
    /// The model as the provider reported serving it.
    pub model: String,
    /// Wall time of the whole call.
    pub latency_ms: f64,
    /// Every try the router made.
    pub attempts: Vec<Attempt>,
    /// The provider's request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}
