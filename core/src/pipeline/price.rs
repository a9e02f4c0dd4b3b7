//! The pricing stage: what a call cost, from its token counts and the price of the deployment
//! that answered. Central policy's `prices:` come first, then the config's; a model they do
//! not name is priced from the catalog ([`PriceCatalog`](crate::usage::PriceCatalog), the
//! genai-prices data: the collector's when it publishes one, else the built-in one). A call
//! without a known price has no cost — never a guess.

use std::sync::Arc;

use super::{CallCx, Position, Stage};
use crate::config::Config;
use crate::usage::{PriceCatalog, PriceTable, cost_of};

/// Sets `cx.cost` when the call ends, whatever the outcome (a stream cut short is priced from
/// what it delivered, marked as an estimate), and the version of the table that priced it.
///
/// The order: the central policy's price of the deployment's provider and model (version
/// `policy-<n>`); the config's price of the deployment's provider and model (version
/// `config-<hash>`); else the catalog's price of the model the provider reported serving
/// (`gpt-4o-2024-08-06` for a deployment of `gpt-4o`, the model behind an Azure deployment
/// name), then of the deployment's model, at the time the call started (version
/// `genai-prices-<release>`, or the collector's catalog's `collector-<digest>`); else no cost.
#[derive(Debug)]
pub struct Pricing {
    table: PriceTable,
    version: Option<Arc<str>>,
    catalog: Option<Arc<PriceCatalog>>,
}

impl Pricing {
    /// Prices calls from `table`, then from `catalog` (none: only from `table`).
    pub fn new(table: PriceTable, catalog: Option<Arc<PriceCatalog>>) -> Pricing {
        let version = table.version().map(Into::into);
        Pricing {
            table,
            version,
            catalog,
        }
    }

    /// Loads the catalog's data for the providers and models of `config`'s deployments now
    /// (a few milliseconds per provider, once per process), so that no call waits for it.
    pub fn prepare(&self, config: &Config) {
        let Some(catalog) = &self.catalog else {
            return;
        };
        for d in config.models.iter().flat_map(|m| &m.deployments) {
            if self.table.get(d.provider.name(), &d.model).is_none() {
                catalog.prepare(d.provider.name(), &d.model);
            }
        }
    }
}

impl Stage for Pricing {
    fn name(&self) -> &'static str {
        "price"
    }

    fn position(&self) -> Position {
        Position::Price
    }

    fn settle(&self, cx: &mut CallCx) {
        if cx.cost.is_some() || cx.usage.is_empty() {
            return;
        }
        let Some(names) = cx.answered_by() else {
            return;
        };
        let policy = cx.policy.clone();
        let central_table = policy.as_ref().and_then(|p| p.prices.as_deref());
        let table_price = |t: &PriceTable| t.get(&names.provider, &names.model);
        let (cost, version) = if let Some((t, price)) = central_table.and_then(|t| Some((t, table_price(t)?)))
        {
            (cost_of(&price, &cx.usage), t.version().map(Arc::from))
        } else if let Some(price) = table_price(&self.table) {
            (cost_of(&price, &cx.usage), self.version.clone())
        } else {
            // The collector's catalog when it publishes one, else the built-in one.
            let Some(catalog) = policy
                .as_ref()
                .and_then(|p| p.catalog.as_ref())
                .or(self.catalog.as_ref())
            else {
                return;
            };
            let at = cx.started_at;
            let served = cx.served_model().filter(|m| *m != &*names.model);
            let cost = served
                .and_then(|m| catalog.cost(&names.provider, m, &cx.usage, at))
                .or_else(|| catalog.cost(&names.provider, &names.model, &cx.usage, at));
            match cost {
                Some(cost) => (cost, Some(catalog.version_arc().clone())),
                None => return,
            }
        };
        cx.cost = Some(cost);
        cx.cost_is_estimated = cx.usage_is_estimated;
        cx.price_table_version = version;
    }
}
