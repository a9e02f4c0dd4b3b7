//! The dashboard's static files, embedded in the binary (no CDN, no file system, no network
//! at run time), each served with a content type, an ETag and — when the browser takes it — a
//! gzip copy made once on first use.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    /// Its path under `/ui/assets/`.
    pub path: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
    prepared: OnceLock<Prepared>,
}

struct Prepared {
    etag: HeaderValue,
    gzip: Option<Vec<u8>>,
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        [$(Asset {
            path: $path,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/dashboard/", $path)),
            prepared: OnceLock::new(),
        }),*]
    };
}

/// Every file the page loads. The `index.html` and `login.html` shells are served at `/` and
/// `/login`, not from here.
static ASSETS: [Asset; 16] = assets![
    "app.css",
    "js/main.js",
    "js/api.js",
    "js/dom.js",
    "js/format.js",
    "js/chart.js",
    "js/range.js",
    "js/pages/overview.js",
    "js/pages/breakdown.js",
    "js/pages/errors.js",
    "js/pages/events.js",
    "js/pages/policy.js",
    "js/pages/budgets.js",
    "vendor/uPlot.iife.min.js",
    "vendor/uPlot.min.css",
    "vendor/uPlot.LICENSE",
];

/// The page shell.
pub static INDEX_HTML: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/dashboard/index.html"));
/// The login page (`{{error}}` is where a refusal's message goes).
pub static LOGIN_HTML: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/dashboard/login.html"));

/// Every embedded asset (for the size report and tests).
pub fn all() -> &'static [Asset] {
    &ASSETS
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    }
}

impl Asset {
    fn prepared(&self) -> &Prepared {
        self.prepared.get_or_init(|| {
            let digest = Sha256::digest(self.bytes);
            let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            let etag = HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a valid header");
            let mut gz = GzEncoder::new(Vec::new(), Compression::best());
            let gzip = std::io::Write::write_all(&mut gz, self.bytes)
                .ok()
                .and_then(|_| gz.finish().ok())
                .filter(|z| z.len() < self.bytes.len());
            Prepared { etag, gzip }
        })
    }

    /// Its size gzipped (its plain size when gzip does not make it smaller).
    pub fn gzip_len(&self) -> usize {
        self.prepared().gzip.as_ref().map_or(self.bytes.len(), Vec::len)
    }
}

/// The answer for `GET /ui/assets/<path>`.
pub fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return crate::server::error(StatusCode::NOT_FOUND, "not_found", "no such file");
    };
    let p = asset.prepared();
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    h.insert(header::ETAG, p.etag.clone());
    // Revalidated on every load (a 304 on loopback costs well under a millisecond), so an
    // upgraded collector never serves a stale script.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == p.etag.as_bytes());
    if unchanged {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    match (&p.gzip, crate::compress::accepts_gzip(headers)) {
        (Some(z), true) => {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (h, z.clone()).into_response()
        }
        _ => (h, asset.bytes).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_served_gzipped_with_an_etag_and_revalidated() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, br"));
        let r = serve("js/main.js", &h);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        assert!(
            r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
        let etag = r.headers()[header::ETAG].clone();
        h.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(serve("js/main.js", &h).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(serve("../Cargo.toml", &h).status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn every_asset_is_embedded_and_the_vendored_chart_library_is_small() {
        for a in all() {
            assert!(!a.bytes.is_empty(), "{}", a.path);
        }
        let uplot = all()
            .iter()
            .find(|a| a.path == "vendor/uPlot.iife.min.js")
            .unwrap();
        assert!(
            uplot
                .bytes
                .starts_with(b"/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
        );
        assert!(uplot.gzip_len() < 30_000, "{}", uplot.gzip_len());
    }
}
