//! The OpenAI family: OpenAI itself, Azure OpenAI (classic deployment URLs with `api-version`,
//! and the `/openai/v1/` path) and every OpenAI-compatible server (Groq, Mistral, Ollama,
//! OpenRouter, DeepSeek, Cerebras, Together, Hugging Face, vLLM, or any `base_url`).

mod chat_request;
mod chat_response;
mod chat_stream;
mod embeddings;
mod error_body;
mod quirks;
mod responses_api;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use super::auth::{Auth, HeaderAuth, NoAuth};
use super::exchange::{Exchange, header_value, is_json};
use super::framing::SseDecoder;
use super::{CallOptions, FramedStream, Provider, ProviderKind, ProviderStream, ReplayStream};
use crate::config::{Api, DeploymentConfig};
use crate::error::{Error, Result};
use crate::redact::Secret;
use crate::types::{ChatRequest, ChatResponse, EmbedRequest, EmbedResponse};

pub use chat_request::encode_chat_request;
pub use chat_response::decode_chat_response;
pub use chat_stream::ChatChunkDecoder;
pub use embeddings::{decode_embed_response, encode_embed_request};
pub use error_body::{classify, error_from_body, error_from_response};
pub use quirks::Quirks;
pub use responses_api::{ResponsesStreamDecoder, decode_responses_response, encode_responses_request};

/// Where the three endpoints of a deployment live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Chat Completions.
    pub chat: String,
    /// Responses.
    pub responses: String,
    /// Embeddings.
    pub embeddings: String,
}

impl Endpoints {
    /// The endpoints of `d` (its provider's defaults applied).
    pub fn of(d: &DeploymentConfig) -> Result<Endpoints> {
        let base = d
            .base_url
            .as_deref()
            .or_else(|| d.provider.default_base_url())
            .ok_or_else(|| Error::config(format!("deployment `{}` has no base_url", d.name)))?
            .trim_end_matches('/');
        if d.provider != ProviderKind::Azure {
            return Ok(Endpoints {
                chat: format!("{base}/chat/completions"),
                responses: format!("{base}/responses"),
                embeddings: format!("{base}/embeddings"),
            });
        }
        // Azure: accept the resource root, `…/openai` or `…/openai/v1` as base_url.
        let root = base.trim_end_matches("/openai/v1").trim_end_matches("/openai");
        Ok(match &d.api_version {
            Some(v) => {
                let dep = d.azure_deployment.as_deref().unwrap_or(&d.model);
                let q = format!("?api-version={v}");
                Endpoints {
                    chat: format!("{root}/openai/deployments/{dep}/chat/completions{q}"),
                    responses: format!("{root}/openai/responses{q}"),
                    embeddings: format!("{root}/openai/deployments/{dep}/embeddings{q}"),
                }
            }
            None => Endpoints {
                chat: format!("{root}/openai/v1/chat/completions"),
                responses: format!("{root}/openai/v1/responses"),
                embeddings: format!("{root}/openai/v1/embeddings"),
            },
        })
    }
}

/// An OpenAI-family deployment.
pub struct OpenAiProvider {
    kind: ProviderKind,
    /// The model id sent in the body (Azure: the deployment name).
    model: String,
    endpoints: Endpoints,
    /// Content type, organisation and extra headers, built once.
    headers: HeaderMap,
    /// The credential, applied to every attempt.
    auth: Box<dyn Auth>,
    quirks: Quirks,
    api: Api,
    http: reqwest::Client,
    /// Every credential the client knows, scrubbed from provider error messages.
    secrets: Arc<[Secret]>,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("kind", &self.kind)
            .field("model", &self.model)
            .field("endpoints", &self.endpoints)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// Builds the adapter for `d`, sharing the `http` connection pool. `known_secrets` are the
    /// client's other credentials: a provider's error message must not echo any of them.
    pub fn new(
        d: &DeploymentConfig,
        http: reqwest::Client,
        known_secrets: &[Secret],
    ) -> Result<OpenAiProvider> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut secrets = known_secrets.to_vec();
        let auth: Box<dyn Auth> = match d.api_key.as_ref().filter(|k| !k.is_empty()) {
            Some(key) => {
                let what = format!("the API key of deployment `{}`", d.name);
                secrets.push(key.clone());
                if d.provider == ProviderKind::Azure {
                    Box::new(HeaderAuth::header(
                        HeaderName::from_static("api-key"),
                        key.expose(),
                        &what,
                    )?)
                } else {
                    Box::new(HeaderAuth::bearer(key.expose(), &what)?)
                }
            }
            None => Box::new(NoAuth),
        };
        for (name, value) in [
            ("openai-organization", &d.organization),
            ("openai-project", &d.project),
        ] {
            if let Some(v) = value {
                headers.insert(name, header_value(v, name)?);
            }
        }
        for (name, value) in &d.headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::config(format!("`{name}` is not a valid HTTP header name")))?;
            headers.insert(n, header_value(value.expose(), &format!("header `{name}`"))?);
            secrets.push(value.clone());
        }
        let model = match d.provider {
            ProviderKind::Azure => d.azure_deployment.clone().unwrap_or_else(|| d.model.clone()),
            _ => d.model.clone(),
        };
        Ok(OpenAiProvider {
            kind: d.provider,
            model,
            endpoints: Endpoints::of(d)?,
            headers,
            auth,
            quirks: Quirks::of(d.provider),
            api: d.api,
            http,
            secrets: secrets.into(),
        })
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

    /// Decodes a whole (non-streamed) chat answer.
    fn decode_chat(
        &self,
        body: &[u8],
        status: u16,
        request_id: Option<String>,
        include_raw: bool,
    ) -> Result<ChatResponse> {
        let decoded = match self.api {
            Api::Chat => decode_chat_response(body, include_raw),
            Api::Responses => decode_responses_response(body, include_raw),
        };
        let mut r = decoded.map_err(|e| self.exchange().failed_2xx(e, status, &request_id))?;
        r.request_id = request_id;
        Ok(r)
    }

    async fn chat_inner(&self, req: &ChatRequest, opts: CallOptions) -> Result<ChatResponse> {
        let (url, body) = match self.api {
            Api::Chat => (
                &self.endpoints.chat,
                encode_chat_request(req, &self.model, &self.quirks, false)?,
            ),
            Api::Responses => (
                &self.endpoints.responses,
                encode_responses_request(req, &self.model, false)?,
            ),
        };
        let x = self.exchange();
        let response = x.post(url, body, opts, true).await?;
        let a = x.read_body(response, opts).await?;
        self.decode_chat(&a.body, a.status, a.request_id, opts.include_raw)
    }

    async fn stream_inner(&self, req: &ChatRequest, opts: CallOptions) -> Result<Box<dyn ProviderStream>> {
        let provider = self.kind.name();
        let (url, body) = match self.api {
            Api::Chat => (
                &self.endpoints.chat,
                encode_chat_request(req, &self.model, &self.quirks, true)?,
            ),
            Api::Responses => (
                &self.endpoints.responses,
                encode_responses_request(req, &self.model, true)?,
            ),
        };
        let x = self.exchange();
        let response = x.post(url, body, opts, false).await?;
        if is_json(&response) {
            // The server answered at once instead of streaming (some ignore `stream: true`):
            // a whole answer (played back as a stream) or an error, never a retry.
            let a = x.read_body(response, opts).await?;
            let answer = self.decode_chat(&a.body, a.status, a.request_id, false)?;
            return Ok(Box::new(ReplayStream::of_response(&answer, usize::MAX)));
        }
        let framing = SseDecoder::new();
        Ok(match self.api {
            Api::Chat => Box::new(FramedStream::new(
                response,
                framing,
                ChatChunkDecoder::new(),
                opts,
                provider,
                self.secrets.clone(),
            )),
            Api::Responses => Box::new(FramedStream::new(
                response,
                framing,
                ResponsesStreamDecoder::new(),
                opts,
                provider,
                self.secrets.clone(),
            )),
        })
    }

    async fn embed_inner(&self, req: &EmbedRequest, opts: CallOptions) -> Result<EmbedResponse> {
        let body = encode_embed_request(req, &self.model, self.quirks.embeddings_base64)?;
        let x = self.exchange();
        let response = x.post(&self.endpoints.embeddings, body, opts, true).await?;
        let a = x.read_body(response, opts).await?;
        let mut r = decode_embed_response(&a.body, req.input.len())
            .map_err(|e| x.failed_2xx(e, a.status, &a.request_id))?;
        r.request_id = a.request_id;
        Ok(r)
    }
}

impl Provider for OpenAiProvider {
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

    fn embed<'a>(&'a self, req: &'a EmbedRequest, opts: CallOptions) -> BoxFuture<'a, Result<EmbedResponse>> {
        super::scrubbing(self.embed_inner(req, opts), |e| e.scrubbed(&self.secrets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DeploymentConfig, MockConfig};

    fn deployment(provider: ProviderKind, base: Option<&str>, api_version: Option<&str>) -> DeploymentConfig {
        DeploymentConfig {
            name: "d".into(),
            provider,
            model: "gpt-4o".into(),
            api_key: Some(Secret::new("k")),
            base_url: base.map(str::to_owned),
            api_version: api_version.map(str::to_owned),
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
    fn endpoint_urls() {
        let e = Endpoints::of(&deployment(ProviderKind::Groq, None, None)).unwrap();
        assert_eq!(e.chat, "https://api.groq.com/openai/v1/chat/completions");
        let e = Endpoints::of(&deployment(
            ProviderKind::Azure,
            Some("https://r.openai.azure.com/"),
            Some("2024-10-21"),
        ))
        .unwrap();
        assert_eq!(
            e.chat,
            "https://r.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            e.embeddings,
            "https://r.openai.azure.com/openai/deployments/gpt-4o/embeddings?api-version=2024-10-21"
        );
        let e = Endpoints::of(&deployment(
            ProviderKind::Azure,
            Some("https://r.openai.azure.com/openai/v1"),
            None,
        ))
        .unwrap();
        assert_eq!(e.responses, "https://r.openai.azure.com/openai/v1/responses");
    }

    #[test]
    fn azure_uses_api_key_header_others_bearer() {
        let http = crate::http::build_client().unwrap();
        let p = OpenAiProvider::new(
            &deployment(ProviderKind::Azure, Some("https://r"), None),
            http.clone(),
            &[],
        )
        .unwrap();
        let applied = |p: &OpenAiProvider| {
            let mut req = reqwest::Request::new(reqwest::Method::POST, "http://x/".parse().unwrap());
            let crate::pipeline::Step::Ready(Ok(())) = p.auth.apply(&mut req) else {
                panic!("static keys apply at once");
            };
            req.headers().clone()
        };
        let h = applied(&p);
        assert!(h.get("api-key").unwrap().is_sensitive());
        assert!(h.get("authorization").is_none());
        let p = OpenAiProvider::new(&deployment(ProviderKind::OpenAi, None, None), http, &[]).unwrap();
        assert_eq!(applied(&p).get("authorization").unwrap(), "Bearer k");
        assert!(!format!("{p:?}").contains("Bearer") && !format!("{p:?}").contains("\"k\""));
    }
}
