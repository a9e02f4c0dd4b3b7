//! Unified request → Chat Completions JSON body, serialised straight from borrowed data.
//!
//! Fields of the unified request that belong to other providers are not sent: a message's
//! `reasoning_blocks` and `cache_control`, a tool's `cache_control` (OpenAI-family servers
//! cache prompts on their own) and a tool call's `signature`.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use super::quirks::Quirks;
use crate::error::{Error, Result};
use crate::types::{ChatRequest, Message, ResponseFormat, Role, Tool, ToolCall, ToolChoice};

/// The Chat Completions body for `req`, sent to `model`.
pub fn encode_chat_request(req: &ChatRequest, model: &str, quirks: &Quirks, stream: bool) -> Result<Vec<u8>> {
    let (max_tokens, max_completion_tokens) = match quirks.max_tokens_field {
        "max_completion_tokens" => (None, req.max_tokens),
        _ => (req.max_tokens, None),
    };
    let (seed, random_seed) = match quirks.seed_field {
        "random_seed" => (None, req.seed),
        _ => (req.seed, None),
    };
    let body = WireChatRequest {
        model,
        messages: WireMessages(&req.messages, quirks),
        tools: WireTools(&req.tools),
        tool_choice: req.tool_choice.as_ref(),
        parallel_tool_calls: req.parallel_tool_calls,
        response_format: req.response_format.as_ref(),
        temperature: req.temperature,
        top_p: req.top_p,
        max_tokens,
        max_completion_tokens,
        stop: (!req.stop.is_empty()).then_some(req.stop.as_slice()),
        seed,
        random_seed,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        reasoning_effort: req.reasoning_effort.as_deref(),
        stream,
        stream_options: (stream && quirks.stream_usage_option)
            .then_some(StreamOptions { include_usage: true }),
    };
    to_body_with_extra(&body, &req.extra)
}

/// Serialises `body`, then lets `extra` add or replace top-level fields.
pub(crate) fn to_body_with_extra<T: Serialize>(body: &T, extra: &Map<String, Value>) -> Result<Vec<u8>> {
    let encode_err = |e: serde_json::Error| Error::internal(format!("cannot encode the request: {e}"));
    if extra.is_empty() {
        return serde_json::to_vec(body).map_err(encode_err);
    }
    let mut v = serde_json::to_value(body).map_err(encode_err)?;
    if let Value::Object(o) = &mut v {
        for (k, x) in extra {
            o.insert(k.clone(), x.clone());
        }
    }
    serde_json::to_vec(&v).map_err(encode_err)
}

#[derive(Serialize)]
struct WireChatRequest<'a> {
    model: &'a str,
    messages: WireMessages<'a>,
    #[serde(skip_serializing_if = "WireTools::is_empty")]
    tools: WireTools<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'a ToolChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<&'a ResponseFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    random_seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// Tool definitions in the OpenAI shape (without `cache_control`).
struct WireTools<'a>(&'a [Tool]);

impl WireTools<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for WireTools<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for t in self.0 {
            seq.serialize_element(&WireTool {
                kind: "function",
                function: &t.function,
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: &'a crate::types::FunctionDef,
}

/// An assistant message's tool calls in the OpenAI shape (without `signature`).
struct WireToolCalls<'a>(&'a [ToolCall]);

impl Serialize for WireToolCalls<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct WireToolCall<'a> {
            id: &'a str,
            #[serde(rename = "type")]
            kind: &'static str,
            function: &'a crate::types::FunctionCall,
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for c in self.0 {
            seq.serialize_element(&WireToolCall {
                id: &c.id,
                kind: "function",
                function: &c.function,
            })?;
        }
        seq.end()
    }
}

struct WireMessages<'a>(&'a [Message], &'a Quirks);

impl Serialize for WireMessages<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for m in self.0 {
            seq.serialize_element(&WireMessage(m, self.1))?;
        }
        seq.end()
    }
}

struct WireMessage<'a>(&'a Message, &'a Quirks);

impl Serialize for WireMessage<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let m = self.0;
        let role = match m.role {
            Role::Developer if !self.1.developer_role => Role::System,
            r => r,
        };
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("role", role.as_str())?;
        if m.content.is_empty() && !m.tool_calls.is_empty() {
            // OpenAI wants `content: null` beside tool calls.
            map.serialize_entry("content", &())?;
        } else {
            map.serialize_entry("content", &m.content)?;
        }
        if let Some(name) = &m.name {
            map.serialize_entry("name", name)?;
        }
        if !m.tool_calls.is_empty() {
            map.serialize_entry("tool_calls", &WireToolCalls(&m.tool_calls))?;
        }
        if let Some(id) = &m.tool_call_id {
            map.serialize_entry("tool_call_id", id)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ProviderKind;
    use serde_json::json;

    fn encode(req: serde_json::Value, kind: ProviderKind, stream: bool) -> serde_json::Value {
        let req = ChatRequest::from_value(req).unwrap();
        let body = encode_chat_request(&req, "gpt-x", &Quirks::of(kind), stream).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    #[test]
    fn openai_body_shape() {
        let body = encode(
            json!({"model": "alias", "messages": [
                {"role": "developer", "content": "d"},
                {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "ok"}],
              "max_tokens": 5, "seed": 1, "metadata": {"user": "u1"}, "extra": {"user": "end-user", "temperature": 0.5},
              "temperature": 1.0}),
            ProviderKind::OpenAi,
            true,
        );
        assert_eq!(
            body,
            json!({"model": "gpt-x", "messages": [
                {"role": "developer", "content": "d"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "content": "ok", "tool_call_id": "c1"}],
              "max_completion_tokens": 5, "seed": 1, "temperature": 0.5, "user": "end-user",
              "stream": true, "stream_options": {"include_usage": true}})
        );
    }

    #[test]
    fn other_providers_fields_are_not_sent() {
        // Cache breakpoints (OpenAI caches on its own), reasoning blocks and tool-call
        // signatures belong to other providers.
        let body = encode(
            json!({"model": "a", "messages": [
                {"role": "system", "content": "s", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                {"role": "assistant", "content": "a", "reasoning": "t", "refusal": null,
                 "reasoning_blocks": [{"type": "thinking", "text": "t", "signature": "sig"}, {"type": "redacted", "data": "d"}],
                 "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}, "signature": "ts"}]},
                {"role": "tool", "tool_call_id": "c1", "content": "ok", "cache_control": {"type": "ephemeral"}}],
              "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}},
                         "cache_control": {"type": "ephemeral"}}]}),
            ProviderKind::OpenAi,
            false,
        );
        assert_eq!(
            body,
            json!({"model": "gpt-x", "messages": [
                {"role": "system", "content": "s"},
                {"role": "assistant", "content": "a", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "content": "ok", "tool_call_id": "c1"}],
              "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]})
        );
    }

    #[test]
    fn compatible_dialects() {
        let req = json!({"model": "a", "messages": [{"role": "developer", "content": "d"}], "max_tokens": 5, "seed": 7});
        let groq = encode(req.clone(), ProviderKind::Groq, true);
        assert_eq!(groq["max_tokens"], 5);
        assert_eq!(groq["messages"][0]["role"], "system");
        assert_eq!(groq["stream_options"]["include_usage"], true);
        let mistral = encode(req, ProviderKind::Mistral, true);
        assert_eq!(mistral["random_seed"], 7);
        assert!(mistral.get("seed").is_none() && mistral.get("stream_options").is_none());
    }
}
