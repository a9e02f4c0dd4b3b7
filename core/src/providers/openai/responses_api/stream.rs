//! The Responses API stream: named SSE events (`response.output_text.delta`,
//! `response.function_call_arguments.delta`, `response.completed`, …) → provider events.

use std::collections::VecDeque;

use serde::Deserialize;
use serde_json::{Value, json};

use super::super::chat_response::malformed;
use super::super::error_body::error_from_body;
use super::response::{WireResponse, WireUsage, finish_reason};
use crate::error::{Error, ErrorKind, Result};
use crate::providers::framing::Frame;
use crate::providers::{EventDecoder, ProviderEvent};

#[derive(Deserialize)]
struct WireStreamEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    delta: Option<String>,
    #[serde(default)]
    output_index: Option<u32>,
    #[serde(default)]
    item: Option<Value>,
    #[serde(default)]
    response: Option<Value>,
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

/// Decodes the Responses API stream; the terminal event is `response.completed` (or
/// `response.incomplete`); `response.failed` and `error` become errors.
#[derive(Debug, Default)]
pub struct ResponsesStreamDecoder {
    done: bool,
    sent_meta: bool,
    /// `output_index` of each function call, in call order.
    call_outputs: Vec<u32>,
}

impl ResponsesStreamDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> ResponsesStreamDecoder {
        ResponsesStreamDecoder::default()
    }

    fn call_index(&self, output_index: Option<u32>) -> u32 {
        output_index
            .and_then(|o| self.call_outputs.iter().position(|x| *x == o))
            .unwrap_or(self.call_outputs.len().saturating_sub(1)) as u32
    }
}

impl EventDecoder for ResponsesStreamDecoder {
    fn on_event(&mut self, event: Frame<'_>, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        let ev: WireStreamEvent =
            serde_json::from_str(event.data).map_err(|e| malformed("stream event", &e))?;
        match ev.kind.as_str() {
            "response.created" | "response.queued" | "response.in_progress" if !self.sent_meta => {
                let r = ev.response.unwrap_or_default();
                let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
                self.sent_meta = true;
                out.push_back(ProviderEvent::Meta {
                    id: s("id"),
                    model: s("model"),
                });
            }
            "response.output_text.delta" => out.push_back(ProviderEvent::Text(ev.delta.unwrap_or_default())),
            "response.refusal.delta" => out.push_back(ProviderEvent::Refusal(ev.delta.unwrap_or_default())),
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                out.push_back(ProviderEvent::Reasoning(ev.delta.unwrap_or_default()));
            }
            "response.output_item.added" => {
                let item = ev.item.unwrap_or_default();
                if item.get("type").and_then(Value::as_str) == Some("function_call") {
                    self.call_outputs
                        .push(ev.output_index.unwrap_or(self.call_outputs.len() as u32));
                    let s = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
                    out.push_back(ProviderEvent::ToolCall {
                        index: (self.call_outputs.len() - 1) as u32,
                        id: s("call_id").or_else(|| Some(super::super::chat_response::synthesize_call_id())),
                        name: s("name"),
                        arguments: s("arguments").unwrap_or_default(),
                    });
                }
            }
            "response.function_call_arguments.delta" => out.push_back(ProviderEvent::ToolCall {
                index: self.call_index(ev.output_index),
                id: None,
                name: None,
                arguments: ev.delta.unwrap_or_default(),
            }),
            "response.completed" | "response.incomplete" => {
                let wire: WireResponse = ev
                    .response
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(|e| malformed("final stream event", &e))?
                    .unwrap_or_default();
                let has_calls = !self.call_outputs.is_empty();
                let usage = wire.usage.as_ref().map(WireUsage::normalise).unwrap_or_default();
                out.push_back(ProviderEvent::Usage(usage));
                out.push_back(ProviderEvent::Finish(finish_reason(&wire, has_calls)));
                self.done = true;
            }
            "response.failed" => {
                let err = ev
                    .response
                    .as_ref()
                    .and_then(|r| r.get("error"))
                    .cloned()
                    .unwrap_or(Value::Null);
                let mut e = error_from_body(&err, None);
                if err.is_null() {
                    e = Error::new(
                        ErrorKind::ProviderUnavailable,
                        "the provider reported the response as failed",
                    );
                }
                return Err(e);
            }
            "error" => {
                let body = json!({"code": ev.code, "message": ev.message});
                return Err(error_from_body(&body, None));
            }
            _ => {}
        }
        Ok(())
    }

    fn finished(&self) -> bool {
        self.done
    }
}
