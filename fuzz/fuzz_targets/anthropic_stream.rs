//! Anthropic Messages stream: bytes → SSE framing → `MessagesStreamDecoder`.
//! A new stream family is a copy of this file with its framing and decoder (and a `[[bin]]`
//! entry in Cargo.toml).
#![no_main]

use modelplug_core::providers::anthropic::MessagesStreamDecoder;
use modelplug_core::providers::framing::SseDecoder;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    modelplug_fuzz::stream(data, SseDecoder::new, MessagesStreamDecoder::new);
});
