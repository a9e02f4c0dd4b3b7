//! The unified request a recorded `generateContent` body stands for: built test-side,
//! independently of the adapter. Shared by replay_gemini.rs and spec_requests.rs.

use modelplug_core::ChatRequest;
use serde_json::{Map, Value, json};

/// The recorded body with protobuf's snake_case field names (which Google accepts too) in
/// the camelCase the adapter writes; JSON inside `args`, `response` and schemas is left alone.
pub fn camel_case(v: &Value) -> Value {
    const NAMES: [(&str, &str); 8] = [
        ("function_call", "functionCall"),
        ("function_response", "functionResponse"),
        ("thought_signature", "thoughtSignature"),
        ("file_data", "fileData"),
        ("file_uri", "fileUri"),
        ("mime_type", "mimeType"),
        ("inline_data", "inlineData"),
        ("parameters_json_schema", "parametersJsonSchema"),
    ];
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let k = NAMES
                        .iter()
                        .find(|(s, _)| s == k)
                        .map_or(k.as_str(), |(_, c)| c)
                        .to_owned();
                    let v = if matches!(
                        k.as_str(),
                        "args" | "response" | "parametersJsonSchema" | "responseJsonSchema"
                    ) {
                        v.clone()
                    } else {
                        camel_case(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(camel_case).collect()),
        other => other.clone(),
    }
}

/// A `generateContent` body (camelCase) as a unified request for alias `m`.
pub fn unified_request(body: &Value) -> ChatRequest {
    let mut messages = Vec::new();
    if let Some(parts) = body.pointer("/systemInstruction/parts").and_then(Value::as_array) {
        let text: String = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        messages.push(json!({"role": "system", "content": text}));
    }
    let mut n = 0;
    for c in body["contents"].as_array().unwrap() {
        let role = c["role"].as_str().unwrap_or("user");
        let mut texts = Vec::new();
        let mut calls = Vec::new();
        for p in c["parts"].as_array().unwrap() {
            if let Some(t) = p["text"].as_str() {
                texts.push(json!({"type": "text", "text": t}));
            } else if let Some(call) = p.get("functionCall") {
                n += 1;
                let id = call["id"].as_str().map_or_else(|| format!("c{n}"), str::to_owned);
                let mut c = json!({"id": id, "type": "function",
                    "function": {"name": call["name"], "arguments": call["args"].to_string()}});
                if let Some(sig) = p.get("thoughtSignature") {
                    c["signature"] = sig.clone();
                }
                calls.push(c);
            } else if let Some(r) = p.get("functionResponse") {
                let id = r["id"].as_str().map_or_else(|| format!("c{n}"), str::to_owned);
                let mut content = Vec::new();
                if r["response"] != json!({}) {
                    content.push(json!({"type": "text", "text": r["response"].to_string()}));
                }
                for part in r["parts"].as_array().into_iter().flatten() {
                    content.push(json!({"type": "image", "url": part["fileData"]["fileUri"]}));
                }
                messages.push(json!({"role": "tool", "tool_call_id": id, "content": content}));
            } else {
                panic!("part {p}");
            }
        }
        let role = if role == "model" { "assistant" } else { "user" };
        if !texts.is_empty() || !calls.is_empty() {
            let mut m = json!({"role": role, "content": texts});
            if !calls.is_empty() {
                m["tool_calls"] = calls.into();
            }
            messages.push(m);
        }
    }
    let mut req = json!({"model": "m", "messages": messages});
    let mut extra = Map::new();
    for (k, v) in body.as_object().unwrap() {
        match k.as_str() {
            "contents" | "systemInstruction" => {}
            "tools" => {
                req["tools"] = v[0]["functionDeclarations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| {
                        let schema = d.get("parameters").or_else(|| d.get("parameters_json_schema")).cloned();
                        json!({"type": "function", "function": {"name": d["name"], "description": d["description"],
                            "parameters": schema}})
                    })
                    .collect()
            }
            "generationConfig" => {
                let mut rest = v.as_object().unwrap().clone();
                if let Some(schema) = rest.remove("responseJsonSchema") {
                    rest.remove("responseMimeType");
                    req["response_format"] =
                        json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}});
                }
                if !rest.is_empty() {
                    extra.insert(k.clone(), Value::Object(rest));
                }
            }
            _ => {
                extra.insert(k.clone(), v.clone());
            }
        }
    }
    req["extra"] = extra.into();
    ChatRequest::from_value(req).unwrap()
}
