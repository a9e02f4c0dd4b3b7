//! The usage reporter against a receiving server (the mock upstream's stand-in for the
//! collector's ingest API): events arrive gzipped with the key, each once; a collector that is
//! down, failing, slow or asking to wait loses nothing (the disk spool); a process killed with
//! SIGKILL mid-run loses nothing (its spool is replayed by the next one); the spool bound holds
//! and what it dropped is reported; processes sharing a spool never send an event twice; no
//! prompt text or key reaches the spool or the events.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mock_upstream::MockUpstream;
use mock_upstream::receiver::{Received, ReceiverStep};
use modelplug_core::{ChatRequest, Client, Config};
use serde_json::{Value, json};

const PROMPT: &str = "the quarterly numbers for project nightingale";
const KEY: &str = "mp-ingest-key-7f3a9c";

fn spool_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mp-reporter-{name}-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn client(url: &str, spool: &Path, extra: Value) -> Client {
    let mut collector = json!({"url": url, "key": KEY, "spool_dir": spool.to_str().unwrap(),
        "flush_interval_ms": 20, "timeout_ms": 300});
    if let (Some(c), Some(e)) = (collector.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    let config = json!({"app": "reporter-test", "collector": collector, "models": [{"name": "m",
        "retry": {"attempts": 0}, "deployments": [{"provider": "mock", "model": "echo"}]}]});
    Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap()
}

fn request() -> ChatRequest {
    ChatRequest::new("m", PROMPT)
}

async fn calls(client: &Client, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        client.chat(request()).await.unwrap();
        ids.push(client.usage().last().unwrap().id.clone());
    }
    ids
}

fn ids(received: &Received) -> Vec<String> {
    received
        .events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Polls until `done` holds or 10 s pass (the reporter works in the background).
async fn eventually(mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Equal JSON, numbers within a relative 1e-9 (the receiver's float parsing may differ in the
/// last digit).
fn same_json(a: &Value, b: &Value) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-9 * x.abs().max(y.abs()), "{x} != {y}");
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>());
            for (k, v) in x {
                same_json(v, &y[k]);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len());
            x.iter().zip(y).for_each(|(a, b)| same_json(a, b));
        }
        _ => assert_eq!(a, b),
    }
}

fn segment_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        all.extend(std::fs::read(entry.path()).unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_collector_gzipped_with_the_key_each_once() {
    let mock = MockUpstream::start().await.unwrap();
    let (rid, url) = mock.receiver(vec![]);
    let spool = spool_dir("deliver");
    let c = client(&url, &spool, json!({}));
    let sent = calls(&c, 25).await;
    c.flush(Duration::from_secs(5)).await.unwrap();
    let got = mock.received(&rid);
    assert_eq!(sorted(ids(&got)), sorted(sent));
    assert_eq!(got.duplicates, 0);
    assert!(got.all_gzip);
    assert!(got.authorization.iter().all(|a| a == &format!("Bearer {KEY}")));
    // Every event is the schema-1 event the client recorded.
    let local = serde_json::to_value(c.usage().last().unwrap().as_ref()).unwrap();
    let remote = got.events.iter().find(|e| e["id"] == local["id"]).unwrap();
    same_json(remote, &local);
    let stats = c.reporter_stats().unwrap();
    assert_eq!(stats.delivered, 25);
    assert!(!stats.spooling);
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_collector_loses_nothing_and_the_spool_holds_no_prompt_or_key() {
    let mock = MockUpstream::start().await.unwrap();
    let (rid, url) = mock.receiver(vec![ReceiverStep {
        status: Some(500),
        ..Default::default()
    }]);
    let spool = spool_dir("failing");
    let c = client(&url, &spool, json!({}));
    let sent = calls(&c, 40).await;
    c.flush(Duration::from_secs(5)).await.unwrap();
    assert!(c.reporter_stats().unwrap().spooling);
    assert!(mock.received(&rid).events.is_empty());
    let bytes = segment_bytes(&spool);
    assert!(!bytes.is_empty(), "events are spooled while the collector fails");
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("nightingale") && !text.contains(KEY));
    // The collector recovers: everything arrives, once.
    mock.set_receiver_steps(&rid, vec![]);
    c.flush(Duration::from_secs(5)).await.unwrap();
    let got = mock.received(&rid);
    assert_eq!(sorted(ids(&got)), sorted(sent));
    assert!(!c.reporter_stats().unwrap().spooling);
    c.close().await.unwrap();
    assert!(segment_bytes(&spool).is_empty(), "a replayed spool is emptied");
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_collector_that_stores_but_answers_late_never_double_counts() {
    let mock = MockUpstream::start().await.unwrap();
    // Stores the batch, but answers after the client gave up: the client spools and resends.
    let (rid, url) = mock.receiver(vec![]);
    let spool = spool_dir("slow");
    let c = client(&url, &spool, json!({"timeout_ms": 150}));
    // Once the start-up probe got through, the next batch is stored but answered too late.
    eventually(|| !c.reporter_stats().unwrap().spooling).await;
    mock.set_receiver_steps(
        &rid,
        vec![
            ReceiverStep {
                delay_ms: 600,
                ..Default::default()
            },
            ReceiverStep::default(),
        ],
    );
    let sent = calls(&c, 10).await;
    eventually(|| mock.received(&rid).posts >= 2 && !c.reporter_stats().unwrap().spooling).await;
    c.flush(Duration::from_secs(5)).await.unwrap();
    let got = mock.received(&rid);
    assert_eq!(sorted(ids(&got)), sorted(sent), "each event stored once");
    assert!(got.duplicates > 0, "the late-answered batch was sent again");
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_collector_spools_and_a_later_process_replays() {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let spool = spool_dir("unreachable");
    let first = client(&dead, &spool, json!({}));
    let sent = calls(&first, 15).await;
    first.close().await.unwrap();
    assert!(!segment_bytes(&spool).is_empty());

    let mock = MockUpstream::start().await.unwrap();
    let (rid, url) = mock.receiver(vec![]);
    let second = client(&url, &spool, json!({}));
    eventually(|| mock.received(&rid).events.len() >= 15).await;
    assert_eq!(sorted(ids(&mock.received(&rid))), sorted(sent));
    second.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spool_bound_holds_and_drops_are_reported() {
    let mock = MockUpstream::start().await.unwrap();
    let (rid, url) = mock.receiver(vec![ReceiverStep {
        status: Some(503),
        ..Default::default()
    }]);
    let spool = spool_dir("bound");
    let c = client(&url, &spool, json!({"spool_max_mb": 1}));
    // Each event is ~1 KB: 1 MB holds about a thousand.
    let sent = calls(&c, 1600).await;
    c.flush(Duration::from_secs(5)).await.unwrap();
    let stats = c.reporter_stats().unwrap();
    assert!(stats.dropped > 0, "the bound was hit");
    let on_disk: u64 = std::fs::read_dir(&spool)
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(on_disk <= 1 << 20, "spool holds {on_disk} bytes");
    mock.set_receiver_steps(&rid, vec![]);
    c.flush(Duration::from_secs(10)).await.unwrap();
    let got = mock.received(&rid);
    assert_eq!(got.events.len() as u64 + stats.dropped, sent.len() as u64);
    assert_eq!(got.dropped, stats.dropped, "the drop count reached the collector");
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_sharing_a_spool_directory_never_send_an_event_twice() {
    let mock = MockUpstream::start().await.unwrap();
    let (rid, url) = mock.receiver(vec![ReceiverStep {
        status: Some(503),
        ..Default::default()
    }]);
    let spool = spool_dir("shared");
    let (a, b) = (client(&url, &spool, json!({})), client(&url, &spool, json!({})));
    let (sa, sb) = tokio::join!(calls(&a, 30), calls(&b, 30));
    mock.set_receiver_steps(&rid, vec![]);
    // Both replay at once, each claiming the other's sealed segments too.
    let (fa, fb) = tokio::join!(a.flush(Duration::from_secs(5)), b.flush(Duration::from_secs(5)));
    fa.unwrap();
    fb.unwrap();
    a.close().await.unwrap();
    b.close().await.unwrap();
    let got = mock.received(&rid);
    assert_eq!(sorted(ids(&got)), sorted([sa, sb].concat()));
    assert_eq!(got.duplicates, 0);
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_is_retried_later_and_events_carry_no_content_by_default() {
    let mock = MockUpstream::start().await.unwrap();
    let (rid, url) = mock.receiver(vec![
        ReceiverStep {
            status: Some(429),
            retry_after_s: Some(1),
            ..Default::default()
        },
        ReceiverStep::default(),
    ]);
    let spool = spool_dir("retry-after");
    let c = client(&url, &spool, json!({}));
    let sent = calls(&c, 3).await;
    eventually(|| mock.received(&rid).events.len() >= 3).await;
    let got = mock.received(&rid);
    assert_eq!(sorted(ids(&got)), sorted(sent));
    for e in &got.events {
        assert!(e.get("content").is_none());
        assert!(!e.to_string().contains("nightingale"));
    }
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&spool);
}

/// The crash test's child: calls until killed, printing each recorded event's id after the
/// call returned. Run by `a_process_killed_mid_run_loses_nothing_and_doubles_nothing`.
#[test]
#[ignore = "run as a child process by the crash test"]
fn crash_child() {
    let (Ok(url), Ok(spool)) = (std::env::var("MP_CRASH_URL"), std::env::var("MP_CRASH_SPOOL")) else {
        return;
    };
    let extra = std::env::var("MP_CRASH_EXTRA").map_or(json!({}), |e| serde_json::from_str(&e).unwrap());
    let c = client(&url, Path::new(&spool), extra);
    modelplug_core::runtime::block_on(async {
        for _ in 0..100_000 {
            c.chat(request()).await.unwrap();
            println!("ID {}", c.usage().last().unwrap().id);
        }
    })
    .unwrap();
}

/// The id on one line of the crash child's output. libtest writes `test crash_child ... `
/// with no newline before the child's first line, so the marker is looked for anywhere.
fn child_id(line: &str) -> Option<&str> {
    line.split_once("ID ").map(|(_, id)| id.trim())
}

/// Runs the crash child against `url` with `extra` collector settings, SIGKILLs it once it has
/// printed 300 ids; returns every id it printed.
fn run_and_kill_child(url: &str, spool: &Path, extra: Value) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MP_CRASH_URL", url)
        .env("MP_CRASH_SPOOL", spool)
        .env("MP_CRASH_EXTRA", extra.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut printed = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while printed.len() < 300 {
        let line = lines.next().expect("the child prints ids").unwrap();
        if let Some(id) = child_id(&line) {
            printed.push(id.to_owned());
        }
    }
    // SIGKILL mid-run: no close, no flush, no exit hook.
    child.kill().unwrap();
    child.wait().unwrap();
    // Whatever the child printed before it died.
    for line in lines.map_while(Result::ok) {
        if let Some(id) = child_id(&line) {
            printed.push(id.to_owned());
        }
    }
    printed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_mid_run_loses_nothing_and_doubles_nothing() {
    let mock = MockUpstream::start().await.unwrap();
    let (rid, url) = mock.receiver(vec![ReceiverStep {
        status: Some(503),
        ..Default::default()
    }]);
    let spool = spool_dir("crash");
    let printed = run_and_kill_child(&url, &spool, json!({}));
    assert!(mock.received(&rid).events.is_empty());

    // A restarted process replays the spool once the collector is back.
    mock.set_receiver_steps(&rid, vec![]);
    let restarted = client(&url, &spool, json!({}));
    restarted.flush(Duration::from_secs(10)).await.unwrap();
    let got = mock.received(&rid);
    let received = ids(&got);
    let unique: std::collections::HashSet<&String> = received.iter().collect();
    assert_eq!(unique.len(), received.len(), "0 doubled");
    assert_eq!(got.duplicates, 0);
    for id in &printed {
        assert!(unique.contains(id), "0 lost: {id} was recorded before the kill");
    }
    // At most the call that was recording as the kill landed is there unprinted.
    assert!(
        received.len() <= printed.len() + 1,
        "{} received, {} printed",
        received.len(),
        printed.len()
    );
    restarted.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_write_through_a_kill_while_the_collector_answers_loses_nothing() {
    let mock = MockUpstream::start().await.unwrap();
    let (rid, url) = mock.receiver(vec![]);
    let spool = spool_dir("write-through");
    let printed = run_and_kill_child(&url, &spool, json!({"write_through": true}));
    let restarted = client(&url, &spool, json!({}));
    restarted.flush(Duration::from_secs(10)).await.unwrap();
    let got = mock.received(&rid);
    let unique: std::collections::HashSet<String> = ids(&got).into_iter().collect();
    for id in &printed {
        assert!(unique.contains(id), "0 lost: {id} was recorded before the kill");
    }
    // Nothing phantom: besides what the child printed, only the call recording as the kill
    // landed.
    assert!(
        unique.len() <= printed.len() + 1,
        "{} received, {} printed",
        unique.len(),
        printed.len()
    );
    restarted.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_spooling_into_one_directory_at_once_lose_and_double_nothing() {
    let mock = MockUpstream::start().await.unwrap();
    let (rid, url) = mock.receiver(vec![ReceiverStep {
        status: Some(503),
        ..Default::default()
    }]);
    let spool = spool_dir("two-processes");
    // Two processes of one app write the same spool directory at the same time.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run_and_kill_child(&url, &spool, json!({})));
        let b = s.spawn(|| run_and_kill_child(&url, &spool, json!({})));
        (a.join().unwrap(), b.join().unwrap())
    });
    mock.set_receiver_steps(&rid, vec![]);
    let restarted = client(&url, &spool, json!({}));
    restarted.flush(Duration::from_secs(10)).await.unwrap();
    let got = mock.received(&rid);
    assert_eq!(got.duplicates, 0);
    let unique: std::collections::HashSet<String> = ids(&got).into_iter().collect();
    for id in a.iter().chain(&b) {
        assert!(unique.contains(id), "0 lost: {id}");
    }
    // Nothing phantom: besides what the children printed, only the call each was recording
    // as its kill landed.
    assert!(
        unique.len() <= a.len() + b.len() + 2,
        "{} received, {} + {} printed",
        unique.len(),
        a.len(),
        b.len()
    );
    restarted.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&spool);
}
