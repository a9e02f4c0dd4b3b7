//! Prices: what a call cost, from the token counts and a price table (`prices:` in the config,
//! keyed by `provider/model`, USD per million tokens). The table is the pricing stage's data
//! (`pipeline::price`); a later policy feed replaces it as a whole.

use std::collections::HashMap;

pub use modelplug_schema::Price;

use crate::types::Usage;

/// What a call with `usage` costs at `price`, in US dollars.
pub fn cost_of(price: &Price, usage: &Usage) -> f64 {
    price.cost(
        usage.input_tokens,
        usage.cached_input_tokens,
        usage.cache_write_tokens,
        usage.output_tokens,
    )
}

/// Prices keyed by provider, then model (the deployment's configured provider and model), with
/// the version that usage events report as `price_table_version`. Looking a price up
/// allocates nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PriceTable {
    by_provider: HashMap<String, HashMap<String, Price>>,
    version: Option<String>,
}

impl PriceTable {
    /// A table of `(provider/model, price)` pairs, without a version. A key without `/` is
    /// filed under an empty provider (the config rejects such keys before this).
    pub fn new(prices: impl IntoIterator<Item = (String, Price)>) -> PriceTable {
        let mut by_provider: HashMap<String, HashMap<String, Price>> = HashMap::new();
        for (key, price) in prices {
            let (provider, model) = key.split_once('/').unwrap_or(("", &key));
            by_provider
                .entry(provider.to_owned())
                .or_default()
                .insert(model.to_owned(), price);
        }
        PriceTable {
            by_provider,
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
        self.by_provider.get(provider)?.get(model).copied()
    }

    /// The table's version, reported with every cost it priced.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// True when the table has no prices.
    pub fn is_empty(&self) -> bool {
        self.by_provider.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_by_provider_and_model() {
        let p = Price {
            input: 1.0,
            cached_input: 1.0,
            cache_write: 1.0,
            output: 2.0,
        };
        let table = PriceTable::new([("openai/gpt-4o".to_owned(), p)]).with_version("v1");
        assert_eq!(table.get("openai", "gpt-4o"), Some(p));
        assert_eq!(table.get("azure", "gpt-4o"), None);
        assert_eq!(table.version(), Some("v1"));
        assert_eq!(PriceTable::default().get("openai", "gpt-4o"), None);
        // A model id may itself contain `/` (OpenRouter, Together).
        let t = PriceTable::new([("openrouter/meta-llama/llama-3".to_owned(), p)]);
        assert_eq!(t.get("openrouter", "meta-llama/llama-3"), Some(p));
    }

    #[test]
    fn cost_of_usage_uses_every_token_class() {
        let p = Price {
            input: 2.0,
            cached_input: 1.0,
            cache_write: 4.0,
            output: 8.0,
        };
        let u = Usage {
            input_tokens: 1_000,
            cached_input_tokens: 300,
            cache_write_tokens: 200,
            output_tokens: 100,
            ..Usage::default()
        };
        let expected = (500.0 * 2.0 + 300.0 * 1.0 + 200.0 * 4.0 + 100.0 * 8.0) / 1e6;
        assert!((cost_of(&p, &u) - expected).abs() < 1e-15);
    }
}
