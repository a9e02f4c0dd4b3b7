//! `make demo`: starts the mock upstream in-process and runs the demo scenarios through the
//! core, on the embedded defaults of `examples/modelplug.yaml`.

use mock_upstream::MockUpstream;
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
    // A stand-in for the organisation's collector: usage events are reported to it.
    let (receiver, collector) = upstream.receiver(Vec::new());
    let spool = std::env::temp_dir().join(format!("modelplug-demo-spool-{}", std::process::id()));
    let extra = format!(
        "\ncollector: {{ url: {collector}, key: demo-ingest-key, spool_dir: {} }}\n",
        spool.display()
    );
    let config = modelplug_examples::demo_config_with(&upstream.url(), &extra)?;
    println!("config {} (hash {})", config.source, config.hash);
    let client = Client::new(config)?;
    for line in modelplug_examples::run(&client).await? {
        println!("{line}");
    }
    client.close().await?;
    let got = upstream.received(&receiver);
    println!(
        "report   {} usage events delivered to the collector in {} gzip batches ({} spooled to disk on the way)",
        got.events.len(),
        got.posts,
        client.reporter_stats().map_or(0, |s| s.spooled)
    );
    let _ = std::fs::remove_dir_all(&spool);
    Ok(())
}
