//! The SSE decoder gives the same events whatever the chunk boundaries: every recorded stream
//! (all providers) is split at every byte, and at many random multi-way splits, with LF, CRLF
//! and lone-CR line ends, with comments and unknown fields mixed in. The OpenAI chunk decoder
//! on top gives the same provider events too. Also the decoder's grammar: field parsing, event
//! types, pending input, invalid UTF-8.

use std::collections::VecDeque;
use std::path::PathBuf;

use mock_upstream::recordings;
use modelplug_core::ErrorKind;
use modelplug_core::providers::framing::SseDecoder;
use modelplug_core::providers::openai::ChatChunkDecoder;
use modelplug_core::providers::{EventDecoder, ProviderEvent};

fn sse_recordings() -> Vec<(String, Vec<u8>)> {
    let dir: PathBuf = recordings::default_dir();
    let mut out = Vec::new();
    for folder in ["openai", "openai-compatible", "anthropic", "gemini", "vertex"] {
        for entry in std::fs::read_dir(dir.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sse") {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    assert!(out.len() >= 15, "recordings missing: {}", out.len());
    out
}

fn decode(pieces: &[&[u8]]) -> Vec<(String, String)> {
    let mut d = SseDecoder::new();
    let mut out = Vec::new();
    for p in pieces {
        d.feed(p, |e| {
            out.push((e.event.to_owned(), e.data.to_owned()));
            Ok(())
        })
        .unwrap();
    }
    out
}

/// Rewrites every line end (LF or CRLF) as `end`.
fn with_line_ends(bytes: &[u8], end: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap().replace("\r\n", "\n");
    text.replace('\n', std::str::from_utf8(end).unwrap()).into_bytes()
}

#[test]
fn every_recording_decodes_the_same_at_every_split() {
    for (name, bytes) in sse_recordings() {
        let whole = decode(&[&bytes]);
        assert!(!whole.is_empty(), "{name}: no events");
        for i in 0..=bytes.len() {
            assert_eq!(decode(&[&bytes[..i], &bytes[i..]]), whole, "{name}: split at {i}");
        }
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..300 {
            let mut cuts: Vec<usize> = (0..rng.usize(1..12))
                .map(|_| rng.usize(0..=bytes.len()))
                .collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut start = 0;
            for c in cuts {
                pieces.push(&bytes[start..c]);
                start = c;
            }
            pieces.push(&bytes[start..]);
            assert_eq!(decode(&pieces), whole, "{name}: random split");
        }
    }
}

#[test]
fn line_ends_do_not_change_events() {
    for (name, bytes) in sse_recordings() {
        let lf = decode(&[&with_line_ends(&bytes, b"\n")]);
        for end in [&b"\r\n"[..], b"\r"] {
            let converted = with_line_ends(&bytes, end);
            assert_eq!(decode(&[&converted]), lf, "{name}: line end {end:?}");
            // A CR at the end of one piece and LF at the start of the next is one line end.
            for i in (0..converted.len()).step_by(3) {
                assert_eq!(
                    decode(&[&converted[..i], &converted[i..]]),
                    lf,
                    "{name}: {end:?} split {i}"
                );
            }
        }
    }
}

#[test]
fn comments_and_unknown_fields_are_ignored() {
    for (name, bytes) in sse_recordings() {
        let text = String::from_utf8(bytes.clone()).unwrap().replace("\r\n", "\n");
        let noisy = text.replace("\n\n", "\n: keep-alive\nid: 42\nx-unknown: yes\nretry: 100\n\n");
        assert_eq!(decode(&[noisy.as_bytes()]), decode(&[text.as_bytes()]), "{name}");
    }
}

#[test]
fn openai_chunk_events_are_independent_of_boundaries() {
    for (name, bytes) in sse_recordings()
        .into_iter()
        .filter(|(n, _)| n.contains("chat_stream") || n.contains("openrouter"))
    {
        let run = |pieces: &[&[u8]]| {
            let mut sse = SseDecoder::new();
            let mut dec = ChatChunkDecoder::new();
            let mut out: VecDeque<ProviderEvent> = VecDeque::new();
            let mut errors = 0;
            for p in pieces {
                // Like the provider stream, stop reading at the first error.
                if sse.feed(p, |e| dec.on_event(e, &mut out)).is_err() {
                    errors += 1;
                    break;
                }
            }
            // Ids synthesised for id-less tool calls are random; compare everything else.
            let events: Vec<String> = out.iter().map(|e| format!("{e:?}")).collect();
            (events, errors, dec.finished())
        };
        let whole = run(&[&bytes]);
        assert!(whole.2 || whole.1 > 0, "{name}: neither finished nor failed");
        for i in 0..=bytes.len() {
            assert_eq!(run(&[&bytes[..i], &bytes[i..]]), whole, "{name}: split at {i}");
        }
    }
}

fn ev(e: &str, d: &str) -> (String, String) {
    (e.to_owned(), d.to_owned())
}

#[test]
fn grammar() {
    let s = b"\xEF\xBB\xBF: comment\nevent: ping\ndata: {}\n\ndata:a\ndata:  b\nid: 7\nretry: 10\nweird\n\n\n\ndata\n\n";
    assert_eq!(
        decode(&[s]),
        vec![ev("ping", "{}"), ev("message", "a\n b"), ev("message", "")]
    );
}

#[test]
fn line_ends_lf_crlf_cr_at_any_split() {
    let s: &[u8] = b"data: one\r\n\r\nevent: x\rdata: two\r\rdata: three\n\n";
    let want = vec![ev("message", "one"), ev("x", "two"), ev("message", "three")];
    for i in 0..=s.len() {
        for j in i..=s.len() {
            assert_eq!(decode(&[&s[..i], &s[i..j], &s[j..]]), want, "split {i} {j}");
        }
    }
}

#[test]
fn event_type_resets_without_data() {
    assert_eq!(decode(&[b"event: a\n\ndata: x\n\n"]), vec![ev("message", "x")]);
}

#[test]
fn incomplete_event_is_pending() {
    let mut d = SseDecoder::new();
    d.feed(b"data: {\"a\":", |_| Ok(())).unwrap();
    assert!(d.has_pending());
    let mut d = SseDecoder::new();
    d.feed(b"data: x\n", |_| Ok(())).unwrap();
    assert!(d.has_pending());
    d.feed(b"\n", |_| Ok(())).unwrap();
    assert!(!d.has_pending());
}

#[test]
fn invalid_utf8_is_an_error() {
    let mut d = SseDecoder::new();
    let e = d.feed(b"data: \xff\xfe\n\n", |_| Ok(())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
}
