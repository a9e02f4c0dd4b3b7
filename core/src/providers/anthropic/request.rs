//! Unified request → Messages API JSON body.
//!
//! - `system`/`developer` messages → the top-level `system`: a string (several are joined with
//!   a blank line), or a list of text blocks when a system message has a list of text parts or
//!   a `cache_control` (each message's text parts become blocks; images are refused). The
//!   Messages API has no system role in `messages`.
//! - user and assistant messages → content blocks (`text`, `image` from base64 or a URL — a
//!   `data:` URL is sent as base64); an assistant message's `reasoning_blocks` → `thinking`
//!   (with its signature) and `redacted_thinking` blocks first, as the API requires, then its
//!   text, then its tool calls → `tool_use` blocks (arguments parsed into the `input` object);
//!   `tool` messages → `tool_result` blocks in a user turn. Neighbouring turns of the same role
//!   are merged into one (consecutive tool results become one user message, as the API
//!   requires for parallel tool use). A thinking block without a signature is not sent (the
//!   API refuses it); a tool call's `signature` (Gemini's) is not sent.
//! - `cache_control` (a prompt-cache breakpoint, `{"type":"ephemeral","ttl"?}`) → on the
//!   message's last content block (for a system message: its last system block), or on the
//!   tool's definition.
//! - `tools` → `{name, description, input_schema}`; `tool_choice` auto/none/required/function →
//!   `{"type": auto|none|any|tool}`; `parallel_tool_calls: false` → `disable_parallel_tool_use`.
//! - `response_format` json_schema / json_object → one more tool, the answer tool (named after
//!   the schema, or [`JSON_OBJECT_TOOL`]), whose `input_schema` is the schema, and a
//!   `tool_choice` that makes the model call it ([`structured_output_tool`]; the answer's
//!   decoding turns that call back into the message text).
//! - `max_tokens` is required by the API: [`DEFAULT_MAX_TOKENS`] when the request gives none.
//! - `temperature` is clamped to Anthropic's 0–1 range; `top_p`, `stop` → `stop_sequences`.
//! - Not sent (the API has no such parameter): `seed`, `presence_penalty`,
//!   `frequency_penalty`, `reasoning_effort`. Provider-specific fields (`thinking`,
//!   `metadata`, `top_k`, a top-level `cache_control`, …) go through `extra`, which adds or
//!   replaces top-level fields.

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::types::{
    CacheControl, ChatRequest, Content, ContentPart, ImageSource, Message, ReasoningBlock, ResponseFormat,
    Role, ToolChoice,
};

/// The `max_tokens` sent when the request gives none. The Messages API requires the field;
/// 4096 fits the output limit of every Claude model (Claude 3 Haiku/Opus allow 4096, newer
/// models more), so a default never makes a call invalid. Set `max_tokens` to allow longer
/// answers.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The answer tool's name for `response_format: {"type": "json_object"}`.
pub const JSON_OBJECT_TOOL: &str = "json_object";

/// The name of the answer tool that carries structured output (`response_format`
/// json_schema: the schema's name; json_object: [`JSON_OBJECT_TOOL`]), or `None` when the
/// request asks for free text. The answer's decoding reads that tool's input as the text.
pub fn structured_output_tool(req: &ChatRequest) -> Option<&str> {
    match &req.response_format {
        Some(ResponseFormat::JsonSchema { json_schema }) => Some(&json_schema.name),
        Some(ResponseFormat::JsonObject) => Some(JSON_OBJECT_TOOL),
        Some(ResponseFormat::Text) | None => None,
    }
}

/// The Messages body for `req`, sent to `model`.
pub fn encode_messages_request(req: &ChatRequest, model: &str, stream: bool) -> Result<Vec<u8>> {
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    let (system, messages) = messages(&req.messages)?;
    if let Some(s) = system {
        body.insert("system".into(), s);
    }
    body.insert("messages".into(), Value::Array(messages));
    body.insert(
        "max_tokens".into(),
        req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS).into(),
    );
    let mut tools = Vec::with_capacity(req.tools.len() + 1);
    for (i, t) in req.tools.iter().enumerate() {
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
        if let Some(c) = &t.cache_control {
            o.insert("cache_control".into(), cache_control(c, &format!("tools[{i}]"))?);
        }
        tools.push(Value::Object(o));
    }
    let output_tool = answer_tool(req)?;
    if let Some(t) = &output_tool {
        tools.push(t.clone());
    }
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
    }
    let disable_parallel = req.parallel_tool_calls == Some(false) && !req.tools.is_empty();
    let mut choice = match &req.tool_choice {
        Some(ToolChoice::Auto) => Some(json!({"type": "auto"})),
        Some(ToolChoice::None) => Some(json!({"type": "none"})),
        Some(ToolChoice::Required) => Some(json!({"type": "any"})),
        Some(ToolChoice::Function(name)) => Some(json!({"type": "tool", "name": name})),
        None if disable_parallel => Some(json!({"type": "auto"})),
        None => None,
    };
    if let Some(name) = structured_output_tool(req) {
        choice = Some(answer_tool_choice(req, name, choice));
    }
    if let Some(mut c) = choice {
        if disable_parallel && c["type"] != "none" {
            c["disable_parallel_tool_use"] = true.into();
        }
        body.insert("tool_choice".into(), c);
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

/// The answer tool of a structured-output request (`None` for free text).
fn answer_tool(req: &ChatRequest) -> Result<Option<Value>> {
    Ok(answer_tool_parts(req, "anthropic")?
        .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.schema})))
}

/// The structured-output answer tool, before a family writes it in its own shape.
pub(crate) struct AnswerTool<'a> {
    /// Its name: the schema's (or [`JSON_OBJECT_TOOL`]).
    pub(crate) name: &'a str,
    /// What it tells the model.
    pub(crate) description: String,
    /// Its input schema: the answer's.
    pub(crate) schema: Value,
}

/// The answer tool of a structured-output request (`None` for free text); an error when one
/// of the caller's tools has its name. `provider` names the family in that error.
pub(crate) fn answer_tool_parts<'a>(req: &'a ChatRequest, provider: &str) -> Result<Option<AnswerTool<'a>>> {
    let Some(name) = structured_output_tool(req) else {
        return Ok(None);
    };
    if req.tools.iter().any(|t| t.function.name == name) {
        return Err(Error::invalid_request(format!(
            "invalid request: `response_format`: a tool is named `{name}` too; provider {provider} \
             returns structured output through a tool of the schema's name, so rename one of them"
        )));
    }
    let (description, schema) = match &req.response_format {
        Some(ResponseFormat::JsonSchema { json_schema }) => (
            json_schema.description.clone(),
            json_schema
                .schema
                .clone()
                .unwrap_or_else(|| json!({"type": "object"})),
        ),
        _ => (None, json!({"type": "object"})),
    };
    let description = description.unwrap_or_else(|| {
        "Give your final answer by calling this tool: its input is the answer, as a JSON object.".to_owned()
    });
    Ok(Some(AnswerTool {
        name,
        description,
        schema,
    }))
}

/// The `tool_choice` of a structured-output request: the answer tool is forced when the
/// caller has no tools (or chose `none` of theirs); with the caller's tools the model must
/// call one tool, theirs or the answer tool (`any`), unless the caller forced one of theirs.
/// With extended thinking on (`extra.thinking`), the API allows only `auto` and `none`, so
/// `auto` is sent and the model may answer in plain text.
fn answer_tool_choice(req: &ChatRequest, name: &str, caller: Option<Value>) -> Value {
    let thinking = req
        .extra
        .get("thinking")
        .and_then(|t| t.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t != "disabled");
    if thinking {
        return caller
            .filter(|c| c["type"] == "auto" || c["type"] == "none")
            .unwrap_or_else(|| json!({"type": "auto"}));
    }
    let forced = json!({"type": "tool", "name": name});
    match &req.tool_choice {
        _ if req.tools.is_empty() => forced,
        Some(ToolChoice::None) => forced,
        Some(ToolChoice::Function(_)) => caller.unwrap_or(forced),
        Some(ToolChoice::Auto | ToolChoice::Required) | None => json!({"type": "any"}),
    }
}

/// A breakpoint as the API takes it (its `ttl` checked; `field` names it in the error).
fn cache_control(c: &CacheControl, field: &str) -> Result<Value> {
    c.validate(&format!("{field}.cache_control"))?;
    serde_json::to_value(c).map_err(|e| Error::internal(format!("cannot encode the request: {e}")))
}

/// Puts `c` on the last of `blocks` (a breakpoint with no block before it has nothing to cache).
fn mark_last(blocks: &mut [Value], c: Option<&CacheControl>, field: &str) -> Result<()> {
    if let (Some(c), Some(Value::Object(last))) = (c, blocks.last_mut()) {
        last.insert("cache_control".into(), cache_control(c, field)?);
    } else if let Some(c) = c {
        c.validate(&format!("{field}.cache_control"))?;
    }
    Ok(())
}

/// The `system` value (a string, or text blocks) and the `messages` turns.
fn messages(input: &[Message]) -> Result<(Option<Value>, Vec<Value>)> {
    let as_blocks = input.iter().any(|m| {
        matches!(m.role, Role::System | Role::Developer)
            && (m.cache_control.is_some() || matches!(m.content, Content::Parts(_)))
    });
    let mut system_text: Option<String> = None;
    let mut system_blocks: Vec<Value> = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (i, m) in input.iter().enumerate() {
        let field = format!("messages[{i}]");
        let (role, mut blocks) = match m.role {
            Role::System | Role::Developer if as_blocks => {
                system_blocks.extend(system_blocks_of(&m.content, i)?);
                mark_last(&mut system_blocks, m.cache_control.as_ref(), &field)?;
                continue;
            }
            Role::System | Role::Developer => {
                let text = m.content.joined_text();
                let s = system_text.get_or_insert_with(String::new);
                if !s.is_empty() && !text.is_empty() {
                    s.push_str("\n\n");
                }
                s.push_str(&text);
                continue;
            }
            Role::User => ("user", content_blocks(&m.content, i)?),
            Role::Assistant => {
                let mut blocks = reasoning_blocks(&m.reasoning_blocks);
                blocks.extend(content_blocks(&m.content, i)?);
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
            // A breakpoint on an empty message marks what came before it.
            if let Some((_, b)) = turns.last_mut() {
                mark_last(b, m.cache_control.as_ref(), &field)?;
            } else {
                mark_last(&mut [], m.cache_control.as_ref(), &field)?;
            }
            continue;
        }
        mark_last(&mut blocks, m.cache_control.as_ref(), &field)?;
        match turns.last_mut() {
            Some((r, b)) if *r == role => b.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages = turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    let system = if as_blocks {
        (!system_blocks.is_empty()).then_some(Value::Array(system_blocks))
    } else {
        system_text.filter(|s| !s.is_empty()).map(Value::String)
    };
    Ok((system, messages))
}

/// A system message's text as system blocks (empty text is left out; images are refused:
/// the system prompt is text only).
fn system_blocks_of(content: &Content, i: usize) -> Result<Vec<Value>> {
    let text_block = |t: &str| json!({"type": "text", "text": t});
    Ok(match content {
        Content::Text(t) if t.is_empty() => Vec::new(),
        Content::Text(t) => vec![text_block(t)],
        Content::Parts(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for p in parts {
                match p {
                    ContentPart::Text { text } if text.is_empty() => {}
                    ContentPart::Text { text } => out.push(text_block(text)),
                    ContentPart::Image(_) => {
                        return Err(Error::invalid_request(format!(
                            "messages[{i}]: a system message can only hold text for provider anthropic"
                        )));
                    }
                }
            }
            out
        }
    })
}

/// An assistant message's reasoning blocks as `thinking` / `redacted_thinking` blocks (a
/// thinking block without a signature is left out: the API refuses it).
fn reasoning_blocks(blocks: &[ReasoningBlock]) -> Vec<Value> {
    blocks
        .iter()
        .filter_map(|b| match b {
            ReasoningBlock::Thinking {
                text,
                signature: Some(signature),
            } => Some(json!({"type": "thinking", "thinking": text, "signature": signature})),
            ReasoningBlock::Thinking { signature: None, .. } => None,
            ReasoningBlock::Redacted { data } => Some(json!({"type": "redacted_thinking", "data": data})),
        })
        .collect()
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
        let e = bad(json!({"model": "a", "messages": [
            {"role": "system", "content": [{"type": "image", "url": "https://x/y.png"}]},
            {"role": "user", "content": "hi"}]}));
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(e.message().contains("messages[0]"), "{e}");
        let e = bad(
            json!({"model": "a", "messages": [{"role": "assistant", "tool_calls": [
            {"id": "t", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}),
        );
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        let e = bad(json!({"model": "a", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png,raw"}}]}]}));
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn reasoning_blocks_go_first_with_their_signatures() {
        let body = encode(
            json!({"model": "a", "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": "Checking.",
                 "reasoning_blocks": [
                    {"type": "thinking", "text": "I need the tool.", "signature": "sig-1"},
                    {"type": "redacted", "data": "opaque-1"},
                    {"type": "thinking", "text": "no signature: not sent"}],
                 "tool_calls": [{"id": "toolu_1", "type": "function", "signature": "gemini-only",
                                 "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"}]}),
            false,
        );
        assert_eq!(
            body["messages"][1],
            json!({"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I need the tool.", "signature": "sig-1"},
                {"type": "redacted_thinking", "data": "opaque-1"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}]})
        );
    }

    #[test]
    fn cache_breakpoints_go_on_the_last_block_of_their_message_or_tool() {
        let body = encode(
            json!({"model": "a", "messages": [
                {"role": "system", "content": "Rules."},
                {"role": "system", "content": [{"type": "text", "text": "Long document."}, {"type": "text", "text": "More."}],
                 "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                {"role": "user", "content": [{"type": "text", "text": "Q1"}, {"type": "image", "url": "https://x/y.png"}],
                 "cache_control": {"type": "ephemeral"}},
                {"role": "assistant", "content": "A1", "tool_calls": [
                    {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                 "cache_control": {"type": "ephemeral"}},
                {"role": "tool", "tool_call_id": "t1", "content": "r1", "cache_control": {"type": "ephemeral", "ttl": "5m"}},
                {"role": "user", "content": "Q2"}],
              "tools": [{"type": "function", "function": {"name": "f"}, "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                        {"type": "function", "function": {"name": "g"}}]}),
            false,
        );
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "Rules."}, {"type": "text", "text": "Long document."},
                   {"type": "text", "text": "More.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}])
        );
        let eph = json!({"type": "ephemeral"});
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "Q1"},
                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}, "cache_control": eph}]},
                {"role": "assistant", "content": [{"type": "text", "text": "A1"},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {}, "cache_control": eph}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "r1", "cache_control": {"type": "ephemeral", "ttl": "5m"}},
                    {"type": "text", "text": "Q2"}]}])
        );
        assert_eq!(
            body["tools"][0]["cache_control"],
            json!({"type": "ephemeral", "ttl": "1h"})
        );
        assert!(body["tools"][1].get("cache_control").is_none());
        // Without breakpoints or parts, the system prompt stays one string.
        let body = encode(
            json!({"model": "a", "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}]}),
            false,
        );
        assert_eq!(body["system"], json!("S"));
        // A system message of text parts is sent as system blocks.
        let body = encode(
            json!({"model": "a", "messages": [
                {"role": "system", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": ""}, {"type": "text", "text": "B"}]},
                {"role": "user", "content": "hi"}]}),
            false,
        );
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "A"}, {"type": "text", "text": "B"}])
        );
        // A breakpoint on an empty message marks the block before it.
        let body = encode(
            json!({"model": "a", "messages": [{"role": "user", "content": "hi"},
                {"role": "assistant", "content": "", "cache_control": {"type": "ephemeral"}}]}),
            false,
        );
        assert_eq!(
            body["messages"][0]["content"][0]["cache_control"],
            json!({"type": "ephemeral"})
        );
    }

    #[test]
    fn cache_breakpoint_lifetimes_are_checked() {
        use crate::types::{CacheControl, Message, Tool};
        let mut req = ChatRequest::new("a", "hi");
        req.messages[0].cache_control = Some(CacheControl::with_ttl("1d"));
        let e = encode_messages_request(&req, "m", false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(e.message().contains("`messages[0].cache_control.ttl`"), "{e}");
        let mut req = ChatRequest::new("a", "hi");
        req.messages.insert(0, Message::system(""));
        req.messages[0].cache_control = Some(CacheControl::with_ttl("forever"));
        let e = encode_messages_request(&req, "m", false).unwrap_err();
        assert!(e.message().contains("`messages[0].cache_control.ttl`"), "{e}");
        let mut req = ChatRequest::new("a", "hi");
        let mut tool = Tool::function("f", "d", json!({"type": "object"}));
        tool.cache_control = Some(CacheControl::with_ttl("10m"));
        req.tools = vec![tool];
        let e = encode_messages_request(&req, "m", false).unwrap_err();
        assert!(e.message().contains("`tools[0].cache_control.ttl`"), "{e}");
    }

    #[test]
    fn structured_output_is_a_forced_answer_tool() {
        let schema =
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
        // json_schema, no tools of the caller's: the answer tool is forced.
        let body = encode(
            json!({"model": "a", "messages": [{"role": "user", "content": "Capital of France?"}],
              "response_format": {"type": "json_schema", "json_schema": {"name": "capital", "description": "The capital.",
                                  "schema": schema, "strict": true}}}),
            false,
        );
        assert_eq!(
            body["tools"],
            json!([{"name": "capital", "description": "The capital.", "input_schema": schema}])
        );
        assert_eq!(body["tool_choice"], json!({"type": "tool", "name": "capital"}));
        assert!(body.get("response_format").is_none());
        // json_object: any object.
        let body = encode(
            json!({"model": "a", "messages": [{"role": "user", "content": "hi"}],
              "response_format": {"type": "json_object"}}),
            false,
        );
        assert_eq!(body["tools"][0]["name"], json!(JSON_OBJECT_TOOL));
        assert_eq!(body["tools"][0]["input_schema"], json!({"type": "object"}));
        assert_eq!(
            body["tool_choice"],
            json!({"type": "tool", "name": JSON_OBJECT_TOOL})
        );
        // With the caller's tools: the answer tool comes last, and one tool must be called.
        let with_tools = |choice: Value| {
            let mut req = json!({"model": "a", "messages": [{"role": "user", "content": "hi"}],
              "tools": [{"type": "function", "function": {"name": "lookup"}}],
              "response_format": {"type": "json_schema", "json_schema": {"name": "capital", "schema": schema}}});
            if !choice.is_null() {
                req["tool_choice"] = choice;
            }
            encode(req, false)
        };
        let body = with_tools(Value::Null);
        assert_eq!(body["tools"][0]["name"], json!("lookup"));
        assert_eq!(body["tools"][1]["name"], json!("capital"));
        assert_eq!(body["tool_choice"], json!({"type": "any"}));
        assert_eq!(with_tools(json!("auto"))["tool_choice"], json!({"type": "any"}));
        assert_eq!(
            with_tools(json!("required"))["tool_choice"],
            json!({"type": "any"})
        );
        assert_eq!(
            with_tools(json!("none"))["tool_choice"],
            json!({"type": "tool", "name": "capital"})
        );
        assert_eq!(
            with_tools(json!({"type": "function", "function": {"name": "lookup"}}))["tool_choice"],
            json!({"type": "tool", "name": "lookup"})
        );
        // Extended thinking allows only auto/none: auto, and the model may answer in text.
        let body = encode(
            json!({"model": "a", "messages": [{"role": "user", "content": "hi"}],
              "response_format": {"type": "json_object"},
              "extra": {"thinking": {"type": "enabled", "budget_tokens": 1024}}}),
            false,
        );
        assert_eq!(body["tool_choice"], json!({"type": "auto"}));
        // Free text sends nothing.
        let body = encode(
            json!({"model": "a", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "text"}}),
            false,
        );
        assert!(body.get("tools").is_none() && body.get("tool_choice").is_none());
        // A caller's tool of the schema's name would be ambiguous.
        let req = ChatRequest::from_value(json!({"model": "a", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "capital"}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "capital", "schema": schema}}}))
        .unwrap();
        let e = encode_messages_request(&req, "m", false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(e.message().contains("`response_format`"), "{e}");
        assert_eq!(structured_output_tool(&req), Some("capital"));
    }
}
