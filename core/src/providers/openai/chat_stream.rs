//! Chat Completions streams → provider events: the `chat.completion.chunk` objects of the SSE
//! stream (`[DONE]` ends it), tool-call pieces by index, usage on the last chunk.

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::Deserialize;

use super::chat_response::{WireUsage, malformed, synthesize_call_id};
use super::error_body::error_from_body;
use crate::error::Result;
use crate::providers::framing::Frame;
use crate::providers::{EventDecoder, ProviderEvent};
use crate::types::FinishReason;

#[derive(Deserialize)]
struct WireChunk<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    choices: Vec<WireChunkChoice<'a>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireChunkChoice<'a> {
    #[serde(default, borrow)]
    delta: Option<WireDelta<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireDelta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    refusal: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<WireToolCallDelta<'a>>>,
}

#[derive(Deserialize)]
struct WireToolCallDelta<'a> {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<WireFunctionDelta<'a>>,
}

#[derive(Deserialize)]
struct WireFunctionDelta<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

/// Decodes Chat Completions SSE chunks; the terminal event is `data: [DONE]`.
#[derive(Debug, Default)]
pub struct ChatChunkDecoder {
    done: bool,
    sent_meta: bool,
    /// Tool-call indexes already opened (to synthesise missing ids once per call).
    opened_calls: Vec<u32>,
}

impl ChatChunkDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> ChatChunkDecoder {
        ChatChunkDecoder::default()
    }

    /// Decodes one `data:` payload.
    pub fn on_data(&mut self, data: &str, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: WireChunk<'_> = serde_json::from_str(data).map_err(|e| malformed("stream chunk", &e))?;
        if !self.sent_meta && (chunk.id.is_some() || chunk.model.is_some()) {
            self.sent_meta = true;
            out.push_back(ProviderEvent::Meta {
                id: chunk.id.map(Cow::into_owned),
                model: chunk.model.map(Cow::into_owned),
            });
        }
        if let Some(choice) = chunk.choices.into_iter().next() {
            if let Some(delta) = choice.delta {
                self.on_delta(delta, out);
            }
            if let Some(reason) = choice.finish_reason {
                out.push_back(ProviderEvent::Finish(FinishReason::from_openai(&reason)));
            }
        }
        if let Some(usage) = chunk.usage {
            out.push_back(ProviderEvent::Usage(usage.normalise()));
        }
        if let Some(err) = &chunk.error {
            return Err(error_from_body(err, None));
        }
        Ok(())
    }

    fn on_delta(&mut self, delta: WireDelta<'_>, out: &mut VecDeque<ProviderEvent>) {
        if let Some(r) = delta
            .reasoning_content
            .or(delta.reasoning)
            .filter(|r| !r.is_empty())
        {
            out.push_back(ProviderEvent::Reasoning(r.into_owned()));
        }
        if let Some(t) = delta.content.filter(|t| !t.is_empty()) {
            out.push_back(ProviderEvent::Text(t.into_owned()));
        }
        if let Some(r) = delta.refusal.filter(|r| !r.is_empty()) {
            out.push_back(ProviderEvent::Refusal(r.into_owned()));
        }
        for (pos, tc) in delta.tool_calls.into_iter().flatten().enumerate() {
            let index = tc.index.unwrap_or(pos as u32);
            let function = tc.function;
            let name = function
                .as_ref()
                .and_then(|f| f.name.clone())
                .map(Cow::into_owned);
            let arguments = function
                .and_then(|f| f.arguments)
                .map(Cow::into_owned)
                .unwrap_or_default();
            let mut id = tc.id.filter(|s| !s.is_empty()).map(Cow::into_owned);
            if !self.opened_calls.contains(&index) {
                self.opened_calls.push(index);
                id = id.or_else(|| Some(synthesize_call_id()));
            }
            out.push_back(ProviderEvent::ToolCall {
                index,
                id,
                name,
                arguments,
            });
        }
    }
}

impl EventDecoder for ChatChunkDecoder {
    fn on_event(&mut self, event: Frame<'_>, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        if event.event == "error" {
            let v: serde_json::Value =
                serde_json::from_str(event.data).map_err(|e| malformed("error event", &e))?;
            return Err(error_from_body(&v, None));
        }
        self.on_data(event.data, out)
    }

    fn finished(&self) -> bool {
        self.done
    }
}
