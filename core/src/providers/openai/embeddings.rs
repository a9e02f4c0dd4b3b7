//! Embeddings: unified request → `/embeddings` body, and the answer (JSON floats or base64
//! little-endian f32) → vectors in input order.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::chat_request::to_body_with_extra;
use super::chat_response::{WireUsage, malformed};
use crate::error::{Error, ErrorKind, Result};
use crate::types::{EmbedRequest, EmbedResponse};

#[derive(Serialize)]
struct WireEmbedRequest<'a> {
    model: &'a str,
    input: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding_format: Option<&'static str>,
}

/// The `/embeddings` body for `req`, sent to `model`.
pub fn encode_embed_request(req: &EmbedRequest, model: &str, base64: bool) -> Result<Vec<u8>> {
    let body = WireEmbedRequest {
        model,
        input: &req.input,
        dimensions: req.dimensions,
        encoding_format: base64.then_some("base64"),
    };
    to_body_with_extra(&body, &req.extra)
}

#[derive(Deserialize)]
struct WireEmbedResponse {
    data: Vec<WireEmbedding>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireEmbedding {
    #[serde(default)]
    index: Option<usize>,
    embedding: WireVector,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireVector {
    Floats(Vec<f32>),
    Base64(String),
}

/// Decodes an `/embeddings` answer; `expected` is the number of inputs.
pub fn decode_embed_response(body: &[u8], expected: usize) -> Result<EmbedResponse> {
    let wire: WireEmbedResponse =
        serde_json::from_slice(body).map_err(|e| malformed("embeddings answer", &e))?;
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
    for (pos, item) in wire.data.into_iter().enumerate() {
        let index = item.index.unwrap_or(pos);
        let vector = match item.embedding {
            WireVector::Floats(v) => v,
            WireVector::Base64(text) => decode_base64_f32(&text)?,
        };
        match slots.get_mut(index) {
            Some(slot) => *slot = Some(vector),
            None => {
                return Err(bad_answer(format!(
                    "an embedding for input {index}, but only {expected} were sent"
                )));
            }
        }
    }
    let embeddings = slots
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| bad_answer(format!("no embedding for input {i}"))))
        .collect::<Result<Vec<_>>>()?;
    let mut usage = wire.usage.map(|u| u.normalise()).unwrap_or_default();
    usage.output_tokens = 0;
    usage.total_tokens = usage.input_tokens;
    Ok(EmbedResponse {
        embeddings,
        usage,
        model: wire.model.unwrap_or_default(),
        ..EmbedResponse::default()
    })
}

fn bad_answer(what: String) -> Error {
    Error::new(
        ErrorKind::ProviderUnavailable,
        format!("the provider's embeddings answer has {what}"),
    )
}

fn decode_base64_f32(text: &str) -> Result<Vec<f32>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| bad_answer("an embedding that is not valid base64".to_owned()))?;
    if bytes.len() % 4 != 0 {
        return Err(bad_answer(
            "a base64 embedding whose length is not a multiple of 4 bytes".to_owned(),
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_base64_and_order() {
        let b64 = base64::engine::general_purpose::STANDARD
            .encode([1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat());
        let body = format!(
            r#"{{"data":[{{"index":1,"embedding":"{b64}"}},{{"index":0,"embedding":[0.25,0.5]}}],"model":"m","usage":{{"prompt_tokens":4,"total_tokens":4}}}}"#
        );
        let r = decode_embed_response(body.as_bytes(), 2).unwrap();
        assert_eq!(r.embeddings, vec![vec![0.25, 0.5], vec![1.5, -2.0]]);
        assert_eq!(r.usage.input_tokens, 4);
        assert_eq!(r.usage.total_tokens, 4);
    }

    #[test]
    fn missing_or_extra_vectors_are_errors() {
        assert!(decode_embed_response(br#"{"data":[{"index":0,"embedding":[1]}]}"#, 2).is_err());
        assert!(decode_embed_response(br#"{"data":[{"index":3,"embedding":[1]}]}"#, 1).is_err());
        assert!(decode_embed_response(br#"{"data":[{"embedding":"!!"}]}"#, 1).is_err());
    }
}
