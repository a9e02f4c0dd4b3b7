//! Bedrock ConverseStream: bytes → eventstream framing (prelude and message CRCs, header
//! parsing, exception messages) → `ConverseStreamDecoder`.
#![no_main]

use modelplug_core::providers::bedrock::{ConverseStreamDecoder, error_from_exception};
use modelplug_core::providers::framing::EventStreamFraming;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    modelplug_fuzz::stream(
        data,
        || EventStreamFraming::new(error_from_exception),
        ConverseStreamDecoder::new,
    );
});
