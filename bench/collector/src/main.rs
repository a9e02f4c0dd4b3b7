//! `collector-bench ingest|report`: the collector's figures for docs/benchmarks.md.
//!
//! - `ingest --db URL [--events N] [--senders S] [--batch B]`: a collector on a loopback port
//!   over `URL`, `S` concurrent senders posting gzipped batches of `B` events (built before the
//!   clock starts) with per-app ingest keys; events/s from first send to last answer. In the
//!   same run, the database's own floor: the same events stored as bare `(id, ts, body)` rows, a
//!   transaction per batch (SQLite: one prepared INSERT per row; PostgreSQL: one UNNEST INSERT
//!   per batch), with no HTTP, JSON, checks or rollups — what a collector that only logs the JSON
//!   would do, one sender at a time.
//! - `parts --db URL [--events N]`: the two halves of ingest apart — µs per event to check and
//!   flatten (one thread) and to store (pre-parsed batches of 500 from four tasks).
//! - `seed --db URL [--events N]`: only the seeding below (the dashboard's data set,
//!   bench/dashboard), with its rate.
//! - `report --db URL [--events N]`: seeds `N` events over the 30 days before now (through the
//!   store, rollups included; skipped when the database already holds them), then times grouped
//!   30-day reports answered from the rollups against the same reports answered from the events
//!   alone (what a collector without rollups must do).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use modelplug_collector::keys::KeyKind;
use modelplug_collector::report::{self, ReportQuery};
use modelplug_collector::store::IngestBatch;
use modelplug_collector::{DbUrl, ServeOptions, Server, Store, StoreOptions, key_admin};
use serde_json::{Value, json};

const APPS: usize = 20;
const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A realistic event: 20 apps in 5 teams, 8 models on 4 providers, 200 users, 5 features.
fn event(i: u64, ts_ms: i64) -> Value {
    let app = (i as usize) % APPS;
    let models = [
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-mini"),
        ("anthropic", "claude-sonnet-4"),
        ("anthropic", "claude-haiku-4"),
        ("gemini", "gemini-2.5-pro"),
        ("gemini", "gemini-2.5-flash"),
        ("bedrock", "llama-3.3-70b"),
        ("openai", "o4-mini"),
    ];
    let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let (provider, model) = models[(h % 8) as usize];
    let error = h % 50 == 3;
    let mut e = json!({
        "schema": 1, "id": uuid::Uuid::now_v7().to_string(),
        "ts": modelplug_schema::Timestamp(ts_ms as u64).to_string(),
        "app": format!("app-{app:02}"), "team": format!("team-{}", app % 5),
        "user": format!("user-{}", (h >> 8) % 200), "env": if (h >> 16).is_multiple_of(4) { "staging" } else { "prod" },
        "operation": "chat", "model_requested": "smart", "provider": provider,
        "deployment": format!("{provider}-eu"), "model": model, "stream": (h >> 20).is_multiple_of(2),
        "status": if error { "error" } else { "ok" },
        "input_tokens": 200 + (h >> 24) % 2000, "output_tokens": 50 + (h >> 32) % 500,
        "cached_input_tokens": (h >> 40) % 100, "reasoning_tokens": 0,
        "cost_usd": ((h >> 24) % 2000) as f64 * 2.5e-6 + ((h >> 32) % 500) as f64 * 1e-5,
        "cost_is_estimated": false, "price_table_version": "genai-prices-0.2.1",
        "latency_ms": 200.0 + ((h >> 12) % 3000) as f64, "overhead_us": 40,
        "attempts": [{"provider": provider, "deployment": format!("{provider}-eu"), "model": model, "error": null, "latency_ms": 190.0}],
        "fallback_used": h % 40 == 1, "cache_hit": false, "guardrails": [], "config_hash": "3f9a0c",
        "sdk": {"language": "python", "version": "0.1.0"},
        "labels": {"feature": format!("feature-{}", (h >> 44) % 5)},
    });
    if error {
        e["error_code"] = json!("RATE_LIMITED");
        e["http_status"] = json!(429);
    }
    if (h >> 20).is_multiple_of(2) {
        e["ttft_ms"] = json!(80.0 + ((h >> 48) % 400) as f64);
    }
    e
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.windows(2)
        .find(|w| w[0] == name)
        .map_or(default.to_owned(), |w| w[1].clone())
}

async fn ingest(db: DbUrl, events: usize, senders: usize, batch: usize) {
    let store = Store::open(&db, &StoreOptions::default()).await.unwrap();
    let mut keys = Vec::new();
    for app in 0..APPS {
        let k = key_admin::create(
            &store,
            KeyKind::Ingest,
            Some(format!("app-{app:02}")),
            None,
            None,
            now_ms(),
        )
        .await
        .unwrap();
        keys.push(k.token);
    }
    let server = Server::start(
        store,
        ServeOptions {
            listen: ([127, 0, 0, 1], 0).into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let url = format!("http://{}/v1/events", server.addr());
    // Batches of one app each (a batch comes from one client), built before the clock starts.
    let now = now_ms();
    let mut bodies: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut rows: Vec<Vec<Value>> = Vec::new();
    for b in 0..events.div_ceil(batch) {
        let app = b % APPS;
        let evs: Vec<Value> = (0..batch)
            .map(|j| {
                event(
                    (b * batch + j) as u64 * APPS as u64 + app as u64,
                    now - 3_600_000 + j as i64,
                )
            })
            .collect();
        bodies.push((app, gzip(json!({"events": evs}).to_string().as_bytes())));
        rows.push(evs);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    let keys = Arc::new(keys);
    let start = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let (queue, keys, http, url) = (queue.clone(), keys.clone(), http.clone(), url.clone());
            tokio::spawn(async move {
                loop {
                    let Some((app, body)) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let r = http
                        .post(&url)
                        .bearer_auth(&keys[app])
                        .header("content-type", "application/json")
                        .header("content-encoding", "gzip")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let stored = events.div_ceil(batch) * batch;
    let collector_rate = stored as f64 / secs;
    server.stop().await;
    let floor_rate = bare_insert_rate(&db, &rows).await;
    println!(
        "{{\"bench\": \"ingest\", \"db\": \"{}\", \"events\": {stored}, \"senders\": {senders}, \"batch\": {batch}, \"collector_events_per_s\": {collector_rate:.0}, \"bare_insert_events_per_s\": {floor_rate:.0}, \"ratio\": {:.3}}}",
        match db {
            DbUrl::Sqlite(_) => "sqlite",
            DbUrl::Postgres(_) => "postgres",
        },
        collector_rate / floor_rate
    );
}

/// The floor: the same events as `(id, ts, body)` rows, one prepared INSERT each, a
/// transaction per batch, into a table of their own in the same database.
async fn bare_insert_rate(db: &DbUrl, batches: &[Vec<Value>]) -> f64 {
    let prepared: Vec<Vec<(uuid::Uuid, i64, String)>> = batches
        .iter()
        .map(|b| {
            b.iter()
                .map(|e| {
                    let id = uuid::Uuid::new_v4();
                    let ts = modelplug_schema::Timestamp::parse(e["ts"].as_str().unwrap())
                        .unwrap()
                        .0 as i64;
                    (id, ts, e.to_string())
                })
                .collect()
        })
        .collect();
    let n: usize = prepared.iter().map(Vec::len).sum();
    match db {
        DbUrl::Sqlite(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let mut conn = rusqlite::Connection::open(&path).unwrap();
                conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; DROP TABLE IF EXISTS bare_events; CREATE TABLE bare_events (id BLOB PRIMARY KEY, ts INTEGER NOT NULL, body TEXT NOT NULL)").unwrap();
                let start = Instant::now();
                for b in &prepared {
                    let tx = conn.transaction().unwrap();
                    {
                        let mut st = tx.prepare_cached("INSERT INTO bare_events (id, ts, body) VALUES (?1, ?2, ?3)").unwrap();
                        for (id, ts, body) in b {
                            st.execute(rusqlite::params![id.as_bytes().as_slice(), ts, body]).unwrap();
                        }
                    }
                    tx.commit().unwrap();
                }
                n as f64 / start.elapsed().as_secs_f64()
            })
            .await
            .unwrap()
        }
        DbUrl::Postgres(url) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client.batch_execute("DROP TABLE IF EXISTS bare_events; CREATE TABLE bare_events (id uuid PRIMARY KEY, ts bigint NOT NULL, body text NOT NULL)").await.unwrap();
            let mut client = client;
            let start = Instant::now();
            for b in &prepared {
                // One statement per batch, as the collector does.
                let tx = client.transaction().await.unwrap();
                let ids: Vec<uuid::Uuid> = b.iter().map(|r| r.0).collect();
                let ts: Vec<i64> = b.iter().map(|r| r.1).collect();
                let bodies: Vec<&str> = b.iter().map(|r| r.2.as_str()).collect();
                tx.execute(
                    "INSERT INTO bare_events (id, ts, body) SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::text[])",
                    &[&ids, &ts, &bodies],
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
            n as f64 / start.elapsed().as_secs_f64()
        }
    }
}

/// The two halves of ingest apart, per event: checking and flattening (`StoredEvent::parse`,
/// on the request threads) and storing (the database's writer, fed pre-parsed batches of 500
/// by four tasks).
async fn parts(db: DbUrl, events: usize) {
    let now = now_ms();
    let texts: Vec<Box<serde_json::value::RawValue>> = (0..events)
        .map(|i| {
            serde_json::value::RawValue::from_string(event(i as u64, now - 3_600_000 + i as i64).to_string())
                .unwrap()
        })
        .collect();
    let start = Instant::now();
    let parsed: Vec<_> = texts
        .iter()
        .map(|t| modelplug_collector::event::StoredEvent::parse(t, now as u64).unwrap())
        .collect();
    let parse_us = start.elapsed().as_secs_f64() * 1e6 / events as f64;
    let store = Arc::new(Store::open(&db, &StoreOptions::default()).await.unwrap());
    let batches: Vec<Vec<_>> = parsed.chunks(500).map(|c| c.to_vec()).collect();
    let queue = Arc::new(std::sync::Mutex::new(batches));
    let start = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (queue, store) = (queue.clone(), store.clone());
            tokio::spawn(async move {
                loop {
                    let Some(events) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    // As the server does: the sums on the request's thread, off the writer's.
                    let rollups = Some(modelplug_collector::rollup::rollups_of(&events));
                    store
                        .ingest(IngestBatch {
                            key_id: "bench".into(),
                            received_ms: now,
                            events,
                            dropped: None,
                            rollups,
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    store.flush_rollups().await.unwrap();
    let store_us = start.elapsed().as_secs_f64() * 1e6 / events as f64;
    println!(
        "{{\"bench\": \"ingest_parts\", \"db\": \"{}\", \"events\": {events}, \"parse_us_per_event\": {parse_us:.1}, \"store_us_per_event\": {store_us:.1}}}",
        match db {
            DbUrl::Sqlite(_) => "sqlite",
            DbUrl::Postgres(_) => "postgres",
        }
    );
    store.close().await;
}

/// Seeds events `have..events` (`have` = the events already stored) through the store, as the
/// collector's ingest does: events spread evenly over the 30 days before `now` (event `i` at
/// `seed_from + i × 30 days / events`), parsed and their rollup sums worked out on one thread
/// while the store's writer stores the previous batch (batches of 5,000). Returns the events
/// seeded and the seconds it took (rollups flushed).
async fn seed(store: &Store, events: usize, seed_from: i64, now: i64) -> (usize, f64) {
    let have = store.count_events().await.unwrap() as usize;
    if have >= events {
        return (0, 0.0);
    }
    let start = Instant::now();
    let chunk = 5000;
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let producer = tokio::task::spawn_blocking(move || {
        let mut next = have;
        while next < events {
            let batch: Vec<_> = (next..(next + chunk).min(events))
                .map(|i| {
                    let ts = seed_from + (i as i64 * 30 * DAY_MS) / events as i64;
                    let raw =
                        serde_json::value::RawValue::from_string(event(i as u64, ts).to_string()).unwrap();
                    modelplug_collector::event::StoredEvent::parse(&raw, now as u64).unwrap()
                })
                .collect();
            next += batch.len();
            // As the server does: the sums off the writer's thread.
            let rollups = Some(modelplug_collector::rollup::rollups_of(&batch));
            if tx.blocking_send((next, batch, rollups)).is_err() {
                return;
            }
        }
    });
    while let Some((next, batch, rollups)) = rx.recv().await {
        store
            .ingest(IngestBatch {
                key_id: "seed".into(),
                received_ms: now,
                events: batch,
                dropped: None,
                rollups,
            })
            .await
            .unwrap();
        if next % 500_000 < chunk {
            eprintln!(
                "seeded {next} events ({:.0}/s)",
                (next - have) as f64 / start.elapsed().as_secs_f64()
            );
        }
    }
    producer.await.unwrap();
    store.flush_rollups().await.unwrap();
    (events - have, start.elapsed().as_secs_f64())
}

fn db_name(db: &DbUrl) -> &'static str {
    match db {
        DbUrl::Sqlite(_) => "sqlite",
        DbUrl::Postgres(_) => "postgres",
    }
}

/// `seed --db URL [--events N]`: only the seeding of `report` (for the dashboard's page-load
/// bench, bench/dashboard); one JSON line with the rate.
async fn seed_only(db: DbUrl, events: usize) {
    let store = Store::open(&db, &StoreOptions::default()).await.unwrap();
    let now = now_ms();
    let (seeded, secs) = seed(&store, events, now - 30 * DAY_MS, now).await;
    let total = store.count_events().await.unwrap();
    store.close().await;
    println!(
        "{{\"bench\": \"seed\", \"db\": \"{}\", \"events\": {total}, \"seeded\": {seeded}, \"secs\": {secs:.1}, \"events_per_s\": {:.0}}}",
        db_name(&db),
        if secs > 0.0 { seeded as f64 / secs } else { 0.0 }
    );
}

async fn report_bench(db: DbUrl, events: usize) {
    let store = Store::open(&db, &StoreOptions::default()).await.unwrap();
    let now = now_ms();
    let seed_from = now - 30 * DAY_MS;
    seed(&store, events, seed_from, now).await;
    let total = store.count_events().await.unwrap();
    // Unaligned ends, as a person picks them: the minutes at each end come from the events.
    let (from, to) = (seed_from + 7 * 60_000 + 1234, now - 13 * 60_000);
    let cases = [
        "group_by=app,model",
        "group_by=team,provider",
        "group_by=day,app",
        "group_by=user",
        "group_by=label.feature,model",
    ];
    for q in cases {
        let pairs = parse(&format!("from={from}&to={to}&{q}"));
        let query = ReportQuery::from_pairs(&pairs, now, &[]).unwrap();
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let r = report::run(&store, &query).await.unwrap();
            times.push(t.elapsed());
            rows = r.rows.len();
        }
        times.sort();
        // The same range read from the events alone, grouped in memory.
        let raw = raw_equivalent(&store, &query).await;
        println!(
            "{{\"bench\": \"report\", \"db\": \"{}\", \"events\": {total}, \"query\": \"{q}\", \"groups\": {rows}, \"median_ms\": {:.1}, \"max_ms\": {:.1}, \"events_only_ms\": {:.0}, \"speedup\": {:.0}}}",
            match db {
                DbUrl::Sqlite(_) => "sqlite",
                DbUrl::Postgres(_) => "postgres",
            },
            times[2].as_secs_f64() * 1e3,
            times[4].as_secs_f64() * 1e3,
            raw.as_secs_f64() * 1e3,
            raw.as_secs_f64() / times[2].as_secs_f64()
        );
    }
    store.close().await;
}

/// Times the report computed from the events alone (the plan a collector without rollups has).
async fn raw_equivalent(store: &Store, q: &ReportQuery) -> Duration {
    let sql = report::sql::raw_select(store.dialect(), &q.filters, q.from_ms, q.to_ms);
    let t = Instant::now();
    let events = store.raw_events(sql).await.unwrap();
    let mut groups = std::collections::HashMap::new();
    for e in &events {
        let key = (e.app.clone(), e.model.clone());
        let t: &mut modelplug_collector::rollup::Totals = groups.entry(key).or_default();
        t.add_event(e);
    }
    std::hint::black_box(groups.len());
    t.elapsed()
}

fn parse(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let db = DbUrl::parse(&arg(&args, "--db", "sqlite:///tmp/collector-bench.db")).unwrap();
    match args.get(1).map(String::as_str) {
        Some("ingest") => {
            let events: usize = arg(&args, "--events", "200000").parse().unwrap();
            let senders: usize = arg(&args, "--senders", "4").parse().unwrap();
            let batch: usize = arg(&args, "--batch", "500").parse().unwrap();
            ingest(db, events, senders, batch).await;
        }
        Some("parts") => {
            let events: usize = arg(&args, "--events", "200000").parse().unwrap();
            parts(db, events).await;
        }
        Some("seed") => {
            let events: usize = arg(&args, "--events", "10000000").parse().unwrap();
            seed_only(db, events).await;
        }
        Some("report") => {
            let events: usize = arg(&args, "--events", "10000000").parse().unwrap();
            report_bench(db, events).await;
        }
        _ => {
            eprintln!(
                "usage: collector-bench ingest|parts|report|seed --db URL [--events N] [--senders S] [--batch B]"
            )
        }
    }
}
