//! The collector binary killed with SIGKILL in the middle of ingest loses no acknowledged event
//! and leaves nothing half-written (every stored event is in the rollups, once); SIGTERM drains
//! the requests in flight and exits cleanly.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{event, now_ms, post};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_modelplug-collector");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn cli(db: &str, args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).args(["--db", db]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn serve(db: &str, port: u16) -> Child {
    let child = Command::new(BIN)
        .args([
            "serve",
            "--db",
            db,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--events-retention-days",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let h = common::http();
    while h
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the collector did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

/// Senders posting fresh batches until the server stops answering; the ids it acknowledged.
async fn send_until_gone(
    url: String,
    key: String,
    senders: usize,
) -> (Arc<Mutex<HashSet<String>>>, Vec<tokio::task::JoinHandle<()>>) {
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let tasks = (0..senders)
        .map(|s| {
            let (url, key, acked) = (url.clone(), key.clone(), acked.clone());
            tokio::spawn(async move {
                for round in 0.. {
                    let batch: Vec<Value> = (0..200)
                        .map(|i| event("app-k", now_ms() - 1000, (s * 100_000 + round * 200 + i) as u64))
                        .collect();
                    let posted = tokio::time::timeout(Duration::from_secs(5), async {
                        common::http()
                            .post(format!("{url}/v1/events"))
                            .bearer_auth(&key)
                            .header("content-type", "application/json")
                            .header("content-encoding", "gzip")
                            .body(common::gzip(
                                serde_json::json!({"events": batch}).to_string().as_bytes(),
                            ))
                            .send()
                            .await
                    })
                    .await;
                    match posted {
                        Ok(Ok(r)) if r.status() == 200 => {
                            let mut a = acked.lock().unwrap();
                            a.extend(batch.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    (acked, tasks)
}

/// Stored ids, and whether the rollups count each stored event exactly once.
fn stored(db_path: &Path) -> (HashSet<String>, i64, i64) {
    let conn = rusqlite::Connection::open(db_path).unwrap();
    let mut stmt = conn.prepare("SELECT id FROM events").unwrap();
    let ids = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|b| uuid::Uuid::from_slice(&b.unwrap()).unwrap().to_string())
        .collect();
    let count: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    let rolled: i64 = conn
        .query_row(
            "SELECT coalesce(sum(requests), 0) FROM rollups WHERE attr = '' AND period_ms = 3600000",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (ids, count, rolled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_killed_mid_ingest_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let db = format!("sqlite://{}", path.display());
    let key = cli(&db, &["keys", "create", "--app", "app-k"]);
    let port = free_port();
    let mut server = serve(&db, port).await;
    let url = format!("http://127.0.0.1:{port}");
    let (acked, tasks) = send_until_gone(url.clone(), key.clone(), 3).await;
    let start = Instant::now();
    while acked.lock().unwrap().len() < 3000 && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap(); // SIGKILL, batches in flight
    server.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 3000);

    // Restarted on the same file: it recovers and serves.
    let mut again = serve(&db, port).await;
    assert_eq!(post(&url, &key, &[event("app-k", now_ms(), 1)]).await.0, 200);
    // SIGKILL again: the rollups it had not written yet are mended when the store next opens.
    again.kill().unwrap();
    again.wait().unwrap();
    let serving = modelplug_collector::StoreOptions {
        serving: true,
        ..Default::default()
    };
    modelplug_collector::Store::open(&modelplug_collector::DbUrl::Sqlite(path.clone()), &serving)
        .await
        .unwrap()
        .close()
        .await;
    let (ids, count, rolled) = stored(&path);
    let lost: Vec<&String> = acked.iter().filter(|id| !ids.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    assert_eq!(
        count, rolled,
        "every stored event is in the rollups once: nothing half-written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_requests_in_flight_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let db = format!("sqlite://{}", path.display());
    let key = cli(&db, &["keys", "create", "--app", "app-k"]);
    let port = free_port();
    let server = serve(&db, port).await;
    let (acked, tasks) = send_until_gone(format!("http://127.0.0.1:{port}"), key, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Beside the live server: a report and key commands work (and add nothing to the rollups);
    // a second server on the same file is refused.
    let report = cli(&db, &["report", "--from", "1d", "--format", "json"]);
    assert!(report.contains("\"requests\""), "{report}");
    cli(&db, &["keys", "list"]);
    let second = Command::new(BIN)
        .args([
            "serve",
            "--db",
            &db,
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("another collector serves"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success(), "graceful exit: {status:?}");
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let (ids, count, rolled) = stored(&path);
    assert!(!acked.is_empty());
    assert!(acked.iter().all(|id| ids.contains(id)));
    assert_eq!(count, rolled);
    // The admin key made at first start went to a 0600 file beside the database, not the log.
    let key_file = dir.path().join("c.db.admin-key");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key_file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert!(std::fs::read_to_string(&key_file).unwrap().starts_with("mpk_"));
}
