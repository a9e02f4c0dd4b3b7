//! Assembling a stream: provider events become the caller's [`StreamEvent`]s, and together
//! the final [`ChatResponse`] that `Done` carries.

use crate::providers::ProviderEvent;
use crate::types::{AssistantMessage, ChatResponse, FinishReason, StreamEvent, ToolCall, Usage};

/// Accumulates provider events into the final response.
#[derive(Default)]
pub(crate) struct Assembler {
    id: Option<String>,
    model: Option<String>,
    text: Option<String>,
    reasoning: Option<String>,
    refusal: Option<String>,
    tool_calls: Vec<(u32, ToolCall)>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl Assembler {
    /// Folds one provider event in; returns what the caller should see, if anything.
    pub(crate) fn apply(&mut self, ev: ProviderEvent) -> Option<StreamEvent> {
        match ev {
            ProviderEvent::Meta { id, model } => {
                self.id = self.id.take().or(id);
                self.model = self.model.take().or(model);
                None
            }
            ProviderEvent::Text(text) => {
                self.text.get_or_insert_with(String::new).push_str(&text);
                Some(StreamEvent::TextDelta { text })
            }
            ProviderEvent::Reasoning(text) => {
                self.reasoning.get_or_insert_with(String::new).push_str(&text);
                Some(StreamEvent::ReasoningDelta { text })
            }
            ProviderEvent::Refusal(text) => {
                self.refusal.get_or_insert_with(String::new).push_str(&text);
                None
            }
            ProviderEvent::ToolCall {
                index,
                id,
                name,
                arguments,
            } => {
                match self.tool_calls.iter_mut().find(|(i, _)| *i == index) {
                    Some((_, call)) => {
                        call.function.arguments.push_str(&arguments);
                        if let Some(n) = &name
                            && call.function.name.is_empty()
                        {
                            call.function.name.clone_from(n);
                        }
                    }
                    None => self.tool_calls.push((
                        index,
                        ToolCall::new(
                            id.clone().unwrap_or_default(),
                            name.clone().unwrap_or_default(),
                            arguments.clone(),
                        ),
                    )),
                }
                Some(StreamEvent::ToolCallDelta {
                    index,
                    id,
                    name,
                    arguments,
                })
            }
            ProviderEvent::Usage(usage) => {
                // Per the merge rule on `Usage::merge`: reports are cumulative snapshots.
                let merged = self.usage.get_or_insert_with(Usage::default);
                merged.merge(&usage);
                Some(StreamEvent::Usage { usage: *merged })
            }
            ProviderEvent::Finish(reason) => {
                self.finish = Some(reason);
                None
            }
        }
    }

    pub(crate) fn finish(mut self) -> ChatResponse {
        self.tool_calls.sort_by_key(|(i, _)| *i);
        let tool_calls: Vec<ToolCall> = self.tool_calls.into_iter().map(|(_, c)| c).collect();
        let finish_reason = self.finish.unwrap_or(if tool_calls.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        });
        ChatResponse {
            id: self.id,
            message: AssistantMessage {
                role: "assistant".to_owned(),
                content: self.text,
                tool_calls,
                reasoning: self.reasoning,
                refusal: self.refusal,
            },
            finish_reason,
            usage: self.usage.unwrap_or_default(),
            model: self.model.unwrap_or_default(),
            ..ChatResponse::default()
        }
    }
}
