//! Bedrock whole Converse answer: bytes → `decode_converse_response`, with and without a
//! structured-output answer tool.
#![no_main]

use modelplug_core::providers::bedrock::decode_converse_response;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let include_raw = data.len() % 2 == 0;
    let answer_tool = (data.len() % 3 == 0).then_some("final_result");
    if let Ok(r) = decode_converse_response(data, include_raw, answer_tool) {
        assert_eq!(r.raw.is_some(), include_raw);
    }
});
