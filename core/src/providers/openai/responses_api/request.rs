//! The Responses API request: the unified request as a `/responses` body (`instructions`,
//! `input` items, `text.format`, tools), refusing parameters the API does not take.

use serde_json::{Map, Value, json};

use super::super::chat_request::to_body_with_extra;
use crate::error::{Error, Result};
use crate::types::{ChatRequest, Content, ContentPart, ResponseFormat, Role, ToolChoice};

/// The `/responses` body for `req`, sent to `model`.
pub fn encode_responses_request(req: &ChatRequest, model: &str, stream: bool) -> Result<Vec<u8>> {
    if !req.stop.is_empty() {
        return Err(Error::invalid_request(
            "the Responses API does not support `stop` sequences",
        ));
    }
    if req.seed.is_some() {
        return Err(Error::invalid_request(
            "the Responses API does not support `seed`",
        ));
    }
    let mut instructions = Vec::new();
    let mut input = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        match m.role {
            Role::System | Role::Developer => instructions.push(m.content.joined_text()),
            Role::User => input.push(json!({"role": "user", "content": input_content(&m.content)})),
            Role::Assistant => {
                if !m.content.is_empty() {
                    input.push(json!({"role": "assistant", "content": m.content.joined_text()}));
                }
                for tc in &m.tool_calls {
                    input.push(
                        json!({"type": "function_call", "call_id": tc.id, "name": tc.function.name,
                                      "arguments": tc.function.arguments}),
                    );
                }
            }
            Role::Tool => {
                input.push(json!({"type": "function_call_output",
                "call_id": m.tool_call_id.as_deref().unwrap_or_default(), "output": m.content.joined_text()}))
            }
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("input".into(), input.into());
    if !instructions.is_empty() {
        body.insert("instructions".into(), instructions.join("\n\n").into());
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut o = json!({"type": "function", "name": t.function.name});
                for (k, v) in [
                    ("description", t.function.description.clone().map(Value::from)),
                    ("parameters", t.function.parameters.clone()),
                    ("strict", t.function.strict.map(Value::from)),
                ] {
                    if let Some(v) = v {
                        o[k] = v;
                    }
                }
                o
            })
            .collect();
        body.insert("tools".into(), tools.into());
    }
    if let Some(tc) = &req.tool_choice {
        let v = match tc {
            ToolChoice::Function(name) => json!({"type": "function", "name": name}),
            other => serde_json::to_value(other).unwrap_or(Value::Null),
        };
        body.insert("tool_choice".into(), v);
    }
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => {
            body.insert("text".into(), json!({"format": {"type": "json_object"}}));
        }
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let mut f = json!({"type": "json_schema", "name": json_schema.name});
            if let Some(s) = &json_schema.schema {
                f["schema"] = s.clone();
            }
            if let Some(s) = json_schema.strict {
                f["strict"] = s.into();
            }
            if let Some(d) = &json_schema.description {
                f["description"] = d.as_str().into();
            }
            body.insert("text".into(), json!({ "format": f }));
        }
        Some(ResponseFormat::Text) | None => {}
    }
    let numbers = [("temperature", req.temperature), ("top_p", req.top_p)];
    for (k, v) in numbers {
        if let Some(v) = v {
            body.insert(k.into(), v.into());
        }
    }
    if let Some(v) = req.max_tokens {
        body.insert("max_output_tokens".into(), v.into());
    }
    if let Some(v) = req.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), v.into());
    }
    if let Some(e) = &req.reasoning_effort {
        body.insert("reasoning".into(), json!({ "effort": e }));
    }
    if stream {
        body.insert("stream".into(), true.into());
    }
    to_body_with_extra(&Value::Object(body), &req.extra)
}

fn input_content(c: &Content) -> Value {
    match c {
        Content::Text(t) => t.as_str().into(),
        Content::Parts(parts) => parts
            .iter()
            .map(|p| match p {
                ContentPart::Text { text } => json!({"type": "input_text", "text": text}),
                ContentPart::Image(img) => {
                    // `detail` is required here (unlike Chat Completions); `auto` is the default.
                    let detail = img.detail.as_deref().unwrap_or("auto");
                    json!({"type": "input_image", "image_url": img.source.to_url(), "detail": detail})
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn request_shape() {
        let req = ChatRequest::from_value(json!({"model": "a", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "https://x"}}]},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object"}, "strict": true}},
            "max_tokens": 9}))
        .unwrap();
        let body: Value =
            serde_json::from_slice(&encode_responses_request(&req, "gpt", true).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"model": "gpt", "instructions": "be brief", "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "hi"}, {"type": "input_image", "image_url": "https://x", "detail": "auto"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"}],
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
            "tool_choice": {"type": "function", "name": "f"},
            "text": {"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}, "strict": true}},
            "max_output_tokens": 9, "stream": true})
        );
    }

    #[test]
    fn unsupported_parameters_are_rejected() {
        let req = ChatRequest {
            stop: vec!["x".into()],
            ..ChatRequest::new("a", "b")
        };
        assert_eq!(
            encode_responses_request(&req, "m", false).unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
    }
}
