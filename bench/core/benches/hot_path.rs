//! The core's hot path without network: build a Chat Completions request, parse an answer,
//! decode a 200-chunk stream, and one whole `Client::chat` and `Client::stream` through the
//! in-process mock provider (the call pipeline, routing, attempts, assembly and the usage event).
//! The same three adapter steps for each further provider family (Anthropic Messages, Gemini's
//! generateContent — its stream both as SSE and as the JSON-array form), measured
//! in the same run so that their ratio to the OpenAI figures can be quoted
//! (`bench/core/families.py` prints ns/chunk and the ratios).
//!
//! Run: `make bench-core` (or `cargo bench -p modelplug-bench`).

use std::collections::VecDeque;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelplug_core::providers::anthropic::{
    MessagesStreamDecoder, decode_messages_response, encode_messages_request,
};
use modelplug_core::providers::framing::{JsonArrayDecoder, SseDecoder};
use modelplug_core::providers::gemini::{
    GenerateStreamDecoder, decode_generate_response, encode_generate_request,
};
use modelplug_core::providers::openai::{
    ChatChunkDecoder, Quirks, decode_chat_response, encode_chat_request,
};
use modelplug_core::providers::{EventDecoder, ProviderKind};
use modelplug_core::{ChatRequest, Client, Config};
use serde_json::json;

fn request() -> ChatRequest {
    ChatRequest::from_value(json!({
        "model": "smart",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Give me a short overview of Rust for SDK cores."}
        ],
        "temperature": 0.2,
        "max_tokens": 128
    }))
    .unwrap()
}

const ANSWER: &[u8] =
    include_bytes!("../../../tests/provider-specs/recorded/openai/chat_nonstream_text.response.json");

/// A 200-chunk stream shaped like OpenAI's (role chunk, content chunks with `obfuscation`,
/// finish chunk, usage chunk, `[DONE]`).
fn stream_body(chunks: usize) -> Vec<u8> {
    let mut out = String::new();
    let head = r#""id":"chatcmpl-Dx0XpqH8w09uBXwq1zFGYdETjtnEl","object":"chat.completion.chunk","created":1782955817,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_d0469e1700""#;
    out.push_str(&format!("data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null,\"obfuscation\":\"qfQVOwfh\"}}\n\n"));
    for i in 0..chunks - 3 {
        out.push_str(&format!("data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" word{i}\"}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null,\"obfuscation\":\"UqdZk18gUR\"}}\n\n"));
    }
    out.push_str(&format!("data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}],\"usage\":null,\"obfuscation\":\"VskHzN\"}}\n\n"));
    out.push_str(&format!("data: {{{head},\"choices\":[],\"usage\":{{\"prompt_tokens\":53,\"completion_tokens\":197,\"total_tokens\":250,\"prompt_tokens_details\":{{\"cached_tokens\":0,\"audio_tokens\":0}},\"completion_tokens_details\":{{\"reasoning_tokens\":0,\"audio_tokens\":0}}}},\"obfuscation\":\"x\"}}\n\n"));
    out.push_str("data: [DONE]\n\n");
    out.into_bytes()
}

const MESSAGES_ANSWER: &[u8] = include_bytes!(
    "../../../tests/provider-specs/recorded/anthropic/messages_nonstream_system.response.json"
);

/// A 200-event Messages stream shaped like Anthropic's recordings (`event:` lines, the padding
/// after each JSON, a ping): message_start, content_block_start, ping, 194 text deltas,
/// content_block_stop, message_delta, message_stop.
fn messages_stream_body(chunks: usize) -> Vec<u8> {
    let mut out = String::new();
    let mut ev = |name: &str, data: &str, pad: usize| {
        out.push_str(&format!("event: {name}\ndata: {data}{}\n\n", " ".repeat(pad)));
    };
    ev(
        "message_start",
        r#"{"type":"message_start","message":{"model":"claude-sonnet-4-5-20250929","id":"msg_018E1hg8GoVTGEKQY3ovMcSJ","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}"#,
        12,
    );
    ev(
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        8,
    );
    ev("ping", r#"{"type": "ping"}"#, 0);
    for i in 0..chunks - 6 {
        let delta = format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":" word{i}"}}}}"#
        );
        ev("content_block_delta", &delta, 4 + i % 9);
    }
    ev(
        "content_block_stop",
        r#"{"type":"content_block_stop","index":0}"#,
        8,
    );
    ev(
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":197}}"#,
        7,
    );
    ev("message_stop", r#"{"type":"message_stop"}"#, 4);
    out.into_bytes()
}

const GENERATE_ANSWER: &[u8] = include_bytes!(
    "../../../tests/provider-specs/recorded/gemini/generate_nonstream_json_schema.response.json"
);

/// The 200 chunks of a Gemini stream shaped like the recordings: a text part each, the usage
/// so far on every chunk, the finish reason and final counts on the last.
fn generate_chunks(chunks: usize) -> Vec<String> {
    (0..chunks)
        .map(|i| {
            let last = i + 1 == chunks;
            let finish = if last { r#","finishReason": "STOP""# } else { "" };
            format!(
                r#"{{"candidates": [{{"content": {{"parts": [{{"text": " word{i}"}}],"role": "model"}}{finish},"index": 0}}],"usageMetadata": {{"promptTokenCount": 53,"candidatesTokenCount": {},"totalTokenCount": {},"promptTokensDetails": [{{"modality": "TEXT","tokenCount": 53}}]}},"modelVersion": "gemini-2.5-flash","responseId": "IopyaseNCL-s-8YP7urOoAY"}}"#,
                i + 1,
                54 + i
            )
        })
        .collect()
}

/// `alt=sse`: `data:` lines with CRLF separators and no terminator.
fn generate_sse_body(chunks: usize) -> Vec<u8> {
    generate_chunks(chunks)
        .iter()
        .map(|c| format!("data: {c}\r\n\r\n"))
        .collect::<String>()
        .into_bytes()
}

/// Without `alt=sse`: one JSON array, the elements separated as Google separates them.
fn generate_array_body(chunks: usize) -> Vec<u8> {
    format!("[{}]", generate_chunks(chunks).join("\n,\r\n")).into_bytes()
}

/// Decodes a whole stream body through a framing and a decoder, in network-sized pieces (the
/// decoder sees chunks split at arbitrary points). A macro, so that every family's framing is
/// called the same way (its own `feed`, statically dispatched).
macro_rules! decode_stream {
    ($body:expr, $framing:expr, $decoder:expr) => {{
        let mut framing = $framing;
        let mut dec = $decoder;
        let mut out = VecDeque::new();
        for piece in black_box($body).chunks(1400) {
            framing
                .feed(piece, |ev| {
                    dec.on_event(ev, &mut out)?;
                    out.clear();
                    Ok(())
                })
                .unwrap();
        }
        assert!(dec.finished());
    }};
}

fn hot_path(c: &mut Criterion) {
    let req = request();
    let quirks = Quirks::of(ProviderKind::OpenAi);
    c.bench_function("build chat request", |b| {
        b.iter(|| encode_chat_request(black_box(&req), "gpt-4o-mini", &quirks, false).unwrap())
    });
    c.bench_function("parse chat response", |b| {
        b.iter(|| decode_chat_response(black_box(ANSWER), false).unwrap())
    });
    c.bench_function("non-streaming request (build + parse)", |b| {
        b.iter(|| {
            let body = encode_chat_request(black_box(&req), "gpt-4o-mini", &quirks, false).unwrap();
            black_box(body);
            decode_chat_response(black_box(ANSWER), false).unwrap()
        })
    });

    c.bench_function("anthropic: build messages request", |b| {
        b.iter(|| encode_messages_request(black_box(&req), "claude-sonnet-4-5", false).unwrap())
    });
    c.bench_function("anthropic: parse messages response", |b| {
        b.iter(|| decode_messages_response(black_box(MESSAGES_ANSWER), false, None).unwrap())
    });
    c.bench_function("gemini: build generateContent request", |b| {
        b.iter(|| encode_generate_request(black_box(&req), "gemini-2.5-flash").unwrap())
    });
    c.bench_function("gemini: parse generateContent response", |b| {
        b.iter(|| decode_generate_response(black_box(GENERATE_ANSWER), false).unwrap())
    });

    let body = stream_body(200);
    let messages_body = messages_stream_body(200);
    let generate_sse = generate_sse_body(200);
    let generate_array = generate_array_body(200);
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Elements(200));
    group.bench_function("decode 200-chunk stream (per element = per chunk)", |b| {
        b.iter(|| decode_stream!(&body, SseDecoder::new(), ChatChunkDecoder::new()))
    });
    group.bench_function(
        "anthropic: decode 200-chunk stream (per element = per chunk)",
        |b| b.iter(|| decode_stream!(&messages_body, SseDecoder::new(), MessagesStreamDecoder::new())),
    );
    group.bench_function(
        "gemini: decode 200-chunk SSE stream (per element = per chunk)",
        |b| b.iter(|| decode_stream!(&generate_sse, SseDecoder::new(), GenerateStreamDecoder::new())),
    );
    group.bench_function(
        "gemini: decode 200-chunk JSON-array stream (per element = per chunk)",
        |b| {
            b.iter(|| {
                decode_stream!(
                    &generate_array,
                    JsonArrayDecoder::new(),
                    GenerateStreamDecoder::new()
                )
            })
        },
    );
    group.finish();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = json!({"models": [{"name": "smart", "deployments": [{"provider": "mock", "model": "m", "mock": {"reply": "Sure! Here is a short overview."}}]}]});
    let client = Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap();
    c.bench_function("Client::chat through the mock provider (whole core path)", |b| {
        b.iter(|| runtime.block_on(client.chat(black_box(req.clone()))).unwrap())
    });
    c.bench_function(
        "Client::stream through the mock provider (whole core path, to Done)",
        |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let mut stream = client.stream(black_box(req.clone()));
                    let mut events = 0;
                    while let Some(ev) = stream.next().await {
                        ev.unwrap();
                        events += 1;
                    }
                    events
                })
            })
        },
    );
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
