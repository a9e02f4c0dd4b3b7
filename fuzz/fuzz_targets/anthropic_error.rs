//! Anthropic error answers: bytes → `error_from_response` (any status, optional headers) and,
//! for JSON, `error_from_body` as a mid-stream `error` event.
//! Input: the body, or `name: value` header lines, a `\n--\n` line, then the body.
#![no_main]

use modelplug_core::providers::anthropic::{error_from_body, error_from_response};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

const STATUSES: [u16; 12] = [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 503, 529];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.windows(4).position(|w| w == b"\n--\n") {
        Some(i) => (&data[..i], &data[i + 4..]),
        None => (&[][..], data),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(c) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(&line[..c]),
            HeaderValue::from_bytes(line[c + 1..].trim_ascii()),
        ) {
            headers.append(n, v);
        }
    }
    let status = STATUSES[modelplug_fuzz::Splitter::of(data).next() as usize % STATUSES.len()];
    let e = error_from_response(status, &headers, body);
    assert_eq!(e.status(), Some(status));
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let _ = error_from_body(&v, None);
    }
});
