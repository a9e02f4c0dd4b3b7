//! The usage reporter: what it costs a call, how fast it ships, how fast its spool writes and
//! replays.
//!
//! - `enqueue` — the request path's cost while the collector answers (an event handed to the
//!   queue), timed over rounds of 10 000 events that fit the queue, drained between rounds;
//! - `Client::chat` through the mock provider with and without a `collector:`;
//! - throughput — events per second from `enqueue` to acknowledged by a local receiver (a
//!   loopback HTTP server that reads each gzip body and answers 200, so the figure is the
//!   reporter's, not a database's);
//! - the spool — appending events one at a time (the request path while spooling) and 500 at a
//!   time (a batch that could not be sent), and decoding a 10 000-event segment (replay).
//!
//! Run: `cargo bench -p modelplug-bench --bench reporter`.

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use modelplug_core::usage::reporter::spool::{self, RecordKind, Spool, SpoolLimits};
use modelplug_core::usage::{Reporter, ReporterSettings, UsageEvent};
use modelplug_core::{ChatRequest, Client, Config};
use serde_json::json;

/// A receiver that reads each body and answers 200; counts bodies.
async fn start_sink() -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = Arc::new(AtomicU64::new(0));
    let counted = bodies.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let counted = counted.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let counted = counted.clone();
                        async move {
                            let _ = req.into_body().collect().await;
                            counted.fetch_add(1, Ordering::Relaxed);
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"{}"))))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), bodies)
}

fn spool_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("mp-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn mock_config(collector: Option<serde_json::Value>) -> Config {
    let mut config = json!({"app": "bench", "models": [{"name": "m", "deployments": [
        {"provider": "mock", "model": "echo", "mock": {"reply": "Rust is a systems language."}}]}]});
    if let Some(c) = collector {
        config["collector"] = c;
    }
    Config::from_json_value(&config, &|_| None).unwrap()
}

fn a_recorded_event() -> Arc<UsageEvent> {
    let client = Client::new(mock_config(None)).unwrap();
    let request = ChatRequest::new("m", "Give me a short overview of Rust for SDK cores.");
    modelplug_core::runtime::block_on(client.chat(request))
        .unwrap()
        .unwrap();
    client.usage().pop().unwrap()
}

async fn wait_until(mut done: impl FnMut() -> bool) {
    while !done() {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn reporter(c: &mut Criterion) {
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (url, _) = io.block_on(start_sink());
    let event = a_recorded_event();
    let http = reqwest::Client::new();

    let mut settings = ReporterSettings::new(&url, None, "bench");
    settings.spool_dir = spool_dir("enqueue");
    settings.queue_size = 20_000;
    let r = Reporter::start(&settings, http.clone(), "bench".into()).unwrap();
    io.block_on(wait_until(|| !r.stats().spooling));
    c.bench_function("reporter enqueue (request path, collector answering)", |b| {
        // Steady state: rounds of 10 000 events (a batch window opens once per round, as it
        // does about twice a second for a busy client), the queue drained between rounds; the
        // mean per event, times the iterations criterion asked for.
        b.iter_custom(|iters| {
            let rounds = iters.div_ceil(10_000);
            let mut spent = Duration::ZERO;
            for _ in 0..rounds {
                let before = r.stats().delivered;
                let start = Instant::now();
                for _ in 0..10_000 {
                    r.enqueue(black_box(&event));
                }
                spent += start.elapsed();
                io.block_on(wait_until(|| r.stats().delivered >= before + 10_000));
            }
            assert!(!r.stats().spooling, "the queue never overflowed");
            spent.mul_f64(iters as f64 / (rounds * 10_000) as f64)
        })
    });

    // A queue that holds a whole burst, so that the figure is the shipping rate (no event takes
    // the spool path).
    let mut settings = ReporterSettings::new(&url, None, "bench");
    settings.spool_dir = spool_dir("throughput");
    settings.queue_size = 60_000;
    let r = Reporter::start(&settings, http.clone(), "bench".into()).unwrap();
    io.block_on(wait_until(|| !r.stats().spooling));
    let mut group = c.benchmark_group("reporter throughput");
    group.throughput(Throughput::Elements(50_000));
    group.sample_size(10);
    group.bench_function("50 000 events, enqueue to acknowledged", |b| {
        b.iter(|| {
            let before = r.stats().delivered;
            for _ in 0..50_000 {
                r.enqueue(&event);
            }
            io.block_on(wait_until(|| r.stats().delivered >= before + 50_000));
        })
    });
    group.finish();
    assert_eq!(r.stats().spooled, 0, "every event went the queue's way");

    let plain = Client::new(mock_config(None)).unwrap();
    let reported = Client::new(mock_config(Some(
        json!({"url": url, "spool_dir": spool_dir("client").to_str().unwrap()}),
    )))
    .unwrap();
    io.block_on(wait_until(|| !reported.reporter_stats().unwrap().spooling));
    let request = ChatRequest::new("m", "Give me a short overview of Rust for SDK cores.");
    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    c.bench_function("Client::chat through the mock provider, no collector", |b| {
        b.iter(|| caller.block_on(plain.chat(black_box(request.clone()))).unwrap())
    });
    c.bench_function(
        "Client::chat through the mock provider, reporting to a collector",
        |b| {
            b.iter(|| {
                caller
                    .block_on(reported.chat(black_box(request.clone())))
                    .unwrap()
            })
        },
    );
}

fn spool(c: &mut Criterion) {
    let event = a_recorded_event();
    let encoded = serde_json::to_vec(event.as_ref()).unwrap();
    let limits = SpoolLimits {
        max_bytes: u64::MAX,
        max_age: Duration::from_secs(3600),
    };
    let dir = spool_dir("spool");
    let s = Spool::open(&dir, limits).unwrap();
    let mut group = c.benchmark_group("spool");
    group.throughput(Throughput::Elements(1));
    group.bench_function("append one event (encode + write)", |b| {
        b.iter(|| {
            let bytes = serde_json::to_vec(black_box(event.as_ref())).unwrap();
            s.append([(RecordKind::Event, bytes.as_slice())]).unwrap();
        })
    });
    group.throughput(Throughput::Elements(500));
    group.bench_function("append 500 encoded events in one write", |b| {
        b.iter(|| {
            s.append((0..500).map(|_| (RecordKind::Event, encoded.as_slice())))
                .unwrap()
        })
    });
    s.seal();
    let _ = std::fs::remove_dir_all(&dir);

    let mut segment = Vec::new();
    let dir = spool_dir("replay");
    let s = Spool::open(&dir, limits).unwrap();
    s.append((0..10_000).map(|_| (RecordKind::Event, encoded.as_slice())))
        .unwrap();
    s.seal();
    for p in s.segments() {
        segment = std::fs::read(p).unwrap();
    }
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("decode a 10 000-event segment (replay)", |b| {
        b.iter(|| assert_eq!(spool::decode(black_box(&segment)).events.len(), 10_000))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, reporter, spool);
criterion_main!(benches);
