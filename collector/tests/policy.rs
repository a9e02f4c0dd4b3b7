//! Central policy on SQLite: PUT, GET (admin and ingest, signed, ETag), validation, the audit
//! trail and rollback, what an ingest key may not do, the watch stream, the signing key kept
//! across a restart, and budgets with leases computed from ingested events.

mod common;

use common::policy::{Watch, named_admin, open, put_policy, verifier};
use common::{Collector, event, http, json_of, now_ms, post};
use modelplug_core::policy::PolicyDocument;
use serde_json::{Value, json};

const POLICY: &str = "# the organisation's rules
guardrails:
  - { name: no-pii, kind: pii, action: redact }
models: { blocked: [\"gpt-3.5*\"] }
budgets:
  - { name: org-day, per: org, period: day, limit_usd: 10 }
teams:
  team-a:
    budgets:
      - { name: team-month, per: team, period: month, limit_usd: 2.4, mode: soft }
apps:
  app-b:
    budgets:
      - { name: b-users, per: user, period: day, limit_usd: 1, warn_at: 0.5 }
";

async fn get(c: &Collector, key: &str, path: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", c.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_policy_is_served_to_admins_as_written_and_to_apps_signed_with_an_etag() {
    let mut c = Collector::sqlite().await;
    let key = c.ingest_key("app-a", Some("team-a")).await;
    // No policy yet: version 0, an empty document, still signed.
    let v = verifier(&c).await;
    let none = json_of(get(&c, &c.admin, "/v1/policy").await).await;
    assert_eq!(
        (none["version"].as_i64(), none["document"].as_str()),
        (Some(0), Some(""))
    );
    let r = get(&c, &key, "/v1/policy").await;
    assert_eq!(r.status(), 200);
    let p = open(&v, &r.text().await.unwrap());
    assert_eq!((p["version"].as_i64(), &p["policy"]), (Some(0), &json!({})));

    let (status, body) = put_policy(&c, &c.admin, POLICY, None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["version"], 1);

    let r = get(&c, &c.admin, "/v1/policy").await;
    assert_eq!(r.headers()["etag"], "\"1\"");
    let admin_view = json_of(r).await;
    assert_eq!(admin_view["document"].as_str(), Some(POLICY), "exactly as PUT");

    let r = get(&c, &key, "/v1/policy").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"1\"");
    let p = open(&v, &r.text().await.unwrap());
    assert_eq!(p["kind"], "policy");
    assert_eq!(
        (p["version"].as_i64(), p["app"].as_str(), p["team"].as_str()),
        (Some(1), Some("app-a"), Some("team-a"))
    );
    let doc = PolicyDocument::parse(POLICY, "p").unwrap();
    assert_eq!(p["policy"], doc.effective_json("app-a", Some("team-a")));
    assert_eq!(
        p["policy"]["budgets"].as_array().unwrap().len(),
        2,
        "the org's and team-a's"
    );

    // The same version again: 304, for admins and apps.
    for k in [&key, &c.admin] {
        let r = http()
            .get(format!("{}/v1/policy", c.url))
            .bearer_auth(k)
            .header("if-none-match", "\"1\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
    }
    // The same document again: no new version.
    let (status, body) = put_policy(&c, &c.admin, POLICY, None).await;
    assert_eq!((status, &body), (200, &json!({"version": 1, "unchanged": true})));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_oversized_and_stale_policies_are_refused_and_store_nothing() {
    let mut c = Collector::sqlite().await;
    let bad = "budgets:\n  - { name: x, per: app, period: week, limit_usd: 5 }\nguardrails:\n  - { name: g, kind: nonsense }\n";
    let (status, body) = put_policy(&c, &c.admin, bad, None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_policy");
    let issues: Vec<&str> = body["error"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert!(issues.len() >= 2, "{issues:?}");
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("policy:2:") && i.contains("budgets[0].period")),
        "{issues:?}"
    );
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("policy:4:") && i.contains("guardrails[0].kind")),
        "{issues:?}"
    );
    let history = c.admin_get("/v1/policy/history").await;
    assert_eq!(history["versions"], json!([]));

    // Larger than the bound: 413, unread.
    let big = format!("# {}\n", "x".repeat(modelplug_core::policy::MAX_POLICY_BYTES));
    let (status, body) = put_policy(&c, &c.admin, &big, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("too_large")));

    // Not a policy type.
    let r = http()
        .put(format!("{}/v1/policy", c.url))
        .bearer_auth(&c.admin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=b")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    // If-Match: the version the change was made against.
    let (status, _) = put_policy(&c, &c.admin, "capture_content: false\n", Some("\"0\"")).await;
    assert_eq!(status, 201);
    let (status, body) = put_policy(&c, &c.admin, "capture_content: true\n", Some("\"0\"")).await;
    assert_eq!(
        (status, body["error"]["current_version"].as_i64()),
        (412, Some(1)),
        "{body}"
    );
    let (status, body) = put_policy(&c, &c.admin, "capture_content: true\n", Some("\"1\"")).await;
    assert_eq!((status, body["version"].as_i64()), (201, Some(2)));
    assert_eq!(
        c.admin_get("/v1/policy/history").await["versions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_names_the_admin_key_and_rollback_restores_the_exact_document() {
    let mut c = Collector::sqlite().await;
    let alice = named_admin(&c, "alice").await;
    let bob = named_admin(&c, "bob").await;
    let v1 = "# first\napps:\n  x:\n    budgets:\n      - { name: d, per: app, period: day, limit_usd: 5 }\n";
    let v2 = "apps:\n  x:\n    budgets:\n      - { name: d, per: app, period: day, limit_usd: 7 }\n";
    assert_eq!(put_policy(&c, &alice, v1, None).await.0, 201);
    let (status, body) = put_policy(&c, &bob, v2, None).await;
    assert_eq!(status, 201);
    assert_eq!(
        body["diff"],
        json!([{"path": "apps.x.budgets[0].limit_usd", "change": "changed", "before": 5, "after": 7}])
    );

    let r = http()
        .post(format!("{}/v1/policy/rollback", c.url))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body(r#"{"version": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body = json_of(r).await;
    assert_eq!(
        (body["version"].as_i64(), body["rolled_back_from"].as_i64()),
        (Some(3), Some(1))
    );

    let current = c.admin_get("/v1/policy").await;
    assert_eq!(
        current["document"].as_str(),
        Some(v1),
        "byte for byte, comment included"
    );
    assert_eq!(current["version"], 3);

    let history = c.admin_get("/v1/policy/history").await;
    let versions = history["versions"].as_array().unwrap();
    let summary: Vec<(i64, &str, Option<i64>)> = versions
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["author"].as_str().unwrap(),
                v["rolled_back_from"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![(3, "alice", Some(1)), (2, "bob", None), (1, "alice", None)]
    );
    assert_eq!(versions[0]["diff"][0]["path"], "apps.x.budgets[0].limit_usd");
    assert_eq!(versions[0]["diff"][0]["after"], 5);
    assert!(versions[2]["diff"][0]["change"] == "added");

    let old = c.admin_get("/v1/policy/versions/2").await;
    assert_eq!(
        (old["document"].as_str(), old["author"].as_str()),
        (Some(v2), Some("bob"))
    );
    let r = get(&c, &c.admin, "/v1/policy/versions/9").await;
    assert_eq!(r.status(), 404);
    let r = http()
        .post(format!("{}/v1/policy/rollback", c.url))
        .bearer_auth(&alice)
        .body(r#"{"version": 9}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_key_reads_only_its_own_app_and_changes_nothing() {
    let mut c = Collector::sqlite().await;
    let key = c.ingest_key("app-a", Some("team-a")).await;
    assert_eq!(put_policy(&c, &c.admin, POLICY, None).await.0, 201);
    for path in [
        "/v1/policy?app=app-b",
        "/v1/policy?team=team-b",
        "/v1/budgets?app=app-b",
        "/v1/policy/watch?app=app-b",
        "/v1/policy/history",
        "/v1/policy/versions/1",
    ] {
        assert_eq!(get(&c, &key, path).await.status(), 403, "{path}");
    }
    assert_eq!(put_policy(&c, &key, "{}", None).await.0, 403);
    let r = http()
        .post(format!("{}/v1/policy/rollback", c.url))
        .bearer_auth(&key)
        .body(r#"{"version": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Its own app, named or not, is fine.
    assert_eq!(get(&c, &key, "/v1/policy?app=app-a").await.status(), 200);
    let own = json_of(get(&c, &key, "/v1/budgets").await).await;
    assert_eq!(own["app"], "app-a");
    assert!(
        own["budgets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["name"] != "b-users")
    );
    // No key: 401; the public key needs none.
    assert_eq!(
        http()
            .get(format!("{}/v1/policy", c.url))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        http()
            .get(format!("{}/v1/policy/watch", c.url))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_gets_the_policy_at_once_then_each_new_version_and_shutdown_ends_the_stream() {
    let mut c = Collector::sqlite().await;
    let key = c.ingest_key("app-a", Some("team-a")).await;
    let v = verifier(&c).await;
    assert_eq!(put_policy(&c, &c.admin, POLICY, None).await.0, 201);
    let mut w = Watch::open(&c, &key, "").await;
    let first = w.next().await.unwrap();
    assert_eq!((first.name.as_str(), first.id.as_deref()), ("policy", Some("1")));
    let p = open(&v, &first.data);
    assert_eq!(
        (p["version"].as_i64(), p["app"].as_str()),
        (Some(1), Some("app-a"))
    );
    let budgets = w.next().await.unwrap();
    assert_eq!(budgets.name, "budgets");
    let b = open(&v, &budgets.data);
    assert_eq!(
        (
            b["kind"].as_str(),
            b["app"].as_str(),
            b["policy_version"].as_i64()
        ),
        (Some("budgets"), Some("app-a"), Some(1))
    );
    assert_eq!(b["budgets"].as_array().unwrap().len(), 2);
    // A new watcher's share is withheld until the others have been told theirs; then it comes.
    assert_eq!(b["share_pending"], true);
    assert_eq!(b["budgets"][0]["scopes"][0]["lease_usd"], 0.0);
    let shared = w.until(&v, "budgets", |b| b["share_pending"] == false).await;
    assert_eq!(
        budget(&shared, "org-day")["scopes"][0]["lease_usd"],
        10.0,
        "{shared}"
    );

    let (status, _) = put_policy(&c, &c.admin, "capture_content: false\n", None).await;
    assert_eq!(status, 201);
    let p = w.until(&v, "policy", |p| p["version"] == 2).await;
    assert_eq!(p["policy"], json!({"capture_content": false}));
    // The budgets of version 2 (none) follow.
    w.until(&v, "budgets", |b| {
        b["policy_version"] == 2 && b["budgets"] == json!([])
    })
    .await;

    let metrics = http()
        .get(format!("{}/metrics", c.url))
        .bearer_auth(&c.admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("modelplug_collector_policy_watchers 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("modelplug_collector_policy_version 2"),
        "{metrics}"
    );

    // Stopping with the stream open: it ends, and the stop does not wait out the grace period.
    let started = std::time::Instant::now();
    c.stop().await;
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(w.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_collector_serves_the_same_version_signed_with_the_same_key() {
    let mut c = Collector::sqlite().await;
    assert_eq!(put_policy(&c, &c.admin, POLICY, None).await.0, 201);
    let key_before = json_of(
        http()
            .get(format!("{}/v1/policy/public-key", c.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let port = c.port();
    c.stop().await;
    let mut again = Collector::on(c.db.clone(), port).await;
    let key_after = json_of(
        http()
            .get(format!("{}/v1/policy/public-key", again.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(key_before, key_after);
    let v = verifier(&again).await;
    let ingest = again.ingest_key("app-b", None).await;
    let p = open(
        &v,
        &get(&again, &ingest, "/v1/policy").await.text().await.unwrap(),
    );
    assert_eq!(p["version"], 1);
    assert_eq!(
        again.admin_get("/v1/policy").await["document"].as_str(),
        Some(POLICY)
    );
    again.stop().await;
}

fn priced(app: &str, team: &str, user: &str, cost: f64, i: u64) -> Value {
    let mut e = event(app, now_ms() - 10, i);
    e["team"] = json!(team);
    e["user"] = json!(user);
    e["cost_usd"] = json!(cost);
    e
}

fn budget<'a>(payload: &'a Value, name: &str) -> &'a Value {
    payload["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("no budget {name} in {payload}"))
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_count_priced_events_and_leases_divide_among_watchers() {
    let mut c = Collector::sqlite().await;
    let v = verifier(&c).await;
    let key_a = c.ingest_key("app-a", Some("team-a")).await;
    let key_b = c.ingest_key("app-b", Some("team-b")).await;
    assert_eq!(put_policy(&c, &c.admin, POLICY, None).await.0, 201);
    // Two clients of app-a and one of app-b watch.
    let mut w1 = Watch::open(&c, &key_a, "").await;
    let _w2 = Watch::open(&c, &key_a, "").await;
    let _w3 = Watch::open(&c, &key_b, "").await;

    let a_events: Vec<Value> = (0..4).map(|i| priced("app-a", "team-a", "u-a", 0.5, i)).collect();
    assert_eq!(post(&c.url, &key_a, &a_events).await.0, 200);
    let b_events = vec![
        priced("app-b", "team-b", "user-1", 0.4, 1),
        priced("app-b", "team-b", "user-1", 0.4, 2),
        priced("app-b", "team-b", "user-2", 0.1, 3),
    ];
    assert_eq!(post(&c.url, &key_b, &b_events).await.0, 200);

    // The push: app-a's watcher learns its team's spend and, once both batches are read (they
    // may land in two budget reads), the organisation's.
    let spent = |b: &Value, name: &str, want: f64| {
        b["budgets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == name && close(&x["scopes"][0]["spent_usd"], want))
    };
    let pushed = w1
        .until(&v, "budgets", |b| {
            spent(b, "team-month", 2.0) && spent(b, "org-day", 2.9)
        })
        .await;
    let org = budget(&pushed, "org-day");
    assert!(close(&org["scopes"][0]["spent_usd"], 2.9), "{org}");

    // The admin view: every scope, with its state.
    let all = c.admin_get("/v1/budgets").await;
    let team = budget(&all, "team-month");
    assert_eq!(team["section"], "team:team-a");
    let scope = &team["scopes"][0];
    assert_eq!(team["scopes"].as_array().unwrap().len(), 1, "{team}");
    assert_eq!(
        (&scope["value"], &scope["spent_usd"], &scope["state"]),
        (&json!("team-a"), &json!(2.0), &json!("near"))
    );
    common::assert_forecast(team, scope, all["as_of_ms"].as_i64().unwrap());
    let users = budget(&all, "b-users");
    assert_eq!(users["scopes"][0]["value"], "user-1");
    assert_eq!(users["scopes"][0]["state"], "near");
    assert_eq!(users["scopes"][1]["state"], "ok");
    assert_eq!(budget(&all, "org-day")["scopes"][0]["state"], "ok");

    // app-a's own state: leases divided among the watchers of each scope.
    let a = json_of(get(&c, &key_a, "/v1/budgets").await).await;
    assert_eq!(a["budgets"].as_array().unwrap().len(), 2, "{a}");
    let org = budget(&a, "org-day");
    assert!(close(&org["scopes"][0]["lease_usd"], (10.0 - 2.9) / 3.0), "{org}");
    let team = budget(&a, "team-month");
    assert_eq!(team["mode"], "soft");
    assert!(
        close(&team["scopes"][0]["lease_usd"], (2.4 - 2.0) / 2.0),
        "{team}"
    );
    // app-b: its user budget lists the user past warn_at, not the other.
    let b = json_of(get(&c, &key_b, "/v1/budgets").await).await;
    let users = budget(&b, "b-users");
    assert_eq!(users["scopes"].as_array().unwrap().len(), 1, "{users}");
    assert_eq!(users["scopes"][0]["value"], "user-1");
    assert!(close(&users["scopes"][0]["lease_usd"], 0.2), "{users}");
    assert!(close(&users["default_lease_usd"], 0.5), "{users}");
    c.stop().await;
}

/// This collector's stored watcher rows: (app, team, watchers).
fn stored_watchers(c: &Collector) -> Vec<(String, String, i64)> {
    let path = c.dir.as_ref().unwrap().path().join("collector.db");
    let db =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = db
        .prepare("SELECT app, team, watchers FROM policy_watchers ORDER BY app, team")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Waits (at most 20 s) until the stored watcher rows are `want`.
async fn until_stored(c: &Collector, want: &[(&str, &str, i64)]) {
    let want: Vec<(String, String, i64)> = want
        .iter()
        .map(|(a, t, n)| (a.to_string(), t.to_string(), *n))
        .collect();
    let start = std::time::Instant::now();
    loop {
        let rows = stored_watchers(c);
        if rows == want {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "stored watchers {rows:?}, want {want:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_counts_are_stored_and_a_watcher_that_leaves_gives_its_share_back() {
    let mut c = Collector::sqlite().await;
    let v = verifier(&c).await;
    let key_a = c.ingest_key("app-a", Some("team-a")).await;
    let key_c = c.ingest_key("app-c", None).await;
    assert_eq!(put_policy(&c, &c.admin, POLICY, None).await.0, 201);
    let lease = |p: &Value| budget(p, "org-day")["scopes"][0]["lease_usd"].as_f64();
    let mut w1 = Watch::open(&c, &key_a, "").await;
    let w2 = Watch::open(&c, &key_a, "").await;
    let w3 = Watch::open(&c, &key_c, "").await;
    // The organisation's budget: 10 among 3 watchers.
    w1.until(&v, "budgets", |p| {
        p["share_pending"] == false && lease(p).is_some_and(|l| (l - 10.0 / 3.0).abs() < 1e-9)
    })
    .await;
    // Stored per (app, team), a team-less app with an empty team.
    until_stored(&c, &[("app-a", "team-a", 2), ("app-c", "", 1)]).await;
    // Two leave: the one left gets all of it, and the rows follow.
    drop((w2, w3));
    w1.until(&v, "budgets", |p| lease(p) == Some(10.0)).await;
    until_stored(&c, &[("app-a", "team-a", 1)]).await;
    assert_eq!(c.admin_get("/v1/budgets").await["budgets"][0]["watchers"], 1);
    // A graceful stop deletes them.
    c.stop().await;
    assert_eq!(stored_watchers(&c), vec![]);
}
