//! AWS eventstream framing (`application/vnd.amazon.eventstream`): binary messages with a
//! prelude, string headers, a payload and two CRC-32s, written with `aws-smithy-eventstream`.
//! Used for Bedrock's ConverseStream and SageMaker's `InvokeEndpointWithResponseStream`, and to
//! cut a stream after N frames and end it with an exception frame.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use aws_smithy_types::str_bytes::StrBytes;
use serde_json::Value;

/// The content type of an eventstream body.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

fn string_header(name: &'static str, value: &str) -> Header {
    Header::new(name, HeaderValue::String(StrBytes::from(value.to_owned())))
}

/// One encoded message with string headers `headers` (in order) and `payload`.
pub fn message(headers: &[(&'static str, &str)], payload: &[u8]) -> Vec<u8> {
    let headers = headers.iter().map(|(k, v)| string_header(k, v)).collect();
    let message = Message::new_from_parts(headers, payload.to_vec());
    let mut out = Vec::with_capacity(payload.len() + 128);
    // Only fails for a payload over 16 MiB or a header over 32 KiB, which the mock never writes.
    if write_message_to(&message, &mut out).is_err() {
        out.clear();
    }
    out
}

/// An event frame: `:event-type`, `:content-type`, `:message-type: event`.
pub fn event(event_type: &str, content_type: &str, payload: &[u8]) -> Vec<u8> {
    message(
        &[
            (":event-type", event_type),
            (":content-type", content_type),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// A JSON event frame as Bedrock sends it: `payload` gets a `"p"` padding string of a length
/// varying with `index` (as real frames carry one).
pub fn json_event(event_type: &str, mut payload: Value, index: usize) -> Vec<u8> {
    if let Value::Object(o) = &mut payload {
        o.insert("p".to_owned(), Value::String(padding(index)));
    }
    event(event_type, "application/json", payload.to_string().as_bytes())
}

/// An exception frame: `:message-type: exception`, `:exception-type`, JSON payload.
pub fn exception(exception_type: &str, payload: &Value) -> Vec<u8> {
    message(
        &[
            (":message-type", "exception"),
            (":exception-type", exception_type),
            (":content-type", "application/json"),
        ],
        payload.to_string().as_bytes(),
    )
}

/// A padding string of 1 to 60 characters from `abc…XYZ0123…`, like the recordings' `"p"`.
pub fn padding(index: usize) -> String {
    const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let n = 1 + (index * 37 + 11) % 60;
    ALPHABET[..n].to_owned()
}

/// The byte length of each whole frame at the start of `body` (by the prelude's total
/// length); stops at the first incomplete or nonsensical prelude.
pub fn frame_lengths(body: &[u8]) -> Vec<usize> {
    let mut lengths = Vec::new();
    let mut at = 0;
    while let Some(prelude) = body.get(at..at + 4) {
        let n = u32::from_be_bytes([prelude[0], prelude[1], prelude[2], prelude[3]]) as usize;
        if n < 16 || at + n > body.len() {
            break;
        }
        lengths.push(n);
        at += n;
    }
    lengths
}

/// The first `frames` whole frames of `body` (all of it when it has no more).
pub fn first_frames(body: &[u8], frames: usize) -> &[u8] {
    let end: usize = frame_lengths(body).into_iter().take(frames).sum();
    if frames >= frame_lengths(body).len() {
        body
    } else {
        &body[..end]
    }
}

/// One decoded frame: its headers (string values; others as their debug form) and payload.
pub type DecodedMessage = (Vec<(String, String)>, Vec<u8>);

/// Decodes every frame of `body` with `aws-smithy-eventstream`'s `MessageFrameDecoder`
/// (checking both CRCs); an error for a bad frame or trailing bytes.
pub fn decode_all(body: &[u8]) -> Result<Vec<DecodedMessage>, String> {
    use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
    let mut decoder = MessageFrameDecoder::new();
    let mut buf = body;
    let mut out = Vec::new();
    while !buf.is_empty() {
        match decoder.decode_frame(&mut buf).map_err(|e| e.to_string())? {
            DecodedFrame::Complete(m) => out.push((
                m.headers()
                    .iter()
                    .map(|h| {
                        let value = match h.value().as_string() {
                            Ok(s) => s.as_str().to_owned(),
                            Err(other) => format!("{other:?}"),
                        };
                        (h.name().as_str().to_owned(), value)
                    })
                    .collect(),
                m.payload().to_vec(),
            )),
            DecodedFrame::Incomplete => return Err(format!("{} trailing bytes", buf.len())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use aws_smithy_eventstream::frame::MessageFrameDecoder;
    use serde_json::json;

    fn decode(body: &[u8]) -> Vec<DecodedMessage> {
        decode_all(body).unwrap()
    }

    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let mut body = json_event("messageStart", json!({"role": "assistant"}), 0);
        body.extend(exception("throttlingException", &json!({"message": "slow down"})));
        let frames = decode(&body);
        assert_eq!(frames.len(), 2);
        assert_eq!(
            frames[0].0,
            vec![
                (":event-type".to_owned(), "messageStart".to_owned()),
                (":content-type".to_owned(), "application/json".to_owned()),
                (":message-type".to_owned(), "event".to_owned()),
            ]
        );
        let p: Value = serde_json::from_slice(&frames[0].1).unwrap();
        assert_eq!(p["role"], "assistant");
        assert!(!p["p"].as_str().unwrap().is_empty());
        assert!(
            frames[1]
                .0
                .contains(&(":exception-type".to_owned(), "throttlingException".to_owned()))
        );
        assert!(
            frames[1]
                .0
                .contains(&(":message-type".to_owned(), "exception".to_owned()))
        );
        assert_eq!(frame_lengths(&body).iter().sum::<usize>(), body.len());
        assert_eq!(first_frames(&body, 1).len(), frame_lengths(&body)[0]);
        assert_eq!(first_frames(&body, 5), &body[..]);
    }

    #[test]
    fn a_flipped_byte_fails_the_crc() {
        let mut body = event("PayloadPart", "application/octet-stream", b"data: {}\n\n");
        let last = body.len() - 6;
        body[last] ^= 0x01;
        let mut decoder = MessageFrameDecoder::new();
        assert!(decoder.decode_frame(&mut &body[..]).is_err());
    }
}
