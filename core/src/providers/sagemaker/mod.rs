//! SageMaker real-time endpoints (`provider: sagemaker`): a custom model hosted on AWS, in a
//! container that speaks the OpenAI chat-completions format (TGI's Messages API, LMI/vLLM).
//! `POST {base}/endpoints/{endpoint}/invocations` carries the OpenAI chat body and answers
//! with an OpenAI chat completion; `…/invocations-response-stream` answers in AWS's
//! eventstream, whose `PayloadPart` events, joined, are the container's own Server-Sent
//! Events (`data: {chunk}` … `data: [DONE]`), cut anywhere. Every attempt is signed with SigV4
//! (signing name `sagemaker`). Embeddings send the OpenAI embeddings body and read an OpenAI
//! answer or a bare list of vectors (Text Embeddings Inference).
//!
//! Errors are AWS's (see [`crate::providers::bedrock::error_from_response`]); a container's
//! own error arrives as `ModelError` (424) with its status, which decides the kind.

use futures_util::future::BoxFuture;
use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue};

use super::auth::Auth;
use super::auth::aws::{AwsSecrets, aws_auth};
use super::bedrock::{encode_path_segment, error_from_exception, error_from_response};
use super::exchange::{Exchange, header_value, is_json};
use super::framing::{PayloadPartsFraming, SseDecoder};
use super::openai::{ChatChunkDecoder, Quirks, decode_chat_response, encode_chat_request};
use super::{CallOptions, FramedStream, Provider, ProviderKind, ProviderStream, ReplayStream};
use crate::config::DeploymentConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::redact::Secret;
use crate::types::{ChatRequest, ChatResponse, EmbedRequest, EmbedResponse};

/// SageMaker's SigV4 signing name.
pub const SIGNING_NAME: &str = "sagemaker";

/// The SageMaker Runtime root of a region.
pub fn default_base_url(region: &str) -> String {
    format!(
        "https://runtime.sagemaker.{region}.{}",
        super::bedrock::dns_suffix(region)
    )
}

/// A SageMaker endpoint deployment.
pub struct SageMakerProvider {
    model: String,
    /// `{base}/endpoints/{endpoint}`.
    endpoint_url: String,
    headers: HeaderMap,
    stream_headers: HeaderMap,
    auth: Box<dyn Auth>,
    http: reqwest::Client,
    quirks: Quirks,
    secrets: AwsSecrets,
}

impl std::fmt::Debug for SageMakerProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SageMakerProvider")
            .field("model", &self.model)
            .field("endpoint_url", &self.endpoint_url)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl SageMakerProvider {
    /// A SageMaker deployment, sharing the `http` pool. The endpoint is `endpoint` (else
    /// `model`); `model` is also sent in the body (the container may ignore it).
    pub fn new(
        d: &DeploymentConfig,
        http: reqwest::Client,
        known_secrets: &[Secret],
    ) -> Result<SageMakerProvider> {
        let mut secrets = known_secrets.to_vec();
        let mut headers = super::gemini::base_headers(d, &mut secrets)?;
        if let Some(ic) = &d.aws.inference_component {
            headers.insert(
                HeaderName::from_static("x-amzn-sagemaker-inference-component"),
                header_value(ic, "inference_component")?,
            );
        }
        let mut stream_headers = headers.clone();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        stream_headers.insert(
            HeaderName::from_static("x-amzn-sagemaker-accept"),
            HeaderValue::from_static("text/event-stream"),
        );
        let creds = aws_auth(d, &http, SIGNING_NAME, false, secrets)?;
        let base = match &d.base_url {
            Some(b) => b.trim_end_matches('/').to_owned(),
            None => default_base_url(&creds.region),
        };
        let endpoint = d.aws.endpoint.as_deref().unwrap_or(&d.model);
        Ok(SageMakerProvider {
            model: d.model.clone(),
            endpoint_url: format!("{base}/endpoints/{}", encode_path_segment(endpoint)),
            headers,
            stream_headers,
            auth: creds.auth,
            http,
            quirks: Quirks::of(ProviderKind::SageMaker),
            secrets: creds.secrets,
        })
    }

    fn exchange<'a>(&'a self, headers: &'a HeaderMap) -> Exchange<'a> {
        Exchange {
            http: &self.http,
            headers,
            auth: self.auth.as_ref(),
            provider: ProviderKind::SageMaker.name(),
            classify: error_from_response,
        }
    }

    async fn chat_inner(&self, req: &ChatRequest, opts: CallOptions) -> Result<ChatResponse> {
        let body = encode_chat_request(req, &self.model, &self.quirks, false)?;
        let url = format!("{}/invocations", self.endpoint_url);
        let x = self.exchange(&self.headers);
        let response = x.post(&url, body, opts, true).await?;
        let a = x.read_body(response, opts).await?;
        let mut r = decode_chat_response(&a.body, opts.include_raw)
            .map_err(|e| x.failed_2xx(e, a.status, &a.request_id))?;
        r.request_id = a.request_id;
        Ok(r)
    }

    async fn stream_inner(&self, req: &ChatRequest, opts: CallOptions) -> Result<Box<dyn ProviderStream>> {
        let body = encode_chat_request(req, &self.model, &self.quirks, true)?;
        let url = format!("{}/invocations-response-stream", self.endpoint_url);
        let x = self.exchange(&self.stream_headers);
        let response = x.post(&url, body, opts, false).await?;
        if is_json(&response) {
            // A whole answer instead of a stream: played back as one.
            let a = x.read_body(response, opts).await?;
            let r =
                decode_chat_response(&a.body, false).map_err(|e| x.failed_2xx(e, a.status, &a.request_id))?;
            return Ok(Box::new(ReplayStream::of_response(&r, usize::MAX)));
        }
        Ok(Box::new(FramedStream::new(
            response,
            PayloadPartsFraming::new(SseDecoder::new(), error_from_exception),
            ChatChunkDecoder::new(),
            opts,
            ProviderKind::SageMaker.name(),
            self.secrets.fixed(),
        )))
    }

    async fn embed_inner(&self, req: &EmbedRequest, opts: CallOptions) -> Result<EmbedResponse> {
        let body = super::openai::encode_embed_request(req, &self.model, false)?;
        let url = format!("{}/invocations", self.endpoint_url);
        let x = self.exchange(&self.headers);
        let response = x.post(&url, body, opts, true).await?;
        let a = x.read_body(response, opts).await?;
        let mut r = decode_embeddings(&a.body, req.input.len())
            .map_err(|e| x.failed_2xx(e, a.status, &a.request_id))?;
        r.model.clone_from(&self.model);
        r.request_id = a.request_id;
        Ok(r)
    }
}

/// An OpenAI embeddings answer, or Text Embeddings Inference's bare `[[…], …]`.
fn decode_embeddings(body: &[u8], expected: usize) -> Result<EmbedResponse> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let vectors: Vec<Vec<f32>> =
            serde_json::from_slice(body).map_err(|e| super::exchange::malformed("embeddings answer", &e))?;
        if vectors.len() != expected {
            return Err(Error::new(
                ErrorKind::ProviderUnavailable,
                format!(
                    "the provider returned {} embeddings for {expected} inputs",
                    vectors.len()
                ),
            ));
        }
        return Ok(EmbedResponse {
            embeddings: vectors,
            ..EmbedResponse::default()
        });
    }
    super::openai::decode_embed_response(body, expected)
}

impl Provider for SageMakerProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::SageMaker
    }

    fn chat<'a>(&'a self, req: &'a ChatRequest, opts: CallOptions) -> BoxFuture<'a, Result<ChatResponse>> {
        super::scrubbing(self.chat_inner(req, opts), |e| self.secrets.scrub(e))
    }

    fn stream<'a>(
        &'a self,
        req: &'a ChatRequest,
        opts: CallOptions,
    ) -> BoxFuture<'a, Result<Box<dyn ProviderStream>>> {
        super::scrubbing(self.stream_inner(req, opts), |e| self.secrets.scrub(e))
    }

    fn embed<'a>(&'a self, req: &'a EmbedRequest, opts: CallOptions) -> BoxFuture<'a, Result<EmbedResponse>> {
        super::scrubbing(self.embed_inner(req, opts), |e| self.secrets.scrub(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tei_and_openai_embeddings() {
        let r = decode_embeddings(b" [[1.0, 2.0], [3.0, 4.0]]", 2).unwrap();
        assert_eq!(r.embeddings[1], [3.0, 4.0]);
        let r = decode_embeddings(
            br#"{"data":[{"index":0,"embedding":[0.5]}],"usage":{"prompt_tokens":2,"total_tokens":2}}"#,
            1,
        )
        .unwrap();
        assert_eq!(r.usage.input_tokens, 2);
        assert_eq!(
            decode_embeddings(b"[[1.0]]", 2).unwrap_err().kind(),
            ErrorKind::ProviderUnavailable
        );
    }
}
