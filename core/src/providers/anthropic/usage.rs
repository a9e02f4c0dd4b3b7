//! Anthropic usage → [`Usage`]. Anthropic's `input_tokens` counts only the prompt tokens that
//! were neither read from nor written to the prompt cache; modelplug's `input_tokens` is every
//! prompt token, with the cached reads and cache writes as parts of it:
//!
//! - `input_tokens` = `input_tokens` + `cache_creation_input_tokens` + `cache_read_input_tokens`
//! - `cached_input_tokens` = `cache_read_input_tokens`
//! - `cache_write_tokens` = `cache_creation_input_tokens`
//! - `reasoning_tokens` = 0: thinking tokens are inside `output_tokens`, not reported apart.
//!
//! Not kept: the split of cache writes by lifetime (`cache_creation.ephemeral_5m_input_tokens`
//! / `ephemeral_1h_input_tokens`). [`Usage`] has one `cache_write_tokens` count, so 1-hour
//! writes (billed at 2× input) are priced at the 5-minute rate (1.25× input) — an
//! underestimate of those tokens' cost until `Usage` carries the split (a schema change).

use serde::Deserialize;

use crate::types::Usage;

/// Usage as Anthropic reports it (`message.usage`, `message_start`, `message_delta`).
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// The normalised counts. In a stream each report is a cumulative snapshot of what it
    /// carries (a missing count is 0, which [`Usage::merge`] keeps below earlier reports).
    pub(crate) fn normalise(&self) -> Usage {
        cache_inclusive(
            self.input_tokens.unwrap_or(0),
            self.output_tokens.unwrap_or(0),
            self.cache_read_input_tokens.unwrap_or(0),
            self.cache_creation_input_tokens.unwrap_or(0),
        )
    }
}

/// Usage from counts whose input leaves the cache out (Anthropic's, Bedrock's): the input
/// becomes every prompt token, with the cache reads and writes as parts of it. Saturating: a
/// body may carry any u64 (no panic, no wrap-around to small counts).
pub(crate) fn cache_inclusive(uncached_input: u64, output: u64, read: u64, write: u64) -> Usage {
    let input = uncached_input.saturating_add(read).saturating_add(write);
    Usage {
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: read,
        cache_write_tokens: write,
        reasoning_tokens: 0,
        total_tokens: input.saturating_add(output),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_reads_and_writes_are_parts_of_input() {
        let w: WireUsage = serde_json::from_str(
            r#"{"input_tokens":3,"cache_creation_input_tokens":418,"cache_read_input_tokens":1111,
                "cache_creation":{"ephemeral_5m_input_tokens":418,"ephemeral_1h_input_tokens":0},
                "output_tokens":33,"service_tier":"standard","inference_geo":"not_available"}"#,
        )
        .unwrap();
        assert_eq!(
            w.normalise(),
            Usage {
                input_tokens: 1532,
                output_tokens: 33,
                cached_input_tokens: 1111,
                cache_write_tokens: 418,
                reasoning_tokens: 0,
                total_tokens: 1565,
            }
        );
        let w: WireUsage = serde_json::from_str(r#"{"output_tokens":9}"#).unwrap();
        assert_eq!(w.normalise().input_tokens, 0);
    }

    #[test]
    fn absurd_counts_saturate_instead_of_overflowing() {
        // A provider (or a corrupted body) may send any u64: the sums must not panic (debug
        // builds check overflow) nor wrap around to small numbers (release builds).
        let w: WireUsage = serde_json::from_str(
            r#"{"input_tokens":18446744073709551615,"cache_read_input_tokens":1,
                "cache_creation_input_tokens":18446744073709551615,"output_tokens":18446744073709551615}"#,
        )
        .unwrap();
        let u = w.normalise();
        assert_eq!(u.input_tokens, u64::MAX);
        assert_eq!(u.total_tokens, u64::MAX);
        assert_eq!(u.cached_input_tokens, 1);
    }
}
