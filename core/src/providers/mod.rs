//! Provider adapters: one module per wire format. The [`Provider`] trait is what the router
//! calls; an adapter turns the unified request into the provider's HTTP request and the
//! provider's answer back into unified types.

mod kind;
pub mod mock;
pub mod openai;
mod sse_stream;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::config::DeploymentConfig;
use crate::error::Result;
use crate::redact::Secret;
use crate::types::{ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, FinishReason, Usage};

pub use kind::ProviderKind;
pub use sse_stream::{EventDecoder, SseProviderStream};

/// Per-try settings the router passes to an adapter.
#[derive(Debug, Clone, Copy)]
pub struct CallOptions {
    /// Deadline of this try (for streams: the longest wait for the first and each next byte).
    pub timeout: Duration,
    /// Keep the provider's raw JSON in the response.
    pub include_raw: bool,
}

/// What a provider stream yields; the client's stream assembles these into
/// [`crate::StreamEvent`]s and the final response.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderEvent {
    /// The provider's ids for this completion.
    Meta {
        /// Completion id.
        id: Option<String>,
        /// Model as served.
        model: Option<String>,
    },
    /// A piece of answer text.
    Text(String),
    /// A piece of reasoning text.
    Reasoning(String),
    /// A piece of refusal text.
    Refusal(String),
    /// A piece of a tool call.
    ToolCall {
        /// 0-based call index.
        index: u32,
        /// Call id (first piece).
        id: Option<String>,
        /// Function name (first piece).
        name: Option<String>,
        /// Arguments text piece.
        arguments: String,
    },
    /// Token counts.
    Usage(Usage),
    /// Why generation stopped.
    Finish(FinishReason),
}

/// A stream of [`ProviderEvent`]s. `None` means the provider sent its terminal event; a stream
/// that ends any other way yields an error instead.
pub trait ProviderStream: Send {
    /// The next event.
    fn next_event(&mut self) -> BoxFuture<'_, Option<Result<ProviderEvent>>>;

    /// The provider's request id, from the response headers.
    fn request_id(&self) -> Option<&str> {
        None
    }
}

/// A configured deployment that can be called.
pub trait Provider: Send + Sync {
    /// Which provider this is.
    fn kind(&self) -> ProviderKind;

    /// One chat completion.
    fn chat<'a>(&'a self, req: &'a ChatRequest, opts: CallOptions) -> BoxFuture<'a, Result<ChatResponse>>;

    /// A streamed chat completion; resolves once the provider accepted the request.
    fn stream<'a>(
        &'a self,
        req: &'a ChatRequest,
        opts: CallOptions,
    ) -> BoxFuture<'a, Result<Box<dyn ProviderStream>>>;

    /// Embeddings for a batch of texts.
    fn embed<'a>(&'a self, req: &'a EmbedRequest, opts: CallOptions) -> BoxFuture<'a, Result<EmbedResponse>>;
}

/// Builds the adapter for a deployment. `http` is the client's shared connection pool;
/// `known_secrets` are every credential of the client, kept out of error messages.
pub fn build(
    deployment: &DeploymentConfig,
    http: &reqwest::Client,
    known_secrets: &[Secret],
) -> Result<Arc<dyn Provider>> {
    Ok(match deployment.provider {
        ProviderKind::Mock => Arc::new(mock::MockProvider::new(deployment)),
        _ => Arc::new(openai::OpenAiProvider::new(
            deployment,
            http.clone(),
            known_secrets,
        )?),
    })
}
