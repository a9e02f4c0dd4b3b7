//! AWS error answers (Bedrock, SageMaker): bytes → `error_from_response` (any status, optional
//! headers such as `x-amzn-ErrorType`) and `error_from_exception` (a mid-stream exception).
//! Input: the body, or `name: value` header lines, a `\n--\n` line, then the body.
#![no_main]

use modelplug_core::providers::bedrock::{error_from_exception, error_from_response};

const STATUSES: [u16; 10] = [400, 403, 404, 408, 424, 429, 500, 502, 503, 504];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (headers, head, body) = modelplug_fuzz::headers_and_body(data);
    let status = STATUSES[modelplug_fuzz::Splitter::of(data).next() as usize % STATUSES.len()];
    let e = error_from_response(status, &headers, body);
    assert_eq!(e.status(), Some(status));
    let kind = String::from_utf8_lossy(head);
    let _ = error_from_exception(&kind, body);
});
