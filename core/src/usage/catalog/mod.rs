//! Built-in prices: the [genai-prices](https://github.com/pydantic/genai-prices) data (MIT,
//! © Pydantic Services Inc.) — per provider and model, with price history (dated prices),
//! time-of-day prices, cache-read and cache-write rates, tiers by prompt size (e.g. above
//! 200k tokens) and context windows — so calls are priced without a hand-written `prices:`
//! table. A config's `prices:` entry overrides the catalog (see `pipeline::price`).
//!
//! How a call is priced: our provider name maps to a genai-prices provider
//! ([`catalog_provider`]); the first call naming a model of that provider resolves the name to
//! a model of the data with the `genai-prices` crate's own matching (aliases, dated snapshots,
//! regular expressions, a provider's fallback providers — e.g. Azure serves OpenAI's models);
//! the model's rates are then remembered for that name, so every later call is a hash lookup
//! and a few multiplications ([`ModelPrice::cost`]). A provider's data (and the crate's
//! matcher for it) is loaded on the provider's first use, or ahead of it with
//! [`PriceCatalog::prepare`].
//!
//! Not priced (`None`, so `cost_usd` stays null, never 0): providers that run your own models
//! (`ollama`, `vllm`), `openai_compatible` (who serves it is unknown), the `mock` provider,
//! models the data does not know, and models the data lists without a token price.
//! Not modelled yet: prices selected by request context (OpenAI `service_tier` flex/priority,
//! batch processing) — calls are priced at standard rates — and the split of cache writes by
//! lifetime (Anthropic's 1-hour writes): every cache write is priced at the data's
//! `cache_write` rate (the 5-minute one), since our usage does not report the split yet.

mod rates;

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, LazyLock, OnceLock, PoisonError, RwLock};
use std::time::SystemTime;

use genai_prices::{Calculator, PriceRequest};
use serde::Deserialize;
use serde_json::value::RawValue;

pub use rates::ModelPrice;
use rates::ProviderData;

use crate::error::{Error, Result};
use crate::types::Usage;

/// The version of the built-in table, reported as `price_table_version` with every cost it
/// priced: the `genai-prices` release whose data is built in (the data carries no date of
/// its own).
pub const BUILTIN_VERSION: &str = "genai-prices-0.2.1";

/// The data of the `genai-prices` release named by [`BUILTIN_VERSION`], copied verbatim
/// (`core/data/genai-prices/README.md` says why and how to update it).
static BUILTIN_DATA: &str = include_str!("../../../data/genai-prices/prices.json");

static BUILTIN: LazyLock<Arc<PriceCatalog>> = LazyLock::new(|| {
    Arc::new(
        PriceCatalog::split(Cow::Borrowed(BUILTIN_DATA), BUILTIN_VERSION.into())
            .expect("the built-in price data is valid (checked by the catalog's tests)"),
    )
});

/// How many model names per provider the catalog remembers; names beyond it are still
/// priced, by resolving them again on every call.
const REMEMBERED_PER_PROVIDER: usize = 4_096;

/// The genai-prices provider whose prices apply to calls to our provider `provider`
/// (`openai`, `azure`, …; the names of providers that later releases add — `anthropic`,
/// `gemini`, `vertex`, `bedrock`, `xai`, `fireworks` — are mapped already). `None` for
/// providers the catalog does not price: `ollama` and `vllm` (your own hardware),
/// `openai_compatible` (unknown), `mock`, and `huggingface`, whose price depends on the
/// inference provider a model name selects (`deepseek-ai/DeepSeek-R1:together`; such names
/// are priced, see [`PriceCatalog::cost`]).
pub fn catalog_provider(provider: &str) -> Option<&'static str> {
    Some(match provider {
        "openai" => "openai",
        "azure" => "azure",
        "groq" => "groq",
        "mistral" => "mistral",
        "openrouter" => "openrouter",
        "deepseek" => "deepseek",
        "cerebras" => "cerebras",
        "together" => "together",
        "xai" => "x-ai",
        "fireworks" => "fireworks",
        "anthropic" => "anthropic",
        "gemini" | "vertex" => "google",
        "bedrock" => "aws",
        _ => return None,
    })
}

/// A price catalog: the genai-prices data of one version, with each provider's models
/// resolved on demand. Shared by every client of a process ([`PriceCatalog::builtin`]).
pub struct PriceCatalog {
    version: Arc<str>,
    /// The whole data (a JSON array of providers); each provider's part is loaded on demand.
    data: Cow<'static, str>,
    providers: Vec<ProviderSlot>,
    /// Providers by genai-prices id.
    by_id: HashMap<Box<str>, usize>,
    /// Hugging Face's inference providers (`huggingface_<name>` in the data) by `<name>`.
    huggingface: HashMap<Box<str>, usize>,
}

struct ProviderSlot {
    id: Box<str>,
    /// Where this provider's JSON is in the catalog's data.
    json: Range<usize>,
    /// The providers whose models it serves too (by index), in the order they are searched.
    fallbacks: Vec<usize>,
    /// This provider's data, once loaded (`None` when it could not be read).
    loaded: OnceLock<Option<LoadedProvider>>,
    /// Model names as callers give them → the model's prices (`None`: not priced).
    resolved: RwLock<HashMap<Box<str>, Option<Arc<ModelPrice>>>>,
}

struct LoadedProvider {
    /// The crate's matcher over this provider and its fallbacks: resolves model names.
    calculator: Calculator,
    /// The models of this provider, then of each fallback provider, by model id.
    models: Vec<HashMap<String, Arc<ModelPrice>>>,
}

/// The head of a provider's JSON, read when the catalog is made.
#[derive(Deserialize)]
struct ProviderHead {
    id: String,
    #[serde(default)]
    fallback_model_providers: Vec<String>,
}

impl std::fmt::Debug for PriceCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loaded: Vec<&str> = self
            .providers
            .iter()
            .filter(|p| p.loaded.get().is_some())
            .map(|p| &*p.id)
            .collect();
        f.debug_struct("PriceCatalog")
            .field("version", &self.version)
            .field("providers", &self.providers.len())
            .field("loaded", &loaded)
            .finish()
    }
}

impl PriceCatalog {
    /// The built-in catalog (the data of [`BUILTIN_VERSION`]), made on first use (cheap: a
    /// provider's data is read when the provider is first used).
    pub fn builtin() -> Arc<PriceCatalog> {
        BUILTIN.clone()
    }

    /// A catalog from genai-prices data in the v2 format (the `genai-prices` crate's
    /// `REMOTE_DATA_URL`), under `version` — a newer table than the built-in one. The whole
    /// table is checked here (tens of milliseconds), so a bad one is refused at once.
    ///
    /// # Errors
    ///
    /// A [`Config`](crate::ErrorKind::Config) error when the data is not valid genai-prices
    /// data.
    pub fn from_json(data: impl Into<String>, version: impl Into<Arc<str>>) -> Result<PriceCatalog> {
        let data = data.into();
        let invalid = |e: String| Error::config(format!("invalid price data: {e}"));
        Calculator::from_json(data.as_bytes()).map_err(|e| invalid(e.to_string()))?;
        let catalog = PriceCatalog::split(Cow::Owned(data), version.into())?;
        for provider in &catalog.providers {
            let parsed: ProviderData =
                serde_json::from_str(catalog.json(provider)).map_err(|e| invalid(e.to_string()))?;
            for model in &parsed.models {
                model.price().map_err(invalid)?;
            }
        }
        Ok(catalog)
    }

    /// Splits `data` into its providers (nothing else is read yet).
    fn split(data: Cow<'static, str>, version: Arc<str>) -> Result<PriceCatalog> {
        let invalid = |e: serde_json::Error| Error::config(format!("invalid price data: {e}"));
        let parts: Vec<&RawValue> = serde_json::from_str(&data).map_err(invalid)?;
        let mut heads = Vec::with_capacity(parts.len());
        for part in parts {
            let head: ProviderHead = serde_json::from_str(part.get()).map_err(invalid)?;
            // `part` borrows from `data`: its place there is its offset from the start.
            let start = part.get().as_ptr() as usize - data.as_ptr() as usize;
            heads.push((head, start..start + part.get().len()));
        }
        let by_id: HashMap<Box<str>, usize> = heads
            .iter()
            .enumerate()
            .map(|(i, (head, _))| (head.id.as_str().into(), i))
            .collect();
        let huggingface = by_id
            .iter()
            .filter_map(|(id, &i)| Some((id.strip_prefix("huggingface_")?.into(), i)))
            .collect();
        let providers = heads
            .into_iter()
            .map(|(head, json)| ProviderSlot {
                fallbacks: head
                    .fallback_model_providers
                    .iter()
                    .filter_map(|id| by_id.get(id.as_str()).copied())
                    .collect(),
                id: head.id.into(),
                json,
                loaded: OnceLock::new(),
                resolved: RwLock::default(),
            })
            .collect();
        Ok(PriceCatalog {
            version,
            data,
            providers,
            by_id,
            huggingface,
        })
    }

    /// The table's version (`genai-prices-0.2.1` for the built-in one).
    pub fn version(&self) -> &str {
        &self.version
    }

    pub(crate) fn version_arc(&self) -> &Arc<str> {
        &self.version
    }

    /// What a call to `model` served by our `provider`, with `usage`, made at `at`, costs in
    /// US dollars; `None` when the catalog has no price for it (see the module doc). For
    /// `huggingface`, a model name ending in `:<inference provider>` is priced at that
    /// provider's Hugging Face rates.
    pub fn cost(&self, provider: &str, model: &str, usage: &Usage, at: SystemTime) -> Option<f64> {
        self.with_price(provider, model, |p| p.cost(usage, at)).flatten()
    }

    /// The context window of `model` served by `provider`, in tokens, when the data has it.
    pub fn context_window(&self, provider: &str, model: &str) -> Option<u64> {
        self.with_price(provider, model, ModelPrice::context_window)
            .flatten()
    }

    /// The prices of `model` served by `provider`, if the catalog has them.
    pub fn price(&self, provider: &str, model: &str) -> Option<Arc<ModelPrice>> {
        let (index, model) = self.route(provider, model)?;
        self.resolved(index, model)
    }

    /// Loads `provider`'s data and resolves `model` now, so that the first call does not
    /// wait for it (loading a provider takes a few milliseconds: the crate compiles its
    /// regular expressions).
    pub fn prepare(&self, provider: &str, model: &str) {
        if let Some((index, model)) = self.route(provider, model) {
            self.resolved(index, model);
        }
    }

    /// The provider (by index) and model name the catalog looks `provider`/`model` up as.
    fn route<'m>(&self, provider: &str, model: &'m str) -> Option<(usize, &'m str)> {
        if provider == "huggingface" {
            let (model, inference_provider) = model.rsplit_once(':')?;
            return Some((*self.huggingface.get(inference_provider)?, model));
        }
        Some((*self.by_id.get(catalog_provider(provider)?)?, model))
    }

    /// Calls `f` with the prices of `model` served by `provider`, if the catalog has them:
    /// a read lock and a hash lookup once the name was seen before.
    fn with_price<R>(&self, provider: &str, model: &str, f: impl FnOnce(&ModelPrice) -> R) -> Option<R> {
        let (index, model) = self.route(provider, model)?;
        {
            let known = self.providers[index]
                .resolved
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(entry) = known.get(model) {
                return entry.as_deref().map(f);
            }
        }
        self.resolved(index, model).as_deref().map(f)
    }

    /// The prices of `model` (a name as callers give it) in the provider at `index`,
    /// resolved now if it was not before, and remembered.
    fn resolved(&self, index: usize, model: &str) -> Option<Arc<ModelPrice>> {
        let slot = &self.providers[index];
        if let Some(entry) = slot
            .resolved
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(model)
        {
            return entry.clone();
        }
        let entry = self.resolve(index, model);
        let mut known = slot.resolved.write().unwrap_or_else(PoisonError::into_inner);
        if known.len() < REMEMBERED_PER_PROVIDER {
            known.insert(model.into(), entry.clone());
        }
        entry
    }

    /// Resolves `model` in the provider at `index` with the crate's matching: the model the
    /// crate would price, looked up in this provider, then in its fallback providers.
    fn resolve(&self, index: usize, model: &str) -> Option<Arc<ModelPrice>> {
        let loaded = self.loaded(index)?;
        let nothing = genai_prices::Usage::new();
        let request = PriceRequest::new(model, &nothing).with_provider_id(&self.providers[index].id);
        let matched = loaded.calculator.calculate(&request).ok()?;
        loaded
            .models
            .iter()
            .find_map(|models| models.get(&matched.model_id))
            .cloned()
    }

    /// The provider at `index`, loaded on first use.
    fn loaded(&self, index: usize) -> Option<&LoadedProvider> {
        let slot = &self.providers[index];
        slot.loaded
            .get_or_init(|| match self.load(slot) {
                Ok(loaded) => Some(loaded),
                Err(e) => {
                    tracing::warn!(provider = &*slot.id, error = %e, "price data unreadable: calls are not priced");
                    None
                }
            })
            .as_ref()
    }

    fn load(&self, slot: &ProviderSlot) -> std::result::Result<LoadedProvider, String> {
        let chain: Vec<&ProviderSlot> = std::iter::once(slot)
            .chain(slot.fallbacks.iter().map(|&i| &self.providers[i]))
            .collect();
        let parts: Vec<&str> = chain.iter().map(|p| self.json(p)).collect();
        let calculator =
            Calculator::from_json(format!("[{}]", parts.join(",")).as_bytes()).map_err(|e| e.to_string())?;
        let models = parts
            .iter()
            .map(|json| {
                let provider: ProviderData = serde_json::from_str(json).map_err(|e| e.to_string())?;
                provider
                    .models
                    .iter()
                    .map(|m| Ok((m.id.clone(), Arc::new(m.price()?))))
                    .collect::<std::result::Result<HashMap<_, _>, String>>()
                    .map_err(|e| format!("provider {:?}: {e}", provider.id))
            })
            .collect::<std::result::Result<_, String>>()?;
        Ok(LoadedProvider { calculator, models })
    }

    fn json(&self, slot: &ProviderSlot) -> &str {
        &self.data[slot.json.clone()]
    }
}

#[cfg(test)]
mod tests;
