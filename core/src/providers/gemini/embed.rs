//! Embeddings: Gemini's `batchEmbedContents` (one request per text) and Vertex AI's `predict`
//! (`instances[].content`), each answer → vectors in input order. The Gemini API reports no
//! token counts for embeddings (the pipeline then estimates them and says so); Vertex reports
//! each text's `statistics.token_count`.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::response::malformed;
use crate::error::{Error, ErrorKind, Result};
use crate::types::{EmbedRequest, EmbedResponse, Usage};

/// The `batchEmbedContents` body for `req`, sent to `model`.
pub fn encode_batch_embed_request(req: &EmbedRequest, model: &str) -> Result<Vec<u8>> {
    let name = if model.starts_with("models/") {
        model.to_owned()
    } else {
        format!("models/{model}")
    };
    let requests: Vec<Value> = req
        .input
        .iter()
        .map(|text| {
            let mut r = Map::new();
            r.insert("model".into(), name.clone().into());
            r.insert("content".into(), json!({"parts": [{"text": text}]}));
            if let Some(d) = req.dimensions {
                r.insert("outputDimensionality".into(), d.into());
            }
            for (k, v) in &req.extra {
                r.insert(k.clone(), v.clone());
            }
            Value::Object(r)
        })
        .collect();
    to_vec(&json!({ "requests": requests }))
}

/// The Vertex AI `predict` body for `req`.
pub fn encode_predict_embed_request(req: &EmbedRequest) -> Result<Vec<u8>> {
    let instances: Vec<Value> = req.input.iter().map(|t| json!({"content": t})).collect();
    let mut body = Map::new();
    body.insert("instances".into(), instances.into());
    let mut parameters = Map::new();
    if let Some(d) = req.dimensions {
        parameters.insert("outputDimensionality".into(), d.into());
    }
    for (k, v) in &req.extra {
        parameters.insert(k.clone(), v.clone());
    }
    if !parameters.is_empty() {
        body.insert("parameters".into(), parameters.into());
    }
    to_vec(&Value::Object(body))
}

fn to_vec(v: &Value) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::internal(format!("cannot encode the request: {e}")))
}

#[derive(Deserialize)]
struct WireBatch {
    embeddings: Vec<WireValues>,
}

#[derive(Deserialize)]
struct WireValues {
    values: Vec<f32>,
}

#[derive(Deserialize)]
struct WirePredict {
    predictions: Vec<WirePrediction>,
}

#[derive(Deserialize)]
struct WirePrediction {
    embeddings: WirePredictEmbedding,
}

#[derive(Deserialize)]
struct WirePredictEmbedding {
    values: Vec<f32>,
    #[serde(default)]
    statistics: Option<WireStatistics>,
}

#[derive(Deserialize)]
struct WireStatistics {
    #[serde(default)]
    token_count: f64,
}

fn check_count(got: usize, expected: usize) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::ProviderUnavailable,
            format!("the provider returned {got} embeddings for {expected} inputs"),
        ))
    }
}

/// Decodes a `batchEmbedContents` answer; `expected` is the number of inputs.
pub fn decode_batch_embed_response(body: &[u8], expected: usize) -> Result<EmbedResponse> {
    let wire: WireBatch = serde_json::from_slice(body).map_err(|e| malformed("embeddings answer", &e))?;
    check_count(wire.embeddings.len(), expected)?;
    Ok(EmbedResponse {
        embeddings: wire.embeddings.into_iter().map(|e| e.values).collect(),
        ..EmbedResponse::default()
    })
}

/// Decodes a Vertex AI `predict` embeddings answer; `expected` is the number of inputs.
pub fn decode_predict_embed_response(body: &[u8], expected: usize) -> Result<EmbedResponse> {
    let wire: WirePredict = serde_json::from_slice(body).map_err(|e| malformed("embeddings answer", &e))?;
    check_count(wire.predictions.len(), expected)?;
    let mut tokens = 0u64;
    let mut embeddings = Vec::with_capacity(expected);
    for p in wire.predictions {
        if let Some(s) = &p.embeddings.statistics {
            tokens = tokens.saturating_add(s.token_count.max(0.0) as u64);
        }
        embeddings.push(p.embeddings.values);
    }
    Ok(EmbedResponse {
        embeddings,
        usage: Usage {
            input_tokens: tokens,
            total_tokens: tokens,
            ..Usage::default()
        },
        ..EmbedResponse::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_and_predict_bodies_and_answers() {
        let req = EmbedRequest {
            dimensions: Some(8),
            ..EmbedRequest::new("e", vec!["a".into(), "b".into()])
        };
        let body: Value =
            serde_json::from_slice(&encode_batch_embed_request(&req, "gemini-embedding-001").unwrap())
                .unwrap();
        assert_eq!(
            body["requests"][1],
            json!({"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 8})
        );
        let body: Value = serde_json::from_slice(&encode_predict_embed_request(&req).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"instances": [{"content": "a"}, {"content": "b"}], "parameters": {"outputDimensionality": 8}})
        );
        let r =
            decode_batch_embed_response(br#"{"embeddings":[{"values":[0.5]},{"values":[1,2]}]}"#, 2).unwrap();
        assert_eq!(r.embeddings, vec![vec![0.5], vec![1.0, 2.0]]);
        let r = decode_predict_embed_response(
            br#"{"predictions":[{"embeddings":{"values":[0.1],"statistics":{"token_count":3,"truncated":false}}}]}"#,
            1,
        )
        .unwrap();
        assert_eq!(r.usage.input_tokens, 3);
        let e = decode_batch_embed_response(br#"{"embeddings":[]}"#, 1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        let e = decode_batch_embed_response(b"nope", 1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    }
}
