//! Gemini answers → provider events and unified responses. A `GenerateContentResponse` is the
//! same object whether it is a whole answer or one chunk of a stream, so both go through one
//! [`ChunkDecoder`]; a whole answer is its single chunk assembled the way streams are.
//!
//! - `parts[].text` → text, or reasoning when the part has `"thought": true`;
//!   `parts[].functionCall {name, args, id?}` → a tool call (whole: Gemini sends a call in one
//!   piece). Calls without an `id` (Gemini 2.x) get `call_<responseId>_<n>`. A call part's
//!   `thoughtSignature` (Gemini 3) is kept as the call's `signature`, which the request side
//!   sends back; signatures on text parts are dropped (Google does not require them back).
//! - `finishReason`: `STOP` → stop (tool_calls when the answer called tools), `MAX_TOKENS` →
//!   length, a safety stop (`SAFETY`, `PROHIBITED_CONTENT`, `BLOCKLIST`, `SPII`,
//!   `RECITATION`, `IMAGE_SAFETY`) → a CONTENT_FILTERED error naming the finish reason and the
//!   blocked category, anything else → other.
//! - `promptFeedback.blockReason` (a prompt refused before any answer) → CONTENT_FILTERED.
//! - An `error` object in place of a chunk → the typed Google error.
//! - `usageMetadata` comes with every chunk, provisional until the finishing chunk: the counts
//!   of the chunk that gives the finish reason are the ones reported.

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::error_body::error_from_body;
use super::usage::WireUsage;
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::Assembler;
use crate::providers::ProviderEvent;
use crate::types::{ChatResponse, FinishReason};

// Strings are borrowed from the chunk's text where they have no escapes (`Cow`), so a stream
// chunk costs no allocation but for the text handed on.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireChunk<'a> {
    #[serde(default, borrow)]
    candidates: FirstCandidate<'a>,
    #[serde(default)]
    prompt_feedback: Option<WireFeedback>,
    /// Read only when the answer finishes (see [`ChunkDecoder`]): left as raw JSON until then.
    #[serde(default, borrow)]
    usage_metadata: Option<&'a RawValue>,
    #[serde(default, borrow)]
    model_version: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    response_id: Option<Cow<'a, str>>,
    #[serde(default)]
    error: Option<Value>,
}

/// The answer's candidate (index 0; modelplug asks for one) from `candidates`, read without
/// collecting the list; `seen` says whether the list had any.
#[derive(Default)]
struct FirstCandidate<'a> {
    first: Option<WireCandidate<'a>>,
    seen: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for FirstCandidate<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Candidates<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Candidates<'a> {
            type Value = FirstCandidate<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of candidates")
            }
            fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(FirstCandidate::default())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = FirstCandidate::default();
                while let Some(c) = seq.next_element::<WireCandidate<'a>>()? {
                    out.seen = true;
                    if out.first.is_none() && c.index.unwrap_or(0) == 0 {
                        out.first = Some(c);
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(Candidates(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCandidate<'a> {
    #[serde(default, borrow)]
    content: Option<WireContent<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    safety_ratings: Vec<WireRating>,
}

#[derive(Deserialize)]
struct WireContent<'a> {
    #[serde(default, borrow)]
    parts: Vec<WirePart<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePart<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    thought: bool,
    #[serde(default)]
    thought_signature: Option<String>,
    #[serde(default, borrow)]
    function_call: Option<WireCall<'a>>,
}

#[derive(Deserialize)]
struct WireCall<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    args: Option<Value>,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireFeedback {
    #[serde(default)]
    block_reason: Option<String>,
    #[serde(default)]
    safety_ratings: Vec<WireRating>,
}

#[derive(Deserialize)]
struct WireRating {
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    probability: Option<String>,
    #[serde(default)]
    blocked: bool,
}

/// Finish reasons that mean a safety or policy filter stopped the answer.
const FILTERED: [&str; 6] = [
    "SAFETY",
    "PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
    "IMAGE_SAFETY",
];

/// Turns `GenerateContentResponse` chunks into provider events; remembers what a stream needs
/// across chunks (the call count, whether the answer has finished).
#[derive(Debug, Default)]
pub(crate) struct ChunkDecoder {
    meta_sent: bool,
    /// The raw `usageMetadata` of the latest chunk that had one, read when the answer
    /// finishes (earlier counts are provisional, and reading each chunk's would cost more).
    usage: Option<String>,
    calls: u32,
    response_id: Option<String>,
    finished: bool,
}

impl ChunkDecoder {
    /// Whether a chunk with a `finishReason` has arrived.
    pub(crate) fn finished(&self) -> bool {
        self.finished
    }

    /// Decodes one chunk's JSON.
    pub(crate) fn on_json(&mut self, data: &str, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        let chunk: WireChunk = serde_json::from_str(data).map_err(|e| malformed("answer", &e))?;
        self.on_chunk(chunk, out)
    }

    pub(crate) fn on_chunk(&mut self, chunk: WireChunk<'_>, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        if let Some(e) = &chunk.error {
            return Err(error_from_body(&serde_json::json!({ "error": e }), None));
        }
        if self.finished && chunk.candidates.seen {
            return Err(Error::new(
                ErrorKind::ProviderUnavailable,
                "the provider's stream is malformed: an answer chunk after the finish reason",
            ));
        }
        if !self.meta_sent && (chunk.response_id.is_some() || chunk.model_version.is_some()) {
            self.meta_sent = true;
            self.response_id = chunk.response_id.map(Cow::into_owned);
            out.push_back(ProviderEvent::Meta {
                id: self.response_id.clone(),
                model: chunk.model_version.map(Cow::into_owned),
            });
        }
        let finishing = chunk
            .candidates
            .first
            .as_ref()
            .is_some_and(|c| c.finish_reason.is_some());
        if let Some(u) = chunk.usage_metadata.filter(|_| !finishing) {
            self.usage = Some(u.get().to_owned());
        }
        if let Some(reason) = chunk
            .prompt_feedback
            .as_ref()
            .and_then(|f| f.block_reason.as_deref())
        {
            let ratings = chunk
                .prompt_feedback
                .as_ref()
                .map_or(&[][..], |f| &f.safety_ratings[..]);
            return Err(filtered("the provider refused the prompt", reason, ratings));
        }
        let Some(candidate) = chunk.candidates.first else {
            return Ok(());
        };
        for part in candidate.content.into_iter().flat_map(|c| c.parts) {
            if let Some(call) = part.function_call {
                let index = self.calls;
                self.calls += 1;
                let id = call.id.unwrap_or_else(|| match &self.response_id {
                    Some(r) => format!("call_{r}_{index}"),
                    None => format!("call_{index}"),
                });
                let arguments = match call.args {
                    None | Some(Value::Null) => "{}".to_owned(),
                    Some(v) => v.to_string(),
                };
                out.push_back(ProviderEvent::ToolCall {
                    index,
                    id: Some(id),
                    name: Some(call.name.into_owned()),
                    arguments,
                });
                if let Some(signature) = part.thought_signature {
                    out.push_back(ProviderEvent::ToolCallSignature { index, signature });
                }
            } else if let Some(text) = part.text.filter(|t| !t.is_empty()) {
                let text = text.into_owned();
                out.push_back(if part.thought {
                    ProviderEvent::Reasoning(text)
                } else {
                    ProviderEvent::Text(text)
                });
            }
        }
        if let Some(reason) = candidate.finish_reason {
            if FILTERED.contains(&reason.as_ref()) {
                return Err(filtered(
                    "the provider's safety filter stopped the answer",
                    &reason,
                    &candidate.safety_ratings,
                ));
            }
            self.finished = true;
            // Every chunk repeats the counts so far, but only the finishing chunk's are final:
            // Gemini revises them (a prompt counted 15 in early chunks is 13 in the last one in
            // `stream_sse_text`), so they are read and reported once, with the finish reason.
            let raw = chunk.usage_metadata.map(RawValue::get).or(self.usage.as_deref());
            if let Some(raw) = raw {
                let u: WireUsage = serde_json::from_str(raw).map_err(|e| malformed("usage report", &e))?;
                out.push_back(ProviderEvent::Usage(u.normalise()));
            }
            self.usage = None;
            out.push_back(ProviderEvent::Finish(match reason.as_ref() {
                "STOP" if self.calls > 0 => FinishReason::ToolCalls,
                "STOP" => FinishReason::Stop,
                "MAX_TOKENS" => FinishReason::Length,
                _ => FinishReason::Other,
            }));
        }
        Ok(())
    }
}

/// The CONTENT_FILTERED error for a blocked prompt or answer, naming the reason and the
/// category that was blocked (or rated most likely harmful).
fn filtered(what: &str, reason: &str, ratings: &[WireRating]) -> Error {
    let rank = |p: Option<&str>| match p {
        Some("HIGH") => 3,
        Some("MEDIUM") => 2,
        Some("LOW") => 1,
        _ => 0,
    };
    let category = ratings
        .iter()
        .filter(|r| r.blocked)
        .chain(ratings.iter().filter(|r| rank(r.probability.as_deref()) >= 2))
        .max_by_key(|r| (r.blocked, rank(r.probability.as_deref())))
        .and_then(|r| r.category.as_deref());
    let message = match category {
        Some(c) => format!("{what} ({reason}, category {c})"),
        None => format!("{what} ({reason})"),
    };
    Error::new(ErrorKind::ContentFiltered, message).with_provider_code(Some(reason.to_owned()))
}

pub(crate) use crate::providers::exchange::malformed;

/// Decodes a whole `generateContent` answer (text, reasoning, tool calls, finish reason,
/// usage, model, raw); the router fills in the rest.
pub fn decode_generate_response(body: &[u8], include_raw: bool) -> Result<ChatResponse> {
    let text = std::str::from_utf8(body).map_err(|_| {
        Error::new(
            ErrorKind::ProviderUnavailable,
            "the provider's answer is not UTF-8",
        )
    })?;
    let chunk: WireChunk = serde_json::from_str(text).map_err(|e| malformed("answer", &e))?;
    let answered = chunk.candidates.seen;
    let mut decoder = ChunkDecoder::default();
    let mut events = VecDeque::new();
    decoder.on_chunk(chunk, &mut events)?;
    if !answered {
        return Err(Error::new(
            ErrorKind::ProviderUnavailable,
            "the provider's answer has no candidates",
        ));
    }
    let mut assembler = Assembler::default();
    for ev in events {
        assembler.apply(ev);
    }
    let mut r = assembler.finish();
    if include_raw {
        r.raw = serde_json::from_str(text).ok();
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_thoughts_calls_and_finish() {
        let r = decode_generate_response(
            br#"{"candidates":[{"content":{"role":"model","parts":[
                {"text":"thinking...","thought":true},
                {"text":"Calling."},
                {"functionCall":{"name":"f","args":{"a":1}},"thoughtSignature":"c2lnLWY="},
                {"functionCall":{"name":"g","id":"given"}}]},"finishReason":"STOP"}],
              "usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":7,"thoughtsTokenCount":3,"totalTokenCount":15},
              "modelVersion":"gemini-2.5-flash","responseId":"R1"}"#,
            true,
        )
        .unwrap();
        assert_eq!(r.message.reasoning.as_deref(), Some("thinking..."));
        assert_eq!(r.message.content.as_deref(), Some("Calling."));
        let calls: Vec<(&str, &str, &str)> = r
            .message
            .tool_calls
            .iter()
            .map(|c| {
                (
                    c.id.as_str(),
                    c.function.name.as_str(),
                    c.function.arguments.as_str(),
                )
            })
            .collect();
        assert_eq!(calls, [("call_R1_0", "f", r#"{"a":1}"#), ("given", "g", "{}")]);
        assert_eq!(r.message.tool_calls[0].signature.as_deref(), Some("c2lnLWY="));
        assert_eq!(r.message.tool_calls[1].signature, None);
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        assert_eq!(r.usage.output_tokens, 10);
        assert_eq!(r.usage.reasoning_tokens, 3);
        assert_eq!(r.id.as_deref(), Some("R1"));
        assert_eq!(r.model, "gemini-2.5-flash");
        assert!(r.raw.is_some());
    }

    #[test]
    fn safety_blocks_are_content_filtered_with_the_category() {
        let e = decode_generate_response(
            br#"{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[
                {"category":"HARM_CATEGORY_HARASSMENT","probability":"NEGLIGIBLE"},
                {"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]}}"#,
            false,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ContentFiltered);
        assert!(e.message().contains("HARM_CATEGORY_DANGEROUS_CONTENT"), "{e}");
        assert_eq!(e.provider_code(), Some("SAFETY"));
        let e = decode_generate_response(
            br#"{"candidates":[{"finishReason":"SAFETY","safetyRatings":[
                {"category":"HARM_CATEGORY_HATE_SPEECH","probability":"MEDIUM"}]}]}"#,
            false,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ContentFiltered);
        assert!(e.message().contains("HARM_CATEGORY_HATE_SPEECH"), "{e}");
        let r = decode_generate_response(
            br#"{"candidates":[{"content":{"parts":[{"text":"cut"}]},"finishReason":"MAX_TOKENS"}]}"#,
            false,
        )
        .unwrap();
        assert_eq!(r.finish_reason, FinishReason::Length);
    }

    #[test]
    fn malformed_and_empty_answers_are_typed_errors() {
        for body in [&b"{"[..], b"[]", b"{\"candidates\":5}", b"{}", b"\xff"] {
            let e = decode_generate_response(body, false).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ProviderUnavailable, "{body:?}");
        }
    }
}
