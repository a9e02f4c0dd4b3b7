//! The JSON-array framing: Gemini's `streamGenerateContent` without `alt=sse` answers one JSON
//! array, sent element by element (`[{…}\n,\r\n{…}]`). Each top-level element — an object —
//! is one frame. The decoder tracks only string, escape and nesting state, so it never holds
//! more than the element being read.

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

    /// Decodes one piece, calling `on_frame` with every element it completes.
    pub fn feed(&mut self, piece: &[u8], mut on_frame: impl FnMut(Frame<'_>) -> Result<()>) -> Result<()> {
        let mut i = 0;
        while i < piece.len() {
            let b = piece[i];
            match self.state {
                State::InElement => {
                    // Copy the run up to the next byte that can change the state.
                    let run = piece[i..]
                        .iter()
                        .position(|&c| matches!(c, b'"' | b'\\' | b'{' | b'}' | b'[' | b']'))
                        .map_or(piece.len(), |p| i + p);
                    if run > i {
                        if self.escaped {
                            self.escaped = false;
                        }
                        self.push(&piece[i..run])?;
                        i = run;
                        continue;
                    }
                    self.push(&[b])?;
                    if self.in_string {
                        match b {
                            _ if self.escaped => self.escaped = false,
                            b'\\' => self.escaped = true,
                            b'"' => self.in_string = false,
                            _ => {}
                        }
                    } else {
                        match b {
                            b'"' => self.in_string = true,
                            b'{' | b'[' => self.depth += 1,
                            b'}' | b']' => {
                                self.depth -= 1;
                                if self.depth == 0 {
                                    self.emit(&mut on_frame)?;
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ if b.is_ascii_whitespace() => {}
                State::Start if b == b'[' => self.state = State::BeforeElement { first: true },
                State::Start => return Err(malformed("it does not start with `[`")),
                State::BeforeElement { first: true } if b == b']' => self.state = State::End,
                State::BeforeElement { .. } if b == b'{' => {
                    self.state = State::InElement;
                    self.depth = 1;
                    self.push(&[b])?;
                }
                State::BeforeElement { .. } => return Err(malformed("an element that is not an object")),
                State::AfterElement if b == b',' => self.state = State::BeforeElement { first: false },
                State::AfterElement if b == b']' => self.state = State::End,
                State::AfterElement => return Err(malformed("no `,` or `]` after an element")),
                State::End => return Err(malformed("bytes after the closing `]`")),
            }
            i += 1;
        }
        Ok(())
    }

    fn push(&mut self, bytes: &[u8]) -> Result<()> {
        if self.element.len() + bytes.len() > MAX_ELEMENT_BYTES {
            return Err(malformed("an element over 64 MiB"));
        }
        self.element.extend_from_slice(bytes);
        Ok(())
    }

    fn emit(&mut self, on_frame: &mut impl FnMut(Frame<'_>) -> Result<()>) -> Result<()> {
        self.state = State::AfterElement;
        let element = std::mem::take(&mut self.element);
        let r = match std::str::from_utf8(&element) {
            Ok(data) => on_frame(Frame {
                event: "message",
                data,
            }),
            Err(_) => Err(malformed("an element that is not UTF-8")),
        };
        self.element = element;
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
