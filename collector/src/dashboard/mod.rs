//! The dashboard: a page at `/` over the collector's own report, event, policy and budget
//! APIs, behind an admin login ([`session`]). The page is static files embedded in the binary
//! ([`assets`]); everything it shows comes from the same `/v1/…` answers an admin key gets, so
//! the page and the API can never disagree.

pub mod assets;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::auth::Denied;
use crate::keys::KeyRecord;
use crate::server::{AppState, error, now_ms, store_error};
use session::Session;

/// The page's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(index))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/ui/session", get(session_info))
        .route("/ui/assets/{*path}", get(asset))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
}

/// What every HTML answer carries: the page runs only its own scripts and styles, talks only
/// to this origin and cannot be framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn redirect(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// The login page, with a refusal's message (fixed texts only: nothing a caller sent).
fn login_html(status: StatusCode, message: &str) -> Response {
    let error = if message.is_empty() {
        String::new()
    } else {
        format!("<p id=\"login-error\" class=\"error\" role=\"alert\">{message}</p>")
    };
    html(status, assets::LOGIN_HTML.replace("{{error}}", &error))
}

/// The valid session a request's cookie names, with its admin key, if that is still active.
async fn admin_session(s: &AppState, headers: &HeaderMap) -> Result<Option<(Session, KeyRecord)>, Response> {
    let now = now_ms();
    let Some(session) = s.sessions.from_headers(headers, now) else {
        return Ok(None);
    };
    match s.keys.check_id(&s.store, &session.key_id, true, now).await {
        Ok(Ok(key)) => Ok(Some((session, key))),
        Ok(Err(_)) => Ok(None),
        Err(e) => Err(store_error(s, "key_lookup", e)),
    }
}

async fn index(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match admin_session(&s, &headers).await {
        Ok(Some(_)) => html(StatusCode::OK, assets::INDEX_HTML.to_owned()),
        Ok(None) => redirect("/login"),
        Err(r) => r,
    }
}

async fn login_page(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match admin_session(&s, &headers).await {
        Ok(Some(_)) => redirect("/"),
        Ok(None) => login_html(StatusCode::OK, ""),
        Err(r) => r,
    }
}

#[derive(serde::Deserialize)]
struct LoginForm {
    key: String,
}

async fn login(State(s): State<Arc<AppState>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    // A login posted from another site would sign this browser in as someone else.
    if !same_origin(&headers) {
        return login_html(StatusCode::FORBIDDEN, "Sign in from this page.");
    }
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return login_html(StatusCode::BAD_REQUEST, "Enter an admin key.");
    };
    let bearer = format!("Bearer {}", form.key.trim());
    let record = match s.keys.check(&s.store, Some(&bearer), true, now_ms()).await {
        Ok(Ok(k)) => k,
        Ok(Err(Denied::Forbidden)) => {
            return login_html(
                StatusCode::UNAUTHORIZED,
                "That is an ingest key: the dashboard needs an admin key.",
            );
        }
        Ok(Err(Denied::Unauthenticated)) => {
            tracing::info!("dashboard login refused: not a valid key");
            return login_html(
                StatusCode::UNAUTHORIZED,
                "That key is not a valid admin key (revoked, expired or mistyped).",
            );
        }
        Err(e) => return store_error(&s, "key_lookup", e),
    };
    let token = match s.sessions.issue(&record.id, now_ms()) {
        Ok(t) => t,
        Err(_) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "no randomness for a session; try again",
            );
        }
    };
    tracing::info!(key_id = %record.id, "dashboard login");
    let mut r = redirect("/");
    let cookie = session::set_cookie(&token, s.https(&headers));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    // The CSRF guard has checked the token of a cookie-authenticated POST.
    if let Some(session) = s.sessions.from_headers(&headers, now_ms()) {
        s.sessions.end(&session, now_ms());
    }
    // No redirect: the page posts this with `fetch` (it needs the CSRF header) and then goes
    // to the login page itself.
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(s.https(&headers))) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn session_info(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let (session, key) = match admin_session(&s, &headers).await {
        Ok(Some(found)) => found,
        Ok(None) => return error(StatusCode::UNAUTHORIZED, "unauthorized", "log in at /login"),
        Err(r) => return r,
    };
    let mut r = axum::Json(json!({
        "key_id": session.key_id,
        "key_name": key.name,
        "csrf_token": s.sessions.csrf_token(&session),
        "expires_ms": session.expires_ms(),
    }))
    .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    assets::serve(&path, &headers)
}

/// Whether the request comes from this server's own pages: the browser's `Sec-Fetch-Site`
/// when it sends one (`same-origin`, or `none` for a typed address), else its `Origin`
/// compared with `Host`; a request with neither (not from a browser) passes.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = text(header::ORIGIN) else {
        return true;
    };
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((authority, text(header::HOST)), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// Refuses an action (any method but GET/HEAD/OPTIONS) made with the session cookie unless it
/// carries the session's CSRF token and comes from this origin. Requests with an
/// `Authorization` header are not cookie-authenticated and pass untouched.
pub async fn csrf_guard(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let h = req.headers();
    let cookie_action = !safe && h.get(header::AUTHORIZATION).is_none() && req.uri().path() != "/login";
    if cookie_action && let Some(session) = s.sessions.from_headers(h, now_ms()) {
        let token_ok = h
            .get(session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| s.sessions.csrf_matches(&session, t));
        if !token_ok || !same_origin(h) {
            return error(
                StatusCode::FORBIDDEN,
                "csrf",
                "an action made with the dashboard's session needs its `x-csrf-token` header, from the dashboard's own origin",
            );
        }
    }
    next.run(req).await
}
