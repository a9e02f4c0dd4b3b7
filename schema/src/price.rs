//! [`Price`]: one model's price, the entry of every price table (a config's `prices:`, and the
//! tables central policy publishes).

use serde::{Deserialize, Serialize};

/// One model's price, in US dollars per million tokens.
///
/// Token classes do not overlap: of a call's prompt tokens, `cached` were read from the
/// provider's prompt cache and `cache_write` were written to it; the rest are plain input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct Price {
    /// Prompt tokens neither read from nor written to the provider's cache.
    pub input: f64,
    /// Prompt tokens read from the provider's cache (often cheaper).
    pub cached_input: f64,
    /// Prompt tokens written to the provider's cache (Anthropic, Bedrock: often dearer).
    pub cache_write: f64,
    /// Generated tokens, reasoning included.
    pub output: f64,
}

impl Price {
    /// What a call cost in US dollars: `input_tokens` is every prompt token, of which
    /// `cached_tokens` were read from and `cache_write_tokens` written to the provider's cache;
    /// `output_tokens` includes reasoning. Counts a provider reports inconsistently (more
    /// cached than prompt tokens) are clamped, never priced below zero.
    pub fn cost(
        &self,
        input_tokens: u64,
        cached_tokens: u64,
        cache_write_tokens: u64,
        output_tokens: u64,
    ) -> f64 {
        let cached = cached_tokens.min(input_tokens);
        let written = cache_write_tokens.min(input_tokens - cached);
        let plain = input_tokens - cached - written;
        (plain as f64 * self.input
            + cached as f64 * self.cached_input
            + written as f64 * self.cache_write
            + output_tokens as f64 * self.output)
            / 1_000_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Price = Price {
        input: 2.5,
        cached_input: 1.25,
        cache_write: 3.125,
        output: 10.0,
    };

    #[test]
    fn token_classes_are_priced_apart() {
        assert!((P.cost(1_000_000, 0, 0, 0) - 2.5).abs() < 1e-12);
        let expected = (1_000.0 * 2.5 + 1_000.0 * 1.25 + 500.0 * 3.125 + 500.0 * 10.0) / 1e6;
        assert!((P.cost(2_500, 1_000, 500, 500) - expected).abs() < 1e-15);
    }

    #[test]
    fn inconsistent_counts_never_go_below_zero() {
        assert!(P.cost(10, 20, 0, 0) >= 0.0);
        assert!(P.cost(10, 5, 50, 0) >= 0.0);
        assert!((P.cost(10, 5, 50, 0) - (5.0 * 1.25 + 5.0 * 3.125) / 1e6).abs() < 1e-15);
    }
}
