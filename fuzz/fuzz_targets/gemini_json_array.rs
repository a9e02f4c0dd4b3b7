//! Gemini `streamGenerateContent` without `alt=sse`: bytes → JSON-array framing →
//! `GenerateStreamDecoder`.
#![no_main]

use modelplug_core::providers::framing::JsonArrayDecoder;
use modelplug_core::providers::gemini::GenerateStreamDecoder;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    modelplug_fuzz::stream(data, JsonArrayDecoder::new, GenerateStreamDecoder::new);
});
