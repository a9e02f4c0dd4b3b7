//! gzip for the collector's larger answers (reports, event pages, CSV): a 30-day report by day
//! and app is ~370 KB of JSON and ~37 KB at gzip's fastest level, which matters once the
//! dashboard is not on loopback. Only JSON and CSV of at least [`MIN_BYTES`], only when the client says it takes
//! gzip, never a stream (the policy watch is `text/event-stream`) nor an answer that is encoded
//! already (the dashboard's assets are gzipped once, ahead).
//!
//! Not tower-http's `CompressionLayer`: turning on its `compression-gzip` feature here would
//! give tower-http (a dependency of reqwest, hence of core) a different feature set in the
//! collector's build than in the bindings' builds, and build core twice.

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use flate2::Compression;
use flate2::write::GzEncoder;

/// Smaller answers are sent as they are (gzip would save little and cost a copy).
pub const MIN_BYTES: usize = 1024;
/// Larger answers are sent as they are too, rather than held whole in memory twice.
const MAX_BYTES: usize = 64 << 20;

/// Whether `Accept-Encoding` takes gzip: named (or `*`) without `q=0`, and gzip not refused by
/// name when only `*` would take it.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut star = false;
    for offer in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = offer.split(';');
        let name = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if name.eq_ignore_ascii_case("gzip") {
            return !refused;
        }
        if name == "*" {
            star = !refused;
        }
    }
    star
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

/// Bodies from this size up are compressed off the async workers.
const BLOCKING_FROM: usize = 256 << 10;

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut gz = GzEncoder::new(Vec::with_capacity(bytes.len() / 8), Compression::fast());
    std::io::Write::write_all(&mut gz, bytes)?;
    gz.finish()
}

/// The middleware.
pub async fn gzip_large_answers(req: Request, next: Next) -> Response {
    let wants = accepts_gzip(req.headers());
    let mut response = next.run(req).await;
    if !compressible(&response) {
        return response;
    }
    // The answer depends on Accept-Encoding whether or not this one is compressed.
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    // Only bodies of a known size within the bounds are read whole (the collector's JSON and
    // CSV answers are built in memory: their size is known).
    let size = response.body().size_hint().exact();
    if !wants || size.is_none_or(|n| n < MIN_BYTES as u64 || n > MAX_BYTES as u64) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BYTES).await {
        Ok(b) => b,
        // The body failed while being read: the client would have seen it fail too.
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    let zipped = if bytes.len() >= BLOCKING_FROM {
        let copy = bytes.clone();
        tokio::task::spawn_blocking(move || gzip(&copy))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    } else {
        gzip(&bytes)
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn offers(v: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        accepts_gzip(&h)
    }

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        for yes in ["gzip", "br, gzip", "GZIP;q=0.5", "*", "deflate, *;q=1"] {
            assert!(offers(yes), "{yes}");
        }
        for no in [
            "identity",
            "gzip;q=0",
            "gzip; q=0.0",
            "br",
            "gzip;q=0, *",
            "*;q=0",
        ] {
            assert!(!offers(no), "{no}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
