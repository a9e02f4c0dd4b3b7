//! Anthropic error answers: bytes → `error_from_response` (any status, optional headers) and,
//! for JSON, `error_from_body` as a mid-stream `error` event.
//! Input: the body, or `name: value` header lines, a `\n--\n` line, then the body.
#![no_main]

use modelplug_core::providers::anthropic::{error_from_body, error_from_response};

const STATUSES: [u16; 12] = [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 503, 529];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (headers, _, body) = modelplug_fuzz::headers_and_body(data);
    let status = STATUSES[modelplug_fuzz::Splitter::of(data).next() as usize % STATUSES.len()];
    let e = error_from_response(status, &headers, body);
    assert_eq!(e.status(), Some(status));
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let _ = error_from_body(&v, None);
    }
});
