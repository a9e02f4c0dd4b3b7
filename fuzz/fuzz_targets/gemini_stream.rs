//! Gemini `streamGenerateContent?alt=sse`: bytes → SSE framing → `GenerateStreamDecoder`.
#![no_main]

use modelplug_core::providers::framing::SseDecoder;
use modelplug_core::providers::gemini::GenerateStreamDecoder;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    modelplug_fuzz::stream(data, SseDecoder::new, GenerateStreamDecoder::new);
});
