//! [`ReplayStream`]: a whole answer played back as a stream — the mock provider's streams, a
//! JSON answer to a stream request (some servers ignore `stream: true`), a cached answer.

use std::collections::VecDeque;

use futures_util::future::BoxFuture;

use super::{ProviderEvent, ProviderStream};
use crate::error::Result;
use crate::types::{ChatResponse, ReasoningBlock};

/// Provider events known in advance.
#[derive(Debug, Default)]
pub struct ReplayStream {
    events: VecDeque<ProviderEvent>,
    request_id: Option<String>,
}

impl ReplayStream {
    /// The events a provider would have streamed for `r`: its ids, the reasoning (with its
    /// blocks' signatures and redacted blocks) and text in pieces of `chunk_chars` characters,
    /// its refusal, tool calls (with their signatures), finish reason and usage.
    pub fn of_response(r: &ChatResponse, chunk_chars: usize) -> ReplayStream {
        let mut events = VecDeque::new();
        events.push_back(ProviderEvent::Meta {
            id: r.id.clone(),
            model: Some(r.model.clone()),
        });
        let pieces = |text: &str| -> Vec<String> {
            let chars: Vec<char> = text.chars().collect();
            chars
                .chunks(chunk_chars.max(1))
                .map(|c| c.iter().collect())
                .collect()
        };
        reasoning_events(
            r.message.reasoning.as_deref().unwrap_or_default(),
            &r.message.reasoning_blocks,
            &pieces,
            &mut events,
        );
        events.extend(pieces(r.text()).into_iter().map(ProviderEvent::Text));
        if let Some(refusal) = &r.message.refusal {
            events.push_back(ProviderEvent::Refusal(refusal.clone()));
        }
        for (i, call) in r.message.tool_calls.iter().enumerate() {
            events.push_back(ProviderEvent::ToolCall {
                index: i as u32,
                id: Some(call.id.clone()),
                name: Some(call.function.name.clone()),
                arguments: call.function.arguments.clone(),
            });
            if let Some(signature) = &call.signature {
                events.push_back(ProviderEvent::ToolCallSignature {
                    index: i as u32,
                    signature: signature.clone(),
                });
            }
        }
        events.push_back(ProviderEvent::Finish(r.finish_reason));
        events.push_back(ProviderEvent::Usage(r.usage));
        ReplayStream {
            events,
            request_id: r.request_id.clone(),
        }
    }
}

/// The reasoning text in pieces, with each signed block's end and each redacted block where
/// the assembly puts them back: a signed `Thinking` block's text must come next in
/// `reasoning` (as every provider's answer has it); the text before a `Redacted` block (its
/// marker, such as Anthropic's `[redacted thinking]`) runs up to the next signed block's text.
/// A response whose reasoning is made of its blocks that way replays to an equal response.
fn reasoning_events(
    reasoning: &str,
    blocks: &[ReasoningBlock],
    pieces: &dyn Fn(&str) -> Vec<String>,
    events: &mut VecDeque<ProviderEvent>,
) {
    let text = |s: &str, events: &mut VecDeque<ProviderEvent>| {
        events.extend(pieces(s).into_iter().map(ProviderEvent::Reasoning));
    };
    let mut cursor = 0;
    for (i, block) in blocks.iter().enumerate() {
        match block {
            ReasoningBlock::Thinking {
                text: t,
                signature: Some(signature),
            } => {
                if reasoning[cursor..].starts_with(t.as_str()) {
                    text(t, events);
                    cursor += t.len();
                }
                events.push_back(ProviderEvent::ReasoningSignature(signature.clone()));
            }
            // Not expressible as events (reasoning without a signature is no block).
            ReasoningBlock::Thinking { signature: None, .. } => {}
            ReasoningBlock::Redacted { data } => {
                let rest = &reasoning[cursor..];
                let next_signed = blocks[i + 1..].iter().find_map(|b| match b {
                    ReasoningBlock::Thinking {
                        text: t,
                        signature: Some(_),
                    } => Some(t.as_str()),
                    _ => None,
                });
                let gap = next_signed.map_or(rest.len(), |t| rest.find(t).unwrap_or(rest.len()));
                text(&rest[..gap], events);
                cursor += gap;
                events.push_back(ProviderEvent::RedactedReasoning(data.clone()));
            }
        }
    }
    text(&reasoning[cursor..], events);
}

impl ProviderStream for ReplayStream {
    fn next_event(&mut self) -> BoxFuture<'_, Option<Result<ProviderEvent>>> {
        Box::pin(std::future::ready(self.events.pop_front().map(Ok)))
    }

    fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}
