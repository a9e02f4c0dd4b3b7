//! Google's Gemini models: the Gemini API (`provider: gemini`,
//! `POST {base_url}/v1beta/models/{model}:generateContent` with `x-goog-api-key`) and Vertex
//! AI (`provider: vertex`, `…/v1/projects/{project}/locations/{location}/publishers/google/
//! models/{model}:generateContent` with an OAuth bearer token). Both speak the same body, so
//! one adapter serves both; they differ in URL, credentials and embeddings endpoint. Request
//! building (`request`), answer parsing (`response`, `usage`), stream decoding (`stream`,
//! over SSE — `alt=sse` — or the JSON-array framing when a server ignores `alt=sse`),
//! embeddings (`embed`) and error envelopes (`error_body`) are apart, as for the other
//! families. Claude on Vertex is served by the Anthropic adapter ([`vertex`]).

mod embed;
mod error_body;
mod request;
mod response;
mod stream;
mod usage;
pub mod vertex;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use super::auth::{Auth, HeaderAuth, NoAuth};
use super::exchange::{Exchange, header_value, is_json};
use super::framing::{JsonArrayDecoder, SseDecoder};
use super::{CallOptions, FramedStream, Provider, ProviderKind, ProviderStream};
use crate::config::DeploymentConfig;
use crate::error::{Error, Result};
use crate::redact::Secret;
use crate::types::{ChatRequest, ChatResponse, EmbedRequest, EmbedResponse};

pub use embed::{
    decode_batch_embed_response, decode_predict_embed_response, encode_batch_embed_request,
    encode_predict_embed_request,
};
pub use error_body::{error_from_body, error_from_response};
pub use request::{SKIP_SIGNATURE, encode_generate_request};
pub use response::decode_generate_response;
pub use stream::GenerateStreamDecoder;

/// The Gemini API root when the config gives none.
pub const GEMINI_API_ROOT: &str = "https://generativelanguage.googleapis.com";

/// The endpoints of one deployment.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    /// `…/models/{model}` (Gemini API) or `…/publishers/google/models/{model}` (Vertex).
    model_url: String,
    /// Embeddings: `batchEmbedContents` (Gemini API) or `predict` (Vertex).
    embed: EmbedApi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EmbedApi {
    Batch,
    Predict,
}

/// The model URL of a Gemini API deployment: `base_url` is the API root
/// (`https://generativelanguage.googleapis.com`); a root ending in `/v1beta` or `/v1` keeps
/// that version.
pub fn gemini_model_url(d: &DeploymentConfig) -> String {
    let base = d
        .base_url
        .as_deref()
        .unwrap_or(GEMINI_API_ROOT)
        .trim_end_matches('/');
    let versioned = base.ends_with("/v1beta") || base.ends_with("/v1") || base.ends_with("/v1alpha");
    let root = if versioned {
        base.to_owned()
    } else {
        format!("{base}/v1beta")
    };
    let model = d.model.strip_prefix("models/").unwrap_or(&d.model);
    format!("{root}/models/{model}")
}

/// A Gemini API or Vertex AI (Google models) deployment.
pub struct GeminiProvider {
    kind: ProviderKind,
    model: String,
    endpoints: Endpoints,
    headers: HeaderMap,
    auth: Box<dyn Auth>,
    http: reqwest::Client,
    secrets: Arc<[Secret]>,
}

impl std::fmt::Debug for GeminiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiProvider")
            .field("kind", &self.kind)
            .field("model", &self.model)
            .field("model_url", &self.endpoints.model_url)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// Headers every request of a deployment carries: the JSON content type and the config's
/// extra headers (secret values; added to `secrets`).
pub(crate) fn base_headers(d: &DeploymentConfig, secrets: &mut Vec<Secret>) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in &d.headers {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::config(format!("`{name}` is not a valid HTTP header name")))?;
        headers.insert(n, header_value(value.expose(), &format!("header `{name}`"))?);
        secrets.push(value.clone());
    }
    Ok(headers)
}

impl GeminiProvider {
    /// A Gemini API deployment (`x-goog-api-key`), sharing the `http` pool. `known_secrets`
    /// are the client's other credentials, kept out of provider error messages.
    pub fn gemini(
        d: &DeploymentConfig,
        http: reqwest::Client,
        known_secrets: &[Secret],
    ) -> Result<GeminiProvider> {
        let mut secrets = known_secrets.to_vec();
        let headers = base_headers(d, &mut secrets)?;
        let auth: Box<dyn Auth> = match d.api_key.as_ref().filter(|k| !k.is_empty()) {
            Some(key) => {
                secrets.push(key.clone());
                Box::new(HeaderAuth::header(
                    HeaderName::from_static("x-goog-api-key"),
                    key.expose(),
                    &format!("the API key of deployment `{}`", d.name),
                )?)
            }
            None => Box::new(NoAuth),
        };
        Ok(GeminiProvider {
            kind: ProviderKind::Gemini,
            model: d.model.clone(),
            endpoints: Endpoints {
                model_url: gemini_model_url(d),
                embed: EmbedApi::Batch,
            },
            headers,
            auth,
            http,
            secrets: secrets.into(),
        })
    }

    /// A Vertex AI deployment of a Google model, with its model URL and credentials.
    pub(crate) fn vertex(
        d: &DeploymentConfig,
        model_url: String,
        auth: Box<dyn Auth>,
        http: reqwest::Client,
        secrets: Vec<Secret>,
    ) -> Result<GeminiProvider> {
        let mut secrets = secrets;
        let headers = base_headers(d, &mut secrets)?;
        Ok(GeminiProvider {
            kind: ProviderKind::Vertex,
            model: d.model.clone(),
            endpoints: Endpoints {
                model_url,
                embed: EmbedApi::Predict,
            },
            headers,
            auth,
            http,
            secrets: secrets.into(),
        })
    }

    fn exchange(&self) -> Exchange<'_> {
        Exchange {
            http: &self.http,
            headers: &self.headers,
            auth: self.auth.as_ref(),
            provider: self.kind.name(),
            classify: error_from_response,
        }
    }

    async fn read_answer(
        &self,
        response: reqwest::Response,
        opts: CallOptions,
        include_raw: bool,
    ) -> Result<ChatResponse> {
        let x = self.exchange();
        let a = x.read_body(response, opts).await?;
        let mut r = decode_generate_response(&a.body, include_raw)
            .map_err(|e| x.failed_2xx(e, a.status, &a.request_id))?;
        r.request_id = a.request_id;
        Ok(r)
    }

    async fn chat_inner(&self, req: &ChatRequest, opts: CallOptions) -> Result<ChatResponse> {
        let body = encode_generate_request(req, &self.model)?;
        let url = format!("{}:generateContent", self.endpoints.model_url);
        let response = self.exchange().post(&url, body, opts, true).await?;
        self.read_answer(response, opts, opts.include_raw).await
    }

    async fn stream_inner(&self, req: &ChatRequest, opts: CallOptions) -> Result<Box<dyn ProviderStream>> {
        let body = encode_generate_request(req, &self.model)?;
        let url = format!("{}:streamGenerateContent?alt=sse", self.endpoints.model_url);
        let response = self.exchange().post(&url, body, opts, false).await?;
        let provider = self.kind.name();
        if is_json(&response) {
            // The JSON-array form (a server that ignores `alt=sse`), element by element.
            return Ok(Box::new(FramedStream::new(
                response,
                JsonArrayDecoder::new(),
                GenerateStreamDecoder::new(),
                opts,
                provider,
                self.secrets.clone(),
            )));
        }
        Ok(Box::new(FramedStream::new(
            response,
            SseDecoder::new(),
            GenerateStreamDecoder::new(),
            opts,
            provider,
            self.secrets.clone(),
        )))
    }

    async fn embed_inner(&self, req: &EmbedRequest, opts: CallOptions) -> Result<EmbedResponse> {
        let (url, body) = match self.endpoints.embed {
            EmbedApi::Batch => (
                format!("{}:batchEmbedContents", self.endpoints.model_url),
                encode_batch_embed_request(req, &self.model)?,
            ),
            EmbedApi::Predict => (
                format!("{}:predict", self.endpoints.model_url),
                encode_predict_embed_request(req)?,
            ),
        };
        let x = self.exchange();
        let response = x.post(&url, body, opts, true).await?;
        let a = x.read_body(response, opts).await?;
        let decoded = match self.endpoints.embed {
            EmbedApi::Batch => decode_batch_embed_response(&a.body, req.input.len()),
            EmbedApi::Predict => decode_predict_embed_response(&a.body, req.input.len()),
        };
        let mut r = decoded.map_err(|e| x.failed_2xx(e, a.status, &a.request_id))?;
        r.model.clone_from(&self.model);
        r.request_id = a.request_id;
        Ok(r)
    }
}

impl Provider for GeminiProvider {
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
