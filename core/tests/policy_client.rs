//! Central policy in a client, against a fake collector that pushes signed events over
//! server-sent events (the real collector's end-to-end tests are in the collector's crate):
//! atomic apply and `policy_version` on events, refused forgeries, the verified disk cache when
//! the collector is down (and a tampered one refused), fail closed, budgets, rate limits,
//! central prices and content capture, and local rules that cannot weaken central ones.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use modelplug_core::policy::Signer;
use modelplug_core::{ChatRequest, Client, Config, ErrorKind};
use modelplug_schema::policy::{
    BudgetPayload, BudgetState, PolicyPayload, PricesPayload, ScopeState, SignedEnvelope,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;

const APP: &str = "policy-app";

/// A collector that only speaks the watch stream (and accepts usage batches).
struct FakeCollector {
    url: String,
    signer: Signer,
    /// Sent to every new watcher first (the current policy and budgets).
    current: Arc<Mutex<Vec<String>>>,
    /// The body of `GET /v1/prices`, if any.
    prices: Arc<Mutex<Option<String>>>,
    push: broadcast::Sender<String>,
    watchers: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeCollector {
    async fn start(seed: [u8; 32]) -> FakeCollector {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let current: Arc<Mutex<Vec<String>>> = Arc::default();
        let (push, _) = broadcast::channel::<String>(64);
        let watchers = Arc::new(AtomicUsize::new(0));
        let prices: Arc<Mutex<Option<String>>> = Arc::default();
        let (c, p, w, pr) = (current.clone(), push.clone(), watchers.clone(), prices.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (current, mut rx, watchers, prices) = (c.clone(), p.subscribe(), w.clone(), pr.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    if head.starts_with("GET /v1/prices") {
                        let body = prices.lock().unwrap().clone().unwrap_or_default();
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = sock.write_all(answer.as_bytes()).await;
                        return;
                    }
                    if !head.starts_with("GET /v1/policy/watch") {
                        // A usage batch: taken.
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                            .await;
                        return;
                    }
                    watchers.fetch_add(1, Ordering::SeqCst);
                    let first: Vec<String> = current.lock().unwrap().clone();
                    let mut out =
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
                            .to_vec();
                    for e in first {
                        out.extend_from_slice(e.as_bytes());
                    }
                    if sock.write_all(&out).await.is_err() {
                        return;
                    }
                    while let Ok(e) = rx.recv().await {
                        if sock.write_all(e.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FakeCollector {
            url,
            signer: Signer::from_seed(&seed).unwrap(),
            current,
            prices,
            push,
            watchers,
            task,
        }
    }

    fn sse(name: &str, envelope: &SignedEnvelope) -> String {
        format!(
            "event: {name}\ndata: {}\n\n",
            serde_json::to_string(envelope).unwrap()
        )
    }

    fn policy_envelope(&self, version: u64, app: &str, policy: Value) -> SignedEnvelope {
        self.policy_envelope_with(version, app, policy, None)
    }

    fn policy_envelope_with(
        &self,
        version: u64,
        app: &str,
        policy: Value,
        catalog: Option<&str>,
    ) -> SignedEnvelope {
        let payload = PolicyPayload {
            kind: "policy".into(),
            version,
            app: app.into(),
            team: None,
            issued_ms: 0,
            policy,
            price_catalog: catalog.map(str::to_owned),
        };
        self.signer.sign(serde_json::to_string(&payload).unwrap())
    }

    /// Makes `policy` version `version` current and pushes it to the watchers.
    fn publish(&self, version: u64, policy: Value) {
        let e = Self::sse("policy", &self.policy_envelope(version, APP, policy));
        self.send(0, e);
    }

    fn publish_budgets(&self, as_of_ms: i64, budgets: Vec<BudgetState>) {
        self.publish_budgets_as(as_of_ms, budgets, false);
    }

    fn publish_budgets_as(&self, as_of_ms: i64, budgets: Vec<BudgetState>, share_pending: bool) {
        let payload = BudgetPayload {
            kind: "budgets".into(),
            app: APP.into(),
            policy_version: 1,
            as_of_ms,
            budgets,
            share_pending,
        };
        let e = Self::sse(
            "budgets",
            &self.signer.sign(serde_json::to_string(&payload).unwrap()),
        );
        self.send(1, e);
    }

    fn send(&self, slot: usize, event: String) {
        {
            let mut c = self.current.lock().unwrap();
            while c.len() <= slot {
                c.push(String::new());
            }
            c[slot] = event.clone();
        }
        let _ = self.push.send(event);
    }
}

impl Drop for FakeCollector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("modelplug-policy-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn config(url: &str, public_key: &str, dir: &std::path::Path, extra: Value) -> Config {
    let mut policy = json!({"public_key": public_key, "cache_file": dir.join("policy.json").to_str().unwrap(),
        "start_timeout_ms": 2000});
    if let Some(p) = extra.get("policy") {
        policy
            .as_object_mut()
            .unwrap()
            .extend(p.as_object().unwrap().clone());
    }
    let mut c = json!({
        "app": APP,
        "models": [{"name": "chat", "deployments": [
            {"name": "primary", "provider": "mock", "model": "echo"},
            {"name": "backup", "provider": "mock", "model": "echo-2"}]}],
        "collector": {"url": url, "key": "mpk_0000000000000000_test", "spool_dir": dir.join("spool").to_str().unwrap(),
            "flush_interval_ms": 20, "policy": policy},
    });
    if let Some(g) = extra.get("guardrails") {
        c["guardrails"] = g.clone();
    }
    Config::from_json_value(&c, &|_| None).unwrap()
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest::new("chat", text)
}

fn deny(topic: &str) -> Value {
    json!({"guardrails": [{"name": "no-mergers", "kind": "deny_topics", "topics": [topic], "action": "block"}]})
}

/// Polls `f` every 10 ms until it holds (10 s at most).
async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !f().await {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_policy_is_enforced_at_once_and_stamped_on_events() {
    let fake = FakeCollector::start([1; 32]).await;
    fake.publish(1, json!({}));
    let dir = temp("push");
    let client = Client::new(config(&fake.url, &fake.signer.public_key(), &dir, json!({}))).unwrap();
    // The first call waits for the first answer: it runs under version 1.
    client.chat(ask("tell me about the merger")).await.unwrap();
    assert_eq!(
        client.usage().last().unwrap().policy_version.as_deref(),
        Some("1")
    );

    fake.publish(2, deny("merger"));
    eventually("the new rule", async || {
        matches!(client.chat(ask("tell me about the merger")).await, Err(e) if e.kind() == ErrorKind::GuardrailBlocked && e.message().contains("no-mergers"))
    })
    .await;
    let last = client.usage().last().unwrap().clone();
    assert_eq!(last.policy_version.as_deref(), Some("2"));
    // Other calls still go through, under version 2.
    let r = client.chat(ask("hello")).await.unwrap();
    assert_eq!(r.text(), "hello");
    // An older version (a replay) is not applied.
    fake.publish(1, json!({}));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(client.chat(ask("the merger")).await.is_err());
    let status = client.policy_status().unwrap();
    assert_eq!(status.version, Some(2));
    assert!(status.connected);
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_signed_by_another_key_or_meant_for_another_app_is_refused() {
    let fake = FakeCollector::start([2; 32]).await;
    fake.publish(1, deny("merger"));
    let dir = temp("forged");
    let client = Client::new(config(&fake.url, &fake.signer.public_key(), &dir, json!({}))).unwrap();
    assert!(client.chat(ask("the merger")).await.is_err());

    // A man in the middle signs a weaker policy with its own key…
    let mitm = Signer::from_seed(&[9; 32]).unwrap();
    let weaker = PolicyPayload {
        kind: "policy".into(),
        version: 7,
        app: APP.into(),
        team: None,
        issued_ms: 0,
        policy: json!({}),
        price_catalog: None,
    };
    let forged = mitm.sign(serde_json::to_string(&weaker).unwrap());
    fake.send(0, FakeCollector::sse("policy", &forged));
    // …or replays the collector's own signature over another app's (weaker) policy.
    let other_app = fake.policy_envelope(8, "another-app", json!({}));
    fake.send(0, FakeCollector::sse("policy", &other_app));
    // …or edits a genuine payload.
    let mut edited = fake.policy_envelope(9, APP, deny("merger"));
    edited.payload = edited.payload.replace("block", "warn");
    fake.send(0, FakeCollector::sse("policy", &edited));

    eventually("three refusals", async || {
        client.policy_status().unwrap().refused >= 3
    })
    .await;
    assert_eq!(client.policy_status().unwrap().version, Some(1));
    let e = client.chat(ask("the merger")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::GuardrailBlocked);
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_policy_on_disk_applies_when_the_collector_is_down_and_a_tampered_copy_does_not() {
    let dir = temp("cache");
    let public_key;
    {
        let fake = FakeCollector::start([3; 32]).await;
        public_key = fake.signer.public_key();
        fake.publish(4, deny("merger"));
        let client = Client::new(config(&fake.url, &public_key, &dir, json!({}))).unwrap();
        assert!(client.chat(ask("the merger")).await.is_err());
        client.close().await.unwrap();
    }
    assert!(dir.join("policy.json").exists());
    // The collector is gone: nothing listens there now.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let client = Client::new(config(&dead, &public_key, &dir, json!({}))).unwrap();
    let e = client.chat(ask("the merger")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::GuardrailBlocked);
    assert_eq!(
        client.usage().last().unwrap().policy_version.as_deref(),
        Some("4")
    );
    client.close().await.unwrap();

    // Someone edits the cached copy to lift the rule: it is refused, whole.
    let path = dir.join("policy.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("block"));
    std::fs::write(&path, text.replace("block", "warn")).unwrap();
    let client = Client::new(config(&dead, &public_key, &dir, json!({}))).unwrap();
    client.chat(ask("the merger")).await.unwrap();
    let status = client.policy_status().unwrap();
    assert_eq!((status.version, status.refused), (None, 1));
    client.close().await.unwrap();

    // With `required: true` and no verified policy at all, calls fail closed.
    let client = Client::new(config(
        &dead,
        &public_key,
        &dir,
        json!({"policy": {"required": true}}),
    ))
    .unwrap();
    let e = client.chat(ask("hello")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert!(e.message().contains("required"), "{e}");
    client.close().await.unwrap();
}

fn budget(mode: &str, lease: f64) -> BudgetState {
    BudgetState {
        name: "app-daily".into(),
        per: "app".into(),
        period: "day".into(),
        period_end_ms: i64::MAX / 2,
        limit_usd: 1.0,
        mode: mode.into(),
        warn_at: 0.8,
        scopes: vec![ScopeState {
            value: APP.into(),
            spent_usd: 1.0 - lease,
            lease_usd: lease,
        }],
        default_lease_usd: 0.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hard_budget_fails_fast_once_the_lease_is_spent_and_a_soft_one_warns() {
    let fake = FakeCollector::start([4; 32]).await;
    // $1,000 per million tokens: a call of "hi" costs a few cents.
    fake.publish(1, json!({"prices": {"mock/echo": {"input": 1000, "output": 1000}, "mock/echo-2": {"input": 1000, "output": 1000}}}));
    fake.publish_budgets(1, vec![budget("hard", 0.05)]);
    let dir = temp("budget");
    let client = Client::new(config(&fake.url, &fake.signer.public_key(), &dir, json!({}))).unwrap();
    let mut spent = 0.0;
    let mut calls = 0;
    let err = loop {
        match client.chat(ask("hi")).await {
            Ok(r) => {
                spent += r.cost_usd.unwrap();
                calls += 1;
                assert!(calls < 100, "the budget never stopped calls");
            }
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::BudgetExceeded);
    assert!(
        err.message().contains("app-daily") && err.message().contains("$1.00"),
        "{err}"
    );
    assert!(!err.message().contains("hi"), "{err}");
    // Stopped after the lease was spent, and by less than one call's cost past it.
    let per_call = spent / f64::from(calls);
    assert!(
        spent >= 0.05 && spent < 0.05 + per_call + 1e-9,
        "spent {spent} in {calls} calls"
    );
    // The collector grants more: calls go on.
    fake.publish_budgets(2, vec![budget("hard", 10.0)]);
    eventually("a new lease", async || client.chat(ask("hi")).await.is_ok()).await;
    // A client that has just joined waits for its share rather than failing.
    fake.publish_budgets_as(4, vec![budget("hard", 0.0)], true);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.chat(ask("hi")).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    fake.publish_budgets(5, vec![budget("hard", 10.0)]);
    waiting.await.unwrap().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
    // A soft budget past its lease only warns, on the event.
    fake.publish_budgets(6, vec![budget("soft", 0.0)]);
    eventually("the soft budget's warning", async || {
        client.chat(ask("hi")).await.unwrap();
        let e = client.usage().last().unwrap().clone();
        e.guardrails
            .iter()
            .any(|g| g.name == "budget:app-daily" && g.action == "warn")
    })
    .await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_route_around_a_deployment_at_its_limit() {
    let fake = FakeCollector::start([5; 32]).await;
    fake.publish(1, json!({"rate_limits": [{"deployment": "primary", "rpm": 2}, {"deployment": "mock/echo-2", "rpm": 1}]}));
    let dir = temp("rpm");
    let client = Client::new(config(&fake.url, &fake.signer.public_key(), &dir, json!({}))).unwrap();
    let mut served = Vec::new();
    for _ in 0..3 {
        served.push(client.chat(ask("hi")).await.unwrap().deployment);
    }
    assert_eq!(served, ["primary", "primary", "backup"]);
    // Both at their limit: RATE_LIMITED at once, with when to try again; no provider was called.
    let e = client.chat(ask("hi")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    let wait = e.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    assert!(e.attempts().is_empty());
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn central_prices_and_content_capture_replace_the_local_ones_and_local_rules_only_add() {
    let fake = FakeCollector::start([6; 32]).await;
    fake.publish(
        3,
        json!({"prices": {"mock/echo": {"input": 2000000, "output": 0}}, "capture_content": true,
               "guardrails": [{"name": "no-mergers", "kind": "deny_topics", "topics": ["merger"], "action": "block"}]}),
    );
    let dir = temp("prices");
    // The local config has a rule of the same name that only warns, and one of its own.
    let local = json!({"guardrails": [
        {"name": "no-mergers", "kind": "deny_topics", "topics": ["merger"], "action": "warn"},
        {"name": "no-acquisitions", "kind": "deny_topics", "topics": ["acquisition"], "action": "block"}]});
    let client = Client::new(config(&fake.url, &fake.signer.public_key(), &dir, local)).unwrap();
    let r = client.chat(ask("hello")).await.unwrap();
    let event = client.usage().last().unwrap().clone();
    assert_eq!(event.price_table_version.as_deref(), Some("policy-3"));
    assert!((r.cost_usd.unwrap() - 2.0 * event.input_tokens as f64).abs() < 1e-9);
    assert!(
        event.content.is_some(),
        "central policy turned content capture on"
    );
    // The central block holds; the local rule adds its own.
    assert_eq!(
        client.chat(ask("the merger")).await.unwrap_err().kind(),
        ErrorKind::GuardrailBlocked
    );
    assert_eq!(
        client.chat(ask("an acquisition")).await.unwrap_err().kind(),
        ErrorKind::GuardrailBlocked
    );
    // Replacing the local rules cannot drop the central ones.
    client.replace_guardrails(&[]).unwrap();
    assert_eq!(
        client.chat(ask("the merger")).await.unwrap_err().kind(),
        ErrorKind::GuardrailBlocked
    );
    client.chat(ask("an acquisition")).await.unwrap();
    assert_eq!(fake.watchers.load(Ordering::SeqCst), 1);
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_price_catalog_from_the_collector_replaces_the_built_in_one() {
    let upstream = mock_upstream::MockUpstream::start().await.unwrap();
    let fake = FakeCollector::start([7; 32]).await;
    // A catalog in the genai-prices format where gpt-4o costs $1,000 per million tokens.
    let data = json!([{"id": "openai", "name": "OpenAI", "api_pattern": "https://api\\.openai\\.com",
        "models": [{"id": "gpt-4o", "match": {"equals": "gpt-4o"},
                    "prices": {"input_mtok": 1000, "output_mtok": 1000}}]}])
    .to_string();
    let prices = PricesPayload {
        kind: "prices".into(),
        version: "collector-test".into(),
        data,
    };
    let envelope = fake.signer.sign(serde_json::to_string(&prices).unwrap());
    *fake.prices.lock().unwrap() = Some(serde_json::to_string(&envelope).unwrap());
    let e = fake.policy_envelope_with(1, APP, json!({}), Some("collector-test"));
    fake.send(0, FakeCollector::sse("policy", &e));

    let dir = temp("catalog");
    let mut config = serde_json::to_value(json!({})).unwrap();
    config["app"] = json!(APP);
    config["models"] = json!([{"name": "chat", "retry": {"attempts": 0}, "deployments": [
        {"provider": "openai", "model": "gpt-4o", "api_key": "sk-test", "base_url": format!("{}/echo/v1", upstream.url())}]}]);
    config["collector"] = json!({"url": fake.url, "key": "mpk_0000000000000000_test",
        "spool_dir": dir.join("spool").to_str().unwrap(),
        "policy": {"public_key": fake.signer.public_key(), "cache_file": dir.join("policy.json").to_str().unwrap()}});
    let client = Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap();
    let r = client.chat(ask("hi")).await.unwrap();
    let event = client.usage().last().unwrap().clone();
    assert_eq!(event.price_table_version.as_deref(), Some("collector-test"));
    let tokens = (event.input_tokens + event.output_tokens) as f64;
    assert!(
        (r.cost_usd.unwrap() - tokens * 1000.0 / 1e6).abs() < 1e-9,
        "{:?}",
        r.cost_usd
    );
    client.close().await.unwrap();

    // The catalog is kept with the policy: with the collector gone, calls are still priced by it.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    config["collector"]["url"] = json!(dead);
    let client = Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap();
    client.chat(ask("hi")).await.unwrap();
    assert_eq!(
        client.usage().last().unwrap().price_table_version.as_deref(),
        Some("collector-test")
    );
    client.close().await.unwrap();
}
