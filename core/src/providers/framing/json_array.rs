//! The JSON-array framing: Gemini's `streamGenerateContent` without `alt=sse` answers one JSON
//! array, sent element by element (`[{…}\n,\r\n{…}]`). Each top-level element — an object —
//! is one frame. The decoder tracks only string, escape and brace-nesting state (found with
//! `memchr`), hands on an element that lies within one read without copying it, and never holds
//! more than the element being read.

use memchr::{memchr2, memchr3};

use super::{Frame, Framing};
use crate::error::{Error, ErrorKind, Result};

/// The largest element accepted (a Gemini chunk is a few KiB; an inline image answer more).
const MAX_ELEMENT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Before the opening `[`.
    #[default]
    Start,
    /// After `[` or `,`: an element (or, right after `[`, the closing `]`) comes next.
    BeforeElement { first: bool },
    /// Inside an element.
    InElement,
    /// After an element: `,` or `]`.
    AfterElement,
    /// After the closing `]`: only whitespace may follow.
    End,
}

/// Incremental decoder of a streamed JSON array of objects.
#[derive(Debug, Default)]
pub struct JsonArrayDecoder {
    state: State,
    element: Vec<u8>,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

fn malformed(what: &str) -> Error {
    Error::new(
        ErrorKind::ProviderUnavailable,
        format!("the provider's JSON-array stream is malformed: {what}"),
    )
}

impl JsonArrayDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> JsonArrayDecoder {
        JsonArrayDecoder::default()
    }

    /// Whether the closing `]` has arrived.
    pub fn ended(&self) -> bool {
        self.state == State::End
    }

    /// Decodes one piece, calling `on_frame` with every element it completes. An element that
    /// lies within one piece is handed on from the piece itself, without a copy.
    pub fn feed(&mut self, piece: &[u8], mut on_frame: impl FnMut(Frame<'_>) -> Result<()>) -> Result<()> {
        let mut i = 0;
        // Where the current element's bytes in this piece begin (0 when it began earlier).
        let mut from = 0;
        while i < piece.len() {
            if self.state == State::InElement {
                let rest = &piece[i..];
                if self.in_string {
                    if self.escaped {
                        self.escaped = false;
                        i += 1;
                        continue;
                    }
                    match memchr2(b'"', b'\\', rest) {
                        None => i = piece.len(),
                        Some(p) => {
                            if rest[p] == b'"' {
                                self.in_string = false;
                            } else {
                                self.escaped = true;
                            }
                            i += p + 1;
                        }
                    }
                    continue;
                }
                // Braces alone find the element's end: in valid JSON brackets nest inside them
                // (an invalid element fails to parse as JSON in the decoder).
                let Some(p) = memchr3(b'"', b'{', b'}', rest) else {
                    i = piece.len();
                    continue;
                };
                let j = i + p;
                i = j + 1;
                match piece[j] {
                    b'"' => self.in_string = true,
                    b'{' => self.depth += 1,
                    _ => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            self.emit(&piece[from..=j], &mut on_frame)?;
                        }
                    }
                }
                continue;
            }
            let b = piece[i];
            match self.state {
                _ if b.is_ascii_whitespace() => {}
                State::Start if b == b'[' => self.state = State::BeforeElement { first: true },
                State::Start => return Err(malformed("it does not start with `[`")),
                State::BeforeElement { first: true } if b == b']' => self.state = State::End,
                State::BeforeElement { .. } if b == b'{' => {
                    self.state = State::InElement;
                    self.depth = 1;
                    from = i;
                }
                State::BeforeElement { .. } => return Err(malformed("an element that is not an object")),
                State::AfterElement if b == b',' => self.state = State::BeforeElement { first: false },
                State::AfterElement if b == b']' => self.state = State::End,
                State::AfterElement => return Err(malformed("no `,` or `]` after an element")),
                State::End => return Err(malformed("bytes after the closing `]`")),
                State::InElement => unreachable!("handled above"),
            }
            i += 1;
        }
        if self.state == State::InElement {
            self.keep(&piece[from..])?;
        }
        Ok(())
    }

    /// Keeps the bytes of an element that continues in the next piece.
    fn keep(&mut self, bytes: &[u8]) -> Result<()> {
        if self.element.len() + bytes.len() > MAX_ELEMENT_BYTES {
            return Err(malformed("an element over 64 MiB"));
        }
        self.element.extend_from_slice(bytes);
        Ok(())
    }

    /// Hands on a completed element: `tail` is its part in the current piece, after what
    /// earlier pieces brought.
    fn emit(&mut self, tail: &[u8], on_frame: &mut impl FnMut(Frame<'_>) -> Result<()>) -> Result<()> {
        self.state = State::AfterElement;
        let whole: &[u8] = if self.element.is_empty() {
            tail
        } else {
            self.keep(tail)?;
            &self.element
        };
        let r = match std::str::from_utf8(whole) {
            Ok(data) => on_frame(Frame {
                event: "message",
                data,
            }),
            Err(_) => Err(malformed("an element that is not UTF-8")),
        };
        self.element.clear();
        r
    }
}

impl Framing for JsonArrayDecoder {
    fn feed_frames(&mut self, piece: &[u8], on_frame: &mut dyn FnMut(Frame<'_>) -> Result<()>) -> Result<()> {
        self.feed(piece, on_frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(pieces: &[&[u8]]) -> Result<(Vec<String>, bool)> {
        let mut d = JsonArrayDecoder::new();
        let mut out = Vec::new();
        for p in pieces {
            d.feed(p, |f| {
                out.push(f.data.to_owned());
                Ok(())
            })?;
        }
        Ok((out, d.ended()))
    }

    #[test]
    fn elements_come_out_whole_wherever_the_bytes_split() {
        let body = "[{\"a\":\"x]}\\\"{\"}\n,\r\n{\"b\":[1,{\"c\":2}]} ]".as_bytes();
        let want = vec![r#"{"a":"x]}\"{"}"#.to_owned(), r#"{"b":[1,{"c":2}]}"#.to_owned()];
        assert_eq!(frames(&[body]).unwrap(), (want.clone(), true));
        for cut in 0..body.len() {
            let (a, b) = body.split_at(cut);
            assert_eq!(frames(&[a, b]).unwrap(), (want.clone(), true), "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(frames(&bytes).unwrap(), (want, true));
        assert_eq!(frames(&[b" [ ] "]).unwrap(), (vec![], true));
        assert!(!frames(&[b"[{\"a\":1}"]).unwrap().1, "not ended");
    }

    #[test]
    fn malformed_arrays_are_typed_errors() {
        for bad in [
            &b"{\"a\":1}"[..],
            b"[1]",
            b"[{\"a\":1} {\"b\":2}]",
            b"[{\"a\":1}]x",
            b"[,{}]",
            b"[{\"a\":\"\xff\"}]",
        ] {
            let e = frames(&[bad]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ProviderUnavailable, "{bad:?}");
        }
    }
}
