//! AWS's binary eventstream framing (`application/vnd.amazon.eventstream`): Bedrock's
//! ConverseStream and SageMaker's response streams.
//!
//! Each message is `[total_length u32][headers_length u32][prelude_crc u32][headers][payload]
//! [message_crc u32]` (big-endian, CRC-32/IEEE). [`EventStreamReader`] checks the prelude as
//! soon as its 12 bytes arrive (CRC, lengths within AWS's limits — so a corrupt length never
//! makes it wait for gigabytes), then hands whole messages to `aws-smithy-eventstream`'s
//! decoder, which checks the message CRC and parses the headers. On top of it:
//! [`EventStreamFraming`] turns event messages into [`Frame`]s named by `:event-type` (Bedrock:
//! the payload is JSON), and [`PayloadPartsFraming`] feeds the payloads of `PayloadPart` events
//! to an inner framing (SageMaker: the container's own stream, e.g. Server-Sent Events, cut
//! into parts anywhere). Exception and error messages become the AWS error they name.

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::{HeaderValue, Message};
use bytes::{Buf, BytesMut};

use super::{Frame, Framing};
use crate::error::{Error, ErrorKind, Result};

/// Prelude: total length, headers length, prelude CRC.
const PRELUDE_LEN: usize = 12;
/// The smallest message: prelude and message CRC.
const MIN_MESSAGE_LEN: u32 = 16;
/// AWS's limits: 128 KiB of headers, 16 MiB of payload.
const MAX_HEADERS_LEN: u32 = 128 * 1024;
const MAX_MESSAGE_LEN: u32 = 16 * 1024 * 1024 + MAX_HEADERS_LEN + MIN_MESSAGE_LEN;

/// Turns an exception message (its `:exception-type` and JSON payload) into the service's
/// classified error.
pub type ExceptionToError = fn(&str, &[u8]) -> Error;

/// Reads whole eventstream messages out of bytes that arrive in arbitrary pieces.
#[derive(Debug, Default)]
pub struct EventStreamReader {
    buffer: BytesMut,
    decoder: MessageFrameDecoder,
    /// The prelude of the message being read has been checked.
    prelude_checked: bool,
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::ProviderUnavailable,
        format!("the provider's event stream is corrupt: {what}"),
    )
}

impl EventStreamReader {
    /// A reader at the start of a stream.
    pub fn new() -> EventStreamReader {
        EventStreamReader::default()
    }

    /// Adds `piece` and calls `on_message` for every message it completes; a corrupt frame
    /// (bad CRC, impossible length, bad header) is a PROVIDER_UNAVAILABLE error.
    pub fn feed(&mut self, piece: &[u8], on_message: &mut dyn FnMut(Message) -> Result<()>) -> Result<()> {
        self.buffer.extend_from_slice(piece);
        loop {
            if !self.prelude_checked {
                if self.buffer.len() < PRELUDE_LEN {
                    return Ok(());
                }
                check_prelude(&self.buffer[..PRELUDE_LEN])?;
                self.prelude_checked = true;
            }
            match self.decoder.decode_frame(&mut self.buffer).map_err(corrupt)? {
                DecodedFrame::Incomplete => return Ok(()),
                DecodedFrame::Complete(message) => {
                    self.prelude_checked = false;
                    on_message(message)?;
                }
            }
        }
    }

    /// Whether part of a message is pending (the stream was cut inside a frame).
    pub fn has_pending(&self) -> bool {
        self.prelude_checked || !self.buffer.is_empty()
    }
}

/// Checks a message's prelude before its body is waited for.
fn check_prelude(prelude: &[u8]) -> Result<()> {
    let mut p = prelude;
    let (total, headers, crc) = (p.get_u32(), p.get_u32(), p.get_u32());
    let actual = crc32fast::hash(&prelude[..8]);
    if actual != crc {
        return Err(corrupt(format_args!(
            "prelude checksum 0x{actual:08X} does not match 0x{crc:08X}"
        )));
    }
    if !(MIN_MESSAGE_LEN..=MAX_MESSAGE_LEN).contains(&total) {
        return Err(corrupt(format_args!("a message length of {total} bytes")));
    }
    if headers > MAX_HEADERS_LEN || headers > total - MIN_MESSAGE_LEN {
        return Err(corrupt(format_args!(
            "a headers length of {headers} bytes in a {total}-byte message"
        )));
    }
    Ok(())
}

/// A string header's value.
pub fn header<'m>(message: &'m Message, name: &str) -> Option<&'m str> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| match h.value() {
            HeaderValue::String(s) => Some(s.as_str()),
            _ => None,
        })
}

/// What one message is: an event (named by `:event-type`), or a failure the service reported.
fn event_or_error(message: &Message, exception: ExceptionToError) -> Result<Option<&str>> {
    match header(message, ":message-type") {
        Some("event") | None => Ok(header(message, ":event-type")),
        Some("exception") => {
            let kind = header(message, ":exception-type").unwrap_or("exception");
            Err(exception(kind, message.payload()))
        }
        Some("error") => {
            // An eventstream-level error: `:error-code` and `:error-message` headers.
            let code = header(message, ":error-code").unwrap_or("InternalError");
            let text = header(message, ":error-message").unwrap_or("");
            let payload = serde_json::json!({ "message": text }).to_string();
            Err(exception(code, payload.as_bytes()))
        }
        Some(_) => Ok(None),
    }
}

/// Bedrock's framing: each event message is one [`Frame`] named by its `:event-type`, with its
/// payload (JSON) as the data.
#[derive(Debug)]
pub struct EventStreamFraming {
    reader: EventStreamReader,
    exception: ExceptionToError,
}

impl EventStreamFraming {
    /// A framing whose exception messages become errors through `exception`.
    pub fn new(exception: ExceptionToError) -> EventStreamFraming {
        EventStreamFraming {
            reader: EventStreamReader::new(),
            exception,
        }
    }
}

impl Framing for EventStreamFraming {
    fn feed_frames(&mut self, piece: &[u8], on_frame: &mut dyn FnMut(Frame<'_>) -> Result<()>) -> Result<()> {
        let exception = self.exception;
        self.reader.feed(piece, &mut |message| {
            let Some(event) = event_or_error(&message, exception)? else {
                return Ok(());
            };
            let data = std::str::from_utf8(message.payload())
                .map_err(|_| corrupt(format_args!("the payload of a `{event}` event is not UTF-8")))?;
            on_frame(Frame { event, data })
        })
    }

    fn end(&mut self) -> Result<()> {
        ended_whole(&self.reader)
    }
}

fn ended_whole(reader: &EventStreamReader) -> Result<()> {
    if reader.has_pending() {
        return Err(corrupt("it ended inside a message"));
    }
    Ok(())
}

/// SageMaker's response streams: the payloads of `PayloadPart` events, joined, are the
/// container's own stream, which `inner` frames (parts may cut it anywhere).
#[derive(Debug)]
pub struct PayloadPartsFraming<F> {
    reader: EventStreamReader,
    inner: F,
    exception: ExceptionToError,
}

impl<F: Framing> PayloadPartsFraming<F> {
    /// Payload parts framed by `inner`; exception messages become errors through `exception`.
    pub fn new(inner: F, exception: ExceptionToError) -> PayloadPartsFraming<F> {
        PayloadPartsFraming {
            reader: EventStreamReader::new(),
            inner,
            exception,
        }
    }
}

impl<F: Framing> Framing for PayloadPartsFraming<F> {
    fn feed_frames(&mut self, piece: &[u8], on_frame: &mut dyn FnMut(Frame<'_>) -> Result<()>) -> Result<()> {
        let (exception, inner) = (self.exception, &mut self.inner);
        self.reader
            .feed(piece, &mut |message| match event_or_error(&message, exception)? {
                Some("PayloadPart") => inner.feed_frames(message.payload(), on_frame),
                _ => Ok(()),
            })
    }

    fn end(&mut self) -> Result<()> {
        ended_whole(&self.reader)?;
        self.inner.end()
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::Header;

    use super::*;

    fn event(kind: &str, payload: &str) -> Vec<u8> {
        let m = Message::new(payload.as_bytes().to_vec())
            .add_header(Header::new(
                ":event-type",
                HeaderValue::String(kind.to_owned().into()),
            ))
            .add_header(Header::new(":message-type", HeaderValue::String("event".into())));
        let mut out = Vec::new();
        write_message_to(&m, &mut out).unwrap();
        out
    }

    fn exception_error(kind: &str, payload: &[u8]) -> Error {
        Error::new(
            ErrorKind::RateLimited,
            format!("{kind}: {}", String::from_utf8_lossy(payload)),
        )
    }

    fn frames(bytes: &[u8], step: usize) -> Result<Vec<(String, String)>> {
        let mut f = EventStreamFraming::new(exception_error);
        let mut out = Vec::new();
        for piece in bytes.chunks(step) {
            f.feed_frames(piece, &mut |fr| {
                out.push((fr.event.to_owned(), fr.data.to_owned()));
                Ok(())
            })?;
        }
        f.end()?;
        Ok(out)
    }

    #[test]
    fn messages_come_out_whole_from_any_cut() {
        let mut bytes = event("messageStart", r#"{"role":"assistant"}"#);
        bytes.extend(event("messageStop", r#"{"stopReason":"end_turn"}"#));
        for step in [1, 3, 12, 13, bytes.len()] {
            let got = frames(&bytes, step).unwrap();
            assert_eq!(got.len(), 2);
            assert_eq!(
                got[1],
                ("messageStop".into(), r#"{"stopReason":"end_turn"}"#.into())
            );
        }
    }

    #[test]
    fn corruption_is_a_typed_error() {
        let good = event("messageStart", r#"{"role":"assistant"}"#);
        let mut bad_prelude = good.clone();
        bad_prelude[9] ^= 1;
        let mut bad_message = good.clone();
        let n = bad_message.len();
        bad_message[n - 6] ^= 1;
        let mut huge = good.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        let crc = crc32fast::hash(&huge[..8]).to_be_bytes();
        huge[8..12].copy_from_slice(&crc);
        // A headers length beyond AWS's 128 KiB (prelude CRC right).
        let mut oversize = good.clone();
        oversize[4..8].copy_from_slice(&(200_000u32).to_be_bytes());
        let crc = crc32fast::hash(&oversize[..8]).to_be_bytes();
        oversize[8..12].copy_from_slice(&crc);
        // A header value type no one defined (both CRCs right).
        let mut unknown_type = Vec::new();
        let headers = b"\x05:blah\x2a\x00";
        let total = (12 + headers.len() + 2 + 4) as u32;
        unknown_type.extend_from_slice(&total.to_be_bytes());
        unknown_type.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        let crc = crc32fast::hash(&unknown_type).to_be_bytes();
        unknown_type.extend_from_slice(&crc);
        unknown_type.extend_from_slice(headers);
        unknown_type.extend_from_slice(b"{}");
        let crc = crc32fast::hash(&unknown_type).to_be_bytes();
        unknown_type.extend_from_slice(&crc);
        for (bytes, says) in [
            (&oversize[..], "headers length"),
            (&unknown_type[..], "header value type"),
            (&bad_prelude[..], "prelude checksum"),
            (&bad_message[..], "checksum"),
            (&huge[..], "message length"),
            (&good[..10], "ended inside a message"),
            (&good[..good.len() - 1], "ended inside a message"),
        ] {
            let e = frames(bytes, 7).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
            assert!(e.message().contains(says), "{e}");
        }
    }

    #[test]
    fn exceptions_become_the_services_error() {
        let m = Message::new(br#"{"message":"slow down"}"#.to_vec())
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String("exception".into()),
            ))
            .add_header(Header::new(
                ":exception-type",
                HeaderValue::String("throttlingException".into()),
            ));
        let mut bytes = event("messageStart", "{}");
        write_message_to(&m, &mut bytes).unwrap();
        let e = frames(&bytes, 5).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.message().contains("throttlingException") && e.message().contains("slow down"));
    }

    #[test]
    fn payload_parts_feed_the_inner_framing() {
        let sse = "data: {\"a\":1}\n\ndata: [DONE]\n\n";
        let (a, b) = sse.split_at(7);
        let mut bytes = event("PayloadPart", a);
        bytes.extend(event("PayloadPart", b));
        let mut f = PayloadPartsFraming::new(super::super::SseDecoder::new(), exception_error);
        let mut got = Vec::new();
        f.feed_frames(&bytes, &mut |fr| {
            got.push(fr.data.to_owned());
            Ok(())
        })
        .unwrap();
        f.end().unwrap();
        assert_eq!(got, ["{\"a\":1}", "[DONE]"]);
    }
}
