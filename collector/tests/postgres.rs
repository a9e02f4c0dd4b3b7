//! The collector on a real PostgreSQL (started by the tests on a loopback port): the same
//! ingest-and-report scenario as SQLite, and two replicas on one database receiving the same
//! batches and replays at once — each event stored once, totals exact; central policy stored,
//! audited and pushed across two replicas; budget leases divided among the watchers of every
//! live replica.

mod common;

use common::scenario::{Expected, events};
use common::{Collector, pg, post};
use modelplug_collector::DbUrl;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_stored_once_and_reports_add_up_on_postgres() {
    let url = pg::fresh_database("scenario").await;
    let mut c = Collector::on(DbUrl::parse(&url).unwrap(), 0).await;
    common::scenario::ingest_and_report(&c).await;
    assert_eq!(c.stored_ids().await.len(), 900);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_twice_in_one_batch_counts_once() {
    let url = pg::fresh_database("twice").await;
    let mut c = Collector::on(DbUrl::parse(&url).unwrap(), 0).await;
    let key = c.ingest_key("app-t", None).await;
    let e = common::event("app-t", common::now_ms() - 1000, 3);
    let (status, body) = post(&c.url, &key, &[e.clone(), e.clone(), e]).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicate"].as_u64()),
        (Some(1), Some(2)),
        "{body}"
    );
    let r = c.admin_get("/v1/reports/usage?from=1d").await;
    assert_eq!(r["totals"]["requests"], 1);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_database_store_each_event_once_and_add_up_exactly() {
    let url = pg::fresh_database("replicas").await;
    let db = DbUrl::parse(&url).unwrap();
    // Both replicas start (and migrate) at once.
    let (mut a, b) = tokio::join!(Collector::on(db.clone(), 0), Collector::on(db.clone(), 0));
    let mut b = Collector {
        admin: a.admin.clone(),
        ..b
    };
    let key = a.ingest_key("app-r", None).await;
    let sent = events(&["app-r"], 2000);
    let batches: Vec<Vec<Value>> = sent.chunks(200).map(|c| c.to_vec()).collect();
    // Every batch goes to both replicas at the same moment, twice (a lost answer, replayed).
    let mut tasks = Vec::new();
    for batch in &batches {
        for url in [a.url.clone(), b.url.clone(), a.url.clone(), b.url.clone()] {
            let (batch, key) = (batch.clone(), key.clone());
            tasks.push(tokio::spawn(async move { post(&url, &key, &batch).await }));
        }
    }
    let (mut accepted, mut duplicate) = (0, 0);
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
        accepted += body["accepted"].as_u64().unwrap();
        duplicate += body["duplicate"].as_u64().unwrap();
    }
    assert_eq!(accepted, 2000, "each event accepted once across both replicas");
    assert_eq!(duplicate, 3 * 2000);
    let mut ids = b.stored_ids().await;
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2000);
    // Either replica's report equals the sum of what was sent.
    let mut total = Expected::default();
    sent.iter().for_each(|e| total.add(e));
    for c in [&a, &b] {
        let r = c.admin_get("/v1/reports/usage?from=30d&group_by=app").await;
        total.check(&r["rows"][0], "replica report");
        total.check(&r["totals"], "replica totals");
    }
    // A second later the deltas are folded into the rollups (by one replica), and the reports
    // say the same.
    let (db_client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let start = std::time::Instant::now();
    loop {
        let left: i64 = db_client
            .query_one("SELECT count(*) FROM rollup_deltas", &[])
            .await
            .unwrap()
            .get(0);
        if left == 0 {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{left} deltas never folded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for c in [&a, &b] {
        let r = c.admin_get("/v1/reports/usage?from=30d&group_by=app").await;
        total.check(&r["rows"][0], "report after folding");
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_versions_audit_and_push_across_two_replicas_on_postgres() {
    use common::policy::{Watch, named_admin, open, put_policy, verifier};
    let url = pg::fresh_database("policy").await;
    let db = DbUrl::parse(&url).unwrap();
    // Both replicas start (migrate and make the signing key) at once: one key for both.
    let (a, b) = tokio::join!(Collector::on(db.clone(), 0), Collector::on(db.clone(), 0));
    let (mut a, mut b) = (a, b);
    let (va, vb) = (verifier(&a).await, verifier(&b).await);
    assert_eq!(va, vb, "every replica signs with the same key");
    let key = a.ingest_key("app-p", Some("team-p")).await;
    // A watcher on replica B; the change is made on replica A.
    let mut w = Watch::open(&b, &key, "").await;
    let first = w.next().await.unwrap();
    assert_eq!((first.name.as_str(), first.id.as_deref()), ("policy", Some("0")));
    let carol = named_admin(&a, "carol").await;
    let doc = "budgets:\n  - { name: org-day, per: org, period: day, limit_usd: 3 }\n";
    let (status, body) = put_policy(&a, &carol, doc, None).await;
    assert_eq!(status, 201, "{body}");
    let p = w.until(&vb, "policy", |p| p["version"] == 1).await;
    assert_eq!(p["policy"]["budgets"][0]["name"], "org-day");
    w.until(&vb, "budgets", |b| b["policy_version"] == 1).await;
    // A stale If-Match on B: 412; then a rollback made on B is in A's trail.
    b.admin = a.admin.clone();
    let (status, _) = put_policy(&b, &b.admin, "{}", Some("\"0\"")).await;
    assert_eq!(status, 412);
    assert_eq!(
        put_policy(&b, &b.admin, "capture_content: true\n", None).await.0,
        201
    );
    let r = common::http()
        .post(format!("{}/v1/policy/rollback", b.url))
        .bearer_auth(&b.admin)
        .body(r#"{"version": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let history = a.admin_get("/v1/policy/history").await;
    let versions: Vec<(i64, Option<i64>)> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_i64().unwrap(), v["rolled_back_from"].as_i64()))
        .collect();
    assert_eq!(versions, vec![(3, Some(1)), (2, None), (1, None)]);
    assert_eq!(history["versions"][2]["author"], "carol");
    assert_eq!(
        a.admin_get("/v1/policy/versions/3").await["document"].as_str(),
        Some(doc)
    );
    // Replica A learns of B's rollback by polling (every 250 ms): it serves version 3 soon.
    let mut p = Value::Null;
    for _ in 0..50 {
        p = open(
            &va,
            &common::http()
                .get(format!("{}/v1/policy", a.url))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        if p["version"] == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(p["version"], 3, "replica A serves B's rollback within 5 s");
    // Spend counts on either replica.
    let mut e = common::event("app-p", common::now_ms() - 10, 1);
    e["team"] = "team-p".into();
    assert_eq!(post(&a.url, &key, &[e]).await.0, 200);
    let budgets = b.admin_get("/v1/budgets").await;
    assert!(
        budgets["budgets"][0]["scopes"][0]["spent_usd"].as_f64().unwrap() > 0.0,
        "{budgets}"
    );
    a.stop().await;
    b.stop().await;
}

/// The lease of the only scope of budget `name` in a budgets payload, with its spend.
fn lease_of(p: &Value, name: &str) -> Option<(f64, f64)> {
    let b = p["budgets"].as_array()?.iter().find(|b| b["name"] == name)?;
    let scope = &b["scopes"][0];
    Some((scope["lease_usd"].as_f64()?, scope["spent_usd"].as_f64()?))
}

/// Whether a budgets payload hands out `limit - spent` (spent > 0) divided among `n`.
fn lease_is(p: &Value, limit: f64, n: f64) -> bool {
    p["share_pending"] == false
        && lease_of(p, "app-day")
            .is_some_and(|(lease, spent)| spent > 0.0 && (lease - (limit - spent) / n).abs() < 1e-9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_divide_among_the_watchers_of_every_live_replica_on_postgres() {
    use common::policy::{Watch, put_policy, verifier};
    let url = pg::fresh_database("leases").await;
    let db = DbUrl::parse(&url).unwrap();
    let (a, b) = tokio::join!(Collector::on(db.clone(), 0), Collector::on(db.clone(), 0));
    let (mut a, mut b) = (a, b);
    b.admin = a.admin.clone();
    let v = verifier(&a).await;
    let key = a.ingest_key("app-l", Some("team-l")).await;
    let doc = "apps:\n  app-l:\n    budgets:\n      - { name: app-day, per: app, period: day, limit_usd: 6, mode: hard }\n";
    assert_eq!(put_policy(&a, &a.admin, doc, None).await.0, 201);
    let mut e = common::event("app-l", common::now_ms() - 10, 1);
    e["team"] = "team-l".into();
    e["cost_usd"] = 1.5.into();
    assert_eq!(post(&a.url, &key, &[e]).await.0, 200);

    // Two watchers on replica A, one on replica B: every lease is what is left / 3, on both.
    let mut w1 = Watch::open(&a, &key, "").await;
    let mut w2 = Watch::open(&a, &key, "").await;
    let mut w3 = Watch::open(&b, &key, "").await;
    for w in [&mut w1, &mut w2, &mut w3] {
        let p = w.until(&v, "budgets", |p| lease_is(p, 6.0, 3.0)).await;
        assert_eq!(lease_of(&p, "app-day").unwrap(), (1.5, 1.5), "{p}");
    }
    for c in [&a, &b] {
        let all = c.admin_get("/v1/budgets").await;
        assert_eq!(all["budgets"][0]["watchers"], 3, "{all}");
    }
    // The watchers are stored per replica.
    let (pg_client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let rows = pg_client
        .query(
            "SELECT app, team, watchers FROM policy_watchers ORDER BY watchers",
            &[],
        )
        .await
        .unwrap();
    let rows: Vec<(String, String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(
        rows,
        vec![
            ("app-l".into(), "team-l".into(), 1),
            ("app-l".into(), "team-l".into(), 2)
        ]
    );

    // Replica A stops (its watchers' streams end): B's watcher gets all that is left.
    a.stop().await;
    drop((w1, w2));
    w3.until(&v, "budgets", |p| lease_is(p, 6.0, 1.0)).await;

    // A replica that dies without a graceful stop (its rows are left behind, no heartbeat):
    // counted while its rows are fresh, then no more after the staleness window.
    pg_client
        .execute(
            "INSERT INTO policy_watchers (replica, app, team, watchers, seen_ms) \
             VALUES ('gone', 'app-l', 'team-l', 3, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
            &[],
        )
        .await
        .unwrap();
    w3.until(&v, "budgets", |p| lease_is(p, 6.0, 4.0)).await;
    w3.until(&v, "budgets", |p| lease_is(p, 6.0, 1.0)).await;
    b.stop().await;
    let left: i64 = pg_client
        .query_one(
            "SELECT count(*) FROM policy_watchers WHERE replica <> 'gone'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "a replica deletes its rows when it stops");
}
