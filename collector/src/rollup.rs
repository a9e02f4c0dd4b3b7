//! Rollups: per hour and per day, the sums and latency histograms of every combination of the
//! low-cardinality dimensions, so that reports over long ranges read thousands of rows instead
//! of millions of events. Updated in the same transaction that stores the events (only events
//! stored for the first time count, so a replay never adds twice).
//!
//! Three kinds of row share one table, told apart by `attr`:
//! - `""`: the main rollup, by app, team, env, operation, provider, deployment, model, status
//!   and error code;
//! - `"user"`: per end user (`attr_value`), by app, team, status and error code only — a
//!   user's calls are many and varied, and rows by every dimension would be as many as the
//!   events (a report by user and model reads the events);
//! - `"label:<key>"`: the same, per value of one label.
//!
//! User and labels are kept apart from the main rollup because their cardinality is open-ended.

use std::collections::{BTreeMap, HashMap};

use crate::event::StoredEvent;
use crate::hist::Histogram;

/// One hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// One day (UTC) in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// The `attr` of user rollup rows.
pub const USER_ATTR: &str = "user";
/// The prefix of label rollup rows' `attr`.
pub const LABEL_ATTR_PREFIX: &str = "label:";

/// The integer sums every rollup row and report group carries, in column order.
pub const SUM_COLUMNS: [&str; 12] = [
    "requests",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_nusd",
    "priced_requests",
    "estimated_cost_requests",
    "fallbacks",
    "cache_hits",
    "streams",
];

/// The dimension columns of a rollup row, in column order (after period, start, attr, value).
pub const DIM_COLUMNS: [&str; 9] = [
    "app",
    "team",
    "env",
    "operation",
    "provider",
    "deployment",
    "model",
    "status",
    "error_code",
];

/// What a group of calls adds up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// The sums, in [`SUM_COLUMNS`] order.
    pub sums: [i64; 12],
    /// The sum of the calls' wall times (for the mean).
    pub latency_sum_ms: f64,
    /// The calls' wall times.
    pub latency: Histogram,
    /// Time to first token of the streamed calls that produced one.
    pub ttft: Histogram,
}

/// Indexes into [`Totals::sums`].
#[allow(missing_docs)]
pub mod sum {
    pub const REQUESTS: usize = 0;
    pub const INPUT_TOKENS: usize = 1;
    pub const OUTPUT_TOKENS: usize = 2;
    pub const CACHED_INPUT_TOKENS: usize = 3;
    pub const CACHE_WRITE_TOKENS: usize = 4;
    pub const REASONING_TOKENS: usize = 5;
    pub const COST_NUSD: usize = 6;
    pub const PRICED_REQUESTS: usize = 7;
    pub const ESTIMATED_COST_REQUESTS: usize = 8;
    pub const FALLBACKS: usize = 9;
    pub const CACHE_HITS: usize = 10;
    pub const STREAMS: usize = 11;
}

impl Totals {
    /// Adds one call.
    pub fn add_event(&mut self, e: &StoredEvent) {
        let s = &mut self.sums;
        s[sum::REQUESTS] += 1;
        s[sum::INPUT_TOKENS] += e.input_tokens;
        s[sum::OUTPUT_TOKENS] += e.output_tokens;
        s[sum::CACHED_INPUT_TOKENS] += e.cached_input_tokens;
        s[sum::CACHE_WRITE_TOKENS] += e.cache_write_tokens;
        s[sum::REASONING_TOKENS] += e.reasoning_tokens;
        if let Some(c) = e.cost_nusd {
            s[sum::COST_NUSD] += c;
            s[sum::PRICED_REQUESTS] += 1;
        }
        s[sum::ESTIMATED_COST_REQUESTS] += i64::from(e.cost_is_estimated);
        s[sum::FALLBACKS] += i64::from(e.fallback_used);
        s[sum::CACHE_HITS] += i64::from(e.cache_hit);
        s[sum::STREAMS] += i64::from(e.stream);
        self.latency_sum_ms += e.latency_ms;
        self.latency.record(e.latency_ms);
        if let Some(t) = e.ttft_ms {
            self.ttft.record(t);
        }
    }

    /// Adds another group's totals.
    pub fn merge(&mut self, o: &Totals) {
        for (a, b) in self.sums.iter_mut().zip(o.sums) {
            *a += b;
        }
        self.latency_sum_ms += o.latency_sum_ms;
        self.latency.merge(&o.latency);
        self.ttft.merge(&o.ttft);
    }
}

/// Where a rollup row sits: its period, its start, its attribute and its dimensions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RollupKey {
    /// [`HOUR_MS`] or [`DAY_MS`].
    pub period_ms: i64,
    /// The period's start (UTC), in milliseconds since the epoch.
    pub start_ms: i64,
    /// `""`, [`USER_ATTR`] or `label:<key>`.
    pub attr: String,
    /// The user or label value (`""` for the main rollup).
    pub attr_value: String,
    /// The dimension values, in [`DIM_COLUMNS`] order.
    pub dims: [String; 9],
}

/// A rollup row's place with borrowed names: events are summed under these first (one lookup
/// per event and attribute, no copies), and owned keys are made once per group.
type BorrowedKey<'a> = (i64, &'a str, &'a str, &'a str, [&'a str; 9]);

/// The rollup rows a set of newly stored events adds to, sorted (writers that lock rows in one
/// order cannot deadlock each other).
pub fn rollups_of<'a>(events: impl IntoIterator<Item = &'a StoredEvent>) -> BTreeMap<RollupKey, Totals> {
    let mut hourly: HashMap<BorrowedKey<'a>, Totals> = HashMap::new();
    for e in events {
        let hour = e.ts_ms - e.ts_ms.rem_euclid(HOUR_MS);
        let dims = [
            e.app.as_str(),
            e.team.as_str(),
            e.env.as_str(),
            e.operation,
            e.provider.as_str(),
            e.deployment.as_str(),
            e.model.as_str(),
            e.status,
            e.error_code.as_str(),
        ];
        hourly.entry((hour, "", "", "", dims)).or_default().add_event(e);
        if !e.user.is_empty() {
            // App, team, status and error code only (see the module docs).
            let d = [dims[0], dims[1], "", "", "", "", "", dims[7], dims[8]];
            hourly
                .entry((hour, USER_ATTR, "", e.user.as_str(), d))
                .or_default()
                .add_event(e);
        }
        for (k, v) in &e.labels {
            hourly
                .entry((hour, LABEL_ATTR_PREFIX, k.as_str(), v.as_str(), dims))
                .or_default()
                .add_event(e);
        }
    }
    let mut out: BTreeMap<RollupKey, Totals> = BTreeMap::new();
    for ((hour, attr, label, value, dims), totals) in hourly {
        let attr = if label.is_empty() {
            attr.to_owned()
        } else {
            format!("{attr}{label}")
        };
        let key = RollupKey {
            period_ms: HOUR_MS,
            start_ms: hour,
            attr,
            attr_value: value.to_owned(),
            dims: dims.map(str::to_owned),
        };
        let day = RollupKey {
            period_ms: DAY_MS,
            start_ms: hour - hour.rem_euclid(DAY_MS),
            ..key.clone()
        };
        out.entry(day).or_default().merge(&totals);
        out.insert(key, totals);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn event(i: u64, ts_ms: i64, user: &str) -> StoredEvent {
        let v = serde_json::json!({
            "schema": 1, "id": uuid::Uuid::now_v7().to_string(),
            "ts": modelplug_schema::Timestamp(ts_ms as u64).to_string(), "app": "a", "user": user,
            "operation": "chat", "model_requested": "m", "model": format!("m{}", i % 2), "status": "ok",
            "input_tokens": i, "latency_ms": 10.0, "labels": {"f": "x"},
            "sdk": {"language": "rust", "version": "0"}
        });
        StoredEvent::parse(&RawValue::from_string(v.to_string()).unwrap(), u64::MAX / 2).unwrap()
    }

    #[test]
    fn each_event_counts_once_per_period_and_attribute() {
        let events: Vec<StoredEvent> = (0..10)
            .map(|i| event(i, 5 * DAY_MS + i as i64 * HOUR_MS / 2, "u"))
            .collect();
        let rows = rollups_of(&events);
        let total = |period: i64, attr: &str| -> i64 {
            rows.iter()
                .filter(|(k, _)| k.period_ms == period && k.attr == attr)
                .map(|(_, t)| t.sums[sum::INPUT_TOKENS])
                .sum()
        };
        for attr in ["", USER_ATTR, "label:f"] {
            assert_eq!(total(HOUR_MS, attr), 45, "{attr} hourly");
            assert_eq!(total(DAY_MS, attr), 45, "{attr} daily");
        }
        // Five hours, two models: main rows by model; user rows hold no model.
        assert_eq!(
            rows.keys()
                .filter(|k| k.period_ms == HOUR_MS && k.attr.is_empty())
                .count(),
            10
        );
        assert_eq!(
            rows.keys()
                .filter(|k| k.period_ms == HOUR_MS && k.attr == USER_ATTR)
                .count(),
            5
        );
        assert!(
            rows.keys()
                .filter(|k| k.attr == USER_ATTR)
                .all(|k| k.dims[6].is_empty() && k.dims[0] == "a")
        );
    }
}
