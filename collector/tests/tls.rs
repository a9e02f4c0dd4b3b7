//! `--tls-cert`/`--tls-key`: the collector listens with TLS (a self-signed certificate made by
//! `openssl` for the test), and a client that trusts it ingests and reads reports.

mod common;

use std::process::Command;

use common::{event, now_ms};
use modelplug_collector::keys::KeyKind;
use modelplug_collector::{DbUrl, ServeOptions, Server, Store, StoreOptions, key_admin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_serves_over_tls_with_a_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    // A test CA, and a certificate for localhost it signs (webpki refuses a CA as the server's).
    let d = dir.path();
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);

    let store = Store::open(&DbUrl::Sqlite(dir.path().join("c.db")), &StoreOptions::default())
        .await
        .unwrap();
    let admin = key_admin::create(&store, KeyKind::Admin, None, None, None, now_ms())
        .await
        .unwrap()
        .token;
    let ingest = key_admin::create(
        &store,
        KeyKind::Ingest,
        Some("app-t".into()),
        None,
        None,
        now_ms(),
    )
    .await
    .unwrap()
    .token;
    let opts = ServeOptions {
        listen: ([127, 0, 0, 1], 0).into(),
        tls: Some((cert.clone(), key)),
        ..Default::default()
    };
    let server = Server::start(store, opts).await.unwrap();
    let url = format!("https://localhost:{}", server.addr().port());

    let _ = rustls::crypto::ring::default_provider().install_default();
    let pem = std::fs::read(d.join("ca.pem")).unwrap();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .resolve("localhost", server.addr())
        .build()
        .unwrap();
    let body = serde_json::json!({"events": [event("app-t", now_ms() - 1000, 1)]}).to_string();
    let r = trusting
        .post(format!("{url}/v1/events"))
        .bearer_auth(&ingest)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report = trusting
        .get(format!("{url}/v1/reports/usage?from=1d"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&report.text().await.unwrap()).unwrap();
    assert_eq!(report["totals"]["requests"], 1);
    // Plain HTTP to the TLS port gets no answer, and a client that does not trust the
    // certificate is refused.
    assert!(
        common::http()
            .get(format!("http://127.0.0.1:{}/healthz", server.addr().port()))
            .send()
            .await
            .is_err()
    );
    let untrusting = reqwest::Client::builder()
        .resolve("localhost", server.addr())
        .build()
        .unwrap();
    assert!(untrusting.get(format!("{url}/healthz")).send().await.is_err());
    server.stop().await;
}
