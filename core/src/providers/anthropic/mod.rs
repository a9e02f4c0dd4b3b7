//! Anthropic's Messages API (`provider: anthropic`): `POST {base_url}/v1/messages` with
//! `x-api-key` and `anthropic-version: 2023-06-01`. Request building (`request`), answer
//! parsing (`response`, `usage`), stream decoding over the SSE framing (`stream`) and error
//! envelopes (`error_body`) are apart, as for the OpenAI family.

mod error_body;
mod request;
mod response;
mod stream;
mod usage;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use super::auth::{Auth, HeaderAuth, NoAuth};
use super::exchange::{Exchange, header_value, is_json};
use super::framing::SseDecoder;
use super::{CallOptions, FramedStream, Provider, ProviderKind, ProviderStream, ReplayStream};
use crate::config::DeploymentConfig;
use crate::error::{Error, Result};
use crate::redact::Secret;
use crate::types::{ChatRequest, ChatResponse, EmbedRequest, EmbedResponse};

pub use error_body::{error_from_body, error_from_response};
#[cfg(feature = "aws")]
pub(crate) use request::answer_tool_parts;
pub use request::{DEFAULT_MAX_TOKENS, JSON_OBJECT_TOOL, encode_messages_request, structured_output_tool};
#[cfg(feature = "aws")]
pub(crate) use response::arguments_text;
pub use response::{REDACTED_THINKING, decode_messages_response, finish_reason};
pub use stream::MessagesStreamDecoder;
#[cfg(feature = "aws")]
pub(crate) use usage::cache_inclusive;

/// The API version sent in `anthropic-version` (a deployment's `headers` may replace it).
pub const API_VERSION: &str = "2023-06-01";

/// The Messages endpoint of a deployment: `base_url` is the API root
/// (`https://api.anthropic.com`); a root ending in `/v1` is accepted too.
pub fn messages_url(d: &DeploymentConfig) -> Result<String> {
    let base = d
        .base_url
        .as_deref()
        .or_else(|| d.provider.default_base_url())
        .ok_or_else(|| Error::config(format!("deployment `{}` has no base_url", d.name)))?
        .trim_end_matches('/');
    let root = base.strip_suffix("/v1").unwrap_or(base);
    Ok(format!("{root}/v1/messages"))
}

/// An Anthropic deployment (on Anthropic's API, or Claude on Vertex AI).
pub struct AnthropicProvider {
    kind: ProviderKind,
    model: String,
    url: String,
    /// Where streams go (the same URL on Anthropic's API; `:streamRawPredict` on Vertex).
    stream_url: String,
    /// Claude on Vertex: the body names no model and carries `anthropic_version` instead.
    on_vertex: bool,
    /// Content type, API version and extra headers, built once.
    headers: HeaderMap,
    /// The credential (`x-api-key`), applied to every attempt.
    auth: Box<dyn Auth>,
    http: reqwest::Client,
    /// Every credential the client knows, scrubbed from provider error messages.
    secrets: Arc<[Secret]>,
}

impl std::fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("model", &self.model)
            .field("url", &self.url)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl AnthropicProvider {
    /// Builds the adapter for `d`, sharing the `http` connection pool. `known_secrets` are the
    /// client's other credentials: a provider's error message must not echo any of them.
    pub fn new(
        d: &DeploymentConfig,
        http: reqwest::Client,
        known_secrets: &[Secret],
    ) -> Result<AnthropicProvider> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert("anthropic-version", HeaderValue::from_static(API_VERSION));
        let mut secrets = known_secrets.to_vec();
        let auth: Box<dyn Auth> = match d.api_key.as_ref().filter(|k| !k.is_empty()) {
            Some(key) => {
                secrets.push(key.clone());
                Box::new(HeaderAuth::header(
                    HeaderName::from_static("x-api-key"),
                    key.expose(),
                    &format!("the API key of deployment `{}`", d.name),
                )?)
            }
            None => Box::new(NoAuth),
        };
        for (name, value) in &d.headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::config(format!("`{name}` is not a valid HTTP header name")))?;
            headers.insert(n, header_value(value.expose(), &format!("header `{name}`"))?);
            secrets.push(value.clone());
        }
        let url = messages_url(d)?;
        Ok(AnthropicProvider {
            kind: ProviderKind::Anthropic,
            model: d.model.clone(),
            stream_url: url.clone(),
            url,
            on_vertex: false,
            headers,
            auth,
            http,
            secrets: secrets.into(),
        })
    }

    /// Claude on Vertex AI: `{model_url}:rawPredict` and `:streamRawPredict` with Google
    /// credentials; the body is the Messages body without `model` and with
    /// `anthropic_version: vertex-2023-10-16`.
    pub(crate) fn on_vertex(
        d: &DeploymentConfig,
        model_url: &str,
        auth: Box<dyn Auth>,
        http: reqwest::Client,
        secrets: Vec<Secret>,
    ) -> Result<AnthropicProvider> {
        let mut secrets = secrets;
        let headers = crate::providers::gemini::base_headers(d, &mut secrets)?;
        Ok(AnthropicProvider {
            kind: ProviderKind::Vertex,
            model: d.model.clone(),
            url: format!("{model_url}:rawPredict"),
            stream_url: format!("{model_url}:streamRawPredict"),
            on_vertex: true,
            headers,
            auth,
            http,
            secrets: secrets.into(),
        })
    }

    /// The body of a call: the Messages body, reshaped for Vertex when the deployment is there.
    fn body(&self, req: &ChatRequest, stream: bool) -> Result<Vec<u8>> {
        let body = encode_messages_request(req, &self.model, stream)?;
        if !self.on_vertex {
            return Ok(body);
        }
        let mut v: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&body)
            .map_err(|e| Error::internal(format!("cannot encode the request: {e}")))?;
        v.remove("model");
        v.insert(
            "anthropic_version".into(),
            crate::providers::gemini::vertex::ANTHROPIC_VERTEX_VERSION.into(),
        );
        serde_json::to_vec(&v).map_err(|e| Error::internal(format!("cannot encode the request: {e}")))
    }

    /// This deployment's exchange: its pool, headers, credentials and error envelope.
    fn exchange(&self) -> Exchange<'_> {
        Exchange {
            http: &self.http,
            headers: &self.headers,
            auth: self.auth.as_ref(),
            provider: self.kind.name(),
            classify: error_from_response,
        }
    }

    /// Reads and decodes a 2xx whole answer (a body that breaks off or cannot be understood
    /// is not retried on this deployment: a 2xx was billed; a fallback may still answer).
    async fn read_answer(
        &self,
        response: reqwest::Response,
        opts: CallOptions,
        include_raw: bool,
        answer_tool: Option<&str>,
    ) -> Result<ChatResponse> {
        let x = self.exchange();
        let a = x.read_body(response, opts).await?;
        let mut r = decode_messages_response(&a.body, include_raw, answer_tool)
            .map_err(|e| x.failed_2xx(e, a.status, &a.request_id))?;
        r.request_id = a.request_id;
        Ok(r)
    }

    async fn chat_inner(&self, req: &ChatRequest, opts: CallOptions) -> Result<ChatResponse> {
        let body = self.body(req, false)?;
        let response = self.exchange().post(&self.url, body, opts, true).await?;
        self.read_answer(response, opts, opts.include_raw, structured_output_tool(req))
            .await
    }

    async fn stream_inner(&self, req: &ChatRequest, opts: CallOptions) -> Result<Box<dyn ProviderStream>> {
        let body = self.body(req, true)?;
        let response = self.exchange().post(&self.stream_url, body, opts, false).await?;
        if is_json(&response) {
            // A whole answer instead of a stream (a proxy that ignores `stream`): played back
            // as a stream, or its error.
            let answer = self
                .read_answer(response, opts, false, structured_output_tool(req))
                .await?;
            return Ok(Box::new(ReplayStream::of_response(&answer, usize::MAX)));
        }
        Ok(Box::new(FramedStream::new(
            response,
            SseDecoder::new(),
            MessagesStreamDecoder::with_answer_tool(structured_output_tool(req)),
            opts,
            self.kind.name(),
            self.secrets.clone(),
        )))
    }
}

impl Provider for AnthropicProvider {
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    fn chat<'a>(&'a self, req: &'a ChatRequest, opts: CallOptions) -> BoxFuture<'a, Result<ChatResponse>> {
        super::scrubbing(self.chat_inner(req, opts), |e| e.scrubbed(&self.secrets))
    }

    fn stream<'a>(
        &'a self,
        req: &'a ChatRequest,
        opts: CallOptions,
    ) -> BoxFuture<'a, Result<Box<dyn ProviderStream>>> {
        super::scrubbing(self.stream_inner(req, opts), |e| e.scrubbed(&self.secrets))
    }

    fn embed<'a>(
        &'a self,
        _req: &'a EmbedRequest,
        _opts: CallOptions,
    ) -> BoxFuture<'a, Result<EmbedResponse>> {
        Box::pin(std::future::ready(Err(Error::invalid_request(
            "Anthropic's models have no embeddings API",
        )
        .with_provider(self.kind.name()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Api, MockConfig};

    fn deployment(base: Option<&str>) -> DeploymentConfig {
        DeploymentConfig {
            name: "d".into(),
            provider: ProviderKind::Anthropic,
            model: "claude-sonnet-4-5".into(),
            api_key: Some(Secret::new("sk-ant-k")),
            base_url: base.map(str::to_owned),
            api_version: None,
            azure_deployment: None,
            api: Api::Chat,
            timeout_ms: 1000,
            headers: vec![],
            organization: None,
            project: None,
            location: None,
            credentials_file: None,
            aws: Default::default(),
            mock: MockConfig::default(),
        }
    }

    #[test]
    fn urls_and_headers() {
        assert_eq!(
            messages_url(&deployment(None)).unwrap(),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            messages_url(&deployment(Some("http://h/s/1/v1/"))).unwrap(),
            "http://h/s/1/v1/messages"
        );
        let http = crate::http::build_client().unwrap();
        let p = AnthropicProvider::new(&deployment(None), http, &[]).unwrap();
        let mut req = reqwest::Request::new(reqwest::Method::POST, "http://x/".parse().unwrap());
        let crate::pipeline::Step::Ready(Ok(())) = p.auth.apply(&mut req) else {
            panic!("static keys apply at once");
        };
        let v = req.headers().get("x-api-key").unwrap();
        assert!(v.is_sensitive());
        assert_eq!(v, "sk-ant-k");
        assert!(req.headers().get("authorization").is_none());
        assert_eq!(p.headers.get("anthropic-version").unwrap(), API_VERSION);
        assert!(!format!("{p:?}").contains("sk-ant-k"));
    }
}
