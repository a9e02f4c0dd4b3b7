//! Provider adapters: one folder per wire-format family. The [`Provider`] trait is what the
//! attempts call; an adapter is made of separate parts — request building, response parsing,
//! stream decoding (an [`EventDecoder`] over a [`framing::Framing`]) — and applies its
//! credentials ([`auth`]) to every attempt.

pub mod anthropic;
pub mod auth;
#[cfg(feature = "aws")]
pub mod bedrock;
mod exchange;
mod framed_stream;
pub mod framing;
pub mod gemini;
mod kind;
pub mod mock;
pub mod openai;
mod replay;
#[cfg(feature = "aws")]
pub mod sagemaker;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::config::DeploymentConfig;
use crate::error::Result;
use crate::redact::Secret;
use crate::types::{ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, FinishReason, Usage};

pub use framed_stream::{EventDecoder, FramedStream};
pub use kind::ProviderKind;
pub use replay::ReplayStream;

/// Per-try settings the attempts pass to an adapter.
#[derive(Debug, Clone, Copy)]
pub struct CallOptions {
    /// Deadline of this try (for streams: the longest wait for the first and each next
    /// byte); never beyond the call's deadline.
    pub timeout: Duration,
    /// The whole call's deadline, which also bounds reading a stream to its end.
    pub deadline: Option<crate::routing::Deadline>,
    /// Keep the provider's raw JSON in the response (and its raw error bodies in errors).
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
    /// The end of a signed reasoning block: the reasoning text received since the previous
    /// block ended and this signature form one [`ReasoningBlock::Thinking`](crate::ReasoningBlock)
    /// of the final response (Anthropic `signature_delta`).
    ReasoningSignature(String),
    /// A reasoning block the provider encrypted (Anthropic `redacted_thinking`): one
    /// [`ReasoningBlock::Redacted`](crate::ReasoningBlock) of the final response, in order.
    RedactedReasoning(String),
    /// The provider's opaque signature of the reasoning behind tool call `index` (Gemini
    /// `thoughtSignature`), kept in the final response's [`crate::ToolCall::signature`].
    ToolCallSignature {
        /// 0-based call index, as in [`ProviderEvent::ToolCall`].
        index: u32,
        /// The opaque signature.
        signature: String,
    },
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

/// An adapter's call with its errors passed through `scrub` (which removes the deployment's
/// credentials), boxed for the [`Provider`] trait.
pub(crate) fn scrubbing<'a, T: Send + 'a>(
    call: impl std::future::Future<Output = Result<T>> + Send + 'a,
    scrub: impl FnOnce(crate::error::Error) -> crate::error::Error + Send + 'a,
) -> BoxFuture<'a, Result<T>> {
    Box::pin(async move { call.await.map_err(scrub) })
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
        ProviderKind::Anthropic => Arc::new(anthropic::AnthropicProvider::new(
            deployment,
            http.clone(),
            known_secrets,
        )?),
        ProviderKind::Gemini => Arc::new(gemini::GeminiProvider::gemini(
            deployment,
            http.clone(),
            known_secrets,
        )?),
        ProviderKind::Vertex => gemini::vertex::build(deployment, http, known_secrets)?,
        #[cfg(feature = "aws")]
        ProviderKind::Bedrock => Arc::new(bedrock::BedrockProvider::new(
            deployment,
            http.clone(),
            known_secrets,
        )?),
        #[cfg(feature = "aws")]
        ProviderKind::SageMaker => Arc::new(sagemaker::SageMakerProvider::new(
            deployment,
            http.clone(),
            known_secrets,
        )?),
        #[cfg(not(feature = "aws"))]
        ProviderKind::Bedrock | ProviderKind::SageMaker => {
            return Err(crate::error::Error::config(format!(
                "provider `{}` needs modelplug-core built with its `aws` feature",
                deployment.provider
            )));
        }
        ProviderKind::OpenAi
        | ProviderKind::Azure
        | ProviderKind::OpenAiCompatible
        | ProviderKind::Groq
        | ProviderKind::Mistral
        | ProviderKind::Ollama
        | ProviderKind::OpenRouter
        | ProviderKind::DeepSeek
        | ProviderKind::Cerebras
        | ProviderKind::Together
        | ProviderKind::HuggingFace
        | ProviderKind::Vllm => Arc::new(openai::OpenAiProvider::new(
            deployment,
            http.clone(),
            known_secrets,
        )?),
    })
}

/// Provider families announced but not built yet: named apart in errors, so that they do
/// not read as a typo.
const NOT_YET_SUPPORTED: [&str; 0] = [];

/// Why `name` is not a provider: not supported yet, or unknown (with the closest known name).
/// The config and `provider/model` names give the same message.
pub fn unknown_provider_message(name: &str) -> String {
    let known: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.name()).collect();
    if NOT_YET_SUPPORTED.contains(&name) {
        return format!(
            "provider `{name}` is not supported yet (supported: {})",
            known.join(", ")
        );
    }
    match crate::config::closest(name, &known) {
        Some(s) => format!("unknown provider `{name}` (did you mean `{s}`?)"),
        None => format!(
            "unknown provider `{name}` (known providers: {})",
            known.join(", ")
        ),
    }
}
