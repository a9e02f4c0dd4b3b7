//! `make demo`: starts the mock upstream and a collector (on a fresh SQLite file) in-process,
//! runs the demo scenarios through the core on the embedded defaults of
//! `examples/modelplug.yaml`, and prints the collector's usage report of what they did.

use mock_upstream::MockUpstream;
use modelplug_collector::keys::KeyKind;
use modelplug_collector::report::{self, ReportQuery};
use modelplug_collector::{DbUrl, ServeOptions, Server, Store, StoreOptions, key_admin};
use modelplug_core::Client;

#[tokio::main]
async fn main() {
    if let Err(e) = demo().await {
        eprintln!("demo failed: {e}");
        std::process::exit(1);
    }
}

async fn demo() -> modelplug_core::Result<()> {
    let upstream = MockUpstream::start()
        .await
        .map_err(|e| modelplug_core::Error::internal(format!("cannot start the mock upstream: {e}")))?;
    println!(
        "mock upstream at {} (replaying recorded provider traffic)",
        upstream.url()
    );
    // The organisation's collector, on the embedded default (a SQLite file), with an ingest
    // key for the demo app.
    let dir = std::env::temp_dir().join(format!("modelplug-demo-{}", std::process::id()));
    let db = DbUrl::Sqlite(dir.join("collector.db"));
    let store = Store::open(&db, &StoreOptions::default())
        .await
        .map_err(internal)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64;
    let key = key_admin::create(
        &store,
        KeyKind::Ingest,
        Some("modelplug-demo".into()),
        None,
        None,
        now,
    )
    .await
    .map_err(internal)?;
    let server = Server::start(
        store,
        ServeOptions {
            listen: ([127, 0, 0, 1], 0).into(),
            ..Default::default()
        },
    )
    .await
    .map_err(internal)?;
    println!("collector at http://{} ({db})", server.addr());
    let spool = dir.join("spool");
    let extra = format!(
        "\ncollector: {{ url: http://{}, key: {}, spool_dir: {} }}\n",
        server.addr(),
        key.token,
        spool.display()
    );
    let config = modelplug_examples::demo_config_with(&upstream.url(), &extra)?;
    println!("config {} (hash {})", config.source, config.hash);
    let client = Client::new(config)?;
    for line in modelplug_examples::run(&client).await? {
        println!("{line}");
    }
    client.close().await?;
    let stats = client.reporter_stats().unwrap_or_default();
    println!(
        "report   {} usage events delivered to the collector ({} spooled to disk on the way)",
        stats.delivered, stats.spooled
    );
    server.stop().await;
    // The collector's report of the last hour, by model, read from its database.
    let store = Store::open(&db, &StoreOptions::default())
        .await
        .map_err(internal)?;
    let pairs = [
        ("from".to_owned(), "1h".to_owned()),
        ("group_by".to_owned(), "model,status".to_owned()),
    ];
    let query = ReportQuery::from_pairs(&pairs, now + 60_000, &[]).map_err(internal)?;
    let usage = report::run(&store, &query).await.map_err(internal)?;
    store.close().await;
    for row in &usage.rows {
        println!(
            "usage    {:<26} {:<9} {:>3} calls {:>6} tokens  ${:.6}",
            row["model"].as_str().unwrap_or("-"),
            row["status"].as_str().unwrap_or("-"),
            row["requests"],
            row["input_tokens"].as_i64().unwrap_or(0) + row["output_tokens"].as_i64().unwrap_or(0),
            row["cost_usd"].as_f64().unwrap_or(0.0)
        );
    }
    let t = &usage.totals;
    println!(
        "usage    total: {} calls, {} errors, ${:.6}, p95 latency {} ms",
        t["requests"],
        t["errors"],
        t["cost_usd"].as_f64().unwrap_or(0.0),
        t["latency_ms_p95"]
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn internal(e: impl std::fmt::Display) -> modelplug_core::Error {
    modelplug_core::Error::internal(format!("demo collector: {e}"))
}
