//! `policy-push-bench`: how fast a policy change on the collector reaches running clients, and
//! what each watching client costs the collector (docs/benchmarks.md, "Central policy").
//!
//! ```text
//! policy-push-bench --collector target/…/release/modelplug-collector [--clients 100] [--processes 4] [--rounds 20]
//! ```
//!
//! The collector binary runs as its own process on a fresh SQLite file (so its memory and CPU
//! can be read from /proc). `--processes` child processes (this binary again, `child`
//! subcommand) each build `clients / processes` core clients watching the collector. Each
//! round the parent `PUT`s a new policy and notes when the PUT returned; every child notes, for
//! each of its clients, the wall-clock time the new version was in force in that client (its
//! status read every 200 µs: the swap that admission reads). The figures: the time from the
//! PUT returning to each client enforcing (p50/p95/p99/max over clients × rounds), and the
//! collector's resident memory and CPU time with no watcher and with all of them.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use modelplug_core::{Client, Config};
use serde_json::json;

fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as i64
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        return child(&args);
    }
    if args.get(1).map(String::as_str) == Some("apply-cost") {
        return apply_cost();
    }
    let collector = arg(&args, "--collector").expect("--collector PATH (the modelplug-collector binary)");
    let clients: usize = arg(&args, "--clients").map_or(100, |s| s.parse().unwrap());
    let processes: usize = arg(&args, "--processes").map_or(4, |s| s.parse().unwrap());
    let rounds: usize = arg(&args, "--rounds").map_or(20, |s| s.parse().unwrap());
    parent(&collector, clients, processes, rounds);
}

/// The collector's resident memory (KiB) and CPU time (user + system, in clock ticks).
fn usage_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the `(comm)`: state is 3rd; utime and stime are the 14th and 15th.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let cpu = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    (rss, cpu)
}

fn cli(collector: &str, args: &[&str]) -> String {
    let out = Command::new(collector).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

fn parent(collector: &str, clients: usize, processes: usize, rounds: usize) {
    let dir = std::env::temp_dir().join(format!("policy-push-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("collector.db").display());
    let admin = cli(collector, &["keys", "create", "--admin", "--db", &db]);
    let ingest = cli(collector, &["keys", "create", "--app", "bench", "--db", &db]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(collector)
        .args(["serve", "--db", &db, "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let public_key = rt.block_on(async {
        let start = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{url}/v1/policy/public-key")).send().await
                && r.status().is_success()
            {
                let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
                return v["public_key"].as_str().unwrap().to_owned();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the collector did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let put = |version_marker: usize| -> (i64, i64, u64) {
        rt.block_on(async {
            let body = format!(
                "guardrails:\n  - {{ name: round-{version_marker}, kind: deny_topics, topics: [topic{version_marker}], action: block }}\n"
            );
            let sent = now_us();
            let r = http
                .put(format!("{url}/v1/policy"))
                .bearer_auth(&admin)
                .header("content-type", "application/yaml")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            (sent, now_us(), v["version"].as_u64().unwrap())
        })
    };
    put(0);
    std::thread::sleep(Duration::from_millis(500));
    let idle = usage_of(server.id());

    // The children, each with its share of the clients; their lines come back on one channel.
    let (tx, rx) = mpsc::channel::<String>();
    let mut children: Vec<Child> = Vec::new();
    for p in 0..processes {
        let n = clients / processes + usize::from(p < clients % processes);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "child",
                "--url",
                &url,
                "--key",
                &ingest,
                "--public-key",
                &public_key,
            ])
            .args([
                "--clients",
                &n.to_string(),
                "--dir",
                &dir.join(format!("p{p}")).display().to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        children.push(child);
    }
    let mut ready = 0;
    while ready < processes {
        if rx.recv_timeout(Duration::from_secs(60)).unwrap() == "ready" {
            ready += 1;
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    let before = usage_of(server.id());
    std::thread::sleep(Duration::from_secs(5));
    let watching = usage_of(server.id());

    let mut from_return = Vec::new();
    let mut from_send = Vec::new();
    for round in 1..=rounds {
        let (sent, returned, version) = put(round);
        let mut seen = 0;
        while seen < clients {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("a client never applied the version");
            let mut f = line.split_whitespace();
            if f.next() != Some("applied") {
                continue;
            }
            let v: u64 = f.next().unwrap().parse().unwrap();
            let at: i64 = f.next().unwrap().parse().unwrap();
            if v >= version {
                seen += 1;
                from_return.push((at - returned).max(0) as f64 / 1000.0);
                from_send.push((at - sent) as f64 / 1000.0);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let after = usage_of(server.id());
    for mut c in children {
        let _ = c.stdin.take().map(|mut s| s.write_all(b"stop\n"));
        let _ = c.wait();
    }
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);

    from_return.sort_by(f64::total_cmp);
    from_send.sort_by(f64::total_cmp);
    let ticks = 100.0; // USER_HZ on Linux
    let per_client_kib = (watching.0 as f64 - idle.0 as f64) / clients as f64;
    let idle_cpu_ms_per_client_s = (watching.1 - before.1) as f64 * 1000.0 / ticks / 5.0 / clients as f64;
    let push_cpu_ms = (after.1 - watching.1) as f64 * 1000.0 / ticks / rounds as f64;
    let result = json!({
        "bench": "policy-push", "clients": clients, "processes": processes, "rounds": rounds,
        "ms_from_put_return": {"p50": percentile(&from_return, 0.5), "p95": percentile(&from_return, 0.95),
            "p99": percentile(&from_return, 0.99), "max": from_return.last()},
        "ms_from_put_sent": {"p50": percentile(&from_send, 0.5), "p99": percentile(&from_send, 0.99)},
        "collector_rss_kib": {"no_watchers": idle.0, "watching": watching.0, "per_watcher": per_client_kib},
        "collector_cpu": {"idle_ms_per_watcher_per_s": idle_cpu_ms_per_client_s,
            "ms_per_push_to_all": push_cpu_ms, "ms_per_push_per_watcher": push_cpu_ms / clients as f64},
    });
    println!("{result}");
}

/// A child: `--clients` clients watching; prints `ready` once each has the first version, then
/// `applied <version> <unix µs>` whenever one of them has a newer one in force.
fn child(args: &[String]) {
    let url = arg(args, "--url").unwrap();
    let key = arg(args, "--key").unwrap();
    let public_key = arg(args, "--public-key").unwrap();
    let n: usize = arg(args, "--clients").unwrap().parse().unwrap();
    let dir = std::path::PathBuf::from(arg(args, "--dir").unwrap());
    let clients: Vec<Client> = (0..n)
        .map(|i| {
            let d = dir.join(format!("c{i}"));
            let config = json!({
                "app": "bench",
                "collector": {"url": url, "key": key, "spool_dir": d.join("spool").to_str().unwrap(),
                    "policy": {"public_key": public_key, "cache_file": d.join("policy.json").to_str().unwrap()}},
            });
            Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap()
        })
        .collect();
    let mut seen: Vec<u64> = vec![0; n];
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        s.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let mut out = std::io::stdout().lock();
    let mut announced = false;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        for (i, c) in clients.iter().enumerate() {
            let v = c.policy_status().and_then(|s| s.version).unwrap_or(0);
            if v > seen[i] {
                seen[i] = v;
                if announced {
                    writeln!(out, "applied {v} {}", now_us()).unwrap();
                }
            }
        }
        if !announced && seen.iter().all(|v| *v >= 1) {
            announced = true;
            writeln!(out, "ready").unwrap();
        }
        out.flush().unwrap();
        std::thread::sleep(Duration::from_micros(200));
    }
    for c in &clients {
        let _ = c.close_blocking(Duration::from_secs(2));
    }
}

/// `apply-cost`: what applying one policy update costs a client, step by step (µs, mean of
/// 2,000): checking the signature, reading the payload, validating the effective policy,
/// compiling its rules, and keeping it on disk.
fn apply_cost() {
    use modelplug_core::guardrails::RuleSet;
    use modelplug_core::policy::{EffectivePolicy, PolicyDocument, Signer, Verifier};
    let doc = PolicyDocument::parse(
        "guardrails:\n  - { name: round-1, kind: deny_topics, topics: [topic1], action: block }\n",
        "p",
    )
    .unwrap();
    let payload = json!({"kind": "policy", "version": 1, "app": "bench", "issued_ms": 0,
        "policy": doc.effective_json("bench", None)})
    .to_string();
    let signer = Signer::from_seed(&[5; 32]).unwrap();
    let verifier = Verifier::parse(&signer.public_key()).unwrap();
    let envelope = signer.sign(payload.clone());
    let file = std::env::temp_dir().join(format!("apply-cost-{}.json", std::process::id()));
    const N: u32 = 2000;
    let time = |name: &str, f: &mut dyn FnMut()| {
        for _ in 0..50 {
            f();
        }
        let start = Instant::now();
        for _ in 0..N {
            f();
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(N);
        println!("{name:<28} {us:>8.1} µs");
        us
    };
    let mut total = 0.0;
    total += time("verify signature", &mut || {
        verifier.open(&envelope).unwrap();
    });
    total += time("read the payload (JSON)", &mut || {
        serde_json::from_str::<serde_json::Value>(&payload).unwrap();
    });
    let value: serde_json::Value = serde_json::from_str(&payload).unwrap();
    total += time("validate the policy", &mut || {
        EffectivePolicy::from_json(&value["policy"]).unwrap();
    });
    let eff = EffectivePolicy::from_json(&value["policy"]).unwrap();
    total += time("compile its rules", &mut || {
        RuleSet::compile(&eff.section.guardrails).unwrap();
    });
    let bytes = serde_json::to_vec(&envelope).unwrap();
    total += time("keep it on disk", &mut || {
        let tmp = file.with_extension("tmp");
        std::fs::write(&tmp, &bytes).unwrap();
        std::fs::rename(&tmp, &file).unwrap();
    });
    println!("{:<28} {total:>8.1} µs", "total");
    let _ = std::fs::remove_file(&file);
}
