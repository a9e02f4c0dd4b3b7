//! `streamGenerateContent` → provider events. Each frame is one `GenerateContentResponse`
//! (an SSE `data:` line with `alt=sse`, or one element of the JSON-array form), decoded like a
//! whole answer ([`super::response`]). Gemini sends no terminator: the chunk carrying a
//! `finishReason` ends the answer, and a stream that ends before one is an error (see
//! [`crate::providers::FramedStream`]). Usage is repeated, cumulative, on every chunk.

use std::collections::VecDeque;

use super::response::ChunkDecoder;
use crate::error::Result;
use crate::providers::framing::Frame;
use crate::providers::{EventDecoder, ProviderEvent};

/// Decodes Gemini stream chunks; finished once a chunk has given the finish reason.
#[derive(Debug, Default)]
pub struct GenerateStreamDecoder {
    chunks: ChunkDecoder,
}

impl GenerateStreamDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> GenerateStreamDecoder {
        GenerateStreamDecoder::default()
    }

    /// Decodes one chunk's JSON.
    pub fn on_data(&mut self, data: &str, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        self.chunks.on_json(data, out)
    }
}

impl EventDecoder for GenerateStreamDecoder {
    fn on_event(&mut self, event: Frame<'_>, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        self.on_data(event.data, out)
    }

    fn finished(&self) -> bool {
        self.chunks.finished()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::providers::framing::SseDecoder;
    use crate::types::FinishReason;

    fn decode(sse: &str) -> (Vec<ProviderEvent>, Result<()>, bool) {
        let mut framing = SseDecoder::new();
        let mut d = GenerateStreamDecoder::new();
        let mut out = VecDeque::new();
        let r = framing.feed(sse.as_bytes(), |f| d.on_event(f, &mut out));
        (out.into(), r, d.finished())
    }

    #[test]
    fn chunks_with_crlf_end_at_the_finish_reason() {
        let sse = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}]}}],\"usageMetadata\":{\"promptTokenCount\":3,\"totalTokenCount\":3},\"responseId\":\"r\"}\r\n\r\n\
                   data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"lo\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2,\"totalTokenCount\":5}}\r\n\r\n";
        let (events, r, finished) = decode(sse);
        r.unwrap();
        assert!(finished);
        let texts: String = events
            .iter()
            .filter_map(|e| match e {
                ProviderEvent::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, "Hello");
        assert!(events.contains(&ProviderEvent::Finish(FinishReason::Stop)));
    }

    #[test]
    fn an_error_chunk_and_a_chunk_after_the_end_are_errors() {
        let (_, r, _) = decode(
            "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\r\n\r\n",
        );
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        assert_eq!(e.message(), "The model is overloaded.");
        let (_, r, _) = decode(
            "data: {\"candidates\":[{\"finishReason\":\"STOP\"}]}\n\ndata: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}\n\n",
        );
        assert_eq!(r.unwrap_err().kind(), ErrorKind::ProviderUnavailable);
        let (_, r, finished) =
            decode("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}\n\n");
        r.unwrap();
        assert!(!finished, "no finish reason yet: a stream cut here is an error");
    }
}
