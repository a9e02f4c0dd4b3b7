//! `modelplug-mock-upstream [--port N] [--recordings DIR]`: runs the mock upstream until
//! killed. Prints `listening http://127.0.0.1:PORT` as its first line of output, so that a test
//! runner in any language can start it and read the URL.

use std::io::Write;
use std::path::PathBuf;

fn main() {
    let mut port = 0u16;
    let mut recordings = mock_upstream::recordings::default_dir();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--port", Some(p)) => port = p.parse().unwrap_or_else(|_| fail(&format!("bad port `{p}`"))),
            ("--recordings", Some(d)) => recordings = PathBuf::from(d),
            _ => fail("usage: modelplug-mock-upstream [--port N] [--recordings DIR]"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("cannot start the runtime: {e}")));
    runtime.block_on(async {
        let upstream = mock_upstream::MockUpstream::start_on(port, recordings)
            .await
            .unwrap_or_else(|e| fail(&format!("cannot listen: {e}")));
        println!("listening {}", upstream.url());
        let _ = std::io::stdout().flush();
        let _ = tokio::signal::ctrl_c().await;
    });
}

fn fail(msg: &str) -> ! {
    eprintln!("modelplug-mock-upstream: {msg}");
    std::process::exit(2)
}
