//! Framings: how a provider's streaming body splits into frames, apart from what the frames
//! mean (each provider's `EventDecoder`): Server-Sent Events ([`SseDecoder`]: OpenAI,
//! Anthropic, Gemini with `alt=sse`) and a streamed JSON array ([`JsonArrayDecoder`]: Gemini
//! without `alt=sse`) and AWS's binary eventstream ([`EventStreamFraming`]: Bedrock;
//! [`PayloadPartsFraming`]: SageMaker, whose payload parts carry the container's own stream).

#[cfg(feature = "aws")]
mod eventstream;
mod json_array;
mod sse;

#[cfg(feature = "aws")]
pub use eventstream::{EventStreamFraming, EventStreamReader, ExceptionToError, PayloadPartsFraming, header};
pub use json_array::JsonArrayDecoder;
pub use sse::SseDecoder;

/// One frame, borrowed from the framing until the callback returns: its name (SSE `event:`,
/// eventstream `:event-type`; `message` when there is none) and its data (JSON text, usually).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The frame's name, or `message` when none was given.
    pub event: &'a str,
    /// The frame's data.
    pub data: &'a str,
}

/// An incremental framing decoder: bytes arrive in arbitrary pieces; frames come out whole.
pub trait Framing: Send {
    /// Decodes one piece, calling `on_frame` for every frame it completes; stops at the first
    /// error `on_frame` returns. Malformed bytes are a PROVIDER_UNAVAILABLE error.
    fn feed_frames(
        &mut self,
        piece: &[u8],
        on_frame: &mut dyn FnMut(Frame<'_>) -> crate::Result<()>,
    ) -> crate::Result<()>;

    /// The body has ended: an error if it ended inside a frame that cannot be completed
    /// (binary framings; text framings leave that to the decoder's terminal event).
    fn end(&mut self) -> crate::Result<()> {
        Ok(())
    }
}
