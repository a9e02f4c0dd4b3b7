//! The reporter's enqueue in a loop (for `perf` or callgrind): 10 000-event rounds into a
//! reporter whose collector (a loopback server answering 200) takes them.
use std::time::{Duration, Instant};
fn main() {
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = io.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    io.spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = vec![0u8; 1 << 20];
                let mut pending = Vec::new();
                loop {
                    let n = match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    pending.extend_from_slice(&buf[..n]);
                    // One request per read cycle is enough for this loop: answer once the body is in.
                    if let Some(h) = memchr_find(&pending, b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&pending[..h]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("content-length: ")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if pending.len() >= h + 4 + len {
                            pending.drain(..h + 4 + len);
                            let _ = s
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                                .await;
                        }
                    }
                }
            });
        }
    });
    let client = modelplug_core::Client::new(modelplug_core::Config::from_json_value(&serde_json::json!({"models": [{"name": "m", "deployments": [{"provider": "mock", "model": "echo"}]}]}), &|_| None).unwrap()).unwrap();
    modelplug_core::runtime::block_on(client.chat(modelplug_core::ChatRequest::new("m", "hello there")))
        .unwrap()
        .unwrap();
    let event = client.usage().pop().unwrap();
    let mut s = modelplug_core::usage::ReporterSettings::new(&url, None, "enq");
    s.spool_dir = std::env::temp_dir().join("mp-enq-loop");
    s.queue_size = std::env::var("Q").map_or(20_000, |v| v.parse().unwrap());
    let r = modelplug_core::usage::Reporter::start(&s, reqwest::Client::new(), "x".into()).unwrap();
    while r.stats().spooling {
        std::thread::sleep(Duration::from_millis(1));
    }
    let n: u64 = std::env::var("N").map_or(10_000, |v| v.parse().unwrap());
    let mut spent = Duration::ZERO;
    let all = Instant::now();
    for _ in 0..20 {
        let before = r.stats().delivered;
        let t = Instant::now();
        for _ in 0..n {
            r.enqueue(&event);
        }
        spent += t.elapsed();
        while r.stats().delivered < before + n {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    println!(
        "enqueue: {:?} per event; {:.0} events/s enqueue to acknowledged; spooled {}",
        spent / (20 * n as u32),
        (20 * n) as f64 / all.elapsed().as_secs_f64(),
        r.stats().spooled
    );
}
fn memchr_find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}
