//! The unified types (DESIGN §3): OpenAI-shaped requests, normalised responses and stream events.

mod request;
mod response;
mod stream_event;

pub use request::{
    CacheControl, CacheKind, ChatRequest, Content, ContentPart, EmbedRequest, FunctionCall, FunctionDef,
    FunctionType, Image, ImageSource, JsonSchemaFormat, Message, Metadata, ReasoningBlock, ResponseFormat,
    Role, Tool, ToolCall, ToolChoice, non_finite_error,
};
pub use response::{AssistantMessage, Attempt, ChatResponse, EmbedResponse, FinishReason, Usage};
pub use stream_event::StreamEvent;
