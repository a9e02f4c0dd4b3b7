//! AWS Bedrock Runtime (`provider: bedrock`): Converse (`POST {base}/model/{modelId}/converse`)
//! and ConverseStream (`…/converse-stream`, answered in AWS's binary eventstream) for every
//! chat model Bedrock serves — hosted models, inference profiles (`us.anthropic.claude-…`),
//! and ARNs of provisioned throughput or imported custom models — and embeddings through
//! InvokeModel (`embed`). Every attempt is signed with SigV4 (signing name `bedrock`) with
//! credentials from the AWS chain, unless a Bedrock API key is given (sent as a bearer token).
//! Request building (`request`), answer parsing (`response`, `usage`), stream decoding over
//! the eventstream framing (`stream`) and AWS error shapes (`error_body`, shared with
//! SageMaker) are apart, as for the other families.

mod embed;
mod error_body;
mod request;
mod response;
mod stream;
mod usage;

use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};

use super::auth::Auth;
use super::auth::aws::{AwsSecrets, aws_auth};
use super::exchange::Exchange;
use super::framing::EventStreamFraming;
use super::{CallOptions, FramedStream, Provider, ProviderKind, ProviderStream};
use crate::config::DeploymentConfig;
use crate::error::{Error, Result};
use crate::redact::Secret;
use crate::types::{ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, Usage};

pub use embed::{EmbedFamily, decode_embed_response, encode_embed_request};
pub use error_body::{error_from_exception, error_from_response, error_parts, error_type, is_clock_skew};
pub use request::encode_converse_request;
pub use response::{decode_converse_response, finish_reason};
pub use stream::ConverseStreamDecoder;

/// How many embeddings requests one call sends at a time (Titan and Nova take one text per
/// request).
pub const EMBED_CONCURRENCY: usize = 8;

/// Bedrock's SigV4 signing name (not the endpoint prefix `bedrock-runtime`).
pub const SIGNING_NAME: &str = "bedrock";

/// The Bedrock Runtime root of a region.
pub fn default_base_url(region: &str) -> String {
    format!("https://bedrock-runtime.{region}.{}", dns_suffix(region))
}

/// AWS's domain for a region: `amazonaws.com.cn` in China, else `amazonaws.com`.
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// A path segment, percent-encoded as AWS expects: everything but the unreserved characters
/// (so a model id's `:` and an ARN's `/` are escaped; SigV4 then encodes the path once more).
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() + 8);
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The region of an AWS deployment: the config's, else `AWS_REGION` / `AWS_DEFAULT_REGION`
/// (already filled in by the config), else the profile's.
/// Whichever source it came from, it must look like a region: it becomes part of the host
/// that receives the credentials.
pub(crate) fn region_of(d: &DeploymentConfig, profile_region: Option<String>) -> Result<String> {
    let region = d.aws.region.clone().or(profile_region).ok_or_else(|| {
        Error::config(format!(
            "deployment `{}`: provider {} needs a `region` (or AWS_REGION, or a profile with a region)",
            d.name, d.provider
        ))
    })?;
    if !crate::config::is_aws_region(&region) {
        return Err(Error::config(format!(
            "deployment `{}`: `{region}` is not an AWS region (like us-east-1)",
            d.name
        )));
    }
    Ok(region)
}

/// A Bedrock deployment.
pub struct BedrockProvider {
    model: String,
    /// `{base}/model/{encoded model id}`.
    model_url: String,
    headers: HeaderMap,
    auth: Box<dyn Auth>,
    http: reqwest::Client,
    secrets: AwsSecrets,
}

impl std::fmt::Debug for BedrockProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BedrockProvider")
            .field("model", &self.model)
            .field("model_url", &self.model_url)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl BedrockProvider {
    /// A Bedrock deployment, sharing the `http` pool. `known_secrets` are the client's other
    /// credentials, kept out of provider error messages.
    pub fn new(
        d: &DeploymentConfig,
        http: reqwest::Client,
        known_secrets: &[Secret],
    ) -> Result<BedrockProvider> {
        let mut secrets = known_secrets.to_vec();
        let mut headers = super::gemini::base_headers(d, &mut secrets)?;
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let creds = aws_auth(d, &http, SIGNING_NAME, true, secrets)?;
        let base = match &d.base_url {
            Some(b) => b.trim_end_matches('/').to_owned(),
            None => default_base_url(&creds.region),
        };
        Ok(BedrockProvider {
            model: d.model.clone(),
            model_url: format!("{base}/model/{}", encode_path_segment(&d.model)),
            headers,
            auth: creds.auth,
            http,
            secrets: creds.secrets,
        })
    }

    fn exchange(&self) -> Exchange<'_> {
        Exchange {
            http: &self.http,
            headers: &self.headers,
            auth: self.auth.as_ref(),
            provider: ProviderKind::Bedrock.name(),
            classify: error_from_response,
        }
    }

    async fn chat_inner(&self, req: &ChatRequest, opts: CallOptions) -> Result<ChatResponse> {
        let body = encode_converse_request(req)?;
        let url = format!("{}/converse", self.model_url);
        let x = self.exchange();
        let response = x.post(&url, body, opts, true).await?;
        let a = x.read_body(response, opts).await?;
        let answer_tool = super::anthropic::structured_output_tool(req);
        let mut r = decode_converse_response(&a.body, opts.include_raw, answer_tool)
            .map_err(|e| x.failed_2xx(e, a.status, &a.request_id))?;
        r.model.clone_from(&self.model);
        r.request_id = a.request_id;
        Ok(r)
    }

    async fn stream_inner(&self, req: &ChatRequest, opts: CallOptions) -> Result<Box<dyn ProviderStream>> {
        let body = encode_converse_request(req)?;
        let url = format!("{}/converse-stream", self.model_url);
        let response = self.exchange().post(&url, body, opts, false).await?;
        let decoder = ConverseStreamDecoder::with_answer_tool(super::anthropic::structured_output_tool(req));
        Ok(Box::new(FramedStream::new(
            response,
            EventStreamFraming::new(error_from_exception),
            decoder,
            opts,
            ProviderKind::Bedrock.name(),
            self.secrets.fixed(),
        )))
    }

    async fn embed_inner(&self, req: &EmbedRequest, opts: CallOptions) -> Result<EmbedResponse> {
        let family = EmbedFamily::of(&self.model)?;
        let url = format!("{}/invoke", self.model_url);
        let x = self.exchange();
        let one = |texts: &[String]| {
            let (url, x) = (&url, &x);
            let body = encode_embed_request(family, texts, req);
            let n = texts.len();
            async move {
                let response = x.post(url, body?, opts, true).await?;
                let tokens_header = input_token_count(response.headers());
                let a = x.read_body(response, opts).await?;
                let (vectors, tokens) = decode_embed_response(family, &a.body, n)
                    .map_err(|e| x.failed_2xx(e, a.status, &a.request_id))?;
                Ok::<_, Error>((vectors, tokens.or(tokens_header), a.request_id))
            }
        };
        // At most EMBED_CONCURRENCY requests at a time (Titan and Nova take one text each).
        let answers: Vec<_> = futures_util::stream::iter(req.input.chunks(family.batch().max(1)).map(one))
            .buffered(EMBED_CONCURRENCY)
            .try_collect()
            .await?;
        let mut embeddings = Vec::with_capacity(req.input.len());
        let mut input_tokens = 0u64;
        let mut request_id = None;
        for (vectors, tokens, id) in answers {
            embeddings.extend(vectors);
            input_tokens = input_tokens.saturating_add(tokens.unwrap_or(0));
            request_id = request_id.or(id);
        }
        Ok(EmbedResponse {
            embeddings,
            usage: Usage {
                input_tokens,
                total_tokens: input_tokens,
                ..Usage::default()
            },
            model: self.model.clone(),
            request_id,
            ..EmbedResponse::default()
        })
    }
}

/// `x-amzn-bedrock-input-token-count`.
fn input_token_count(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("x-amzn-bedrock-input-token-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

impl Provider for BedrockProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Bedrock
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
    fn model_ids_and_arns_are_one_path_segment() {
        assert_eq!(
            encode_path_segment("us.amazon.nova-micro-v1:0"),
            "us.amazon.nova-micro-v1%3A0"
        );
        assert_eq!(
            encode_path_segment("arn:aws:bedrock:us-west-2:123456789012:imported-model/abc123"),
            "arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Aimported-model%2Fabc123"
        );
    }
}
