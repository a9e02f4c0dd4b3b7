//! Unified request → Bedrock Converse JSON body (the model id goes in the URL).
//!
//! - `system`/`developer` messages → `system` text blocks; user and assistant messages →
//!   `messages` with `text`, `image` (`{"format","source":{"bytes"}}` from base64 or a `data:`
//!   URL; an `s3://` URL → `s3Location`; Converse takes no web URLs) blocks; an assistant
//!   message's `reasoning_blocks` → `reasoningContent` blocks first (a thinking block with its
//!   signature, a redacted one as `redactedContent`), then its text, then its tool calls →
//!   `toolUse` blocks (arguments parsed into the `input` object); `tool` messages →
//!   `toolResult` blocks in a user turn. Neighbouring turns of the same role are merged (the
//!   API wants alternating roles; parallel tool results are one user turn). Empty text is not
//!   sent (the API refuses blank text blocks), nor a thinking block without a signature.
//! - `cache_control` (a prompt-cache breakpoint) → a `cachePoint` block after the message's
//!   blocks (a system message: after its system blocks), or after the tool in `toolConfig`.
//!   Sent only where the request asks for it: models without prompt caching refuse it. A
//!   `ttl` (`5m`, `1h`) is sent as the cache point's `ttl`.
//! - `temperature` is clamped to Converse's 0–1 range.
//! - `max_tokens`, `temperature`, `top_p`, `stop` → `inferenceConfig`.
//! - `tools` → `toolConfig.tools[].toolSpec` (`inputSchema.json`); `tool_choice` auto /
//!   required / function → `{"auto":{}}` / `{"any":{}}` / `{"tool":{"name"}}`; `none` has no
//!   Converse form: the tools are left out — unless the conversation already holds tool
//!   blocks, which the API accepts only with a `toolConfig` (then the model may still call).
//!   A conversation with tool blocks but no `tools` (a summary after a tool exchange) gets
//!   the tools its calls named, with an open schema, and no `toolChoice`.
//! - `response_format` json_schema / json_object → the answer tool, as for Anthropic
//!   ([`structured_output_tool`]): forced, or `any` beside the caller's tools; `auto` when
//!   Claude's extended thinking is on (it refuses forced tools).
//! - `extra`: Converse's own top-level members (`additionalModelRequestFields`,
//!   `guardrailConfig`, `performanceConfig`, `requestMetadata`, `promptVariables`,
//!   `additionalModelResponseFieldPaths`, `serviceTier`, `outputConfig`) are set as given;
//!   any other key (Claude's `thinking`, `top_k`, Nova's `reasoningConfig`, …) goes into
//!   `additionalModelRequestFields`, the model's native parameters.
//! - Not sent (Converse has no such parameter): `seed`, `presence_penalty`,
//!   `frequency_penalty`, `reasoning_effort`, `parallel_tool_calls`.

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::providers::anthropic::{answer_tool_parts, structured_output_tool};
use crate::types::{
    CacheControl, ChatRequest, Content, ContentPart, ImageSource, Message, ReasoningBlock, Role, ToolChoice,
};

/// Converse's top-level request members that `extra` may set directly.
const CONVERSE_MEMBERS: [&str; 8] = [
    "additionalModelRequestFields",
    "guardrailConfig",
    "performanceConfig",
    "requestMetadata",
    "promptVariables",
    "additionalModelResponseFieldPaths",
    "serviceTier",
    "outputConfig",
];

/// The Converse (and ConverseStream: the same body) request body for `req`.
pub fn encode_converse_request(req: &ChatRequest) -> Result<Vec<u8>> {
    let mut body = Map::new();
    let (system, messages, history) = messages(&req.messages)?;
    body.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    let mut inference = Map::new();
    if let Some(m) = req.max_tokens {
        inference.insert("maxTokens".into(), m.into());
    }
    if let Some(t) = req.temperature {
        // Converse's range is 0–1 (the unified one 0–2, OpenAI's).
        inference.insert("temperature".into(), t.clamp(0.0, 1.0).into());
    }
    if let Some(p) = req.top_p {
        inference.insert("topP".into(), p.into());
    }
    if !req.stop.is_empty() {
        inference.insert("stopSequences".into(), req.stop.clone().into());
    }
    if !inference.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(inference));
    }
    let (top, model_fields) = split_extra(req);
    if let Some(tool_config) = tool_config(req, &history, &model_fields)? {
        body.insert("toolConfig".into(), tool_config);
    }
    body.extend(top);
    if !model_fields.is_empty() {
        let slot = body
            .entry("additionalModelRequestFields")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(o) = slot {
            o.extend(model_fields);
        }
    }
    serde_json::to_vec(&Value::Object(body))
        .map_err(|e| Error::internal(format!("cannot encode the request: {e}")))
}

/// `extra` split into Converse members and the model's native fields.
fn split_extra(req: &ChatRequest) -> (Map<String, Value>, Map<String, Value>) {
    let mut top = Map::new();
    let mut model = Map::new();
    for (k, v) in &req.extra {
        if CONVERSE_MEMBERS.contains(&k.as_str()) {
            top.insert(k.clone(), v.clone());
        } else {
            model.insert(k.clone(), v.clone());
        }
    }
    (top, model)
}

/// Whether Claude's extended thinking is on (it allows only `auto` tool choice).
fn thinking_on(model_fields: &Map<String, Value>, req: &ChatRequest) -> bool {
    let from = |m: &Map<String, Value>| {
        m.get("thinking")
            .and_then(|t| t.get("type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t != "disabled")
    };
    from(model_fields)
        || req
            .extra
            .get("additionalModelRequestFields")
            .and_then(Value::as_object)
            .is_some_and(from)
}

/// The tool blocks a conversation already holds.
#[derive(Default)]
struct ToolHistory {
    /// Any `toolUse` or `toolResult` block.
    any: bool,
    /// The tools its calls named, in first-use order.
    names: Vec<String>,
}

fn tool_config(
    req: &ChatRequest,
    history: &ToolHistory,
    model_fields: &Map<String, Value>,
) -> Result<Option<Value>> {
    let has_tool_blocks = history.any;
    if req.tools.is_empty() && has_tool_blocks && structured_output_tool(req).is_none() {
        // Converse refuses tool blocks without a toolConfig: the tools the calls named.
        let tools: Vec<Value> = history
            .names
            .iter()
            .map(|n| json!({"toolSpec": {"name": n, "inputSchema": {"json": {"type": "object"}}}}))
            .collect();
        return Ok((!tools.is_empty()).then(|| json!({ "tools": tools })));
    }
    let answer = structured_output_tool(req);
    let caller_none = matches!(req.tool_choice, Some(ToolChoice::None));
    let mut tools = Vec::with_capacity(req.tools.len() + 1);
    if !caller_none || has_tool_blocks {
        for (i, t) in req.tools.iter().enumerate() {
            let schema = t
                .function
                .parameters
                .clone()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
            let mut spec = Map::new();
            spec.insert("name".into(), t.function.name.clone().into());
            if let Some(d) = t.function.description.as_ref().filter(|d| !d.is_empty()) {
                spec.insert("description".into(), d.clone().into());
            }
            spec.insert("inputSchema".into(), json!({ "json": schema }));
            tools.push(json!({ "toolSpec": spec }));
            if let Some(c) = &t.cache_control {
                tools.push(cache_point(c, &format!("tools[{i}]"))?);
            }
        }
    }
    if let Some(t) = answer_tool_parts(req, "bedrock")? {
        tools.push(json!({"toolSpec": {"name": t.name, "description": t.description, "inputSchema": {"json": t.schema}}}));
    }
    if tools.is_empty() {
        return Ok(None);
    }
    let caller_tools = !req.tools.is_empty() && !caller_none;
    let choice = match (answer, &req.tool_choice) {
        (Some(_), _) if thinking_on(model_fields, req) => Some(json!({"auto": {}})),
        (Some(name), _) if !caller_tools => Some(json!({"tool": {"name": name}})),
        (Some(_), Some(ToolChoice::Function(f))) => Some(json!({"tool": {"name": f}})),
        (Some(_), _) => Some(json!({"any": {}})),
        (None, Some(ToolChoice::Auto)) => Some(json!({"auto": {}})),
        (None, Some(ToolChoice::Required)) => Some(json!({"any": {}})),
        (None, Some(ToolChoice::Function(f))) => Some(json!({"tool": {"name": f}})),
        (None, Some(ToolChoice::None) | None) => None,
    };
    let mut config = json!({ "tools": tools });
    if let Some(c) = choice {
        config["toolChoice"] = c;
    }
    Ok(Some(config))
}

/// A `cachePoint` block for a breakpoint, with its `ttl` when one is given (`5m`, `1h`;
/// checked; `field` names it in errors).
fn cache_point(c: &CacheControl, field: &str) -> Result<Value> {
    c.validate(&format!("{field}.cache_control"))?;
    let mut point = json!({"type": "default"});
    if let Some(ttl) = &c.ttl {
        point["ttl"] = ttl.clone().into();
    }
    Ok(json!({ "cachePoint": point }))
}

type Turns = Vec<(&'static str, Vec<Value>)>;

/// The `system` blocks, the `messages` turns, and the tool blocks they hold.
fn messages(input: &[Message]) -> Result<(Vec<Value>, Vec<Value>, ToolHistory)> {
    let mut system: Vec<Value> = Vec::new();
    let mut turns: Turns = Vec::new();
    let mut history = ToolHistory::default();
    for (i, m) in input.iter().enumerate() {
        let field = format!("messages[{i}]");
        let (role, mut blocks) = match m.role {
            Role::System | Role::Developer => {
                system.extend(system_blocks(&m.content, i)?);
                if let Some(c) = &m.cache_control {
                    system.push(cache_point(c, &field)?);
                }
                continue;
            }
            Role::User => ("user", content_blocks(&m.content, i)?),
            Role::Assistant => {
                let mut blocks = reasoning_blocks(&m.reasoning_blocks);
                blocks.extend(content_blocks(&m.content, i)?);
                for call in &m.tool_calls {
                    history.any = true;
                    if !history.names.contains(&call.function.name) {
                        history.names.push(call.function.name.clone());
                    }
                    let input = tool_input(&call.function.arguments, &call.id, i)?;
                    blocks.push(json!({"toolUse": {"toolUseId": call.id, "name": call.function.name, "input": input}}));
                }
                ("assistant", blocks)
            }
            Role::Tool => {
                history.any = true;
                let id = m.tool_call_id.as_deref().ok_or_else(|| {
                    Error::invalid_request(format!("messages[{i}]: a tool message needs tool_call_id"))
                })?;
                let mut content = content_blocks(&m.content, i)?;
                if content.is_empty() {
                    // A result must hold something; an empty result is an empty text.
                    content.push(json!({"text": ""}));
                }
                (
                    "user",
                    vec![json!({"toolResult": {"toolUseId": id, "content": content, "status": "success"}})],
                )
            }
        };
        if let Some(c) = &m.cache_control {
            let point = cache_point(c, &field)?;
            if blocks.is_empty() {
                // A breakpoint on an empty message marks what came before it.
                if let Some((_, b)) = turns.last_mut() {
                    b.push(point);
                }
                continue;
            }
            blocks.push(point);
        }
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
    Ok((system, messages, history))
}

/// A tool call's arguments as the `input` object.
fn tool_input(arguments: &str, id: &str, i: usize) -> Result<Value> {
    let args = arguments.trim();
    let input: Value = if args.is_empty() {
        json!({})
    } else {
        serde_json::from_str(args).map_err(|_| not_object(id, i))?
    };
    if !input.is_object() {
        return Err(not_object(id, i));
    }
    Ok(input)
}

fn not_object(id: &str, i: usize) -> Error {
    Error::invalid_request(format!(
        "messages[{i}]: the arguments of tool call `{id}` are not a JSON object"
    ))
}

/// A system message's text as system blocks (images are refused: the system prompt is text).
fn system_blocks(content: &Content, i: usize) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    match content {
        Content::Text(t) if t.is_empty() => {}
        Content::Text(t) => out.push(json!({"text": t})),
        Content::Parts(parts) => {
            for p in parts {
                match p {
                    ContentPart::Text { text } if text.is_empty() => {}
                    ContentPart::Text { text } => out.push(json!({"text": text})),
                    ContentPart::Image(_) => {
                        return Err(Error::invalid_request(format!(
                            "messages[{i}]: a system message can only hold text for provider bedrock"
                        )));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// An assistant message's reasoning as `reasoningContent` blocks (a thinking block without a
/// signature is left out: the API refuses it).
fn reasoning_blocks(blocks: &[ReasoningBlock]) -> Vec<Value> {
    blocks
        .iter()
        .filter_map(|b| match b {
            ReasoningBlock::Thinking {
                text,
                signature: Some(signature),
            } => Some(json!({"reasoningContent": {"reasoningText": {"text": text, "signature": signature}}})),
            ReasoningBlock::Thinking { signature: None, .. } => None,
            ReasoningBlock::Redacted { data } => Some(json!({"reasoningContent": {"redactedContent": data}})),
        })
        .collect()
}

/// Text and image parts as content blocks (empty text is left out).
fn content_blocks(content: &Content, i: usize) -> Result<Vec<Value>> {
    Ok(match content {
        Content::Text(t) if t.is_empty() => Vec::new(),
        Content::Text(t) => vec![json!({"text": t})],
        Content::Parts(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for p in parts {
                match p {
                    ContentPart::Text { text } if text.is_empty() => {}
                    ContentPart::Text { text } => out.push(json!({"text": text})),
                    ContentPart::Image(img) => out.push(image_block(&img.source, i)?),
                }
            }
            out
        }
    })
}

/// Converse's image formats, from a media type.
fn image_format(media_type: &str, i: usize) -> Result<&'static str> {
    Ok(match media_type.to_ascii_lowercase().as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => {
            return Err(Error::invalid_request(format!(
                "messages[{i}]: provider bedrock takes png, jpeg, gif or webp images, not `{other}`"
            )));
        }
    })
}

fn image_block(source: &ImageSource, i: usize) -> Result<Value> {
    let bytes = |media_type: &str, data: &str| -> Result<Value> {
        Ok(json!({"image": {"format": image_format(media_type, i)?, "source": {"bytes": data}}}))
    };
    match source {
        ImageSource::Base64 { media_type, data } => bytes(media_type, data),
        ImageSource::Url(u) => {
            if let Some(rest) = u.strip_prefix("data:") {
                let (media_type, data) = rest.split_once(";base64,").ok_or_else(|| {
                    Error::invalid_request(format!("messages[{i}]: an image `data:` URL must be base64"))
                })?;
                return bytes(media_type, data);
            }
            if u.starts_with("s3://") {
                let ext = u.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
                let format = match ext.as_str() {
                    "jpg" | "jpeg" => "jpeg",
                    "gif" => "gif",
                    "webp" => "webp",
                    _ => "png",
                };
                return Ok(json!({"image": {"format": format, "source": {"s3Location": {"uri": u}}}}));
            }
            Err(Error::invalid_request(format!(
                "messages[{i}]: provider bedrock takes images as data (base64 or a `data:` URL) or an `s3://` URL, not a web URL"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn encode(req: Value) -> Value {
        let req = ChatRequest::from_value(req).unwrap();
        serde_json::from_slice(&encode_converse_request(&req).unwrap()).unwrap()
    }

    #[test]
    fn body_shape_with_tools_results_images_and_cache_points() {
        let body = encode(json!({"model": "a", "messages": [
                {"role": "system", "content": "Be brief.", "cache_control": {"type": "ephemeral"}},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
                {"role": "assistant", "content": "Let me look.",
                 "reasoning_blocks": [{"type": "thinking", "text": "hmm", "signature": "sig"}, {"type": "redacted", "data": "enc"}],
                 "tool_calls": [
                    {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
                    {"id": "t2", "type": "function", "function": {"name": "g", "arguments": ""}}]},
                {"role": "tool", "tool_call_id": "t1", "content": "one"},
                {"role": "tool", "tool_call_id": "t2", "content": "two"},
                {"role": "user", "content": "Thanks", "cache_control": {"type": "ephemeral"}}],
              "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}, "cache_control": {"type": "ephemeral"}}],
              "tool_choice": "required", "max_tokens": 100, "temperature": 0.5, "top_p": 0.9, "stop": ["END"], "seed": 3,
              "extra": {"thinking": {"type": "enabled", "budget_tokens": 1024}, "requestMetadata": {"team": "x"}}}));
        assert_eq!(
            body,
            json!({
              "system": [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}],
              "messages": [
                {"role": "user", "content": [
                    {"text": "What is this?"},
                    {"image": {"format": "png", "source": {"bytes": "AAAA"}}}]},
                {"role": "assistant", "content": [
                    {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}},
                    {"reasoningContent": {"redactedContent": "enc"}},
                    {"text": "Let me look."},
                    {"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}},
                    {"toolUse": {"toolUseId": "t2", "name": "g", "input": {}}}]},
                {"role": "user", "content": [
                    {"toolResult": {"toolUseId": "t1", "content": [{"text": "one"}], "status": "success"}},
                    {"toolResult": {"toolUseId": "t2", "content": [{"text": "two"}], "status": "success"}},
                    {"text": "Thanks"}, {"cachePoint": {"type": "default"}}]}],
              "inferenceConfig": {"maxTokens": 100, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]},
              "toolConfig": {"tools": [
                  {"toolSpec": {"name": "f", "description": "d", "inputSchema": {"json": {"type": "object"}}}},
                  {"cachePoint": {"type": "default"}}],
                "toolChoice": {"any": {}}},
              "requestMetadata": {"team": "x"},
              "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}}})
        );
    }

    #[test]
    fn structured_output_and_tool_choice_none() {
        let body = encode(
            json!({"model": "a", "messages": [{"role": "user", "content": "hi"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}}}}),
        );
        assert_eq!(
            body["toolConfig"]["toolChoice"],
            json!({"tool": {"name": "city"}})
        );
        assert_eq!(body["toolConfig"]["tools"][0]["toolSpec"]["name"], "city");
        let body = encode(
            json!({"model": "a", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "none"}),
        );
        assert!(body.get("toolConfig").is_none());
        // A conversation with tool blocks and no tools: the tools its calls named.
        let body = encode(json!({"model": "a", "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
            {"role": "user", "content": "Summarise."}]}));
        assert_eq!(
            body["toolConfig"],
            json!({"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]})
        );
    }

    #[test]
    fn refusals_name_the_message() {
        let bad = |req: Value| {
            let req = ChatRequest::from_value(req).unwrap();
            encode_converse_request(&req).unwrap_err()
        };
        let e = bad(
            json!({"model": "a", "messages": [{"role": "user", "content": [{"type": "image", "url": "https://x/y.png"}]}]}),
        );
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(
            e.message().contains("messages[0]") && e.message().contains("web URL"),
            "{e}"
        );
        let e = bad(
            json!({"model": "a", "messages": [{"role": "user", "content": [{"type": "image", "media_type": "image/tiff", "data": "AA"}]}]}),
        );
        assert!(e.message().contains("image/tiff"), "{e}");
        let e = bad(
            json!({"model": "a", "messages": [{"role": "assistant", "tool_calls": [
            {"id": "t", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}),
        );
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    }
}
