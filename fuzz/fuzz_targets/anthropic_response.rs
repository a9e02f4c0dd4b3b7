//! Anthropic whole (non-streaming) Messages answer: bytes → `decode_messages_response`.
#![no_main]

use modelplug_core::providers::anthropic::decode_messages_response;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let include_raw = data.len() % 2 == 0;
    if let Ok(r) = decode_messages_response(data, include_raw, None) {
        // A decoded answer keeps the raw body only when asked, and then it is the body's JSON.
        assert_eq!(r.raw.is_some(), include_raw);
    }
});
