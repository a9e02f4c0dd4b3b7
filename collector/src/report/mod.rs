//! Usage and cost reports: any grouping of app, team, user, env, label, model, provider,
//! deployment, status, error code and day/hour over any range, with filters — computed from the
//! rollups where they answer and from the events at the edges ([`plan`]).

pub mod plan;
pub mod query;
pub mod sql;

use std::collections::{BTreeMap, HashMap};

use modelplug_schema::Timestamp;
use serde_json::{Map, Value, json};

use crate::event::StoredEvent;
use crate::rollup::{DAY_MS, HOUR_MS, Totals, sum};
use crate::store::{Store, StoreError};
pub use plan::Plan;
pub use query::{Dim, Filter, QueryError, ReportQuery};

/// One value of a group dimension.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cell {
    /// A name.
    Text(String),
    /// A time bucket's start (ms since the epoch).
    Time(i64),
}

/// A rollup group as the database returns it: group values, status, error code, totals.
#[derive(Debug, Clone)]
pub struct GroupedRow {
    /// One per group dimension.
    pub cells: Vec<Cell>,
    /// The calls' status.
    pub status: String,
    /// Their error code (`""` for none).
    pub error_code: String,
    /// What they add up to.
    pub totals: Totals,
}

/// What one group of a report adds up to.
#[derive(Debug, Clone, Default)]
struct Group {
    totals: Totals,
    by_status: BTreeMap<String, i64>,
    by_code: BTreeMap<String, i64>,
}

impl Group {
    fn add(&mut self, status: &str, code: &str, t: &Totals) {
        self.totals.merge(t);
        *self.by_status.entry(status.to_owned()).or_default() += t.sums[sum::REQUESTS];
        if !code.is_empty() {
            *self.by_code.entry(code.to_owned()).or_default() += t.sums[sum::REQUESTS];
        }
    }
}

/// The metric columns of every report row, in order (after the group columns).
pub const METRIC_COLUMNS: [&str; 27] = [
    "requests",
    "ok",
    "errors",
    "blocked",
    "cancelled",
    "error_rate",
    "errors_by_code",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "priced_requests",
    "estimated_cost_requests",
    "latency_ms_avg",
    "latency_ms_p50",
    "latency_ms_p95",
    "latency_ms_p99",
    "ttft_ms_p50",
    "ttft_ms_p95",
    "ttft_ms_p99",
    "streams",
    "fallbacks",
    "fallback_rate",
    "cache_hits",
    "cache_hit_rate",
];

/// A finished report.
#[derive(Debug, Clone)]
pub struct Report {
    /// The question.
    pub query: ReportQuery,
    /// One row per group, each a flat object: group columns, then [`METRIC_COLUMNS`].
    pub rows: Vec<Map<String, Value>>,
    /// All groups together.
    pub totals: Map<String, Value>,
    /// Where the numbers came from: rollup rows read, raw events read.
    pub rollup_rows: usize,
    /// Events read (edges of the range, or questions rollups cannot answer).
    pub raw_events: usize,
}

fn ratio(a: i64, b: i64) -> Value {
    if b == 0 {
        Value::Null
    } else {
        json!(a as f64 / b as f64)
    }
}

fn quantile(h: &crate::hist::Histogram, q: f64) -> Value {
    h.quantile(q)
        .map_or(Value::Null, |v| json!((v * 100.0).round() / 100.0))
}

fn metrics(g: &Group, out: &mut Map<String, Value>) {
    let s = &g.totals.sums;
    let requests = s[sum::REQUESTS];
    let status = |k: &str| g.by_status.get(k).copied().unwrap_or(0);
    let errors = status("error");
    let put = |out: &mut Map<String, Value>, k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    put(out, "requests", json!(requests));
    put(out, "ok", json!(status("ok")));
    put(out, "errors", json!(errors));
    put(out, "blocked", json!(status("blocked")));
    put(out, "cancelled", json!(status("cancelled")));
    put(out, "error_rate", ratio(errors, requests));
    put(out, "errors_by_code", json!(g.by_code));
    put(out, "input_tokens", json!(s[sum::INPUT_TOKENS]));
    put(out, "output_tokens", json!(s[sum::OUTPUT_TOKENS]));
    put(out, "cached_input_tokens", json!(s[sum::CACHED_INPUT_TOKENS]));
    put(out, "cache_write_tokens", json!(s[sum::CACHE_WRITE_TOKENS]));
    put(out, "reasoning_tokens", json!(s[sum::REASONING_TOKENS]));
    put(out, "cost_usd", json!(s[sum::COST_NUSD] as f64 / 1e9));
    put(out, "priced_requests", json!(s[sum::PRICED_REQUESTS]));
    put(
        out,
        "estimated_cost_requests",
        json!(s[sum::ESTIMATED_COST_REQUESTS]),
    );
    let avg = if requests == 0 {
        Value::Null
    } else {
        json!(((g.totals.latency_sum_ms / requests as f64) * 100.0).round() / 100.0)
    };
    put(out, "latency_ms_avg", avg);
    put(out, "latency_ms_p50", quantile(&g.totals.latency, 0.50));
    put(out, "latency_ms_p95", quantile(&g.totals.latency, 0.95));
    put(out, "latency_ms_p99", quantile(&g.totals.latency, 0.99));
    put(out, "ttft_ms_p50", quantile(&g.totals.ttft, 0.50));
    put(out, "ttft_ms_p95", quantile(&g.totals.ttft, 0.95));
    put(out, "ttft_ms_p99", quantile(&g.totals.ttft, 0.99));
    put(out, "streams", json!(s[sum::STREAMS]));
    put(out, "fallbacks", json!(s[sum::FALLBACKS]));
    put(out, "fallback_rate", ratio(s[sum::FALLBACKS], requests));
    put(out, "cache_hits", json!(s[sum::CACHE_HITS]));
    put(out, "cache_hit_rate", ratio(s[sum::CACHE_HITS], requests));
}

/// The group values of one event, `None` when it lacks a grouped user or label.
fn cells_of(e: &StoredEvent, group_by: &[Dim]) -> Option<Vec<Cell>> {
    group_by
        .iter()
        .map(|d| {
            Some(Cell::Text(match d {
                Dim::App => e.app.clone(),
                Dim::Team => e.team.clone(),
                Dim::User if e.user.is_empty() => return None,
                Dim::User => e.user.clone(),
                Dim::Env => e.env.clone(),
                Dim::Operation => e.operation.to_owned(),
                Dim::Provider => e.provider.clone(),
                Dim::Deployment => e.deployment.clone(),
                Dim::Model => e.model.clone(),
                Dim::Status => e.status.to_owned(),
                Dim::ErrorCode => e.error_code.clone(),
                Dim::Label(k) => e.labels.get(k)?.clone(),
                Dim::Day => return Some(Cell::Time(e.ts_ms - e.ts_ms.rem_euclid(DAY_MS))),
                Dim::Hour => return Some(Cell::Time(e.ts_ms - e.ts_ms.rem_euclid(HOUR_MS))),
            }))
        })
        .collect()
}

/// Whether an event with a user or label filter passes it (the SQL filters the columns).
fn passes_open_filters(e: &StoredEvent, filters: &[Filter]) -> bool {
    filters.iter().all(|f| match &f.dim {
        Dim::Label(k) => e.labels.get(k).is_some_and(|v| f.values.contains(v)),
        _ => true,
    })
}

/// A time bucket's text: the day (`2026-11-24`) or the hour (RFC 3339).
fn time_text(d: &Dim, ms: i64) -> String {
    let t = Timestamp(ms.max(0) as u64).to_string();
    if *d == Dim::Day { t[..10].to_owned() } else { t }
}

/// Runs a report.
pub async fn run(store: &Store, q: &ReportQuery) -> Result<Report, StoreError> {
    let plan = Plan::of(q);
    let d = store.dialect();
    let mut groups: HashMap<Vec<Cell>, Group> = HashMap::new();
    let time_dims: Vec<bool> = q.group_by.iter().map(Dim::is_time).collect();
    let rollup = sql::rollup_select(d, &q.group_by, &q.filters, &plan).map(|s| (s, time_dims));
    let mut raw: Vec<sql::Sql> = plan
        .raw
        .iter()
        .map(|(from, to)| sql::raw_select(d, &q.filters, *from, *to))
        .collect();
    if let (true, Some((from, to))) = (store.rollups_trail(), plan.covered) {
        raw.push(sql::tail_select(d, &q.filters, from, to));
    }
    // PostgreSQL sums histograms bucket by bucket in separate queries (see `bucket_select`).
    let buckets = match store.dialect() {
        sql::Dialect::Postgres => [sql::Hist::Latency, sql::Hist::Ttft]
            .into_iter()
            .filter_map(|h| sql::bucket_select(&q.group_by, &q.filters, &plan, h).map(|s| (s, h)))
            .collect(),
        sql::Dialect::Sqlite => Vec::new(),
    };
    let (rows, events) = store.report_reads(rollup, buckets, raw).await?;
    let rollup_rows = rows.len();
    for row in rows {
        groups
            .entry(row.cells)
            .or_default()
            .add(&row.status, &row.error_code, &row.totals);
    }
    let raw_events = events.len();
    {
        for e in events {
            if !passes_open_filters(&e, &q.filters) {
                continue;
            }
            let Some(cells) = cells_of(&e, &q.group_by) else {
                continue;
            };
            let mut t = Totals::default();
            t.add_event(&e);
            groups.entry(cells).or_default().add(e.status, &e.error_code, &t);
        }
    }
    let mut total = Group::default();
    let mut sorted: Vec<(Vec<Cell>, Group)> = groups.into_iter().collect();
    for (_, g) in &sorted {
        total.totals.merge(&g.totals);
        for (k, v) in &g.by_status {
            *total.by_status.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &g.by_code {
            *total.by_code.entry(k.clone()).or_default() += v;
        }
    }
    if q.group_by.iter().any(Dim::is_time) {
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
    } else {
        sorted.sort_by(|a, b| {
            let cost = |g: &Group| (g.totals.sums[sum::COST_NUSD], g.totals.sums[sum::REQUESTS]);
            cost(&b.1).cmp(&cost(&a.1)).then_with(|| a.0.cmp(&b.0))
        });
    }
    let rows = sorted
        .into_iter()
        .map(|(cells, g)| {
            let mut row = Map::new();
            for (d, c) in q.group_by.iter().zip(cells) {
                let v = match c {
                    Cell::Text(s) => s,
                    Cell::Time(ms) => time_text(d, ms),
                };
                row.insert(d.to_string(), Value::String(v));
            }
            metrics(&g, &mut row);
            row
        })
        .collect();
    let mut totals = Map::new();
    metrics(&total, &mut totals);
    Ok(Report {
        query: q.clone(),
        rows,
        totals,
        rollup_rows,
        raw_events,
    })
}

impl Report {
    /// The column names, group columns first.
    pub fn columns(&self) -> Vec<String> {
        self.query
            .group_by
            .iter()
            .map(ToString::to_string)
            .chain(METRIC_COLUMNS.iter().map(|s| s.to_string()))
            .collect()
    }

    /// The JSON answer of the reports API.
    pub fn to_json(&self) -> Value {
        json!({
            "from": Timestamp(self.query.from_ms.max(0) as u64).to_string(),
            "to": Timestamp(self.query.to_ms.max(0) as u64).to_string(),
            "group_by": self.query.group_by.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "columns": self.columns(),
            "rows": self.rows,
            "totals": self.totals,
            "sources": {"rollup_rows": self.rollup_rows, "raw_events": self.raw_events},
        })
    }

    /// The rows as CSV (RFC 4180), with a header.
    pub fn to_csv(&self) -> String {
        let columns = self.columns();
        let rows: Vec<&Map<String, Value>> = self.rows.iter().collect();
        crate::csv::write(&columns, &rows)
    }
}
