//! What callers get back: [`ChatResponse`], [`EmbedResponse`], [`Usage`] and the per-try
//! [`Attempt`] record.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::request::{ReasoningBlock, ToolCall, null_as_default};
pub use modelplug_schema::{Attempt, GuardrailOutcome};

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
    /// What each guardrail did on this call (name, stage, action, count; never matched text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guardrails: Vec<GuardrailOutcome>,
}

impl ChatResponse {
    /// The answer's texts a guardrail checks, to rewrite: content, reasoning, refusal and
    /// tool-call arguments.
    pub fn output_texts_mut(&mut self) -> Vec<&mut String> {
        let m = &mut self.message;
        let mut out: Vec<&mut String> = [&mut m.content, &mut m.reasoning, &mut m.refusal]
            .into_iter()
            .filter_map(Option::as_mut)
            .collect();
        out.extend(m.tool_calls.iter_mut().map(|c| &mut c.function.arguments));
        out
    }

    /// The text of the answer's signed reasoning blocks: copies of parts of `reasoning`,
    /// which an output guardrail rewrites the same way (a block rewritten that way no longer
    /// matches its signature; the provider refuses it on the next turn).
    pub fn reasoning_block_texts_mut(&mut self) -> Vec<&mut String> {
        self.message
            .reasoning_blocks
            .iter_mut()
            .filter_map(|b| match b {
                ReasoningBlock::Thinking { text, .. } => Some(text),
                ReasoningBlock::Redacted { .. } => None,
            })
            .collect()
    }

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
    /// The provider's opaque reasoning blocks (Anthropic `thinking` with its signature,
    /// `redacted_thinking`), in order: put them unchanged into this message's
    /// [`crate::Message::reasoning_blocks`] when the conversation goes on. Reasoning without a
    /// signature is only in `reasoning`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub reasoning_blocks: Vec<ReasoningBlock>,
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
/// `cached_input_tokens` (read from the provider's prompt cache) and `cache_write_tokens`
/// (written to it) are parts of `input_tokens`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens, cached and cache-written ones included.
    pub input_tokens: u64,
    /// Generated tokens, reasoning included.
    pub output_tokens: u64,
    /// Prompt tokens read from the provider's cache (a part of `input_tokens`).
    pub cached_input_tokens: u64,
    /// Prompt tokens written to the provider's cache (a part of `input_tokens`; Anthropic and
    /// Bedrock report and bill these apart).
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Hidden reasoning tokens (a part of `output_tokens`).
    pub reasoning_tokens: u64,
    /// Input plus output.
    pub total_tokens: u64,
}

impl Usage {
    /// Folds in a later usage report of the same stream.
    ///
    /// The merge rule: every report is read as a **cumulative snapshot** (counts so far), and
    /// each count keeps the largest value seen. That is right for every shape providers send:
    /// one report at the end (OpenAI, Bedrock's `metadata`, Gemini's finishing chunk — the
    /// adapter holds back the provisional counts of earlier chunks); the same growing counts
    /// on every chunk; and counts spread over several events, where a later one leaves a count
    /// out or at zero (Anthropic: input in `message_start`, output in `message_delta`). Counts
    /// never shrink, so a report can never lower what a call is billed. `total_tokens` is then
    /// at least input plus output.
    pub fn merge(&mut self, later: &Usage) {
        self.input_tokens = self.input_tokens.max(later.input_tokens);
        self.output_tokens = self.output_tokens.max(later.output_tokens);
        self.cached_input_tokens = self.cached_input_tokens.max(later.cached_input_tokens);
        self.cache_write_tokens = self.cache_write_tokens.max(later.cache_write_tokens);
        self.reasoning_tokens = self.reasoning_tokens.max(later.reasoning_tokens);
        self.total_tokens = self
            .total_tokens
            .max(later.total_tokens)
            .max(self.input_tokens.saturating_add(self.output_tokens));
    }

    /// True when no count is set.
    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
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
    /// What each guardrail did on this call (name, stage, action, count).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guardrails: Vec<GuardrailOutcome>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, cached: u64, written: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cached_input_tokens: cached,
            cache_write_tokens: written,
            reasoning_tokens: 0,
            total_tokens: input + output,
        }
    }

    #[test]
    fn reasoning_blocks_and_signatures_in_the_public_form() {
        let json = serde_json::json!({"role": "assistant", "content": "Paris.",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"},
                            "signature": "tsig"}],
            "reasoning": "hmm[redacted thinking]",
            "reasoning_blocks": [{"type": "thinking", "text": "hmm", "signature": "s1"},
                                 {"type": "redacted", "data": "d1"}]});
        let m: AssistantMessage = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            m.reasoning_blocks,
            [
                ReasoningBlock::Thinking {
                    text: "hmm".into(),
                    signature: Some("s1".into())
                },
                ReasoningBlock::Redacted { data: "d1".into() }
            ]
        );
        assert_eq!(m.tool_calls[0].signature.as_deref(), Some("tsig"));
        assert_eq!(serde_json::to_value(&m).unwrap(), json);
        // Older answers (no blocks) read as before, and write no `reasoning_blocks`.
        let old: AssistantMessage =
            serde_json::from_value(serde_json::json!({"content": "x", "reasoning_blocks": null})).unwrap();
        assert!(old.reasoning_blocks.is_empty());
        assert!(
            serde_json::to_value(&old)
                .unwrap()
                .get("reasoning_blocks")
                .is_none()
        );
        // The assistant message goes back into the next request as a `Message`.
        let mut next = json;
        next.as_object_mut().unwrap().remove("reasoning");
        let back: crate::Message = serde_json::from_value(next).unwrap();
        assert_eq!(back.reasoning_blocks, m.reasoning_blocks);
        assert_eq!(back.tool_calls, m.tool_calls);
    }

    #[test]
    fn merging_absurd_counts_saturates() {
        let mut u = usage(u64::MAX, 0, 0, 0);
        u.merge(&Usage {
            output_tokens: 5,
            ..Usage::default()
        });
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.total_tokens),
            (u64::MAX, 5, u64::MAX)
        );
    }

    #[test]
    fn merging_cumulative_reports_keeps_the_largest_counts() {
        // Anthropic: input (and cache counts) in message_start, output in message_delta.
        let mut u = usage(120, 1, 100, 20);
        u.merge(&usage(0, 57, 0, 0));
        assert_eq!(u, usage(120, 57, 100, 20));
        // Gemini: the same growing counts on every chunk.
        let mut g = Usage::default();
        for out in [3, 9, 14] {
            g.merge(&usage(40, out, 0, 0));
        }
        assert_eq!(g, usage(40, 14, 0, 0));
        // A report with a larger total than input + output (audio, tools) keeps it.
        let mut t = usage(1, 1, 0, 0);
        t.merge(&Usage {
            total_tokens: 10,
            ..Usage::default()
        });
        assert_eq!(t.total_tokens, 10);
    }
}
