//! [`ReplayStream`]: a whole answer played back as a stream — the mock provider's streams, a
//! JSON answer to a stream request (some servers ignore `stream: true`), a cached answer.

use std::collections::VecDeque;

use futures_util::future::BoxFuture;

use super::{ProviderEvent, ProviderStream};
use crate::error::Result;
use crate::types::ChatResponse;

/// Provider events known in advance.
#[derive(Debug, Default)]
pub struct ReplayStream {
    events: VecDeque<ProviderEvent>,
    request_id: Option<String>,
}

impl ReplayStream {
    /// The events a provider would have streamed for `r`: its ids, the reasoning and text in
    /// pieces of `chunk_chars` characters, its refusal, tool calls, finish reason and usage.
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
        if let Some(reasoning) = &r.message.reasoning {
            events.extend(pieces(reasoning).into_iter().map(ProviderEvent::Reasoning));
        }
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
        }
        events.push_back(ProviderEvent::Finish(r.finish_reason));
        events.push_back(ProviderEvent::Usage(r.usage));
        ReplayStream {
            events,
            request_id: r.request_id.clone(),
        }
    }
}

impl ProviderStream for ReplayStream {
    fn next_event(&mut self) -> BoxFuture<'_, Option<Result<ProviderEvent>>> {
        Box::pin(std::future::ready(self.events.pop_front().map(Ok)))
    }

    fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}
