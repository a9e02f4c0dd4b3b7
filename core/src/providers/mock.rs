//! The in-process `mock` provider: no network, for users' own tests and demos.
//!
//! It answers with a fixed `reply` or echoes the last user message, counts tokens the way a
//! real tokenizer roughly would (about four characters a token), calls a tool when the request
//! forces one, and can be told to be slow or to fail (`latency_ms`, `fail_first`,
//! `failure_rate`, `fail_with`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{CallOptions, Provider, ProviderKind, ProviderStream, ReplayStream};
use crate::config::{DeploymentConfig, MockConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::types::{
    AssistantMessage, ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, FinishReason, Role, ToolCall,
    ToolChoice, Usage,
};
use crate::usage::estimate_tokens;

/// A mock deployment.
#[derive(Debug)]
pub struct MockProvider {
    model: String,
    settings: MockConfig,
    calls: AtomicU32,
}

impl MockProvider {
    /// A mock for deployment `d`.
    pub fn new(d: &DeploymentConfig) -> MockProvider {
        MockProvider {
            model: d.model.clone(),
            settings: d.mock.clone(),
            calls: AtomicU32::new(0),
        }
    }

    /// Waits the configured latency, then fails if this call is one of the simulated failures.
    async fn begin_call(&self, opts: CallOptions) -> Result<()> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        if self.settings.latency_ms > 0 {
            let latency = Duration::from_millis(self.settings.latency_ms);
            if latency > opts.timeout {
                tokio::time::sleep(opts.timeout).await;
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "no answer within {} ms (the try's timeout; mock)",
                        opts.timeout.as_millis()
                    ),
                )
                .with_provider("mock"));
            }
            tokio::time::sleep(latency).await;
        }
        let fail = n < self.settings.fail_first
            || (self.settings.failure_rate > 0.0 && fastrand::f64() < self.settings.failure_rate);
        if fail {
            let kind = self.settings.fail_with;
            let mut e = Error::new(kind, "simulated failure (mock)").with_provider("mock");
            if let Some(status) = status_of(kind) {
                e = e.with_status(status);
            }
            return Err(e);
        }
        Ok(())
    }

    fn answer(&self, req: &ChatRequest) -> ChatResponse {
        let input_text: String = req
            .messages
            .iter()
            .map(|m| m.content.joined_text())
            .collect::<Vec<_>>()
            .join("\n");
        // Chat formats add a few tokens of framing per message.
        let input_tokens = estimate_tokens(&input_text) + 3 * req.messages.len() as u64;
        let forced_tool = match &req.tool_choice {
            Some(ToolChoice::Function(name)) => Some(name.clone()),
            Some(ToolChoice::Required) => req.tools.first().map(|t| t.function.name.clone()),
            _ => None,
        };
        let (content, tool_calls, finish) = match forced_tool {
            Some(name) => {
                let call = ToolCall::new(
                    format!("call_mock_{}", self.calls.load(Ordering::Relaxed)),
                    name,
                    "{}",
                );
                (None, vec![call], FinishReason::ToolCalls)
            }
            None => {
                let text = match &self.settings.reply {
                    Some(r) => r.clone(),
                    None => req
                        .messages
                        .iter()
                        .rev()
                        .find(|m| m.role == Role::User)
                        .map(|m| m.content.joined_text())
                        .unwrap_or_default(),
                };
                (Some(text), Vec::new(), FinishReason::Stop)
            }
        };
        let mut output_tokens = content.as_deref().map_or(0, estimate_tokens);
        output_tokens += tool_calls
            .iter()
            .map(|c| estimate_tokens(&c.function.name) + 2)
            .sum::<u64>();
        let (content, finish) = match (req.max_tokens, content) {
            (Some(max), Some(text)) if output_tokens > u64::from(max) => {
                output_tokens = u64::from(max);
                (
                    Some(text.chars().take(max as usize * 4).collect()),
                    FinishReason::Length,
                )
            }
            (_, c) => (c, finish),
        };
        ChatResponse {
            id: Some(format!(
                "mock-{}",
                crate::usage::new_event_id(std::time::SystemTime::now())
            )),
            message: AssistantMessage {
                role: "assistant".to_owned(),
                content,
                tool_calls,
                reasoning: None,
                refusal: None,
                reasoning_blocks: Vec::new(),
            },
            finish_reason: finish,
            usage: Usage {
                input_tokens,
                output_tokens,
                total_tokens: input_tokens + output_tokens,
                ..Usage::default()
            },
            model: self.model.clone(),
            ..ChatResponse::default()
        }
    }

    async fn chat_inner(&self, req: &ChatRequest, opts: CallOptions) -> Result<ChatResponse> {
        self.begin_call(opts).await?;
        Ok(self.answer(req))
    }

    async fn stream_inner(&self, req: &ChatRequest, opts: CallOptions) -> Result<Box<dyn ProviderStream>> {
        self.begin_call(opts).await?;
        let answer = self.answer(req);
        Ok(Box::new(ReplayStream::of_response(
            &answer,
            self.settings.chunk_chars,
        )))
    }

    async fn embed_inner(&self, req: &EmbedRequest, opts: CallOptions) -> Result<EmbedResponse> {
        self.begin_call(opts).await?;
        let dims = req.dimensions.unwrap_or(8).max(1) as usize;
        let input_tokens: u64 = req.input.iter().map(|t| estimate_tokens(t)).sum();
        Ok(EmbedResponse {
            embeddings: req.input.iter().map(|t| pseudo_embedding(t, dims)).collect(),
            usage: Usage {
                input_tokens,
                total_tokens: input_tokens,
                ..Usage::default()
            },
            model: self.model.clone(),
            ..EmbedResponse::default()
        })
    }
}

/// A deterministic unit vector derived from the text (same text, same vector).
fn pseudo_embedding(text: &str, dims: usize) -> Vec<f32> {
    let mut rng = fastrand::Rng::with_seed(fnv1a(text.as_bytes()));
    let v: Vec<f32> = (0..dims).map(|_| rng.f32() * 2.0 - 1.0).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::EPSILON);
    v.into_iter().map(|x| x / norm).collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The HTTP status a real provider would have sent with this kind of failure.
fn status_of(kind: ErrorKind) -> Option<u16> {
    Some(match kind {
        ErrorKind::InvalidRequest | ErrorKind::ContextLengthExceeded | ErrorKind::ContentFiltered => 400,
        ErrorKind::Authentication => 401,
        ErrorKind::PermissionDenied => 403,
        ErrorKind::NotFound => 404,
        ErrorKind::Timeout => 408,
        ErrorKind::RateLimited => 429,
        ErrorKind::ProviderUnavailable => 503,
        _ => return None,
    })
}

impl Provider for MockProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Mock
    }

    fn chat<'a>(&'a self, req: &'a ChatRequest, opts: CallOptions) -> BoxFuture<'a, Result<ChatResponse>> {
        Box::pin(self.chat_inner(req, opts))
    }

    fn stream<'a>(
        &'a self,
        req: &'a ChatRequest,
        opts: CallOptions,
    ) -> BoxFuture<'a, Result<Box<dyn ProviderStream>>> {
        Box::pin(self.stream_inner(req, opts))
    }

    fn embed<'a>(&'a self, req: &'a EmbedRequest, opts: CallOptions) -> BoxFuture<'a, Result<EmbedResponse>> {
        Box::pin(self.embed_inner(req, opts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_are_stable() {
        let a = pseudo_embedding("x", 4);
        assert_eq!(a, pseudo_embedding("x", 4));
        assert_ne!(a, pseudo_embedding("y", 4));
        assert!((a.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
    }
}
