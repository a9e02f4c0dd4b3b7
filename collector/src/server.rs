//! The HTTP service: ingest, reports, event export, keys, `/metrics`, health — with graceful
//! shutdown (in-flight batches finish and are committed) and optional TLS.

// Handlers' helpers return the refusing response as their error: it is returned at once, so
// boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::auth::{Denied, KeyCache};
use crate::dashboard::session::SessionKeys;
use crate::ingest::{self, BatchError, Limits};
use crate::key_admin::{self, KeyAdminError};
use crate::keys::{KeyKind, KeyRecord};
use crate::metrics::Metrics;
use crate::policy::PolicyHub;
use crate::report::{self, ReportQuery};
use crate::rollup::DAY_MS;
use crate::store::{IngestBatch, Store, StoreError};

/// How the service runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// A certificate chain and private key (PEM) to listen with TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Body bounds.
    pub limits: Limits,
    /// Serve `/metrics` without a key (for a scraper on a private network).
    pub metrics_public: bool,
    /// Days events are kept (0: for ever).
    pub events_retention_days: u32,
    /// Days rollups are kept (0: for ever).
    pub rollups_retention_days: u32,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// A file holding the policy signing key's seed (default: the seed kept in the database).
    pub policy_signing_key: Option<PathBuf>,
    /// A price catalog (genai-prices JSON) to publish to clients (`GET /v1/prices`).
    pub price_data: Option<PathBuf>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 4000)),
            tls: None,
            limits: Limits::default(),
            metrics_public: false,
            events_retention_days: 90,
            rollups_retention_days: 400,
            shutdown_grace: Duration::from_secs(30),
            policy_signing_key: None,
            price_data: None,
        }
    }
}

/// What every handler shares.
pub struct AppState {
    pub(crate) store: Arc<Store>,
    pub(crate) keys: KeyCache,
    pub(crate) metrics: Metrics,
    opts: ServeOptions,
    ready: AtomicBool,
    pub(crate) policy: Arc<PolicyHub>,
    /// Dashboard sessions.
    pub(crate) sessions: SessionKeys,
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64
}

/// An error answer: `{"error": {"code": …, "message": …}}`.
pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let mut r = (
        status,
        axum::Json(json!({"error": {"code": code, "message": message.into()}})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

pub(crate) fn store_error(s: &AppState, op: &'static str, e: StoreError) -> Response {
    s.metrics.db_error(op);
    tracing::error!(op, error = %e, "database error");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "the database did not answer; try again",
    )
}

impl AppState {
    /// The caller's key, or the answer refusing them.
    pub(crate) async fn authorize(
        &self,
        headers: &HeaderMap,
        admin_only: bool,
    ) -> Result<KeyRecord, Response> {
        let sent = headers.get(header::AUTHORIZATION);
        let header = sent.and_then(|v| v.to_str().ok());
        // With no `Authorization` header at all, the dashboard's session cookie (the same rule
        // as `dashboard::csrf_guard`, which checked an action's CSRF token).
        let session = match sent {
            None => self.sessions.from_headers(headers, now_ms()),
            Some(_) => None,
        };
        let checked = match session {
            Some(session) => {
                self.keys
                    .check_id(&self.store, &session.key_id, admin_only, now_ms())
                    .await
            }
            None => self.keys.check(&self.store, header, admin_only, now_ms()).await,
        };
        match checked {
            Ok(Ok(k)) => Ok(k),
            Ok(Err(Denied::Unauthenticated)) => Err(error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid key is required: `Authorization: Bearer mpk_…`",
            )),
            Ok(Err(Denied::Forbidden)) => Err(error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this needs an admin key",
            )),
            Err(e) => Err(store_error(self, "key_lookup", e)),
        }
    }

    /// Whether a request reached the service over HTTPS: it listens with TLS, or a proxy in
    /// front of it says so (`X-Forwarded-Proto: https`; a client claiming it falsely only
    /// gets a cookie its own browser will not send back over plain HTTP).
    pub(crate) fn https(&self, headers: &HeaderMap) -> bool {
        self.opts.tls.is_some()
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }
}

/// The routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/events", post(ingest_events).get(list_events))
        .route("/v1/reports/usage", get(usage_report))
        .route("/v1/keys", get(list_keys).post(create_key))
        .route("/v1/keys/{id}/revoke", post(revoke_key))
        .route("/v1/keys/{id}/rotate", post(rotate_key))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/v1/events/{id}", get(one_event))
        .merge(crate::policy::routes::routes())
        .merge(crate::dashboard::routes())
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::dashboard::csrf_guard,
        ))
        .layer(axum::middleware::from_fn(crate::compress::gzip_large_answers))
        .with_state(state)
}

async fn ingest_events(State(s): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let response = ingest_inner(&s, &headers, body).await;
    s.metrics
        .ingest_request(response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

async fn ingest_inner(s: &AppState, headers: &HeaderMap, body: Body) -> Response {
    let key = match s.authorize(headers, false).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    if let Some(ct) = media_type(headers)
        && ct != "application/json"
    {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send `Content-Type: application/json`",
        );
    }
    let limits = s.opts.limits;
    let Ok(bytes) = axum::body::to_bytes(body, limits.max_body_bytes).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the body is larger than {} bytes (or was cut off)",
                limits.max_body_bytes
            ),
        );
    };
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("unreadable"));
    let decoded = match ingest::decode(encoding, &bytes, &limits) {
        Ok(d) => d,
        Err(e) => return batch_error(e),
    };
    let batch = match ingest::parse(&decoded, &limits) {
        Ok(b) => b,
        Err(e) => return batch_error(e),
    };
    let now = now_ms();
    let mut events = Vec::with_capacity(batch.events.len());
    let mut errors = Vec::new();
    let mut rejected = 0usize;
    let mut only_not_allowed = true;
    let mut ids = std::collections::HashSet::with_capacity(batch.events.len());
    let mut repeated = 0usize;
    for (i, raw) in batch.events.iter().enumerate() {
        match ingest::admit(raw, &key, now as u64) {
            // The same event twice in one batch: stored once, the copy answered as a duplicate.
            Ok(e) if !ids.insert(e.id) => repeated += 1,
            Ok(e) => events.push(e),
            Err(r) => {
                rejected += 1;
                s.metrics.rejected(r.reason);
                only_not_allowed &= r.reason.ends_with("_not_allowed");
                if errors.len() < 100 {
                    errors.push(
                        json!({"index": i, "id": event_id(raw), "reason": r.reason, "detail": r.detail}),
                    );
                }
            }
        }
    }
    let dropped = (batch.dropped > 0).then(|| {
        let app = key
            .app
            .clone()
            .unwrap_or_else(|| events.first().map(|e| e.app.clone()).unwrap_or_default());
        s.metrics.client_dropped(&app, batch.dropped);
        (app, batch.dropped.min(i64::MAX as u64) as i64)
    });
    let total = batch.events.len();
    let (mut accepted, mut duplicate) = (0usize, 0usize);
    if !events.is_empty() || dropped.is_some() {
        let stored = IngestBatch {
            key_id: key.id.clone(),
            received_ms: now,
            rollups: Some(crate::rollup::rollups_of(&events)),
            events,
            dropped,
        };
        let (fresh, stored) = match s.store.ingest(stored).await {
            Ok(f) => f,
            Err(e) => return store_error(s, "ingest", e),
        };
        accepted = fresh.iter().filter(|n| **n).count();
        if accepted > 0 {
            s.policy.spend_changed();
        }
        duplicate = fresh.len() - accepted;
        s.metrics.stored(
            stored
                .events
                .iter()
                .zip(&fresh)
                .filter(|(_, n)| **n)
                .map(|(e, _)| e),
        );
        s.metrics.duplicates(duplicate as u64);
    }
    duplicate += repeated;
    s.metrics.duplicates(repeated as u64);
    let status = if total > 0 && rejected == total {
        if only_not_allowed {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    } else {
        StatusCode::OK
    };
    if rejected > 0 {
        tracing::warn!(key = %key.id, rejected, total, "events refused");
    }
    (
        status,
        axum::Json(
            json!({"accepted": accepted, "duplicate": duplicate, "rejected": rejected, "errors": errors}),
        ),
    )
        .into_response()
}

/// The request's media type (`Content-Type` without parameters, lower case), if it names one.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let ct = headers.get(header::CONTENT_TYPE)?;
    Some(
        ct.to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

/// The id of a refused event, when it has a UUID one (nothing else of it is echoed).
fn event_id(raw: &serde_json::value::RawValue) -> Value {
    #[derive(serde::Deserialize)]
    struct Id {
        id: Option<Value>,
    }
    serde_json::from_str::<Id>(raw.get())
        .ok()
        .and_then(|i| i.id)
        .and_then(|v| v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()))
        .map_or(Value::Null, |u| Value::String(u.to_string()))
}

fn batch_error(e: BatchError) -> Response {
    match e {
        BatchError::Unsupported(m) => error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", m),
        BatchError::TooLarge(m) => error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", m),
        BatchError::Malformed(m) => error(StatusCode::BAD_REQUEST, "malformed", m),
    }
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

fn wants_csv(pairs: &[(String, String)], headers: &HeaderMap) -> Result<bool, Response> {
    match pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.as_str())
    {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "`format`: `json` or `csv`",
        )),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("text/csv"))),
    }
}

/// An admin read's common start: the admin key, the query pairs, JSON or CSV, and the
/// question (`ignore`: parameters that are not filters).
async fn admin_query(
    s: &AppState,
    headers: &HeaderMap,
    raw: Option<String>,
    ignore: &[&str],
) -> Result<(Vec<(String, String)>, bool, ReportQuery), Response> {
    s.authorize(headers, true).await?;
    let pairs = query_pairs(raw)?;
    let csv = wants_csv(&pairs, headers)?;
    let q = ReportQuery::from_pairs(&pairs, now_ms(), ignore)
        .map_err(|e| error(StatusCode::BAD_REQUEST, "bad_query", e.to_string()))?;
    Ok((pairs, csv, q))
}

fn csv_response(text: String, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        text,
    )
        .into_response()
}

async fn usage_report(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let (_, csv, q) = match admin_query(&s, &headers, raw, &["format"]).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match report::run(&s.store, &q).await {
        Ok(r) => {
            s.metrics.report();
            if csv {
                csv_response(r.to_csv(), "usage")
            } else {
                axum::Json(r.to_json()).into_response()
            }
        }
        Err(e) => store_error(&s, "report", e),
    }
}

/// The event columns of a CSV export.
const EVENT_CSV_COLUMNS: [&str; 28] = [
    "id",
    "ts",
    "app",
    "team",
    "user",
    "env",
    "operation",
    "model_requested",
    "provider",
    "deployment",
    "model",
    "stream",
    "status",
    "error_code",
    "http_status",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "cost_is_estimated",
    "latency_ms",
    "ttft_ms",
    "fallback_used",
    "cache_hit",
    "policy_version",
    "labels",
];

/// The most events one page returns.
const MAX_PAGE: i64 = 1000;

async fn list_events(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let (pairs, csv, q) = match admin_query(&s, &headers, raw, &["format", "limit", "cursor"]).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !q.group_by.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "`group_by`: events are not grouped (see /v1/reports/usage)",
        );
    }
    let get = |k: &str| pairs.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let limit = match get("limit").map(str::parse::<i64>) {
        None => 100,
        Some(Ok(n)) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("`limit`: 1 to {MAX_PAGE}"),
            );
        }
    };
    let after = match get("cursor").map(parse_cursor) {
        None => None,
        Some(Some(c)) => Some(c),
        Some(None) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_query",
                "`cursor`: not a cursor this API gave",
            );
        }
    };
    // One more than asked: whether there is a next page at all.
    let sql = report::sql::events_select(
        s.store.dialect(),
        &q.filters,
        q.from_ms,
        q.to_ms,
        after,
        limit + 1,
    );
    let mut rows = match s.store.event_page(sql).await {
        Ok(r) => r,
        Err(e) => return store_error(&s, "events", e),
    };
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = more
        .then(|| rows.last().map(|e| format!("{}_{}", e.ts_ms, e.id)))
        .flatten();
    let events: Vec<Value> = rows.iter().map(crate::event::StoredEvent::to_json).collect();
    if csv {
        let columns: Vec<String> = EVENT_CSV_COLUMNS.iter().map(|c| c.to_string()).collect();
        let maps: Vec<&serde_json::Map<String, Value>> = events.iter().filter_map(Value::as_object).collect();
        let mut r = csv_response(crate::csv::write(&columns, &maps), "events");
        if let Some(n) = next.and_then(|n| HeaderValue::from_str(&n).ok()) {
            r.headers_mut().insert("x-next-cursor", n);
        }
        return r;
    }
    axum::Json(json!({"events": events, "next_cursor": next})).into_response()
}

/// `GET /v1/events/{id}`: one event's full record.
async fn one_event(State(s): State<Arc<AppState>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = s.authorize(&headers, true).await {
        return r;
    }
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "an event id is a UUID");
    };
    match s
        .store
        .event_page(report::sql::event_by_id(s.store.dialect(), id))
        .await
    {
        Ok(rows) => match rows.first() {
            Some(e) => axum::Json(e.to_json()).into_response(),
            None => error(StatusCode::NOT_FOUND, "not_found", "no such event"),
        },
        Err(e) => store_error(&s, "events", e),
    }
}

fn parse_cursor(c: &str) -> Option<(i64, uuid::Uuid)> {
    let (ts, id) = c.split_once('_')?;
    Some((ts.parse().ok()?, uuid::Uuid::parse_str(id).ok()?))
}

fn key_admin_error(s: &AppState, e: KeyAdminError) -> Response {
    match e {
        KeyAdminError::Invalid(m) => error(StatusCode::BAD_REQUEST, "invalid", m),
        KeyAdminError::NotFound(_) => error(StatusCode::NOT_FOUND, "not_found", e.to_string()),
        KeyAdminError::Store(e) => store_error(s, "keys", e),
    }
}

async fn list_keys(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = s.authorize(&headers, true).await {
        return r;
    }
    match s.store.keys().await {
        Ok(keys) => {
            let now = now_ms();
            axum::Json(json!({"keys": keys.iter().map(|k| key_admin::describe(k, now)).collect::<Vec<_>>()}))
                .into_response()
        }
        Err(e) => store_error(&s, "keys", e),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    kind: String,
    app: Option<String>,
    team: Option<String>,
    name: Option<String>,
}

async fn create_key(State(s): State<Arc<AppState>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Err(r) = s.authorize(&headers, true).await {
        return r;
    }
    let req: CreateKey = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid",
                crate::event::describe(&e.to_string()),
            );
        }
    };
    let Some(kind) = KeyKind::parse(&req.kind) else {
        return error(StatusCode::BAD_REQUEST, "invalid", "`kind`: `ingest` or `admin`");
    };
    let now = now_ms();
    match key_admin::create(&s.store, kind, req.app, req.team, req.name, now).await {
        Ok(k) => {
            tracing::info!(key = %k.record.id, kind = kind.as_str(), "key created");
            let mut v = key_admin::describe(&k.record, now);
            v["key"] = Value::String(k.token);
            (StatusCode::CREATED, axum::Json(v)).into_response()
        }
        Err(e) => key_admin_error(&s, e),
    }
}

async fn revoke_key(State(s): State<Arc<AppState>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = s.authorize(&headers, true).await {
        return r;
    }
    match key_admin::revoke(&s.store, &id, now_ms()).await {
        Ok(()) => {
            s.keys.forget(&id);
            tracing::info!(key = %id, "key revoked");
            axum::Json(json!({"id": id, "state": "revoked"})).into_response()
        }
        Err(e) => key_admin_error(&s, e),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rotate {
    #[serde(default)]
    grace_s: i64,
}

async fn rotate_key(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = s.authorize(&headers, true).await {
        return r;
    }
    let req: Rotate = if body.is_empty() {
        Rotate::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    crate::event::describe(&e.to_string()),
                );
            }
        }
    };
    let now = now_ms();
    match key_admin::rotate(&s.store, &id, req.grace_s.saturating_mul(1000), now).await {
        Ok(k) => {
            s.keys.forget(&id);
            tracing::info!(old = %id, new = %k.record.id, "key rotated");
            let mut v = key_admin::describe(&k.record, now);
            v["key"] = Value::String(k.token);
            v["replaces"] = Value::String(id);
            (StatusCode::CREATED, axum::Json(v)).into_response()
        }
        Err(e) => key_admin_error(&s, e),
    }
}

async fn metrics(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !s.opts.metrics_public
        && let Err(r) = s.authorize(&headers, true).await
    {
        return r;
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    if !s.ready.load(Ordering::Relaxed) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "shutting down");
    }
    match tokio::time::timeout(Duration::from_secs(2), s.store.ping()).await {
        Ok(Ok(())) => {
            axum::Json(json!({"ready": true, "database": "ok", "migrations": "applied"})).into_response()
        }
        Ok(Err(e)) => store_error(&s, "ping", e),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database did not answer within 2 s",
        ),
    }
}

/// A running collector service.
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    state: Arc<AppState>,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    /// The certificate or key could not be read.
    #[error("TLS: {0}")]
    Tls(String),
    /// The policy signing key could not be had.
    #[error("policy signing key: {0}")]
    Policy(String),
}

impl Server {
    /// Binds and starts serving `store`.
    pub async fn start(store: Store, opts: ServeOptions) -> Result<Server, ServeError> {
        let listener = bind(opts.listen).map_err(|e| ServeError::Listen(opts.listen, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ServeError::Listen(opts.listen, e))?;
        let tls = opts
            .tls
            .as_ref()
            .map(|(c, k)| crate::tls::acceptor(c, k))
            .transpose()
            .map_err(ServeError::Tls)?;
        let store = Arc::new(store);
        let seed = crate::policy::signing::load_seed(&store, opts.policy_signing_key.as_deref(), now_ms())
            .await
            .map_err(ServeError::Policy)?;
        let signer = crate::policy::signing::signer_of(&seed).map_err(ServeError::Policy)?;
        let sessions = SessionKeys::from_seed(&seed);
        let metrics = Metrics::new();
        let prices = opts
            .price_data
            .as_deref()
            .map(crate::policy::prices::PriceData::load)
            .transpose()
            .map_err(ServeError::Policy)?;
        if let Some(p) = &prices {
            tracing::info!(version = %p.version, "publishing a price catalog to clients");
        }
        let policy = PolicyHub::start(store.clone(), signer, metrics.policy(), prices).await;
        tracing::info!(
            public_key = %policy.public_key(),
            key_id = %policy.key_id(),
            version = policy.current().version,
            "policies are signed with this key (give clients the public key)"
        );
        let state = Arc::new(AppState {
            store,
            keys: KeyCache::default(),
            metrics,
            opts: opts.clone(),
            ready: AtomicBool::new(true),
            policy,
            sessions,
        });
        let app = router(state.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let retention = tokio::spawn(retention_loop(state.clone()));
        let grace = opts.shutdown_grace;
        let serving_state = state.clone();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop_rx.await;
                serving_state.ready.store(false, Ordering::Relaxed);
                // Watch streams never end by themselves: graceful shutdown ends them.
                serving_state.policy.shutdown();
            };
            match tls {
                None => {
                    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown);
                    if let Err(e) = served.await {
                        tracing::error!(error = %e, "the server stopped");
                    }
                }
                Some(acceptor) => crate::tls::serve(listener, acceptor, app, shutdown, grace).await,
            }
            retention.abort();
        });
        tracing::info!(%addr, tls = opts.tls.is_some(), "collector listening");
        Ok(Server {
            addr,
            stop: Some(stop_tx),
            task,
            state,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets requests in flight finish (their batches are committed), then
    /// closes the database.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let grace = self.state.opts.shutdown_grace;
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            tracing::warn!("requests still in flight after the grace period; stopping anyway");
            self.task.abort();
        }
        self.state.policy.stop().await;
        self.state.store.close().await;
    }

    /// Runs until SIGINT or SIGTERM, then stops gracefully.
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        self.stop().await;
        tracing::info!("stopped");
    }
}

/// Binds with `SO_REUSEADDR`, so a restarted collector gets its port back at once.
fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Deletes what is past retention, a minute after start and then hourly.
async fn retention_loop(s: Arc<AppState>) {
    let (events_days, rollups_days) = (s.opts.events_retention_days, s.opts.rollups_retention_days);
    if events_days == 0 && rollups_days == 0 {
        return;
    }
    let mut delay = Duration::from_secs(60);
    loop {
        tokio::time::sleep(delay).await;
        delay = Duration::from_secs(3600);
        let now = now_ms();
        let before = |days: u32| {
            if days == 0 {
                i64::MIN
            } else {
                now - i64::from(days) * DAY_MS
            }
        };
        match s
            .store
            .delete_before(before(events_days), before(rollups_days))
            .await
        {
            Ok((e, r)) if e + r > 0 => tracing::info!(events = e, rollup_rows = r, "deleted past retention"),
            Ok(_) => {}
            Err(e) => {
                s.metrics.db_error("retention");
                tracing::warn!(error = %e, "retention pass failed");
            }
        }
    }
}
