//! Gemini whole `generateContent` answer: bytes → `decode_generate_response`.
#![no_main]

use modelplug_core::providers::gemini::decode_generate_response;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let include_raw = data.len() % 2 == 0;
    if let Ok(r) = decode_generate_response(data, include_raw) {
        assert_eq!(r.raw.is_some(), include_raw);
    }
});
