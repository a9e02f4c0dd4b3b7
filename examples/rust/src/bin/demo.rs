//! `make demo`: starts the mock upstream and a collector (on a fresh SQLite file) in-process,
//! runs the demo scenarios through the core on the embedded defaults of
//! `examples/modelplug.yaml`, changes the central policy on the collector and shows the
//! running client enforce it, and prints the collector's usage report of what they did.

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
    let admin = key_admin::create(&store, KeyKind::Admin, None, None, Some("demo-admin".into()), now)
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
    let collector_url = format!("http://{}", server.addr());
    let public_key = policy::public_key(&collector_url).await?;
    let extra = format!(
        "\ncollector: {{ url: {collector_url}, key: {}, spool_dir: {},\n  policy: {{ public_key: \"{public_key}\", cache_file: {} }} }}\n",
        key.token,
        spool.display(),
        dir.join("policy.json").display()
    );
    let config = modelplug_examples::demo_config_with(&upstream.url(), &extra)?;
    println!("config {} (hash {})", config.source, config.hash);
    let client = Client::new(config)?;
    for line in modelplug_examples::run(&client).await? {
        println!("{line}");
    }
    println!("{}", modelplug_examples::families(&client).await?);
    println!(
        "{}",
        policy::change_and_enforce(&client, &collector_url, &admin.token).await?
    );
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

/// The central-policy scene: an admin changes the policy on the collector; the running client
/// enforces it without a restart.
mod policy {
    use std::time::{Duration, Instant};

    use modelplug_core::{ChatRequest, Client, Error, ErrorKind, Result};

    fn http_error(e: reqwest::Error) -> Error {
        Error::internal(format!("demo policy: {}", e.without_url()))
    }

    /// The collector's policy signing key, for the client's config.
    pub async fn public_key(collector: &str) -> Result<String> {
        let body = modelplug_core::http::build_client()?
            .get(format!("{collector}/v1/policy/public-key"))
            .send()
            .await
            .map_err(http_error)?
            .bytes()
            .await
            .map_err(http_error)?;
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| Error::internal(format!("demo policy: {e}")))?;
        Ok(v["public_key"].as_str().unwrap_or_default().to_owned())
    }

    /// PUTs a rule on the collector, then asks until the running client refuses: the line says
    /// how long that took.
    pub async fn change_and_enforce(client: &Client, collector: &str, admin: &str) -> Result<String> {
        let ask = || ChatRequest::new("local", "Tell me about the merger");
        let rule =
            "guardrails:\n  - { name: no-mergers, kind: deny_topics, topics: [merger], action: block }\n";
        let put = modelplug_core::http::build_client()?
            .put(format!("{collector}/v1/policy"))
            .bearer_auth(admin)
            .header("content-type", "application/yaml")
            .body(rule)
            .send()
            .await
            .map_err(http_error)?;
        if !put.status().is_success() {
            return Err(Error::internal(format!(
                "demo policy: PUT answered {}",
                put.status()
            )));
        }
        let returned = Instant::now();
        loop {
            match client.chat(ask()).await {
                Err(e) if e.kind() == ErrorKind::GuardrailBlocked => {
                    let version = client.policy_status().and_then(|s| s.version).unwrap_or(0);
                    return Ok(format!(
                        "policy   v{version} PUT on the collector → enforced by this running client {:.1} ms later: {}: {}",
                        returned.elapsed().as_secs_f64() * 1000.0,
                        e.code(),
                        e.message()
                    ));
                }
                Err(e) => return Err(e),
                Ok(_) if returned.elapsed() > Duration::from_secs(10) => {
                    return Err(Error::internal(
                        "demo policy: the rule was not enforced within 10 s",
                    ));
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    }
}
