//! Prices: what a call cost, from the token counts and a price table (`prices:` in the config,
//! keyed by `provider/model`, USD per million tokens).

use std::collections::HashMap;

use crate::types::Usage;

/// One model's price, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Prompt tokens not read from the provider's cache.
    pub input: f64,
    /// Prompt tokens read from the provider's cache (often cheaper).
    pub cached_input: f64,
    /// Generated tokens, reasoning included.
    pub output: f64,
}

impl Price {
    /// What a call with this usage cost, in US dollars.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let uncached = usage.input_tokens - cached;
        (uncached as f64 * self.input
            + cached as f64 * self.cached_input
            + usage.output_tokens as f64 * self.output)
            / 1_000_000.0
    }
}

/// Prices keyed by `provider/model` (the deployment's configured provider and model), with the
/// version that usage events report as `price_table_version`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PriceTable {
    prices: HashMap<String, Price>,
    version: Option<String>,
}

impl PriceTable {
    /// A table of `(provider/model, price)` pairs, without a version.
    pub fn new(prices: impl IntoIterator<Item = (String, Price)>) -> PriceTable {
        PriceTable {
            prices: prices.into_iter().collect(),
            version: None,
        }
    }

    /// The same prices under another version.
    pub fn with_version(mut self, version: impl Into<String>) -> PriceTable {
        self.version = Some(version.into());
        self
    }

    /// The price of `model` served by `provider`, if the table has one.
    pub fn get(&self, provider: &str, model: &str) -> Option<Price> {
        self.prices.get(&format!("{provider}/{model}")).copied()
    }

    /// The table's version, reported with every cost it priced.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, cached: u64, output: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cached_input_tokens: cached,
            reasoning_tokens: 0,
            total_tokens: input + output,
        }
    }

    #[test]
    fn cached_prompt_tokens_are_priced_apart() {
        let p = Price {
            input: 2.5,
            cached_input: 1.25,
            output: 10.0,
        };
        assert!((p.cost(&usage(1_000_000, 0, 0)) - 2.5).abs() < 1e-12);
        assert!(
            (p.cost(&usage(2_000, 1_000, 500)) - (1_000.0 * 2.5 + 1_000.0 * 1.25 + 500.0 * 10.0) / 1e6).abs()
                < 1e-15
        );
        // A provider reporting more cached than prompt tokens is not charged below zero.
        assert!(p.cost(&usage(10, 20, 0)) >= 0.0);
    }

    #[test]
    fn lookup_by_provider_and_model() {
        let p = Price {
            input: 1.0,
            cached_input: 1.0,
            output: 2.0,
        };
        let table = PriceTable::new([("openai/gpt-4o".to_owned(), p)]).with_version("v1");
        assert_eq!(table.get("openai", "gpt-4o"), Some(p));
        assert_eq!(table.get("azure", "gpt-4o"), None);
        assert_eq!(table.version(), Some("v1"));
        assert_eq!(PriceTable::default().get("openai", "gpt-4o"), None);
    }
}
