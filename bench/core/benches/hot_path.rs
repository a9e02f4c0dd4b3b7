//! The core's hot path without network: build a Chat Completions request, parse an answer,
//! decode a 200-chunk stream, and one whole `Client::chat` and `Client::stream` through the
//! in-process mock provider (the call pipeline, routing, attempts, assembly and the usage event).
//! The same three adapter steps for each further provider family (Anthropic Messages, Gemini's
//! generateContent — its stream both as SSE and as the JSON-array form), measured
//! in the same run so that their ratio to the OpenAI figures can be quoted
//! (`bench/core/families.py` prints ns/chunk and the ratios).
//!
//! Bedrock (Converse; its stream in AWS's binary eventstream) likewise, plus what AWS adds per
//! request: SigV4 signing of a Converse request.
//!
//! Run: `make bench-core` (or `cargo bench -p modelplug-bench`).

use std::collections::VecDeque;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelplug_core::providers::anthropic::{
    MessagesStreamDecoder, decode_messages_response, encode_messages_request,
};
use modelplug_core::providers::auth::aws::{AwsCredentials, sign_request};
use modelplug_core::providers::bedrock::{
    ConverseStreamDecoder, decode_converse_response, encode_converse_request, error_from_exception,
};
use modelplug_core::providers::framing::{EventStreamFraming, Framing, JsonArrayDecoder, SseDecoder};
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

const CONVERSE_ANSWER: &[u8] = include_bytes!(
    "../../../tests/provider-specs/recorded/bedrock/converse_nonstream_tool_use.response.json"
);

/// One eventstream message as Bedrock frames it (three string headers, CRCs).
fn eventstream_frame(event: &str, payload: &str) -> Vec<u8> {
    let mut headers = Vec::new();
    for (name, value) in [
        (":event-type", event),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ] {
        headers.push(name.len() as u8);
        headers.extend_from_slice(name.as_bytes());
        headers.push(7);
        headers.extend_from_slice(&(value.len() as u16).to_be_bytes());
        headers.extend_from_slice(value.as_bytes());
    }
    let total = 12 + headers.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&headers);
    out.extend_from_slice(payload.as_bytes());
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// CRC-32 (IEEE), bitwise: only for building the benchmark's input.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A 200-frame ConverseStream shaped like the recordings (`p` padding on every payload):
/// messageStart, 196 text deltas, contentBlockStop, messageStop, metadata.
fn converse_stream_body(frames: usize) -> Vec<u8> {
    let pad = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = eventstream_frame("messageStart", r#"{"p":"abcdefghijklmnopqr","role":"assistant"}"#);
    for i in 0..frames - 4 {
        let delta = format!(
            r#"{{"contentBlockIndex":0,"delta":{{"text":" word{i}"}},"p":"{}"}}"#,
            &pad[..10 + i % 40]
        );
        out.extend(eventstream_frame("contentBlockDelta", &delta));
    }
    out.extend(eventstream_frame(
        "contentBlockStop",
        r#"{"contentBlockIndex":0,"p":"abcdefghijklmnopqrstuvwxyzABCDE"}"#,
    ));
    out.extend(eventstream_frame(
        "messageStop",
        r#"{"p":"abcdefghijklmnopqrstuvwxyzABCDEFG","stopReason":"end_turn"}"#,
    ));
    out.extend(eventstream_frame("metadata", r#"{"metrics":{"latencyMs":1999},"p":"abcdefghijklmnop","usage":{"inputTokens":36,"outputTokens":197,"totalTokens":233}}"#));
    out
}

/// Decodes an eventstream body in network-sized pieces through the `Framing` trait.
fn decode_eventstream(body: &[u8]) {
    let mut framing = EventStreamFraming::new(error_from_exception);
    let mut dec = ConverseStreamDecoder::new();
    let mut out = VecDeque::new();
    for piece in black_box(body).chunks(1400) {
        framing
            .feed_frames(piece, &mut |ev| {
                dec.on_event(ev, &mut out)?;
                out.clear();
                Ok(())
            })
            .unwrap();
    }
    assert!(dec.finished());
}

/// A Converse request as the adapter sends it, before signing.
fn converse_http_request(body: Vec<u8>) -> reqwest::Request {
    let url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse";
    let mut r = reqwest::Request::new(reqwest::Method::POST, url.parse().unwrap());
    r.headers_mut().insert(
        "content-type",
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        "accept",
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    *r.body_mut() = Some(body.into());
    r
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
    c.bench_function("bedrock: build converse request", |b| {
        b.iter(|| encode_converse_request(black_box(&req)).unwrap())
    });
    c.bench_function("bedrock: parse converse response", |b| {
        b.iter(|| decode_converse_response(black_box(CONVERSE_ANSWER), false, None).unwrap())
    });
    let credentials = AwsCredentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("session-token-example".into()),
        None,
        "bench",
    );
    let converse_body = encode_converse_request(&req).unwrap();
    c.bench_function("bedrock: SigV4-sign a converse request", |b| {
        b.iter_batched(
            || converse_http_request(converse_body.clone()),
            |mut r| {
                sign_request(
                    &mut r,
                    &credentials,
                    "us-east-1",
                    "bedrock",
                    std::time::SystemTime::now(),
                )
                .unwrap();
                r
            },
            criterion::BatchSize::SmallInput,
        )
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
    let converse_stream = converse_stream_body(200);
    group.bench_function(
        "bedrock: decode 200-frame eventstream (per element = per frame)",
        |b| b.iter(|| decode_eventstream(&converse_stream)),
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
