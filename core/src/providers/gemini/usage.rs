//! Gemini `usageMetadata` → [`Usage`] (PROTOCOLS.md §5.3). Gemini reports thinking tokens
//! apart from the answer's (`thoughtsTokenCount` is *not* inside `candidatesTokenCount`), and
//! its prompt count already holds the tokens read from a cache:
//!
//! - `input_tokens` = `promptTokenCount` + `toolUsePromptTokenCount` (the results of built-in
//!   tools, billed as prompt)
//! - `output_tokens` = `candidatesTokenCount` + `thoughtsTokenCount`; `reasoning_tokens` =
//!   `thoughtsTokenCount`
//! - `cached_input_tokens` = `cachedContentTokenCount`; `cache_write_tokens` = 0 (Gemini bills
//!   cache storage by the hour, not per call)
//! - `total_tokens` = `totalTokenCount` (at least input + output)

use serde::Deserialize;

use crate::types::Usage;

/// Usage as Gemini reports it; in a stream every chunk repeats the counts so far.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireUsage {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
    #[serde(default)]
    tool_use_prompt_token_count: u64,
    #[serde(default)]
    total_token_count: u64,
}

impl WireUsage {
    /// The normalised counts.
    pub(crate) fn normalise(&self) -> Usage {
        // Saturating: a count near u64::MAX from a broken server must not overflow.
        let input = self
            .prompt_token_count
            .saturating_add(self.tool_use_prompt_token_count);
        let output = self
            .candidates_token_count
            .saturating_add(self.thoughts_token_count);
        Usage {
            input_tokens: input,
            output_tokens: output,
            cached_input_tokens: self.cached_content_token_count.min(input),
            cache_write_tokens: 0,
            reasoning_tokens: self.thoughts_token_count,
            total_tokens: self.total_token_count.max(input.saturating_add(output)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thoughts_count_as_output_and_cached_tokens_as_input() {
        // stream_sse_usage's last chunk: 18 prompt + 80 answer + 35 thinking = 133.
        let w: WireUsage = serde_json::from_str(
            r#"{"promptTokenCount":18,"candidatesTokenCount":80,"thoughtsTokenCount":35,
                "cachedContentTokenCount":10,"totalTokenCount":133}"#,
        )
        .unwrap();
        assert_eq!(
            w.normalise(),
            Usage {
                input_tokens: 18,
                output_tokens: 115,
                cached_input_tokens: 10,
                cache_write_tokens: 0,
                reasoning_tokens: 35,
                total_tokens: 133,
            }
        );
        let huge: WireUsage = serde_json::from_str(&format!(
            r#"{{"promptTokenCount":{m},"candidatesTokenCount":{m},"thoughtsTokenCount":{m}}}"#,
            m = u64::MAX
        ))
        .unwrap();
        assert_eq!(huge.normalise().total_tokens, u64::MAX);
    }
}
