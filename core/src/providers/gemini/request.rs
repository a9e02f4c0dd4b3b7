//! Unified request → `generateContent` JSON body (PROTOCOLS.md §5.2).
//!
//! - `system`/`developer` messages → `systemInstruction.parts` (text only).
//! - user turns → `user` contents; assistant turns → `model` contents with `functionCall`
//!   parts (`{name, args, id}`; the call's `signature` is sent back as the part's
//!   `thoughtSignature`); `tool` messages → `functionResponse` parts in a `user` turn, named
//!   after the call they answer (a JSON-object result is sent as the `response`, any other
//!   text as `{"output": text}`, Google's documented key; images in a tool result go in the
//!   response's `parts`). Neighbouring turns of one role are merged (the results of parallel
//!   calls go back together).
//! - images: base64 and `data:` URLs → `inlineData`; other URLs → `fileData` (the media type
//!   guessed from the file extension, else `image/jpeg`).
//! - `tools` → one `functionDeclarations` tool, the schema as `parametersJsonSchema` (full JSON
//!   Schema; no lossy conversion to Google's OpenAPI subset); `tool_choice` → `toolConfig`
//!   (`AUTO`, `NONE`, `ANY`, or `ANY` limited to the named function).
//! - `generationConfig`: `maxOutputTokens`, `temperature`, `topP`, `stopSequences`, `seed`,
//!   `presencePenalty`, `frequencyPenalty`; `response_format` json_schema →
//!   `responseMimeType: application/json` + `responseJsonSchema`, json_object → the MIME type
//!   alone; `reasoning_effort` → `thinkingConfig` (`thinkingLevel` on Gemini 3, a
//!   `thinkingBudget` before) with `includeThoughts`, so reasoning text comes back.
//! - `extra` adds or replaces top-level fields (`safetySettings`, `cachedContent`, …); an
//!   object given for a field the adapter also fills (`generationConfig`) is merged into it.
//! - Not sent: `parallel_tool_calls` (Gemini has no such switch), `cache_control` (Gemini
//!   caches implicitly; explicit caches are named with `extra.cachedContent`).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::types::{
    ChatRequest, Content, ContentPart, ImageSource, Message, ResponseFormat, Role, ToolChoice,
};

/// The signature Google documents for calls whose own signature is unknown (a conversation
/// that began with another provider): it tells Gemini 3 not to check the call's reasoning.
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// The `generateContent` body for `req`, sent to `model`.
pub fn encode_generate_request(req: &ChatRequest, model: &str) -> Result<Vec<u8>> {
    let body = generate_body(req, model)?;
    serde_json::to_vec(&Value::Object(body))
        .map_err(|e| Error::internal(format!("cannot encode the request: {e}")))
}

/// The body as a JSON object (the Vertex adapter sends the same).
pub(crate) fn generate_body(req: &ChatRequest, model: &str) -> Result<Map<String, Value>> {
    let gemini3 = is_gemini_3(model);
    let mut body = Map::new();
    let (system, contents) = contents(&req.messages, gemini3)?;
    body.insert("contents".into(), Value::Array(contents));
    if let Some(parts) = system {
        body.insert("systemInstruction".into(), json!({ "parts": parts }));
    }
    if !req.tools.is_empty() {
        let declarations: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut d = Map::new();
                d.insert("name".into(), t.function.name.clone().into());
                if let Some(desc) = &t.function.description {
                    d.insert("description".into(), desc.clone().into());
                }
                if let Some(p) = &t.function.parameters {
                    d.insert("parametersJsonSchema".into(), p.clone());
                }
                Value::Object(d)
            })
            .collect();
        body.insert("tools".into(), json!([{ "functionDeclarations": declarations }]));
    }
    if let Some(choice) = &req.tool_choice {
        let config = match choice {
            ToolChoice::Auto => json!({"mode": "AUTO"}),
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::Function(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
        };
        body.insert("toolConfig".into(), json!({ "functionCallingConfig": config }));
    }
    let config = generation_config(req, gemini3);
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    for (k, v) in &req.extra {
        match (body.get_mut(k), v) {
            (Some(Value::Object(ours)), Value::Object(theirs)) => {
                for (ik, iv) in theirs {
                    ours.insert(ik.clone(), iv.clone());
                }
            }
            _ => {
                body.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(body)
}

fn is_gemini_3(model: &str) -> bool {
    let name = model.rsplit('/').next().unwrap_or(model);
    name.strip_prefix("gemini-")
        .and_then(|v| v.split(['.', '-']).next())
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major >= 3)
}

fn generation_config(req: &ChatRequest, gemini3: bool) -> Map<String, Value> {
    let mut c = Map::new();
    if let Some(n) = req.max_tokens {
        c.insert("maxOutputTokens".into(), n.into());
    }
    if let Some(t) = req.temperature {
        c.insert("temperature".into(), t.into());
    }
    if let Some(p) = req.top_p {
        c.insert("topP".into(), p.into());
    }
    if !req.stop.is_empty() {
        c.insert("stopSequences".into(), req.stop.clone().into());
    }
    if let Some(s) = req.seed {
        c.insert("seed".into(), s.into());
    }
    if let Some(p) = req.presence_penalty {
        c.insert("presencePenalty".into(), p.into());
    }
    if let Some(p) = req.frequency_penalty {
        c.insert("frequencyPenalty".into(), p.into());
    }
    match &req.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            c.insert("responseMimeType".into(), "application/json".into());
        }
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            c.insert("responseMimeType".into(), "application/json".into());
            if let Some(schema) = &json_schema.schema {
                c.insert("responseJsonSchema".into(), schema.clone());
            }
        }
    }
    if let Some(effort) = &req.reasoning_effort {
        let thinking = if gemini3 {
            let level = match effort.as_str() {
                "minimal" | "low" => "low",
                _ => "high",
            };
            json!({"thinkingLevel": level, "includeThoughts": true})
        } else {
            let budget = match effort.as_str() {
                "minimal" => 0,
                "low" => 1024,
                "medium" => 8192,
                _ => 24576,
            };
            json!({"thinkingBudget": budget, "includeThoughts": budget > 0})
        };
        c.insert("thinkingConfig".into(), thinking);
    }
    c
}

type Turns = Vec<(&'static str, Vec<Value>)>;

/// The system instruction's parts and the `contents` turns.
fn contents(input: &[Message], gemini3: bool) -> Result<(Option<Vec<Value>>, Vec<Value>)> {
    let mut system: Vec<Value> = Vec::new();
    let mut turns: Turns = Vec::new();
    // Tool call id → function name, for the results that answer them.
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    for (i, m) in input.iter().enumerate() {
        let (role, parts) = match m.role {
            Role::System | Role::Developer => {
                let text = m.content.joined_text();
                if !text.is_empty() {
                    system.push(json!({ "text": text }));
                }
                continue;
            }
            Role::User => ("user", parts_of(&m.content, i)?),
            Role::Assistant => {
                let mut parts = parts_of(&m.content, i)?;
                let signed = m.tool_calls.iter().any(|c| c.signature.is_some());
                for (n, call) in m.tool_calls.iter().enumerate() {
                    call_names.insert(call.id.as_str(), call.function.name.as_str());
                    let mut part = Map::new();
                    part.insert(
                        "functionCall".into(),
                        json!({"name": call.function.name, "args": arguments(&call.function.arguments, &call.id, i)?, "id": call.id}),
                    );
                    let signature = match &call.signature {
                        Some(s) => Some(s.as_str()),
                        None if gemini3 && !signed && n == 0 => Some(SKIP_SIGNATURE),
                        None => None,
                    };
                    if let Some(s) = signature {
                        part.insert("thoughtSignature".into(), s.into());
                    }
                    parts.push(Value::Object(part));
                }
                ("model", parts)
            }
            Role::Tool => {
                let id = m.tool_call_id.as_deref().ok_or_else(|| {
                    Error::invalid_request(format!("messages[{i}]: a tool message needs tool_call_id"))
                })?;
                let name = call_names.get(id).copied().or(m.name.as_deref()).ok_or_else(|| {
                    Error::invalid_request(format!(
                        "messages[{i}]: tool_call_id `{id}` answers no earlier assistant tool call (Gemini needs the function's name)"
                    ))
                })?;
                let text = m.content.joined_text();
                let response = match serde_json::from_str::<Value>(&text) {
                    Ok(v @ Value::Object(_)) => v,
                    _ if text.is_empty() => json!({}),
                    _ => json!({ "output": text }),
                };
                let mut r = json!({"id": id, "name": name, "response": response});
                // Images a tool returned travel inside the response (Gemini 3's multimodal
                // function responses).
                let images: Vec<Value> = parts_of(&m.content, i)?
                    .into_iter()
                    .filter(|p| p.get("text").is_none())
                    .collect();
                if !images.is_empty() {
                    r["parts"] = Value::Array(images);
                }
                ("user", vec![json!({ "functionResponse": r })])
            }
        };
        if parts.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((r, p)) if *r == role => p.extend(parts),
            _ => turns.push((role, parts)),
        }
    }
    let contents = turns
        .into_iter()
        .map(|(role, parts)| json!({"role": role, "parts": parts}))
        .collect();
    Ok(((!system.is_empty()).then_some(system), contents))
}

fn arguments(text: &str, id: &str, i: usize) -> Result<Value> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Error::invalid_request(format!(
            "messages[{i}]: the arguments of tool call `{id}` are not a JSON object"
        ))),
    }
}

/// Text and image parts (empty text is left out).
fn parts_of(content: &Content, i: usize) -> Result<Vec<Value>> {
    Ok(match content {
        Content::Text(t) if t.is_empty() => Vec::new(),
        Content::Text(t) => vec![json!({ "text": t })],
        Content::Parts(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for p in parts {
                match p {
                    ContentPart::Text { text } if text.is_empty() => {}
                    ContentPart::Text { text } => out.push(json!({ "text": text })),
                    ContentPart::Image(img) => out.push(image_part(&img.source, i)?),
                }
            }
            out
        }
    })
}

fn image_part(source: &ImageSource, i: usize) -> Result<Value> {
    let inline = |mime: &str, data: &str| json!({"inlineData": {"mimeType": mime, "data": data}});
    Ok(match source {
        ImageSource::Base64 { media_type, data } => inline(media_type, data),
        ImageSource::Url(u) => match u.strip_prefix("data:") {
            Some(rest) => {
                let (mime, data) = rest.split_once(";base64,").ok_or_else(|| {
                    Error::invalid_request(format!("messages[{i}]: an image `data:` URL must be base64"))
                })?;
                inline(mime, data)
            }
            None => json!({"fileData": {"mimeType": mime_of_url(u), "fileUri": u}}),
        },
    })
}

/// The image media type a URL's file extension names (`image/jpeg` when it names none).
fn mime_of_url(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url).to_ascii_lowercase();
    match path.rsplit('.').next() {
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("heic") => "image/heic",
        Some("heif") => "image/heif",
        _ => "image/jpeg",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn encode(req: Value, model: &str) -> Value {
        let req = ChatRequest::from_value(req).unwrap();
        serde_json::from_slice(&encode_generate_request(&req, model).unwrap()).unwrap()
    }

    #[test]
    fn body_shape_with_tools_results_images_and_config() {
        let body = encode(
            json!({"model": "g", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "image", "url": "https://x/y.webp?s=1"},
                    {"type": "image", "media_type": "image/jpeg", "data": "BBBB"}]},
                {"role": "assistant", "content": "Let me look.", "tool_calls": [
                    {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
                    {"id": "t2", "type": "function", "function": {"name": "g", "arguments": ""}}]},
                {"role": "tool", "tool_call_id": "t1", "content": "{\"temp\": 20}"},
                {"role": "tool", "tool_call_id": "t2", "content": "sunny"},
                {"role": "user", "content": "Thanks"}],
              "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}},
                        {"type": "function", "function": {"name": "g"}}],
              "tool_choice": {"type": "function", "function": {"name": "f"}},
              "temperature": 1.5, "top_p": 0.9, "stop": ["END"], "seed": 3, "max_tokens": 99,
              "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
              "extra": {"safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
                        "generationConfig": {"topK": 40}}}),
            "gemini-2.5-flash",
        );
        assert_eq!(
            body,
            json!({
              "systemInstruction": {"parts": [{"text": "Be brief."}]},
              "contents": [
                {"role": "user", "parts": [
                    {"text": "What is this?"},
                    {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                    {"fileData": {"mimeType": "image/webp", "fileUri": "https://x/y.webp?s=1"}},
                    {"inlineData": {"mimeType": "image/jpeg", "data": "BBBB"}}]},
                {"role": "model", "parts": [
                    {"text": "Let me look."},
                    {"functionCall": {"name": "f", "args": {"a": 1}, "id": "t1"}},
                    {"functionCall": {"name": "g", "args": {}, "id": "t2"}}]},
                {"role": "user", "parts": [
                    {"functionResponse": {"id": "t1", "name": "f", "response": {"temp": 20}}},
                    {"functionResponse": {"id": "t2", "name": "g", "response": {"output": "sunny"}}},
                    {"text": "Thanks"}]}],
              "tools": [{"functionDeclarations": [
                  {"name": "f", "description": "d", "parametersJsonSchema": {"type": "object"}},
                  {"name": "g"}]}],
              "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}},
              "generationConfig": {"maxOutputTokens": 99, "temperature": 1.5, "topP": 0.9,
                  "stopSequences": ["END"], "seed": 3, "responseMimeType": "application/json",
                  "responseJsonSchema": {"type": "object"}, "topK": 40},
              "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]
            })
        );
    }

    #[test]
    fn reasoning_effort_and_gemini_3_signatures() {
        let req = json!({"model": "g", "reasoning_effort": "low", "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "b", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "a", "content": "1"},
            {"role": "tool", "tool_call_id": "b", "content": "2"}]});
        let old = encode(req.clone(), "gemini-2.5-pro");
        assert_eq!(
            old["generationConfig"]["thinkingConfig"],
            json!({"thinkingBudget": 1024, "includeThoughts": true})
        );
        assert!(old["contents"][1]["parts"][0].get("thoughtSignature").is_none());
        let new = encode(req, "gemini-3-pro-preview");
        assert_eq!(
            new["generationConfig"]["thinkingConfig"],
            json!({"thinkingLevel": "low", "includeThoughts": true})
        );
        // Calls from another provider carry no signature: the first one says to skip the check.
        assert_eq!(new["contents"][1]["parts"][0]["thoughtSignature"], SKIP_SIGNATURE);
        assert!(new["contents"][1]["parts"][1].get("thoughtSignature").is_none());
    }

    #[test]
    fn unanswerable_tool_results_and_bad_arguments_are_refused() {
        let e = encode_generate_request(
            &ChatRequest::from_value(json!({"model": "g", "messages": [
                {"role": "tool", "tool_call_id": "nope", "content": "1"}]}))
            .unwrap(),
            "gemini-2.0-flash",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(e.message().contains("nope"), "{e}");
        let e = encode_generate_request(
            &ChatRequest::from_value(json!({"model": "g", "messages": [
                {"role": "assistant", "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}))
            .unwrap(),
            "gemini-2.0-flash",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    }
}
