//! The dashboard's server side over HTTP: the login that turns an admin key into a session
//! cookie (and refuses everything else), CSRF protection of actions made with the cookie,
//! logout and key revocation ending sessions, the embedded assets, and the two endpoints the
//! page added (`GET /v1/events/{id}`, `POST /v1/policy/validate`). The page itself is tested in
//! Chromium by `tests/dashboard/` (`make test-dashboard`).

mod common;

use common::policy::put_policy;
use common::{Collector, event, json_of, now_ms, post};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::Value;

/// A client that shows redirects instead of following them (and keeps no cookies).
fn browser() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `POST /login` with `key`: the status, the `Set-Cookie` header and the body.
async fn login(c: &Collector, key: &str, origin: Option<&str>) -> (u16, Option<String>, String) {
    let mut r = browser()
        .post(format!("{}/login", c.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("key={}", key.replace('+', "%2B")));
    if let Some(o) = origin {
        r = r.header("origin", o);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let cookie = r
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, cookie, r.text().await.unwrap())
}

/// Logs in as the collector's admin: the `mp_session=…` pair to send back.
async fn session(c: &Collector) -> String {
    let (status, cookie, _) = login(c, &c.admin, Some(&c.url)).await;
    assert_eq!(status, 303);
    cookie.unwrap().split(';').next().unwrap().to_owned()
}

async fn get(c: &Collector, path: &str, cookie: &str) -> reqwest::Response {
    browser()
        .get(format!("{}{path}", c.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

async fn csrf_of(c: &Collector, cookie: &str) -> String {
    let r = get(c, "/ui/session", cookie).await;
    assert_eq!(r.status(), 200);
    json_of(r).await["csrf_token"].as_str().unwrap().to_owned()
}

/// A PUT of a small policy with the cookie and the given extra headers: the status and answer.
async fn put_with_cookie(c: &Collector, cookie: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut r = browser()
        .put(format!("{}/v1/policy", c.url))
        .header("cookie", cookie)
        .header("content-type", "application/yaml")
        .body("guardrails:\n  - { name: no-mergers, kind: deny_topics, topics: [merger], action: block }\n");
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn location(h: &HeaderMap) -> &str {
    h.get(LOCATION).unwrap().to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_visitors_get_the_login_page_and_only_an_admin_key_opens_a_session() {
    let mut c = Collector::sqlite().await;
    let r = get(&c, "/", "").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(r.headers()), "/login");
    let r = get(&c, "/login", "").await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<form id=\"login\" method=\"post\" action=\"/login\">")
    );
    for path in ["/ui/session", "/v1/reports/usage", "/v1/policy/history"] {
        assert_eq!(get(&c, path, "").await.status(), 401, "{path}");
    }

    // A made-up key, a wrong secret and an ingest key are refused, with no cookie.
    let ingest = c.ingest_key("app-a", None).await;
    let wrong_secret = format!("{}x", &c.admin[..c.admin.len() - 1]);
    for (key, says) in [
        ("mpk_0123456789abcdef_nope", "not a valid admin key"),
        (wrong_secret.as_str(), "not a valid admin key"),
        (ingest.as_str(), "ingest key"),
    ] {
        let (status, cookie, body) = login(&c, key, Some(&c.url)).await;
        assert_eq!(status, 401, "{body}");
        assert!(cookie.is_none());
        assert!(
            body.contains("id=\"login-error\"") && body.contains(says),
            "{body}"
        );
        assert!(!body.contains(key), "the page repeats the key it refused");
    }

    let (status, cookie, _) = login(&c, &c.admin, Some(&c.url)).await;
    assert_eq!(status, 303);
    let cookie = cookie.unwrap();
    for attr in ["mp_session=", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP cannot set a Secure cookie: {cookie}"
    );
    // Behind a proxy that ends TLS, the cookie is Secure.
    let proxied = browser()
        .post(format!("{}/login", c.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-proto", "https")
        .body(format!("key={}", c.admin))
        .send()
        .await
        .unwrap();
    assert!(
        proxied.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
    let secret = c.admin.rsplit('_').next().unwrap();
    assert!(!cookie.contains(secret), "the cookie carries the key's secret");
    let pair = cookie.split(';').next().unwrap();
    let r = get(&c, "/", pair).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("<main id=\"page\""));
    let s = json_of(get(&c, "/ui/session", pair).await).await;
    assert_eq!(s["key_id"], c.admin[4..20]);
    assert!(s["csrf_token"].as_str().unwrap().len() >= 32);
    assert!(s["expires_ms"].as_i64().unwrap() > now_ms() + 11 * 3_600_000);
    let r = get(&c, "/v1/reports/usage?from=1d", pair).await;
    assert_eq!(r.status(), 200);
    // Logged in, /login leads back to the page.
    assert_eq!(get(&c, "/login", pair).await.status(), 303);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_made_with_the_cookie_need_the_sessions_csrf_token_and_this_origin() {
    let mut c = Collector::sqlite().await;
    let cookie = session(&c).await;
    let token = csrf_of(&c, &cookie).await;
    let other_token = csrf_of(&c, &session(&c).await).await;
    assert_ne!(token, other_token);
    let evil = "http://evil.example";
    for headers in [
        vec![],
        vec![("x-csrf-token", "made-up")],
        vec![("x-csrf-token", other_token.as_str())],
        vec![("x-csrf-token", token.as_str()), ("origin", evil)],
        vec![("x-csrf-token", token.as_str()), ("sec-fetch-site", "cross-site")],
    ] {
        let (status, answer) = put_with_cookie(&c, &cookie, &headers).await;
        assert_eq!(status, 403, "{headers:?}: {answer}");
        assert_eq!(answer["error"]["code"], "csrf", "{answer}");
    }
    assert_eq!(
        c.admin_get("/v1/policy").await["version"],
        0,
        "a refused action changed the policy"
    );
    let (status, answer) = put_with_cookie(
        &c,
        &cookie,
        &[
            ("x-csrf-token", &token),
            ("origin", &c.url),
            ("sec-fetch-site", "same-origin"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    // The audit trail names the key the session was opened with.
    let history = c.admin_get("/v1/policy/history").await;
    assert_eq!(history["versions"][0]["author_key_id"], c.admin[4..20]);
    // An Authorization header that is not a key does not fall back to the cookie.
    let (status, _) = put_with_cookie(&c, &cookie, &[("authorization", "Basic Zm9vOmJhcg==")]).await;
    assert_eq!(status, 401);
    // A key in the Authorization header needs no token (no browser sends it by itself).
    let (status, _) = put_policy(&c, &c.admin, "guardrails: []\n", None).await;
    assert_eq!(status, 201);
    // A login posted from another site is refused too.
    let (status, cookie, _) = login(&c, &c.admin, Some(evil)).await;
    assert_eq!((status, cookie), (403, None));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_revoking_the_key_or_tampering_ends_the_session() {
    let mut c = Collector::sqlite().await;
    let cookie = session(&c).await;
    let token = csrf_of(&c, &cookie).await;
    let r = browser()
        .post(format!("{}/logout", c.url))
        .header("cookie", &cookie)
        .header("x-csrf-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(get(&c, "/", &cookie).await.status(), 303);
    assert_eq!(get(&c, "/v1/reports/usage", &cookie).await.status(), 401);

    let cookie = session(&c).await;
    let (name, value) = cookie.split_once('=').unwrap();
    let mut forged = value.to_owned();
    forged.replace_range(3..4, if &value[3..4] == "0" { "1" } else { "0" });
    let forged = format!("{name}={forged}");
    assert_eq!(get(&c, "/v1/reports/usage", &forged).await.status(), 401);
    assert_eq!(get(&c, "/v1/reports/usage", &cookie).await.status(), 200);

    let id = &c.admin[4..20];
    let r = browser()
        .post(format!("{}/v1/keys/{id}/revoke", c.url))
        .bearer_auth(&c.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(get(&c, "/", &cookie).await.status(), 303);
    assert_eq!(get(&c, "/v1/reports/usage", &cookie).await.status(), 401);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_file_the_page_loads_is_embedded_and_served_from_this_origin() {
    let mut c = Collector::sqlite().await;
    let cookie = session(&c).await;
    let index = get(&c, "/", &cookie).await.text().await.unwrap();
    let mut pending: Vec<String> = refs(&index, &["href=\"", "src=\""]);
    let mut seen = std::collections::HashSet::new();
    while let Some(path) = pending.pop() {
        if !seen.insert(path.clone()) || path.starts_with('#') || path.starts_with("data:") {
            continue;
        }
        assert!(
            path.starts_with("/ui/assets/"),
            "the page loads {path} from elsewhere"
        );
        let r = get(&c, &path, "").await;
        assert_eq!(r.status(), 200, "{path}");
        let text = r.text().await.unwrap();
        assert!(
            !text.contains("https://") || path.contains("vendor/"),
            "{path} names a remote address"
        );
        if path.ends_with(".js") && !path.contains("vendor/") {
            // Module imports, relative to the module.
            let dir = &path[..path.rfind('/').unwrap() + 1];
            for r in refs(&text, &["from '", "import('"]) {
                pending.push(resolve(dir, &r));
            }
        }
    }
    assert!(seen.len() >= 14, "{seen:?}");
    c.stop().await;
}

fn refs(text: &str, openers: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for o in openers {
        let close = if o.ends_with('"') { '"' } else { '\'' };
        for part in text.split(o).skip(1) {
            out.push(part[..part.find(close).unwrap()].to_owned());
        }
    }
    out
}

fn resolve(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = dir.trim_end_matches('/').split('/').collect();
    for seg in rel.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_is_read_by_its_id_and_a_policy_is_checked_without_being_stored() {
    let mut c = Collector::sqlite().await;
    let key = c.ingest_key("app-a", None).await;
    let events: Vec<Value> = (0..5).map(|i| event("app-a", now_ms() - 60_000, i)).collect();
    assert_eq!(post(&c.url, &key, &events).await.0, 200);
    let id = events[3]["id"].as_str().unwrap();
    let one = c.admin_get(&format!("/v1/events/{id}")).await;
    assert_eq!(one["id"], id);
    assert_eq!(one["attempts"], events[3]["attempts"]);
    assert_eq!(one["cost_usd"], events[3]["cost_usd"]);
    let cookie = session(&c).await;
    let missing = get(&c, &format!("/v1/events/{}", uuid::Uuid::now_v7()), &cookie).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(get(&c, "/v1/events/not-a-uuid", &cookie).await.status(), 400);

    let check = |doc: &'static str| {
        let c = &c;
        async move {
            let r = browser()
                .post(format!("{}/v1/policy/validate", c.url))
                .bearer_auth(&c.admin)
                .body(doc)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            json_of(r).await
        }
    };
    let bad = check("guardrails:\n  - { name: x, kind: nonsense }\n").await;
    assert_eq!(bad["valid"], false);
    assert!(!bad["issues"].as_array().unwrap().is_empty(), "{bad}");
    let good = check("budgets:\n  - { name: org-day, per: org, period: day, limit_usd: 10 }\n").await;
    assert_eq!(good["valid"], true, "{good}");
    assert_eq!(good["diff"][0]["path"], "budgets");
    assert_eq!(good["diff"][0]["change"], "added");
    assert_eq!(
        c.admin_get("/v1/policy").await["version"],
        0,
        "checking stored the policy"
    );

    // Budgets carry a forecast to the period's end, never below what is spent.
    let (status, _) = put_policy(
        &c,
        &c.admin,
        "budgets:\n  - { name: org-day, per: org, period: day, limit_usd: 10 }\n",
        None,
    )
    .await;
    assert_eq!(status, 201);
    let budgets = c.admin_get("/v1/budgets").await;
    let budget = &budgets["budgets"][0];
    let scope = &budget["scopes"][0];
    assert!(scope["spent_usd"].as_f64().unwrap() > 0.0, "{budgets}");
    common::assert_forecast(budget, scope, budgets["as_of_ms"].as_i64().unwrap());
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_json_answers_are_gzipped_for_clients_that_take_it() {
    let mut c = Collector::sqlite().await;
    let key = c.ingest_key("app-a", None).await;
    let events: Vec<Value> = (0..50).map(|i| event("app-a", now_ms() - 60_000, i)).collect();
    assert_eq!(post(&c.url, &key, &events).await.0, 200);
    // Absolute times: every answer is the same report.
    let path = &format!(
        "/v1/reports/usage?from={}&to={}&group_by=model,user",
        now_ms() - 3_600_000,
        now_ms()
    );
    let plain = c.admin_get(path).await;
    // A client that decodes nothing itself, to see what was sent.
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let ask = |encoding: &'static str| {
        raw.get(format!("{}{path}", c.url))
            .bearer_auth(&c.admin)
            .header("accept-encoding", encoding)
            .send()
    };
    let r = ask("br, gzip").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.headers()["vary"], "accept-encoding");
    let zipped = r.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut text).unwrap();
    assert!(zipped.len() * 3 < text.len(), "{} → {}", text.len(), zipped.len());
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), plain);
    // Refused or not offered: as it is.
    for encoding in ["identity", "gzip;q=0"] {
        let r = ask(encoding).await.unwrap();
        assert!(r.headers().get("content-encoding").is_none(), "{encoding}");
        assert_eq!(
            serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).unwrap(),
            plain
        );
    }
    c.stop().await;
}
