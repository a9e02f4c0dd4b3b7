//! The Server-Sent Events framing: an incremental decoder (the WHATWG `text/event-stream` grammar).
//!
//! Bytes arrive in arbitrary pieces; events come out whole. Lines may end in LF, CRLF or a lone
//! CR (a CR at the end of one piece and an LF at the start of the next are one line end),
//! `:` lines are comments, unknown fields are ignored, one leading space after `:` is dropped,
//! several `data:` lines join with `\n`, and a UTF-8 byte-order mark at the start is skipped.

use memchr::memchr2;

use super::{Frame, Framing};
use crate::error::{Error, ErrorKind, Result};

/// Incremental decoder state. Feed it bytes with [`SseDecoder::feed`].
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// A line that is not complete yet (carried between pieces).
    partial: Vec<u8>,
    /// `data:` of the event being built, each line followed by `\n`.
    data: Vec<u8>,
    /// `event:` of the event being built.
    event: Vec<u8>,
    has_data: bool,
    /// The previous piece ended in CR: an LF at the start of the next piece ends nothing.
    skip_lf: bool,
    /// No line has been completed yet (a BOM may open the stream).
    first_line: bool,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> SseDecoder {
        SseDecoder {
            first_line: true,
            ..SseDecoder::default()
        }
    }

    /// Decodes one piece of the stream, calling `on_event` for every event it completes.
    /// Stops at the first error `on_event` returns; invalid UTF-8 in an event is an error.
    pub fn feed(
        &mut self,
        mut piece: &[u8],
        mut on_event: impl FnMut(Frame<'_>) -> Result<()>,
    ) -> Result<()> {
        if self.skip_lf && !piece.is_empty() {
            if piece[0] == b'\n' {
                piece = &piece[1..];
            }
            self.skip_lf = false;
        }
        while let Some(i) = memchr2(b'\n', b'\r', piece) {
            if self.partial.is_empty() {
                self.line(&piece[..i], &mut on_event)?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&piece[..i]);
                let r = self.line(&line, &mut on_event);
                line.clear();
                self.partial = line;
                r?;
            }
            let ended_with_cr = piece[i] == b'\r';
            piece = &piece[i + 1..];
            if ended_with_cr {
                match piece.first() {
                    Some(b'\n') => piece = &piece[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
        }
        self.partial.extend_from_slice(piece);
        Ok(())
    }

    /// True when bytes of an unfinished event are pending (the stream was cut mid-event).
    pub fn has_pending(&self) -> bool {
        !self.partial.is_empty() || self.has_data
    }
}

impl Framing for SseDecoder {
    fn feed_frames(&mut self, piece: &[u8], on_frame: &mut dyn FnMut(Frame<'_>) -> Result<()>) -> Result<()> {
        self.feed(piece, on_frame)
    }
}

impl SseDecoder {
    fn line(&mut self, mut line: &[u8], on_event: &mut impl FnMut(Frame<'_>) -> Result<()>) -> Result<()> {
        if self.first_line {
            self.first_line = false;
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(c) => {
                let v = &line[c + 1..];
                (&line[..c], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.extend_from_slice(value);
            }
            _ => {} // id, retry and unknown fields do not matter to LLM streams
        }
        Ok(())
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(Frame<'_>) -> Result<()>) -> Result<()> {
        if !self.has_data {
            self.event.clear();
            return Ok(());
        }
        self.data.pop(); // the last line's `\n`
        let result = match (std::str::from_utf8(&self.data), std::str::from_utf8(&self.event)) {
            (Ok(data), Ok(event)) => on_event(Frame {
                event: if event.is_empty() { "message" } else { event },
                data,
            }),
            _ => Err(Error::new(
                ErrorKind::ProviderUnavailable,
                "the provider's event stream is not valid UTF-8",
            )),
        };
        self.data.clear();
        self.event.clear();
        self.has_data = false;
        result
    }
}
