//! Converse usage → [`Usage`]. Bedrock's `inputTokens` counts only the prompt tokens that were
//! neither read from nor written to the prompt cache (recorded: input 2, cache read 1322,
//! output 5, total 1329); modelplug's `input_tokens` is every prompt token, with the cached
//! reads and cache writes as parts of it:
//!
//! - `input_tokens` = `inputTokens` + `cacheReadInputTokens` + `cacheWriteInputTokens`
//! - `cached_input_tokens` = `cacheReadInputTokens`; `cache_write_tokens` = `cacheWriteInputTokens`
//!   (the legacy `…TokenCount` spellings are read when the others are absent)
//! - `reasoning_tokens` = 0: reasoning tokens are inside `outputTokens`, not reported apart.

use serde::Deserialize;

use crate::providers::anthropic::cache_inclusive;
use crate::types::Usage;

/// Usage as Converse reports it (the answer's `usage`, the stream's `metadata.usage`).
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_write_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_token_count: Option<u64>,
    #[serde(default)]
    cache_write_input_token_count: Option<u64>,
}

impl WireUsage {
    /// The normalised counts.
    pub(crate) fn normalise(&self) -> Usage {
        let read = self
            .cache_read_input_tokens
            .or(self.cache_read_input_token_count)
            .unwrap_or(0);
        let write = self
            .cache_write_input_tokens
            .or(self.cache_write_input_token_count)
            .unwrap_or(0);
        cache_inclusive(
            self.input_tokens.unwrap_or(0),
            self.output_tokens.unwrap_or(0),
            read,
            write,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_tokens_are_part_of_the_input() {
        let u: WireUsage = serde_json::from_str(
            r#"{"cacheReadInputTokenCount":1322,"cacheReadInputTokens":1322,"cacheWriteInputTokens":0,"inputTokens":2,"outputTokens":5,"totalTokens":1329}"#,
        )
        .unwrap();
        let n = u.normalise();
        assert_eq!(
            (
                n.input_tokens,
                n.cached_input_tokens,
                n.cache_write_tokens,
                n.total_tokens
            ),
            (1324, 1322, 0, 1329)
        );
        let legacy: WireUsage =
            serde_json::from_str(r#"{"cacheWriteInputTokenCount":7,"inputTokens":1,"outputTokens":1}"#)
                .unwrap();
        assert_eq!(legacy.normalise().cache_write_tokens, 7);
    }
}
