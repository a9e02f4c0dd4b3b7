//! Unified request → Messages API JSON body.
//!
//! - `system`/`developer` messages → the top-level `system` string (several are joined with a
//!   blank line); the Messages API has no system role in `messages`.
//! - user and assistant messages → content blocks (`text`, `image` from base64 or a URL — a
//!   `data:` URL is sent as base64); assistant tool calls → `tool_use` blocks (arguments parsed
//!   into the `input` object); `tool` messages → `tool_result` blocks in a user turn.
//!   Neighbouring turns of the same role are merged into one (consecutive tool results become
//!   one user message, as the API requires for parallel tool use).
//! - `tools` → `{name, description, input_schema}`; `tool_choice` auto/none/required/function →
//!   `{"type": auto|none|any|tool}`; `parallel_tool_calls: false` → `disable_parallel_tool_use`.
//! - `max_tokens` is required by the API: [`DEFAULT_MAX_TOKENS`] when the request gives none.
//! - `temperature` is clamped to Anthropic's 0–1 range; `top_p`, `stop` → `stop_sequences`.
//! - Not sent (the API has no such parameter): `seed`, `presence_penalty`,
//!   `frequency_penalty`, `reasoning_effort`. `response_format` other than text is refused
//!   (structured output for Anthropic is not built yet). Provider-specific fields (`thinking`,
//!   `cache_control`, `metadata`, `top_k`, …) go through `extra`, which adds or replaces
//!   top-level fields.

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::types::{
    ChatRequest, Content, ContentPart, ImageSource, Message, ResponseFormat, Role, ToolChoice,
};

/// The `max_tokens` sent when the request gives none. The Messages API requires the field;
/// 4096 fits the output limit of every Claude model (Claude 3 Haiku/Opus allow 4096, newer
/// models more), so a default never makes a call invalid. Set `max_tokens` to allow longer
/// answers.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The Messages body for `req`, sent to `model`.
pub fn encode_messages_request(req: &ChatRequest, model: &str, stream: bool) -> Result<Vec<u8>> {
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    let (system, messages) = messages(&req.messages)?;
    if let Some(s) = system {
        body.insert("system".into(), s.into());
    }
    body.insert("messages".into(), Value::Array(messages));
    body.insert(
        "max_tokens".into(),
        req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS).into(),
    );
    if !req.tools.is_empty() {
        let tools = req
            .tools
            .iter()
            .map(|t| {
                let mut o = Map::new();
                o.insert("name".into(), t.function.name.clone().into());
                if let Some(d) = &t.function.description {
                    o.insert("description".into(), d.clone().into());
                }
                let schema = t
                    .function
                    .parameters
                    .clone()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
                o.insert("input_schema".into(), schema);
                Value::Object(o)
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    let disable_parallel = req.parallel_tool_calls == Some(false) && !req.tools.is_empty();
    let choice = match &req.tool_choice {
        Some(ToolChoice::Auto) => Some(json!({"type": "auto"})),
        Some(ToolChoice::None) => Some(json!({"type": "none"})),
        Some(ToolChoice::Required) => Some(json!({"type": "any"})),
        Some(ToolChoice::Function(name)) => Some(json!({"type": "tool", "name": name})),
        None if disable_parallel => Some(json!({"type": "auto"})),
        None => None,
    };
    if let Some(mut c) = choice {
        if disable_parallel && c["type"] != "none" {
            c["disable_parallel_tool_use"] = true.into();
        }
        body.insert("tool_choice".into(), c);
    }
    match &req.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(_) => {
            return Err(Error::invalid_request(
                "response_format (JSON output) is not supported for provider anthropic yet",
            ));
        }
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), t.clamp(0.0, 1.0).into());
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), p.into());
    }
    if !req.stop.is_empty() {
        body.insert("stop_sequences".into(), req.stop.clone().into());
    }
    if stream {
        body.insert("stream".into(), true.into());
    }
    for (k, v) in &req.extra {
        body.insert(k.clone(), v.clone());
    }
    serde_json::to_vec(&Value::Object(body))
        .map_err(|e| Error::internal(format!("cannot encode the request: {e}")))
}

/// The `system` text and the `messages` turns.
fn messages(input: &[Message]) -> Result<(Option<String>, Vec<Value>)> {
    let mut system: Option<String> = None;
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (i, m) in input.iter().enumerate() {
        let (role, blocks) = match m.role {
            Role::System | Role::Developer => {
                let text = m.content.joined_text();
                let s = system.get_or_insert_with(String::new);
                if !s.is_empty() && !text.is_empty() {
                    s.push_str("\n\n");
                }
                s.push_str(&text);
                continue;
            }
            Role::User => ("user", content_blocks(&m.content, i)?),
            Role::Assistant => {
                let mut blocks = content_blocks(&m.content, i)?;
                for call in &m.tool_calls {
                    let args = call.function.arguments.trim();
                    let input: Value = if args.is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(args).map_err(|_| {
                            Error::invalid_request(format!(
                                "messages[{i}]: the arguments of tool call `{}` are not a JSON object",
                                call.id
                            ))
                        })?
                    };
                    if !input.is_object() {
                        return Err(Error::invalid_request(format!(
                            "messages[{i}]: the arguments of tool call `{}` are not a JSON object",
                            call.id
                        )));
                    }
                    blocks.push(json!({"type": "tool_use", "id": call.id, "name": call.function.name, "input": input}));
                }
                ("assistant", blocks)
            }
            Role::Tool => {
                let id = m.tool_call_id.as_deref().ok_or_else(|| {
                    Error::invalid_request(format!("messages[{i}]: a tool message needs tool_call_id"))
                })?;
                let content = match &m.content {
                    Content::Text(t) => Value::String(t.clone()),
                    Content::Parts(p) if p.iter().all(|x| matches!(x, ContentPart::Text { .. })) => {
                        Value::String(m.content.joined_text())
                    }
                    c => Value::Array(content_blocks(c, i)?),
                };
                (
                    "user",
                    vec![json!({"type": "tool_result", "tool_use_id": id, "content": content})],
                )
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((r, b)) if *r == role => b.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages = turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    Ok((system.filter(|s| !s.is_empty()), messages))
}

/// Text and image parts as content blocks (empty text is left out: the API refuses it).
fn content_blocks(content: &Content, i: usize) -> Result<Vec<Value>> {
    Ok(match content {
        Content::Text(t) if t.is_empty() => Vec::new(),
        Content::Text(t) => vec![json!({"type": "text", "text": t})],
        Content::Parts(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for p in parts {
                match p {
                    ContentPart::Text { text } if text.is_empty() => {}
                    ContentPart::Text { text } => out.push(json!({"type": "text", "text": text})),
                    ContentPart::Image(img) => out.push(image_block(&img.source, i)?),
                }
            }
            out
        }
    })
}

fn image_block(source: &ImageSource, i: usize) -> Result<Value> {
    let base64 = |media_type: &str, data: &str| json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}});
    Ok(match source {
        ImageSource::Base64 { media_type, data } => base64(media_type, data),
        ImageSource::Url(u) => match u.strip_prefix("data:") {
            Some(rest) => {
                let (media_type, data) = rest.split_once(";base64,").ok_or_else(|| {
                    Error::invalid_request(format!("messages[{i}]: an image `data:` URL must be base64"))
                })?;
                base64(media_type, data)
            }
            None => json!({"type": "image", "source": {"type": "url", "url": u}}),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn encode(req: Value, stream: bool) -> Value {
        let req = ChatRequest::from_value(req).unwrap();
        serde_json::from_slice(&encode_messages_request(&req, "claude-x", stream).unwrap()).unwrap()
    }

    #[test]
    fn body_shape_with_tools_results_and_images() {
        let body = encode(
            json!({"model": "a", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": "Use tools."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "image", "url": "https://x/y.png"},
                    {"type": "image", "media_type": "image/jpeg", "data": "BBBB"}]},
                {"role": "assistant", "content": "Let me look.", "tool_calls": [
                    {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
                    {"id": "t2", "type": "function", "function": {"name": "g", "arguments": ""}}]},
                {"role": "tool", "tool_call_id": "t1", "content": "one"},
                {"role": "tool", "tool_call_id": "t2", "content": [{"type": "text", "text": "two"}]},
                {"role": "user", "content": "Thanks"}],
              "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}},
                        {"type": "function", "function": {"name": "g"}}],
              "tool_choice": "required", "parallel_tool_calls": false,
              "temperature": 1.5, "top_p": 0.9, "stop": ["END"], "seed": 3, "presence_penalty": 0.1,
              "extra": {"thinking": {"type": "enabled", "budget_tokens": 1024}}}),
            true,
        );
        assert_eq!(
            body,
            json!({"model": "claude-x", "system": "Be brief.\n\nUse tools.", "max_tokens": 4096,
              "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "BBBB"}}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}},
                    {"type": "tool_use", "id": "t2", "name": "g", "input": {}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "one"},
                    {"type": "tool_result", "tool_use_id": "t2", "content": "two"},
                    {"type": "text", "text": "Thanks"}]}],
              "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}},
                        {"name": "g", "input_schema": {"type": "object", "properties": {}}}],
              "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
              "temperature": 1.0, "top_p": 0.9, "stop_sequences": ["END"], "stream": true,
              "thinking": {"type": "enabled", "budget_tokens": 1024}})
        );
    }

    #[test]
    fn defaults_and_refusals() {
        let body = encode(
            json!({"model": "a", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10,
            "tool_choice": {"type": "function", "function": {"name": "f"}}}),
            false,
        );
        assert_eq!(body["max_tokens"], 10);
        assert_eq!(body["tool_choice"], json!({"type": "tool", "name": "f"}));
        assert!(body.get("stream").is_none() && body.get("system").is_none());
        let bad = |req: Value| {
            let req = ChatRequest::from_value(req).unwrap();
            encode_messages_request(&req, "m", false).unwrap_err()
        };
        let e = bad(
            json!({"model": "a", "messages": [{"role": "user", "content": "hi"}],
            "response_format": {"type": "json_object"}}),
        );
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        let e = bad(
            json!({"model": "a", "messages": [{"role": "assistant", "tool_calls": [
            {"id": "t", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}),
        );
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        let e = bad(json!({"model": "a", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png,raw"}}]}]}));
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    }
}
