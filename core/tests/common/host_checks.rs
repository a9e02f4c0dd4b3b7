//! The vectors' `custom_guardrails` built as Rust host checks (the other runners build the
//! same behaviours as Python callables, JS functions and Kotlin `Guardrail`s).

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use modelplug_core::guardrails::{CustomGuardrail, HostCheck};
use serde_json::{Value, json};

/// The verdict of `behaviour` on the check input `input` (JSON), or the "exception" it raises.
fn decide(behaviour: &Value, input: &Value) -> Result<Value, String> {
    let texts: Vec<String> = serde_json::from_value(input["texts"].clone()).unwrap();
    let any = |needle: &Value| texts.iter().any(|t| t.contains(needle.as_str().unwrap()));
    if let Some(why) = behaviour.get("raise") {
        return Err(why.as_str().unwrap_or("error").to_owned());
    }
    if let Some(n) = behaviour.get("block_if_contains") {
        return Ok(json!({"action": if any(n) { "block" } else { "pass" }}));
    }
    if let Some(n) = behaviour.get("warn_if_contains") {
        return Ok(json!({"action": if any(n) { "warn" } else { "pass" }}));
    }
    if let Some(r) = behaviour.get("redact") {
        let (from, to) = (r["from"].as_str().unwrap(), r["to"].as_str().unwrap());
        if texts.iter().any(|t| t.contains(from)) {
            let new: Vec<String> = texts.iter().map(|t| t.replace(from, to)).collect();
            return Ok(json!({"action": "redact", "texts": new}));
        }
        return Ok(json!({"action": "pass"}));
    }
    if behaviour.get("warn").is_some() {
        return Ok(json!({"action": "warn"}));
    }
    Ok(json!({"action": "pass"}))
}

/// The case's custom guardrails.
pub fn custom_guardrails(case: &Value) -> Vec<CustomGuardrail> {
    let Some(specs) = case.get("custom_guardrails").and_then(Value::as_array) else {
        return Vec::new();
    };
    specs
        .iter()
        .map(|spec| {
            let behaviour = Arc::new(spec["behaviour"].clone());
            let is_async = spec["async"].as_bool().unwrap_or(false);
            let check: HostCheck = Arc::new(move |input: String| {
                let behaviour = behaviour.clone();
                async move {
                    let input: Value = serde_json::from_str(&input).unwrap();
                    let sleep = behaviour
                        .get("sleep_ms")
                        .and_then(Value::as_u64)
                        .map(Duration::from_millis);
                    if is_async {
                        if let Some(d) = sleep {
                            tokio::time::sleep(d).await;
                        }
                        decide(&behaviour, &input)
                    } else {
                        // A blocking host function: off the async threads, as a binding runs one.
                        tokio::task::spawn_blocking(move || {
                            if let Some(d) = sleep {
                                std::thread::sleep(d);
                            }
                            decide(&behaviour, &input)
                        })
                        .await
                        .unwrap()
                    }
                    .map(|v| v.to_string())
                }
                .boxed()
            });
            CustomGuardrail::new(
                spec["name"].as_str().unwrap(),
                spec["stage"].as_str().unwrap(),
                spec["timeout_ms"].as_u64().unwrap_or(1000),
                spec["fail"].as_str().unwrap_or("closed"),
                check,
            )
            .unwrap()
        })
        .collect()
}
