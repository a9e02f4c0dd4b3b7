//! The pricing stage: what a call cost, from its token counts and the price of the deployment
//! that answered (the config's `prices:`; central policy replaces the table later). A call
//! without a known price has no cost — never a guess.

use super::{CallCx, Position, Stage};
use crate::usage::{PriceTable, cost_of};

/// Sets `cx.cost` when the call ends, whatever the outcome (a stream cut short is priced from
/// what it delivered, marked as an estimate).
#[derive(Debug)]
pub struct Pricing {
    table: PriceTable,
    version: Option<std::sync::Arc<str>>,
}

impl Pricing {
    /// Prices calls from `table`.
    pub fn new(table: PriceTable) -> Pricing {
        let version = table.version().map(Into::into);
        Pricing { table, version }
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
        if let Some(price) = self.table.get(&names.provider, &names.model) {
            cx.cost = Some(cost_of(&price, &cx.usage));
            cx.cost_is_estimated = cx.usage_is_estimated;
            cx.price_table_version.clone_from(&self.version);
        }
    }
}
