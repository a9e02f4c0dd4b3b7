//! Bedrock embeddings through InvokeModel (`POST /model/{modelId}/invoke`), in each model
//! family's native body, chosen by the model id:
//!
//! - Amazon Titan Text Embeddings (`amazon.titan-embed-text-*`): one text per request
//!   (`{"inputText", "dimensions"?}` → `{"embedding", "inputTextTokenCount"}`);
//! - Cohere Embed (`cohere.embed-*`): up to 96 texts per request (`{"texts", "input_type"}` →
//!   `{"embeddings": [[…]]}`, or `{"embeddings": {"float": [[…]]}}` when `embedding_types` is
//!   asked for);
//! - Amazon Nova multimodal embeddings (`amazon.nova-*embed*`): one text per request
//!   (`{"taskType": "SINGLE_EMBEDDING", "singleEmbeddingParams": {…}}` → `{"embeddings":
//!   [{"embedding"}]}`).
//!
//! Token counts come from the body (Titan) or the `x-amzn-bedrock-input-token-count` header.
//! A request's `extra` members are added to each body (Cohere's `input_type`, `truncate`; Nova's
//! `embeddingPurpose` goes inside `singleEmbeddingParams`).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::{Error, ErrorKind, Result};
use crate::providers::exchange::malformed;
use crate::types::EmbedRequest;

/// The most texts Cohere takes in one request.
pub const COHERE_BATCH: usize = 96;

/// An embeddings model family Bedrock serves through InvokeModel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedFamily {
    /// Amazon Titan Text Embeddings (one text per request).
    Titan,
    /// Cohere Embed (a batch per request).
    Cohere,
    /// Amazon Nova multimodal embeddings (one text per request).
    Nova,
}

impl EmbedFamily {
    /// The family of a model id (also inside an inference profile id or ARN).
    pub fn of(model: &str) -> Result<EmbedFamily> {
        let m = model.to_ascii_lowercase();
        if m.contains("titan-embed") {
            Ok(EmbedFamily::Titan)
        } else if m.contains("cohere.embed") {
            Ok(EmbedFamily::Cohere)
        } else if m.contains("nova") && m.contains("embed") {
            Ok(EmbedFamily::Nova)
        } else {
            Err(Error::invalid_request(format!(
                "provider bedrock embeds with Titan, Cohere or Nova embedding models; `{model}` is none of them"
            )))
        }
    }

    /// How many texts one request carries.
    pub fn batch(self) -> usize {
        match self {
            EmbedFamily::Cohere => COHERE_BATCH,
            EmbedFamily::Titan | EmbedFamily::Nova => 1,
        }
    }
}

/// The InvokeModel body for `texts` (at most [`EmbedFamily::batch`] of them).
pub fn encode_embed_request(family: EmbedFamily, texts: &[String], req: &EmbedRequest) -> Result<Vec<u8>> {
    let mut body = Map::new();
    match family {
        EmbedFamily::Titan => {
            body.insert(
                "inputText".into(),
                texts.first().cloned().unwrap_or_default().into(),
            );
            if let Some(d) = req.dimensions {
                body.insert("dimensions".into(), d.into());
            }
            body.extend(req.extra.clone());
        }
        EmbedFamily::Cohere => {
            body.insert("texts".into(), texts.to_vec().into());
            body.insert("input_type".into(), "search_document".into());
            if let Some(d) = req.dimensions {
                body.insert("output_dimension".into(), d.into());
            }
            body.extend(req.extra.clone());
        }
        EmbedFamily::Nova => {
            let mut params = Map::new();
            params.insert("embeddingPurpose".into(), "GENERIC_INDEX".into());
            params.insert(
                "text".into(),
                json!({"value": texts.first().cloned().unwrap_or_default(), "truncationMode": "END"}),
            );
            if let Some(d) = req.dimensions {
                params.insert("embeddingDimension".into(), d.into());
            }
            params.extend(req.extra.clone());
            body.insert("taskType".into(), "SINGLE_EMBEDDING".into());
            body.insert("singleEmbeddingParams".into(), Value::Object(params));
        }
    }
    serde_json::to_vec(&Value::Object(body))
        .map_err(|e| Error::internal(format!("cannot encode the request: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitanAnswer {
    embedding: Vec<f32>,
    #[serde(default)]
    input_text_token_count: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CohereVectors {
    Floats(Vec<Vec<f32>>),
    ByType { float: Vec<Vec<f32>> },
}

#[derive(Deserialize)]
struct CohereAnswer {
    embeddings: CohereVectors,
}

#[derive(Deserialize)]
struct NovaAnswer {
    embeddings: Vec<NovaVector>,
}

#[derive(Deserialize)]
struct NovaVector {
    embedding: Vec<f32>,
}

/// One answer's vectors (as many as `expected`) and its token count when the body gives one.
pub fn decode_embed_response(
    family: EmbedFamily,
    body: &[u8],
    expected: usize,
) -> Result<(Vec<Vec<f32>>, Option<u64>)> {
    let (vectors, tokens) = match family {
        EmbedFamily::Titan => {
            let a: TitanAnswer =
                serde_json::from_slice(body).map_err(|e| malformed("embeddings answer", &e))?;
            (vec![a.embedding], a.input_text_token_count)
        }
        EmbedFamily::Cohere => {
            let a: CohereAnswer =
                serde_json::from_slice(body).map_err(|e| malformed("embeddings answer", &e))?;
            let v = match a.embeddings {
                CohereVectors::Floats(v) | CohereVectors::ByType { float: v } => v,
            };
            (v, None)
        }
        EmbedFamily::Nova => {
            let a: NovaAnswer =
                serde_json::from_slice(body).map_err(|e| malformed("embeddings answer", &e))?;
            (a.embeddings.into_iter().map(|v| v.embedding).collect(), None)
        }
    };
    if vectors.len() != expected {
        return Err(Error::new(
            ErrorKind::ProviderUnavailable,
            format!(
                "the provider returned {} embeddings for {expected} inputs",
                vectors.len()
            ),
        ));
    }
    Ok((vectors, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_bodies() {
        assert_eq!(
            EmbedFamily::of("amazon.titan-embed-text-v2:0").unwrap(),
            EmbedFamily::Titan
        );
        assert_eq!(
            EmbedFamily::of("cohere.embed-english-v3").unwrap(),
            EmbedFamily::Cohere
        );
        assert_eq!(
            EmbedFamily::of("amazon.nova-2-multimodal-embeddings-v1:0").unwrap(),
            EmbedFamily::Nova
        );
        assert_eq!(
            EmbedFamily::of("anthropic.claude").unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
        let mut req = EmbedRequest::new("m", vec!["a".into(), "b".into()]);
        req.dimensions = Some(256);
        let body: Value =
            serde_json::from_slice(&encode_embed_request(EmbedFamily::Nova, &req.input[..1], &req).unwrap())
                .unwrap();
        assert_eq!(body["singleEmbeddingParams"]["embeddingDimension"], 256);
        assert_eq!(body["singleEmbeddingParams"]["text"]["value"], "a");
        let body: Value =
            serde_json::from_slice(&encode_embed_request(EmbedFamily::Cohere, &req.input, &req).unwrap())
                .unwrap();
        assert_eq!(body["texts"], json!(["a", "b"]));
    }

    #[test]
    fn answers_and_counts() {
        let (v, t) = decode_embed_response(
            EmbedFamily::Titan,
            br#"{"embedding":[0.5,1],"inputTextTokenCount":3}"#,
            1,
        )
        .unwrap();
        assert_eq!((v, t), (vec![vec![0.5, 1.0]], Some(3)));
        let (v, _) =
            decode_embed_response(EmbedFamily::Cohere, br#"{"embeddings":{"float":[[1],[2]]}}"#, 2).unwrap();
        assert_eq!(v.len(), 2);
        let e = decode_embed_response(EmbedFamily::Cohere, br#"{"embeddings":[[1]]}"#, 2).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        let nova = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/provider-specs/recorded/bedrock/invoke_embeddings_nova.response.json"
        ))
        .unwrap();
        let (v, _) = decode_embed_response(EmbedFamily::Nova, &nova, 1).unwrap();
        assert_eq!(v[0].len(), 256);
    }
}
