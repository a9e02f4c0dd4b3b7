//! The core's hot path without network: build a Chat Completions request, parse an answer,
//! decode a 200-chunk stream, and one whole `Client::chat` and `Client::stream` through the
//! in-process mock provider (the call pipeline, routing, attempts, assembly and the usage event).
//!
//! Run: `make bench-core` (or `cargo bench -p modelplug-bench`).

use std::collections::VecDeque;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelplug_core::providers::framing::SseDecoder;
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

    let body = stream_body(200);
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Elements(200));
    // Network-sized pieces: the decoder sees chunks split at arbitrary points.
    group.bench_function("decode 200-chunk stream (per element = per chunk)", |b| {
        b.iter(|| {
            let mut sse = SseDecoder::new();
            let mut dec = ChatChunkDecoder::new();
            let mut out = VecDeque::new();
            for piece in black_box(&body).chunks(1400) {
                sse.feed(piece, |ev| {
                    dec.on_event(ev, &mut out)?;
                    out.clear();
                    Ok(())
                })
                .unwrap();
            }
            assert!(dec.finished());
        })
    });
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
