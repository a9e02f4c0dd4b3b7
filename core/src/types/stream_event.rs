//! What a stream yields: deltas as they arrive, then the assembled final response.

use serde::{Deserialize, Serialize};

use super::response::{ChatResponse, Usage};

/// One event of a chat stream. The last event of a successful stream is always
/// [`StreamEvent::Done`], carrying the same [`ChatResponse`] a non-streaming call would return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// A piece of the answer text.
    TextDelta {
        /// The new text.
        text: String,
    },
    /// A piece of the reasoning text the provider exposes.
    ReasoningDelta {
        /// The new reasoning text.
        text: String,
    },
    /// A piece of a tool call: the first piece of each call has its id and name.
    ToolCallDelta {
        /// Which call (0-based, in the order the model made them).
        index: u32,
        /// The call id (first piece only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The function name (first piece only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// A piece of the JSON arguments text.
        arguments: String,
    },
    /// Token counts for the whole stream (sent once, near the end).
    Usage {
        /// The counts.
        usage: Usage,
    },
    /// The stream finished; the assembled response.
    Done {
        /// Everything a non-streaming call would have returned.
        response: Box<ChatResponse>,
    },
}
