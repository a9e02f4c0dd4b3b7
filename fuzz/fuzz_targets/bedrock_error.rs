//! AWS error answers (Bedrock, SageMaker): bytes → `error_from_response` (any status, optional
//! headers such as `x-amzn-ErrorType`) and `error_from_exception` (a mid-stream exception).
//! Input: the body, or `name: value` header lines, a `\n--\n` line, then the body.
#![no_main]

use modelplug_core::providers::bedrock::{error_from_exception, error_from_response};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

const STATUSES: [u16; 10] = [400, 403, 404, 408, 424, 429, 500, 502, 503, 504];

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
    let kind = String::from_utf8_lossy(head);
    let _ = error_from_exception(&kind, body);
});
