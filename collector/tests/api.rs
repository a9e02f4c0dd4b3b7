//! The collector's API on SQLite (the embedded default): ingest, idempotency, reports that add
//! up, keys and what each may do, the bad-input corpus, health and metrics.

mod common;

use common::{Collector, event, http, json_of, now_ms, post, post_body};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_stored_once_and_reports_add_up() {
    let mut c = Collector::sqlite().await;
    common::scenario::ingest_and_report(&c).await;
    assert_eq!(c.stored_ids().await.len(), 900);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_refuses_a_missing_or_wrong_key_and_ingest_keys_only_ingest() {
    let mut c = Collector::sqlite().await;
    let key = c.ingest_key("app-a", None).await;
    let h = http();
    let forged = format!("{}x", &key[..key.len() - 1]);
    let endpoints = [
        ("GET", "/v1/reports/usage"),
        ("GET", "/v1/events"),
        ("POST", "/v1/events"),
        ("GET", "/v1/keys"),
        ("POST", "/v1/keys"),
        ("POST", "/v1/keys/0123456789abcdef/revoke"),
        ("POST", "/v1/keys/0123456789abcdef/rotate"),
        ("GET", "/metrics"),
    ];
    for (method, path) in endpoints {
        let url = format!("{}{path}", c.url);
        for auth in [
            None,
            Some("Bearer nonsense".to_owned()),
            Some(format!("Bearer {forged}")),
            Some(key.clone()),
        ] {
            let mut r = h
                .request(method.parse().unwrap(), &url)
                .header("content-type", "application/json")
                .body("{\"events\":[]}");
            if let Some(a) = &auth {
                r = r.header("authorization", a);
            }
            let status = r.send().await.unwrap().status().as_u16();
            // A bare key without `Bearer ` is no key either.
            assert_eq!(status, 401, "{method} {path} with {auth:?}");
        }
        if !(method == "POST" && path == "/v1/events") {
            let r = h
                .request(method.parse().unwrap(), &url)
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{method} {path} with an ingest key");
        }
    }
    // Health is open (load balancers), and says nothing.
    assert_eq!(
        h.get(format!("{}/healthz", c.url)).send().await.unwrap().status(),
        200
    );
    let ready = json_of(h.get(format!("{}/readyz", c.url)).send().await.unwrap()).await;
    assert_eq!(ready["ready"], true);

    // A leaked key cannot write another app's spend, nor another team's.
    let other = event("app-b", now_ms(), 1);
    let (status, body) = post(&c.url, &key, &[other]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errors"][0]["reason"], "app_not_allowed");
    let team_key = c.ingest_key("app-a", Some("team-z")).await;
    let (status, body) = post(&c.url, &team_key, &[event("app-a", now_ms(), 2)]).await;
    assert_eq!(
        (status, body["errors"][0]["reason"].as_str()),
        (403, Some("team_not_allowed"))
    );
    let mut no_team = event("app-a", now_ms(), 3);
    no_team.as_object_mut().unwrap().remove("team");
    let (status, body) = post(&c.url, &team_key, &[no_team]).await;
    assert_eq!((status, body["accepted"].as_u64()), (200, Some(1)), "{body}");
    let r = c.admin_get("/v1/reports/usage?from=1d&group_by=app,team").await;
    assert_eq!(
        r["rows"].as_array().unwrap().len(),
        1,
        "only app-a, stamped with the key's team: {r}"
    );
    assert_eq!(r["rows"][0]["team"], "team-z");

    // Revoked: refused at once on this replica. Rotated with grace: both work, then the old stops.
    let id = |k: &str| k[4..20].to_owned();
    let r = h
        .post(format!("{}/v1/keys/{}/rotate", c.url, id(&key)))
        .bearer_auth(&c.admin)
        .body(json!({"grace_s": 3600}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let rotated = json_of(r).await["key"].as_str().unwrap().to_owned();
    // A key in its grace period is not rotated twice; grace is never negative.
    let again = h
        .post(format!("{}/v1/keys/{}/rotate", c.url, id(&key)))
        .bearer_auth(&c.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    let negative = h
        .post(format!("{}/v1/keys/{}/rotate", c.url, id(&rotated)))
        .bearer_auth(&c.admin)
        .body(json!({"grace_s": -5}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(negative.status(), 400);
    assert_eq!(post(&c.url, &key, &[event("app-a", now_ms(), 4)]).await.0, 200);
    assert_eq!(
        post(&c.url, &rotated, &[event("app-a", now_ms(), 5)]).await.0,
        200
    );
    let r = h
        .post(format!("{}/v1/keys/{}/revoke", c.url, id(&key)))
        .bearer_auth(&c.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(post(&c.url, &key, &[event("app-a", now_ms(), 6)]).await.0, 401);
    let keys = c.admin_get("/v1/keys").await;
    let listed = keys["keys"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|k| k["id"] == id(&key) && k["state"] == "revoked")
    );
    assert!(
        !keys.to_string().contains(&rotated[21..]),
        "secrets are never listed"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_4xx_writes_nothing_and_the_server_keeps_serving() {
    let mut c = Collector::sqlite().await;
    let key = c.ingest_key("app-a", None).await;
    let good = event("app-a", now_ms(), 1);
    let deep = format!("{{\"events\":[{}1{}]}}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_in_event = format!(
        "{{\"events\":[{{\"schema\":1,\"x\":{}1{}}}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    // 100 gzip members of 1 MiB of spaces each: 100 MiB from a few hundred KiB.
    let bomb = common::gzip(&vec![b' '; 1 << 20]).repeat(100);
    let huge = vec![b'x'; 17 << 20];
    let mut bad_utf8 = br#"{"events":[{"app":""#.to_vec();
    bad_utf8.extend([0xff, 0xfe]);
    bad_utf8.extend(br#""}]}"#);
    let cases: Vec<(&str, Vec<u8>, Option<&str>, u16)> = vec![
        ("malformed JSON", b"{\"events\": [".to_vec(), None, 400),
        ("not a batch", b"[1,2,3]".to_vec(), None, 400),
        ("events not a list", b"{\"events\": {}}".to_vec(), None, 400),
        ("deep nesting", deep.into_bytes(), None, 422),
        ("deep nesting in an event", deep_in_event.into_bytes(), None, 422),
        ("invalid UTF-8", bad_utf8, None, 400),
        ("gzip bomb", bomb, Some("gzip"), 413),
        ("huge body", huge, None, 413),
        ("not gzip", b"plain".to_vec(), Some("gzip"), 400),
        ("unknown encoding", b"{}".to_vec(), Some("br"), 415),
    ];
    for (what, body, enc, want) in cases {
        let (status, answer) = post_body(&c.url, &key, body, enc).await;
        assert_eq!(status, want, "{what}: {answer}");
        let reason = answer["error"]["message"]
            .as_str()
            .or(answer["errors"][0]["detail"].as_str());
        assert!(
            reason.is_some_and(|m| !m.is_empty()),
            "{what}: a reason in {answer}"
        );
    }
    // Per-event checks: each bad event refused with its reason, the good one stored.
    let mut wrong_type = good.clone();
    wrong_type["input_tokens"] = json!("many");
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("model_requested");
    let mut future_version = good.clone();
    future_version["schema"] = json!(2);
    let mut negative = good.clone();
    negative["latency_ms"] = json!(-5);
    let mut nul = good.clone();
    nul["user"] = json!("a\u{0}b");
    let fresh = |v: &Value| {
        let mut v = v.clone();
        v["id"] = json!(uuid::Uuid::now_v7().to_string());
        v
    };
    let batch = vec![
        fresh(&wrong_type),
        fresh(&missing),
        fresh(&future_version),
        fresh(&negative),
        fresh(&nul),
        json!("text"),
        good.clone(),
    ];
    let (status, answer) = post(&c.url, &key, &batch).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["accepted"].as_u64(), answer["rejected"].as_u64()),
        (Some(1), Some(6)),
        "{answer}"
    );
    let reasons: Vec<&str> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "invalid",
            "invalid",
            "schema_version",
            "invalid",
            "invalid",
            "invalid"
        ]
    );
    assert!(
        answer["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("input_tokens"),
        "{answer}"
    );
    assert!(
        answer["errors"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("model_requested"),
        "{answer}"
    );
    // All refused: 422, nothing stored.
    let (status, _) = post(&c.url, &key, &[fresh(&wrong_type)]).await;
    assert_eq!(status, 422);

    // Newer fields and unknown codes are accepted; SQL and HTML in strings are data.
    let mut newer = fresh(&good);
    newer["error_code"] = json!("SOME_FUTURE_CODE");
    newer["status"] = json!("error");
    newer["a_field_from_v1_5"] = json!({"x": [1, 2]});
    newer["user"] = json!("'); DROP TABLE events; --");
    newer["labels"] = json!({"note": "<script>alert(1)</script>"});
    let (status, answer) = post(&c.url, &key, &[newer.clone()]).await;
    assert_eq!((status, answer["accepted"].as_u64()), (200, Some(1)), "{answer}");
    let r = c
        .admin_get("/v1/reports/usage?from=1d&group_by=user,error_code")
        .await;
    let row = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user"] == "'); DROP TABLE events; --")
        .unwrap();
    assert_eq!(row["error_code"], "SOME_FUTURE_CODE");
    let page = c
        .admin_get(&format!(
            "/v1/events?from=1d&user={}",
            urlencode("'); DROP TABLE events; --")
        ))
        .await;
    assert_eq!(
        page["events"][0]["a_field_from_v1_5"],
        json!({"x": [1, 2]}),
        "kept as sent"
    );

    // Still serving, and exactly the accepted events stored.
    assert_eq!(post(&c.url, &key, &[fresh(&good)]).await.0, 200);
    assert_eq!(c.stored_ids().await.len(), 3);
    c.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_bodies_csv_exports_paging_and_metrics() {
    let mut c = Collector::sqlite().await;
    let key = c.ingest_key("app-a", None).await;
    let now = now_ms();
    let events: Vec<Value> = (0..250)
        .map(|i| event("app-a", now - 60_000 - i as i64 * 1000, i))
        .collect();
    let body = ruzstd::encoding::compress_to_vec(
        json!({"events": events, "dropped": 7}).to_string().as_bytes(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let (status, answer) = post_body(&c.url, &key, body, Some("zstd")).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(250)),
        "{answer}"
    );

    // Pages of 100, newest first, each event once.
    let mut seen = std::collections::HashSet::new();
    let mut cursor = String::new();
    let mut last_ts = i64::MAX;
    loop {
        let page = c
            .admin_get(&format!("/v1/events?from=1d&limit=100{cursor}"))
            .await;
        for e in page["events"].as_array().unwrap() {
            let ts = modelplug_schema::Timestamp::parse(e["ts"].as_str().unwrap())
                .unwrap()
                .0 as i64;
            assert!(ts <= last_ts);
            last_ts = ts;
            assert!(seen.insert(e["id"].as_str().unwrap().to_owned()));
        }
        match page["next_cursor"].as_str() {
            Some(n) => cursor = format!("&cursor={n}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 250);
    // A page that ends exactly at the last event says there is no next one.
    let page = c.admin_get("/v1/events?from=1d&limit=250").await;
    assert_eq!(
        (
            page["events"].as_array().unwrap().len(),
            page["next_cursor"].is_null()
        ),
        (250, true)
    );

    let h = http();
    let csv = h
        .get(format!(
            "{}/v1/reports/usage?from=1d&group_by=model&format=csv",
            c.url
        ))
        .bearer_auth(&c.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("model,requests,ok,errors"));
    let requests: i64 = lines
        .map(|l| l.split(',').nth(1).unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(requests, 250);
    let events_csv = h
        .get(format!("{}/v1/events?from=1d&limit=10&format=csv", c.url))
        .bearer_auth(&c.admin)
        .send()
        .await
        .unwrap();
    assert!(events_csv.headers().contains_key("x-next-cursor"));
    assert_eq!(events_csv.text().await.unwrap().lines().count(), 11);

    let metrics = h
        .get(format!("{}/metrics", c.url))
        .bearer_auth(&c.admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "modelplug_collector_events_total{app=\"app-a\",model=\"gpt-4o\",provider=\"openai\",status=\"ok\"}",
        "modelplug_collector_ingest_requests_total{status=\"200\"} 1",
        "modelplug_collector_client_dropped_events_total{app=\"app-a\"} 7",
        "modelplug_collector_tokens_total{app=\"app-a\",model=\"gpt-4o\",kind=\"input\"}",
        "modelplug_collector_cost_usd_total",
        "modelplug_collector_ingest_duration_seconds_count 1",
    ] {
        assert!(metrics.contains(needle), "{needle} in\n{metrics}");
    }
    c.stop().await;
}
