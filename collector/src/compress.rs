//! gzip for the collector's larger answers (reports, event pages, CSV): a 30-day report by day
//! and app is ~370 KB of JSON and ~21 KB gzipped, which matters once the dashboard is not on
//! loopback. Only JSON and CSV of at least [`MIN_BYTES`], only when the client says it takes
//! gzip, never a stream (the policy watch is `text/event-stream`) nor an answer that is encoded
//! already (the dashboard's assets are gzipped once, ahead).

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use flate2::Compression;
use flate2::write::GzEncoder;

/// Smaller answers are sent as they are (gzip would save little and cost a copy).
pub const MIN_BYTES: usize = 1024;
/// Larger answers are sent as they are too, rather than held whole in memory twice.
const MAX_BYTES: usize = 64 << 20;

fn accepts_gzip(req: &Request) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.split(';');
            let name = parts.next().unwrap_or("").trim();
            // `gzip;q=0` refuses it.
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn compressible(r: &Response) -> bool {
    if r.headers().contains_key(header::CONTENT_ENCODING) {
        return false;
    }
    let Some(ct) = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    ct.starts_with("application/json") || ct.starts_with("text/csv")
}

/// The middleware.
pub async fn gzip_large_answers(req: Request, next: Next) -> Response {
    let wants = accepts_gzip(&req);
    let response = next.run(req).await;
    if !wants || !compressible(&response) {
        return response;
    }
    // Only bodies of a known size within the bound are read whole (the collector's JSON and
    // CSV answers are built in memory: their size is known).
    let size = response.body().size_hint().exact();
    if size.is_none_or(|n| n < MIN_BYTES as u64 || n > MAX_BYTES as u64) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BYTES).await {
        Ok(b) => b,
        // The body failed while being read: the client would have seen it fail too.
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    let mut gz = GzEncoder::new(Vec::with_capacity(bytes.len() / 8), Compression::fast());
    let zipped = std::io::Write::write_all(&mut gz, &bytes).and_then(|_| gz.finish());
    match zipped {
        Ok(z) => {
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(z))
        }
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}
