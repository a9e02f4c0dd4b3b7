//! The policy API: `PUT`/`GET /v1/policy`, `/v1/policy/history`, `/v1/policy/versions/{n}`,
//! `/v1/policy/rollback`, `/v1/policy/public-key`, `/v1/policy/watch` and `/v1/budgets`.

// Handlers' helpers return the refusing response as their error (as in `server`).
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use modelplug_core::policy::{MAX_POLICY_BYTES, PolicyDocument};
use serde_json::{Value, json};

use super::budgets;
use super::diff::diff_json;
use crate::keys::{KeyKind, KeyRecord};
use crate::server::{AppState, error, now_ms, store_error};
use crate::store::PolicyRecord;

/// The policy routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/policy", get(get_policy).put(put_policy))
        .route("/v1/policy/history", get(history))
        .route("/v1/policy/validate", post(validate))
        .route("/v1/policy/versions/{n}", get(version))
        .route("/v1/policy/rollback", post(rollback))
        .route("/v1/policy/public-key", get(public_key))
        .route("/v1/policy/watch", get(watch))
        .route("/v1/budgets", get(get_budgets))
        .route("/v1/prices", get(get_prices))
}

/// The Content-Types a policy may be PUT as (none at all is accepted too).
const POLICY_TYPES: [&str; 5] = [
    "application/yaml",
    "application/x-yaml",
    "text/yaml",
    "application/json",
    "text/plain",
];

/// How many times a PUT without `If-Match` tries again after losing a race to another change.
const TRIES: usize = 5;

fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// Whether `If-None-Match` names `version`'s ETag.
fn not_modified(headers: &HeaderMap, version: u64) -> bool {
    let Some(v) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let want = version.to_string();
    v.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/").trim_matches('"') == want)
}

/// The version `If-Match` names: `Ok(None)` without one.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, Response> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .and_then(|t| {
            t.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse::<i64>()
                .ok()
        })
        .map(Some)
        .ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "`If-Match`: the policy version in quotes, e.g. \"3\"",
            )
        })
}

fn precondition_failed(current: i64) -> Response {
    let mut r = (
        StatusCode::PRECONDITION_FAILED,
        axum::Json(json!({"error": {
            "code": "version_mismatch",
            "message": format!("the policy is at version {current}, not the one `If-Match` names"),
            "current_version": current,
        }})),
    )
        .into_response();
    r.headers_mut().insert(header::ETAG, etag(current.max(0) as u64));
    r
}

fn invalid_policy(message: &str) -> Response {
    let issues: Vec<&str> = message.lines().filter(|l| !l.trim().is_empty()).collect();
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": {"code": "invalid_policy", "message": message, "issues": issues}})),
    )
        .into_response()
}

fn query_pairs(raw: Option<String>) -> Result<Vec<(String, String)>, Response> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.as_deref().unwrap_or("")).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "the query string is not readable",
        )
    })
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The app and team whose policy a key reads: an ingest key's own (a `?app=`/`?team=` naming
/// another is refused); `?app=`/`?team=` for a key bound to none.
fn audience(key: &KeyRecord, pairs: &[(String, String)]) -> Result<(String, Option<String>), Response> {
    let forbidden = || {
        error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this key reads its own app's policy and budgets only",
        )
    };
    let app = match (&key.app, param(pairs, "app")) {
        (Some(a), Some(q)) if a != q => return Err(forbidden()),
        (Some(a), _) => a.clone(),
        (None, Some(q)) if !q.is_empty() => q.to_owned(),
        (None, _) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "bad_query",
                "`app`: name the app (this key is bound to none)",
            ));
        }
    };
    let team = match (&key.team, param(pairs, "team")) {
        (Some(t), Some(q)) if t != q => return Err(forbidden()),
        (Some(t), _) => Some(t.clone()),
        (None, q) => q.filter(|q| !q.is_empty()).map(str::to_owned),
    };
    Ok((app, team))
}

fn record_json(r: &PolicyRecord, with_document: bool) -> Value {
    let mut v = json!({
        "version": r.version,
        "created_ms": r.created_ms,
        "author": r.author_name,
        "author_key_id": r.author_key_id,
        "diff": serde_json::from_str::<Value>(&r.diff).unwrap_or(Value::Array(vec![])),
        "rolled_back_from": r.rolled_back_from,
    });
    if with_document {
        v["document"] = Value::String(r.document.clone());
    }
    v
}

async fn get_policy(State(s): State<Arc<AppState>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let key = match s.authorize(&headers, false).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let pairs = match query_pairs(raw) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (version, mut response) = if key.kind == KeyKind::Admin {
        let cur = s.policy.current();
        if not_modified(&headers, cur.version) {
            (cur.version, StatusCode::NOT_MODIFIED.into_response())
        } else {
            let body = match &cur.record {
                Some(r) => json!({
                    "version": r.version,
                    "document": r.document,
                    "author": r.author_name,
                    "author_key_id": r.author_key_id,
                    "created_ms": r.created_ms,
                    "rolled_back_from": r.rolled_back_from,
                }),
                None => json!({"version": 0, "document": "", "author": null, "created_ms": null}),
            };
            (cur.version, axum::Json(body).into_response())
        }
    } else {
        let (app, team) = match audience(&key, &pairs) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let (version, env) = s.policy.policy_envelope(&app, team.as_deref());
        if not_modified(&headers, version) {
            (version, StatusCode::NOT_MODIFIED.into_response())
        } else {
            let mut r = Response::new(Body::from(env.to_string()));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            (version, r)
        }
    };
    response.headers_mut().insert(header::ETAG, etag(version));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn put_policy(State(s): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let key = match s.authorize(&headers, true).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    if let Some(ct) = crate::server::media_type(&headers)
        && !POLICY_TYPES.contains(&ct.as_str())
    {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the policy as one of: {}", POLICY_TYPES.join(", ")),
        );
    }
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("a policy is at most {MAX_POLICY_BYTES} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_POLICY_BYTES as u64) {
        return too_large();
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_POLICY_BYTES).await else {
        return too_large();
    };
    let Ok(text) = String::from_utf8(bytes.to_vec()) else {
        return invalid_policy("policy: the document is not UTF-8 text");
    };
    let if_match = match if_match(&headers) {
        Ok(m) => m,
        Err(r) => return r,
    };
    commit(&s, &key, text, None, if_match).await
}

/// The document `text` reads as, or every reason it cannot be a policy.
fn problems_of(text: &str) -> Result<PolicyDocument, Vec<String>> {
    let doc = PolicyDocument::parse(text, "policy").map_err(|e| lines(e.message()))?;
    let problems = budgets::unreadable_budgets(&doc);
    if problems.is_empty() {
        Ok(doc)
    } else {
        Err(problems)
    }
}

fn lines(message: &str) -> Vec<String> {
    message
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /v1/policy/validate`: whether a document would be accepted, and what it would change
/// against the current version — always `200`, so an editor can check as the admin types
/// (nothing is stored).
async fn validate(State(s): State<Arc<AppState>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Err(r) = s.authorize(&headers, true).await {
        return r;
    }
    if body.len() > MAX_POLICY_BYTES {
        return axum::Json(
            json!({"valid": false, "issues": [format!("a policy is at most {MAX_POLICY_BYTES} bytes")]}),
        )
        .into_response();
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return axum::Json(json!({"valid": false, "issues": ["policy: the document is not UTF-8 text"]}))
            .into_response();
    };
    match problems_of(text) {
        Err(issues) => axum::Json(json!({"valid": false, "issues": issues})).into_response(),
        Ok(doc) => {
            let cur = s.policy.current();
            let before = cur
                .record
                .as_ref()
                .and_then(|r| PolicyDocument::parse(&r.document, "policy").ok())
                .map_or(json!({}), |d| d.to_json().clone());
            let diff = diff_json(&before, doc.to_json());
            axum::Json(json!({"valid": true, "issues": [], "version": cur.version, "diff": diff}))
                .into_response()
        }
    }
}

/// Validates `text` and stores it as the next version (with its author and diff), unless it
/// is the current document already; then puts it in force on this replica at once.
async fn commit(
    s: &AppState,
    key: &KeyRecord,
    text: String,
    rolled_back_from: Option<i64>,
    if_match: Option<i64>,
) -> Response {
    let doc = match problems_of(&text) {
        Ok(d) => d,
        Err(issues) => return invalid_policy(&issues.join("\n")),
    };
    let doc = Arc::new(doc);
    for _ in 0..TRIES {
        let current = match s.store.policy_current().await {
            Ok(c) => c,
            Err(e) => return store_error(s, "policy", e),
        };
        let current_version = current.as_ref().map_or(0, |r| r.version);
        if if_match.is_some_and(|m| m != current_version) {
            return precondition_failed(current_version);
        }
        if let Some(c) = current.as_ref().filter(|c| c.document == text) {
            let mut r = axum::Json(json!({"version": c.version, "unchanged": true})).into_response();
            r.headers_mut()
                .insert(header::ETAG, etag(c.version.max(0) as u64));
            return r;
        }
        let before = match &current {
            None => json!({}),
            Some(c) => PolicyDocument::parse(&c.document, "policy")
                .map(|d| d.to_json().clone())
                .unwrap_or(Value::Null),
        };
        let diff = diff_json(&before, doc.to_json());
        let record = PolicyRecord {
            version: current_version + 1,
            document: text.clone(),
            created_ms: now_ms(),
            author_key_id: key.id.clone(),
            author_name: key.name.clone().unwrap_or_else(|| key.id.clone()),
            diff: diff.to_string(),
            rolled_back_from,
        };
        match s.store.insert_policy(current_version, record.clone()).await {
            Ok(Ok(())) => {
                let version = record.version;
                tracing::info!(version, author = %record.author_name, key = %key.id, rolled_back_from, "policy stored");
                s.policy.publish(record, doc.clone());
                let mut body = json!({"version": version, "diff": diff});
                if let Some(n) = rolled_back_from {
                    body["rolled_back_from"] = json!(n);
                }
                let mut r = (StatusCode::CREATED, axum::Json(body)).into_response();
                r.headers_mut().insert(header::ETAG, etag(version.max(0) as u64));
                return r;
            }
            Ok(Err(newest)) if if_match.is_some() => return precondition_failed(newest),
            Ok(Err(_)) => continue,
            Err(e) => return store_error(s, "policy", e),
        }
    }
    error(
        StatusCode::CONFLICT,
        "conflict",
        "the policy kept changing while this change was stored; try again",
    )
}

async fn history(State(s): State<Arc<AppState>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = s.authorize(&headers, true).await {
        return r;
    }
    let pairs = match query_pairs(raw) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let limit = match param(&pairs, "limit").map(str::parse::<i64>) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return error(StatusCode::BAD_REQUEST, "bad_query", "`limit`: 1 to 1000"),
    };
    let before = match param(&pairs, "before").map(str::parse::<i64>) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "bad_query", "`before`: a version number"),
    };
    match s.store.policy_history(before, limit).await {
        Ok(rows) => {
            let versions: Vec<Value> = rows.iter().map(|r| record_json(r, false)).collect();
            axum::Json(json!({"versions": versions})).into_response()
        }
        Err(e) => store_error(&s, "policy", e),
    }
}

async fn version(State(s): State<Arc<AppState>>, headers: HeaderMap, Path(n): Path<String>) -> Response {
    if let Err(r) = s.authorize(&headers, true).await {
        return r;
    }
    let Ok(n) = n.parse::<i64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "a version is a whole number",
        );
    };
    match s.store.policy_version(n).await {
        Ok(Some(r)) => axum::Json(record_json(&r, true)).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no policy version {n}"),
        ),
        Err(e) => store_error(&s, "policy", e),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Rollback {
    version: i64,
}

async fn rollback(State(s): State<Arc<AppState>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let key = match s.authorize(&headers, true).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let req: Rollback = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "send `{\"version\": N}`: the version to restore",
            );
        }
    };
    let if_match = match if_match(&headers) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let old = match s.store.policy_version(req.version).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no policy version {}", req.version),
            );
        }
        Err(e) => return store_error(&s, "policy", e),
    };
    commit(&s, &key, old.document, Some(old.version), if_match).await
}

/// The price catalog this collector publishes (any valid key): a signed `PricesPayload`, with
/// its version as the ETag.
async fn get_prices(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = s.authorize(&headers, false).await {
        return r;
    }
    let Some((version, envelope)) = s.policy.prices() else {
        return error(
            StatusCode::NOT_FOUND,
            "no_price_catalog",
            "this collector publishes no price catalog (`serve --price-data FILE`)",
        );
    };
    let tag = HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"\""));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == tag.as_bytes());
    let mut r = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(envelope.to_string()));
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    r.headers_mut().insert(header::ETAG, tag);
    r
}

async fn public_key(State(s): State<Arc<AppState>>) -> Response {
    axum::Json(json!({"public_key": s.policy.public_key(), "key_id": s.policy.key_id()})).into_response()
}

async fn watch(State(s): State<Arc<AppState>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let key = match s.authorize(&headers, false).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let (app, team) = match query_pairs(raw).and_then(|p| audience(&key, &p)) {
        Ok(a) => a,
        Err(r) => return r,
    };
    super::watch::stream(s.policy.clone(), app, team)
}

async fn get_budgets(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let key = match s.authorize(&headers, false).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let audience = if key.kind == KeyKind::Admin {
        None
    } else {
        match query_pairs(raw).and_then(|p| audience(&key, &p)) {
            Ok(a) => Some(a),
            Err(r) => return r,
        }
    };
    let spends = match s.policy.fresh_spends().await {
        Ok(sp) => sp,
        Err(e) => return store_error(&s, "budgets", e),
    };
    let counts = s.policy.watcher_counts();
    match audience {
        None => axum::Json(budgets::admin_view(&spends, &counts)).into_response(),
        Some((app, team)) => {
            axum::Json(budgets::payload_for(&spends, &counts, &app, team.as_deref())).into_response()
        }
    }
}
