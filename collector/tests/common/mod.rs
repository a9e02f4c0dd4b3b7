//! Shared by the collector's integration tests: a collector on a loopback port over a fresh
//! database, keys, events with known numbers, and an HTTP client that posts batches.

#![allow(dead_code)]

pub mod pg;
pub mod policy;
pub mod scenario;

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use modelplug_collector::keys::KeyKind;
use modelplug_collector::{DbUrl, ServeOptions, Server, Store, StoreOptions, key_admin};
use serde_json::{Value, json};

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// An HTTP client for the tests (rustls needs its provider chosen once per process).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

/// A running collector and its admin key.
pub struct Collector {
    /// The service (taken by [`Collector::stop`]).
    pub server: Option<Server>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// An admin key.
    pub admin: String,
    /// The database.
    pub db: DbUrl,
    /// Holds a SQLite database's directory.
    pub dir: Option<tempfile::TempDir>,
}

impl Collector {
    /// A collector on a fresh SQLite file.
    pub async fn sqlite() -> Collector {
        let dir = tempfile::tempdir().unwrap();
        let db = DbUrl::Sqlite(dir.path().join("collector.db"));
        let mut c = Collector::on(db, 0).await;
        c.dir = Some(dir);
        c
    }

    /// A collector on `db`, listening on `port` (0: any free one).
    pub async fn on(db: DbUrl, port: u16) -> Collector {
        let store = Store::open(&db, &StoreOptions::default()).await.unwrap();
        let admin = key_admin::create(&store, KeyKind::Admin, None, None, None, now_ms())
            .await
            .unwrap()
            .token;
        Collector::with_store(store, db, admin, port).await
    }

    /// A collector over an opened store.
    pub async fn with_store(store: Store, db: DbUrl, admin: String, port: u16) -> Collector {
        let opts = ServeOptions {
            listen: ([127, 0, 0, 1], port).into(),
            ..ServeOptions::default()
        };
        let server = Server::start(store, opts).await.unwrap();
        let url = format!("http://{}", server.addr());
        Collector {
            server: Some(server),
            url,
            admin,
            db,
            dir: None,
        }
    }

    /// Stops it gracefully.
    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Makes an ingest key for `app` (optionally bound to `team`) through the admin API.
    pub async fn ingest_key(&self, app: &str, team: Option<&str>) -> String {
        let r = http()
            .post(format!("{}/v1/keys", self.url))
            .bearer_auth(&self.admin)
            .header("content-type", "application/json")
            .body(json!({"kind": "ingest", "app": app, "team": team}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        json_of(r).await["key"].as_str().unwrap().to_owned()
    }

    /// GETs an admin endpoint as JSON.
    pub async fn admin_get(&self, path_and_query: &str) -> Value {
        let r = http()
            .get(format!("{}{path_and_query}", self.url))
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path_and_query}");
        json_of(r).await
    }

    /// Every stored event id, through the paged events API.
    pub async fn stored_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = "/v1/events?from=2000-01-01&to=2100-01-01&limit=1000".to_owned();
            if let Some(c) = &cursor {
                q.push_str(&format!("&cursor={c}"));
            }
            let page = self.admin_get(&q).await;
            for e in page["events"].as_array().unwrap() {
                ids.push(e["id"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return ids,
            }
        }
    }
}

/// A schema-1 event with numbers that vary with `i` (all exactly known to the test).
pub fn event(app: &str, ts_ms: i64, i: u64) -> Value {
    let models = [
        ("openai", "gpt-4o"),
        ("anthropic", "claude-sonnet-4"),
        ("gemini", "gemini-2.5-pro"),
    ];
    let (provider, model) = models[(i % 3) as usize];
    let status = if i % 10 == 7 { "error" } else { "ok" };
    let mut e = json!({
        "schema": 1,
        "id": uuid::Uuid::now_v7().to_string(),
        "ts": modelplug_schema::Timestamp(ts_ms as u64).to_string(),
        "app": app,
        "team": "team-a",
        "user": format!("user-{}", i % 4),
        "env": if i.is_multiple_of(2) { "prod" } else { "dev" },
        "operation": "chat",
        "model_requested": "smart",
        "provider": provider,
        "deployment": format!("{provider}-main"),
        "model": model,
        "stream": i.is_multiple_of(3),
        "status": status,
        "input_tokens": 100 + i,
        "output_tokens": 20 + i % 7,
        "cached_input_tokens": i % 5,
        "reasoning_tokens": i % 3,
        "cost_usd": (100 + i) as f64 * 1e-6 + (20 + i % 7) as f64 * 3e-6,
        "latency_ms": 50.0 + (i % 100) as f64 * 10.0,
        "attempts": [{"provider": provider, "deployment": format!("{provider}-main"), "model": model, "error": null, "latency_ms": 40.0}],
        "fallback_used": i.is_multiple_of(9),
        "config_hash": "abc",
        "sdk": {"language": "rust", "version": "0.1.0"},
        "labels": {"feature": if i.is_multiple_of(2) { "search" } else { "summary" }},
    });
    if status == "error" {
        e["error_code"] = json!(if i % 20 == 7 { "RATE_LIMITED" } else { "TIMEOUT" });
        e["http_status"] = json!(429);
    }
    if i.is_multiple_of(3) {
        e["ttft_ms"] = json!(20.0 + (i % 10) as f64);
    }
    e
}

/// A response's JSON body.
pub async fn json_of(r: reqwest::Response) -> Value {
    let text = r.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Gzips bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Posts a batch (gzipped) and returns the status and the answer.
pub async fn post(url: &str, key: &str, events: &[Value]) -> (u16, Value) {
    post_body(
        url,
        key,
        gzip(json!({"events": events}).to_string().as_bytes()),
        Some("gzip"),
    )
    .await
}

/// Posts a raw body.
pub async fn post_body(url: &str, key: &str, body: Vec<u8>, encoding: Option<&str>) -> (u16, Value) {
    let mut r = http()
        .post(format!("{url}/v1/events"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body);
    if let Some(e) = encoding {
        r = r.header("content-encoding", e);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Checks a budget scope's forecast in the admin view against the budget's own period and
/// `as_of_ms`: `null` before a tenth of the period (an hour at least), else the spend continued
/// in a straight line to the period's end.
pub fn assert_forecast(budget: &Value, scope: &Value, as_of_ms: i64) {
    let (start, end) = (
        budget["period_start_ms"].as_i64().unwrap(),
        budget["period_end_ms"].as_i64().unwrap(),
    );
    let spent = scope["spent_usd"].as_f64().unwrap();
    let elapsed = as_of_ms - start;
    if elapsed < ((end - start) / 10).max(3_600_000) {
        assert!(scope["forecast_usd"].is_null(), "{scope}");
        assert!(scope["forecast_state"].is_null(), "{scope}");
    } else {
        let want = spent * (end - start) as f64 / elapsed as f64;
        let got = scope["forecast_usd"].as_f64().unwrap();
        assert!((got - want).abs() <= 1e-9 * want.max(1.0), "{scope}: want {want}");
        assert!(got >= spent);
    }
}
