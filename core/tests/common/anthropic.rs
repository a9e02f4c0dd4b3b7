//! The unified request a recorded Messages body stands for: built test-side, independently of
//! the adapter, so that encoding it again must give the recorded body back. Shared by
//! replay_anthropic.rs and spec_requests.rs.

use modelplug_core::ChatRequest;
use serde_json::{Map, Value, json};

/// A Messages request body as a unified request for alias `m`.
pub fn unified_request(body: &Value) -> ChatRequest {
    let mut messages = Vec::new();
    if let Some(s) = body.get("system").and_then(Value::as_str) {
        messages.push(json!({"role": "system", "content": s}));
    }
    for m in body["messages"].as_array().unwrap() {
        let role = m["role"].as_str().unwrap();
        let blocks = match &m["content"] {
            Value::String(s) => vec![json!({"type": "text", "text": s})],
            Value::Array(b) => b.clone(),
            other => panic!("content {other}"),
        };
        let mut parts = Vec::new();
        let mut calls = Vec::new();
        for b in &blocks {
            match b["type"].as_str().unwrap() {
                "text" => parts.push(json!({"type": "text", "text": b["text"]})),
                "image" => {
                    let s = &b["source"];
                    parts.push(match s["type"].as_str().unwrap() {
                        "base64" => {
                            json!({"type": "image", "media_type": s["media_type"], "data": s["data"]})
                        }
                        _ => json!({"type": "image", "url": s["url"]}),
                    });
                }
                "tool_use" => calls.push(json!({"id": b["id"], "type": "function",
                    "function": {"name": b["name"], "arguments": b["input"].to_string()}})),
                "tool_result" => messages.push(json!({"role": "tool", "tool_call_id": b["tool_use_id"],
                    "content": b["content"]})),
                other => panic!("block type {other}"),
            }
        }
        if !parts.is_empty() || !calls.is_empty() {
            let mut msg = json!({"role": role, "content": parts});
            if !calls.is_empty() {
                msg["tool_calls"] = calls.into();
            }
            messages.push(msg);
        }
    }
    let mut req = json!({"model": "m", "messages": messages});
    let mut extra = Map::new();
    for (k, v) in body.as_object().unwrap() {
        match k.as_str() {
            "model" | "messages" | "system" | "stream" => {}
            "max_tokens" | "temperature" | "top_p" => req[k] = v.clone(),
            "stop_sequences" => req["stop"] = v.clone(),
            "tools" => {
                req["tools"] = v
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| {
                        json!({"type": "function", "function": {"name": t["name"],
                        "description": t["description"], "parameters": t["input_schema"]}})
                    })
                    .collect()
            }
            "tool_choice" => {
                req["tool_choice"] = match v["type"].as_str().unwrap() {
                    "any" => json!("required"),
                    "tool" => json!({"type": "function", "function": {"name": v["name"]}}),
                    t => json!(t),
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
