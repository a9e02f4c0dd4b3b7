//! What the fuzz targets share: a target file names its framing and decoder (or its body
//! decoder) and calls one of these. Each must hold for any bytes: no panic, and for streams
//! the same events wherever the reads split the body.

use std::collections::VecDeque;

use modelplug_core::providers::framing::Framing;
use modelplug_core::providers::{EventDecoder, ProviderEvent};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// A small deterministic generator, seeded from the input itself, so that a raw recording is a
/// valid corpus entry and every mutation also moves the split points.
pub struct Splitter(u64);

impl Splitter {
    /// Seeded with an FNV-1a hash of `data`.
    pub fn of(data: &[u8]) -> Splitter {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in data {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        Splitter(h | 1)
    }

    /// The next pseudo-random number (xorshift64).
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `data` cut into pieces of 1 to 64 bytes (reads of any size, CR/LF pairs and UTF-8
    /// sequences split included).
    pub fn pieces<'a>(&mut self, data: &'a [u8]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let n = (1 + self.next() % 64) as usize;
            let (a, b) = rest.split_at(n.min(rest.len()));
            out.push(a);
            rest = b;
        }
        out
    }
}

/// The events a stream decodes to, and how it ended: `Ok(finished)` or the error's text.
pub fn decode<F: Framing, D: EventDecoder>(
    pieces: &[&[u8]],
    mut framing: F,
    mut decoder: D,
) -> (Vec<ProviderEvent>, Result<bool, String>) {
    let mut out = VecDeque::new();
    for p in pieces {
        if let Err(e) = framing.feed_frames(p, &mut |f| decoder.on_event(f, &mut out)) {
            return (out.into(), Err(e.to_string()));
        }
    }
    (out.into(), Ok(decoder.finished()))
}

/// A streaming body through a framing and a provider's stream decoder: never panics, and gives
/// the same events, the same outcome and the same error wherever the reads split it.
pub fn stream<F: Framing, D: EventDecoder>(data: &[u8], framing: impl Fn() -> F, decoder: impl Fn() -> D) {
    let whole = decode(&[data], framing(), decoder());
    let pieces = Splitter::of(data).pieces(data);
    let split = decode(&pieces, framing(), decoder());
    assert_eq!(
        whole, split,
        "the outcome depends on where reads split the stream"
    );
}

/// An error target's input: `name: value` header lines, a `\n--\n` line, then the body (or
/// the body alone). Returns the headers that parse, the header text and the body.
pub fn headers_and_body(data: &[u8]) -> (HeaderMap, &[u8], &[u8]) {
    let (head, body) = match data.windows(4).position(|w| w == b"\n--\n") {
        Some(i) => (&data[..i], &data[i + 4..]),
        None => (&[][..], data),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(c) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(&line[..c]),
            HeaderValue::from_bytes(line[c + 1..].trim_ascii()),
        ) {
            headers.append(n, v);
        }
    }
    (headers, head, body)
}
