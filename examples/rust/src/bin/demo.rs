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
    let config = modelplug_examples::demo_config(&upstream.url())?;
    println!("config {} (hash {})", config.source, config.hash);
    let client = Client::new(config)?;
    for line in modelplug_examples::run(&client).await? {
        println!("{line}");
    }
    client.close().await?;
    Ok(())
}
