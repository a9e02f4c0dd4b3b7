//! SageMaker response stream: bytes → eventstream framing → `PayloadPart` payloads joined →
//! SSE framing → the OpenAI chat-chunk decoder.
#![no_main]

use modelplug_core::providers::bedrock::error_from_exception;
use modelplug_core::providers::framing::{PayloadPartsFraming, SseDecoder};
use modelplug_core::providers::openai::ChatChunkDecoder;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    modelplug_fuzz::stream(
        data,
        || PayloadPartsFraming::new(SseDecoder::new(), error_from_exception),
        ChatChunkDecoder::new,
    );
});
