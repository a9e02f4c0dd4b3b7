//! Google error answers: bytes → `error_from_response` (any status) and, for JSON,
//! `error_from_body` as an error chunk inside a 200 stream.
#![no_main]

use modelplug_core::providers::gemini::{error_from_body, error_from_response};
use reqwest::header::HeaderMap;

const STATUSES: [u16; 10] = [400, 401, 403, 404, 408, 429, 500, 502, 503, 504];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let status = STATUSES[modelplug_fuzz::Splitter::of(data).next() as usize % STATUSES.len()];
    let e = error_from_response(status, &HeaderMap::new(), data);
    assert_eq!(e.status(), Some(status));
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = error_from_body(&v, None);
    }
});
