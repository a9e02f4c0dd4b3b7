//! Assembling a stream: provider events become the caller's [`StreamEvent`]s, and together
//! the final [`ChatResponse`] that `Done` carries.

use crate::providers::ProviderEvent;
use crate::types::{
    AssistantMessage, ChatResponse, FinishReason, ReasoningBlock, StreamEvent, ToolCall, Usage,
};

/// Accumulates provider events into the final response.
#[derive(Default)]
pub(crate) struct Assembler {
    id: Option<String>,
    model: Option<String>,
    text: Option<String>,
    reasoning: Option<String>,
    /// Where in `reasoning` the current reasoning block started (the end of the previous one).
    block_start: usize,
    reasoning_blocks: Vec<ReasoningBlock>,
    refusal: Option<String>,
    tool_calls: Vec<(u32, ToolCall)>,
    /// Signatures of tool calls by index (a signature may come before or after the call).
    tool_signatures: Vec<(u32, String)>,
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
            ProviderEvent::ReasoningSignature(signature) => {
                let text = self.reasoning.as_deref().unwrap_or_default();
                let start = self.block_start.min(text.len());
                self.reasoning_blocks.push(ReasoningBlock::Thinking {
                    text: text[start..].to_owned(),
                    signature: Some(signature),
                });
                self.block_start = text.len();
                None
            }
            ProviderEvent::RedactedReasoning(data) => {
                self.reasoning_blocks.push(ReasoningBlock::Redacted { data });
                self.block_start = self.reasoning.as_deref().map_or(0, str::len);
                None
            }
            ProviderEvent::ToolCallSignature { index, signature } => {
                match self.tool_signatures.iter_mut().find(|(i, _)| *i == index) {
                    Some((_, s)) => *s = signature,
                    None => self.tool_signatures.push((index, signature)),
                }
                None
            }
        }
    }

    pub(crate) fn finish(mut self) -> ChatResponse {
        self.tool_calls.sort_by_key(|(i, _)| *i);
        for (index, signature) in self.tool_signatures {
            if let Some((_, call)) = self.tool_calls.iter_mut().find(|(i, _)| *i == index) {
                call.signature = Some(signature);
            }
        }
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
                reasoning_blocks: self.reasoning_blocks,
            },
            finish_reason,
            usage: self.usage.unwrap_or_default(),
            model: self.model.unwrap_or_default(),
            ..ChatResponse::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{ProviderStream, ReplayStream};

    fn assemble(events: Vec<ProviderEvent>) -> ChatResponse {
        let mut a = Assembler::default();
        for ev in events {
            a.apply(ev);
        }
        a.finish()
    }

    fn signed(text: &str, signature: &str) -> ReasoningBlock {
        ReasoningBlock::Thinking {
            text: text.into(),
            signature: Some(signature.into()),
        }
    }

    #[test]
    fn signatures_close_reasoning_blocks_and_mark_tool_calls() {
        use ProviderEvent::*;
        let r = assemble(vec![
            Reasoning("Let me ".into()),
            Reasoning("think.".into()),
            ReasoningSignature("sig-1".into()),
            Reasoning("[redacted thinking]".into()),
            RedactedReasoning("opaque".into()),
            Reasoning("More.".into()),
            ReasoningSignature("sig-2".into()),
            Reasoning(" Unsigned.".into()),
            Text("Calling.".into()),
            ToolCallSignature {
                index: 1,
                signature: "tsig-1".into(),
            },
            ToolCall {
                index: 0,
                id: Some("c0".into()),
                name: Some("f".into()),
                arguments: "{}".into(),
            },
            ToolCall {
                index: 1,
                id: Some("c1".into()),
                name: Some("g".into()),
                arguments: "{}".into(),
            },
        ]);
        let m = &r.message;
        // The text stays whole in `reasoning`; unsigned text is no block.
        assert_eq!(
            m.reasoning.as_deref(),
            Some("Let me think.[redacted thinking]More. Unsigned.")
        );
        assert_eq!(
            m.reasoning_blocks,
            [
                signed("Let me think.", "sig-1"),
                ReasoningBlock::Redacted {
                    data: "opaque".into()
                },
                signed("More.", "sig-2"),
            ]
        );
        assert_eq!(m.tool_calls[0].signature, None);
        assert_eq!(m.tool_calls[1].signature.as_deref(), Some("tsig-1"));
    }

    fn replayed(r: &ChatResponse, chunk: usize) -> ChatResponse {
        let mut s = ReplayStream::of_response(r, chunk);
        let mut events = Vec::new();
        while let Some(ev) = futures_util::FutureExt::now_or_never(s.next_event()).flatten() {
            events.push(ev.unwrap());
        }
        assemble(events)
    }

    #[test]
    fn a_replayed_answer_assembles_to_the_same_response() {
        let mut call = ToolCall::new("c1", "f", r#"{"a":1}"#);
        call.signature = Some("tsig".into());
        let answers = [
            // Anthropic: thinking, redacted thinking, thinking, then unsigned text.
            AssistantMessage {
                content: Some("Answer.".into()),
                reasoning: Some("Step one.[redacted thinking][redacted thinking]Step two.".into()),
                reasoning_blocks: vec![
                    signed("Step one.", "s1"),
                    ReasoningBlock::Redacted { data: "d1".into() },
                    ReasoningBlock::Redacted { data: "d2".into() },
                    signed("Step two.", "s2"),
                ],
                tool_calls: vec![call],
                ..AssistantMessage::default()
            },
            // Only redacted reasoning, and reasoning text after the last block.
            AssistantMessage {
                content: Some("x".into()),
                reasoning: Some("[redacted thinking]tail".into()),
                reasoning_blocks: vec![ReasoningBlock::Redacted { data: "d".into() }],
                ..AssistantMessage::default()
            },
            // A signed block with empty text (Gemini-style signature only).
            AssistantMessage {
                content: Some("y".into()),
                reasoning: None,
                reasoning_blocks: vec![signed("", "s")],
                ..AssistantMessage::default()
            },
        ];
        for message in answers {
            let r = ChatResponse {
                id: Some("msg_1".into()),
                message: AssistantMessage {
                    role: "assistant".into(),
                    ..message
                },
                finish_reason: FinishReason::Stop,
                model: "m".into(),
                ..ChatResponse::default()
            };
            for chunk in [1, 3, usize::MAX] {
                assert_eq!(replayed(&r, chunk), r, "chunk {chunk}");
            }
        }
    }
}
