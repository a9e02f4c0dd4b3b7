//! One ingest-and-report scenario, run on SQLite and on PostgreSQL: what is sent is summed here
//! and must equal what the reports say, to the token and the nano-dollar.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Collector, event, post};

/// Sums of a group of events, as the test computes them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Expected {
    pub requests: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_input_tokens: i64,
    pub reasoning_tokens: i64,
    pub cost_nusd: i64,
    pub fallbacks: i64,
    pub by_code: BTreeMap<String, i64>,
}

impl Expected {
    pub fn add(&mut self, e: &Value) {
        self.requests += 1;
        self.errors += i64::from(e["status"] == "error");
        self.input_tokens += e["input_tokens"].as_i64().unwrap();
        self.output_tokens += e["output_tokens"].as_i64().unwrap();
        self.cached_input_tokens += e["cached_input_tokens"].as_i64().unwrap();
        self.reasoning_tokens += e["reasoning_tokens"].as_i64().unwrap();
        self.cost_nusd += (e["cost_usd"].as_f64().unwrap() * 1e9).round() as i64;
        self.fallbacks += i64::from(e["fallback_used"] == true);
        if let Some(c) = e["error_code"].as_str() {
            *self.by_code.entry(c.to_owned()).or_default() += 1;
        }
    }

    /// Asserts a report row says the same.
    pub fn check(&self, row: &Value, what: &str) {
        let n = |k: &str| {
            row[k]
                .as_i64()
                .unwrap_or_else(|| panic!("{what}: `{k}` missing in {row}"))
        };
        assert_eq!(n("requests"), self.requests, "{what}: requests");
        assert_eq!(n("errors"), self.errors, "{what}: errors");
        assert_eq!(n("input_tokens"), self.input_tokens, "{what}: input tokens");
        assert_eq!(n("output_tokens"), self.output_tokens, "{what}: output tokens");
        assert_eq!(
            n("cached_input_tokens"),
            self.cached_input_tokens,
            "{what}: cached tokens"
        );
        assert_eq!(
            n("reasoning_tokens"),
            self.reasoning_tokens,
            "{what}: reasoning tokens"
        );
        assert_eq!(n("fallbacks"), self.fallbacks, "{what}: fallbacks");
        let cost = row["cost_usd"].as_f64().unwrap();
        assert!(
            (cost - self.cost_nusd as f64 / 1e9).abs() < 1e-9,
            "{what}: cost {cost} vs {}",
            self.cost_nusd as f64 / 1e9
        );
        let codes: BTreeMap<String, i64> = row["errors_by_code"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
            .collect();
        assert_eq!(codes, self.by_code, "{what}: errors by code");
    }
}

/// A day, midnight UTC, a week before now.
pub fn base_day() -> i64 {
    let now = super::now_ms();
    now - now.rem_euclid(86_400_000) - 7 * 86_400_000
}

/// `n` events of `apps` spread over three days from `base_day()`.
pub fn events(apps: &[&str], n: u64) -> Vec<Value> {
    let base = base_day();
    (0..n)
        .map(|i| {
            event(
                apps[(i as usize) % apps.len()],
                base + (i as i64 * 3 * 86_400_000) / n as i64 + 1234,
                i,
            )
        })
        .collect()
}

fn key_of(e: &Value, dims: &[&str]) -> Vec<String> {
    dims.iter()
        .map(|d| match *d {
            "day" => modelplug_schema::Timestamp::parse(e["ts"].as_str().unwrap())
                .unwrap()
                .to_string()[..10]
                .to_owned(),
            "label.feature" => e["labels"]["feature"].as_str().unwrap().to_owned(),
            d => e[d].as_str().unwrap_or("").to_owned(),
        })
        .collect()
}

/// Checks a grouped report over `[from, to)` against the events sent.
pub async fn check_report(
    c: &Collector,
    sent: &[Value],
    from: i64,
    to: i64,
    dims: &[&str],
    extra: &str,
) -> Value {
    let mut expected: BTreeMap<Vec<String>, Expected> = BTreeMap::new();
    let mut total = Expected::default();
    for e in sent {
        let ts = modelplug_schema::Timestamp::parse(e["ts"].as_str().unwrap())
            .unwrap()
            .0 as i64;
        if ts < from || ts >= to {
            continue;
        }
        expected.entry(key_of(e, dims)).or_default().add(e);
        total.add(e);
    }
    let mut latencies: Vec<f64> = sent
        .iter()
        .filter(|e| {
            let ts = modelplug_schema::Timestamp::parse(e["ts"].as_str().unwrap())
                .unwrap()
                .0 as i64;
            ts >= from && ts < to
        })
        .map(|e| e["latency_ms"].as_f64().unwrap())
        .collect();
    latencies.sort_by(f64::total_cmp);
    let q = format!(
        "/v1/reports/usage?from={from}&to={to}&group_by={}{extra}",
        dims.join(",")
    );
    let report = c.admin_get(&q).await;
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), expected.len(), "{q}: groups");
    for row in rows {
        let key: Vec<String> = dims
            .iter()
            .map(|d| row[*d].as_str().unwrap().to_owned())
            .collect();
        expected
            .get(&key)
            .unwrap_or_else(|| panic!("{q}: unexpected group {key:?}"))
            .check(row, &format!("{q} {key:?}"));
    }
    total.check(&report["totals"], &q);
    // Percentiles come from the histograms: within 9 % of the exact ones.
    for (k, p) in [
        ("latency_ms_p50", 0.50),
        ("latency_ms_p95", 0.95),
        ("latency_ms_p99", 0.99),
    ] {
        let exact = latencies[((p * latencies.len() as f64).ceil() as usize).max(1) - 1];
        let got = report["totals"][k]
            .as_f64()
            .unwrap_or_else(|| panic!("{q}: {k} missing"));
        assert!(
            (got / exact - 1.0).abs() < 0.09,
            "{q}: {k} {got} vs exact {exact}"
        );
    }
    report
}

/// Sends `sent` in batches of `batch` with `key`, each batch twice (a replay stores nothing).
pub async fn send_twice(c: &Collector, key: &str, sent: &[Value], batch: usize) {
    for chunk in sent.chunks(batch) {
        let (status, body) = post(&c.url, key, chunk).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["accepted"], chunk.len(), "{body}");
        let (status, body) = post(&c.url, key, chunk).await;
        assert_eq!(status, 200);
        assert_eq!(
            (body["accepted"].as_u64(), body["duplicate"].as_u64()),
            (Some(0), Some(chunk.len() as u64)),
            "{body}"
        );
    }
}

/// The whole scenario: send, replay, then reports by several groupings and unaligned ranges
/// (rollups and raw edges), a rollup-backed and an events-only answer agreeing.
pub async fn ingest_and_report(c: &Collector) {
    let key_a = c.ingest_key("app-a", None).await;
    let key_b = c.ingest_key("app-b", Some("team-a")).await;
    let sent_a = events(&["app-a"], 600);
    let sent_b = events(&["app-b"], 300);
    send_twice(c, &key_a, &sent_a, 250).await;
    send_twice(c, &key_b, &sent_b, 100).await;
    let all: Vec<Value> = sent_a.iter().chain(&sent_b).cloned().collect();
    let base = base_day();
    let (wide_from, wide_to) = (base - 86_400_000, base + 4 * 86_400_000);
    // The writer adds events to the rollups each second (later on a busy machine): the report
    // is exact at every moment, and once the rollups hold the events, a wide range reads them.
    let mut r = check_report(c, &all, wide_from, wide_to, &["app", "model"], "").await;
    for _ in 0..50 {
        if r["sources"]["rollup_rows"].as_u64().unwrap() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        r = check_report(c, &all, wide_from, wide_to, &["app", "model"], "").await;
    }
    assert!(
        r["sources"]["rollup_rows"].as_u64().unwrap() > 0,
        "a wide range reads rollups within 10 s: {}",
        r["sources"]
    );
    // Events the rollups do not hold yet (SQLite writes them each second) are read from the
    // events in the same snapshot: the checks above are exact at every moment.
    check_report(c, &all, wide_from, wide_to, &["day"], "").await;
    // Unaligned: minutes from the events, hours and days from the rollups.
    let (from, to) = (
        base + 17 * 60_000 + 5_000,
        base + 2 * 86_400_000 + 5 * 3_600_000 + 13 * 60_000,
    );
    let r = check_report(c, &all, from, to, &["provider", "status"], "").await;
    assert!(r["sources"]["raw_events"].as_u64().unwrap() > 0);
    check_report(c, &all, from, to, &["user"], "").await;
    check_report(c, &all, from, to, &["label.feature", "env"], "").await;
    // Two open-ended dimensions: the events alone answer, and agree.
    let filtered: Vec<Value> = all
        .iter()
        .filter(|e| e["labels"]["feature"] == "search")
        .cloned()
        .collect();
    let r = check_report(c, &filtered, from, to, &["user"], "&label.feature=search").await;
    assert_eq!(r["sources"]["rollup_rows"], 0);
    let filtered: Vec<Value> = all
        .iter()
        .filter(|e| e["env"] == "prod" && e["app"] == "app-b")
        .cloned()
        .collect();
    check_report(
        c,
        &filtered,
        wide_from,
        wide_to,
        &["model"],
        "&env=prod&app=app-b",
    )
    .await;
}
