//! Helpers shared by the integration tests: the vectors' subset matcher and JSON forms of
//! results and errors.
#![allow(dead_code)]

use modelplug_core::{Error, StreamEvent};
use serde_json::{Value, json};

/// Matches `actual` against `expected` with the vector rules (tests/vectors/README.md):
/// objects match when every expected key matches (extra actual keys are fine), arrays when
/// they have the same length and match element by element, numbers numerically, and an
/// object whose keys all start with `$` is a set of matchers that must all hold.
pub fn matches(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    if let Value::Object(o) = expected {
        if !o.is_empty() && o.keys().all(|k| k.starts_with('$')) {
            return o.iter().try_for_each(|(k, arg)| matcher(k, arg, actual, path));
        }
        let Value::Object(a) = actual else {
            return Err(format!("{path}: expected an object, got {actual}"));
        };
        for (k, v) in o {
            let p = format!("{path}.{k}");
            match a.get(k) {
                Some(x) => matches(v, x, &p)?,
                None if is_absent_matcher(v) => {}
                None => return Err(format!("{p}: missing (expected {v})")),
            }
        }
        return Ok(());
    }
    if let Value::Array(e) = expected {
        let Value::Array(a) = actual else {
            return Err(format!("{path}: expected a list, got {actual}"));
        };
        if e.len() != a.len() {
            return Err(format!(
                "{path}: expected {} items, got {}: {actual}",
                e.len(),
                a.len()
            ));
        }
        for (i, (x, y)) in e.iter().zip(a).enumerate() {
            matches(x, y, &format!("{path}[{i}]"))?;
        }
        return Ok(());
    }
    let equal = match (expected, actual) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1.0)
        }
        _ => expected == actual,
    };
    if equal {
        Ok(())
    } else {
        Err(format!("{path}: expected {expected}, got {actual}"))
    }
}

fn is_absent_matcher(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.contains_key("$absent"))
}

fn matcher(name: &str, arg: &Value, actual: &Value, path: &str) -> Result<(), String> {
    let text = actual.as_str();
    let num = actual.as_f64();
    let ok = match name {
        "$prefix" => text.zip(arg.as_str()).is_some_and(|(t, p)| t.starts_with(p)),
        "$contains" => match arg {
            Value::Array(items) => items
                .iter()
                .all(|i| text.zip(i.as_str()).is_some_and(|(t, s)| t.contains(s))),
            _ => text.zip(arg.as_str()).is_some_and(|(t, s)| t.contains(s)),
        },
        "$excludes" => match arg {
            Value::Array(items) => items
                .iter()
                .all(|i| text.zip(i.as_str()).is_some_and(|(t, s)| !t.contains(s))),
            _ => text.zip(arg.as_str()).is_some_and(|(t, s)| !t.contains(s)),
        },
        "$gte" => num.zip(arg.as_f64()).is_some_and(|(n, m)| n >= m),
        "$lte" => num.zip(arg.as_f64()).is_some_and(|(n, m)| n <= m),
        "$len" => {
            let len = match actual {
                Value::Array(a) => Some(a.len()),
                Value::String(s) => Some(s.chars().count()),
                Value::Object(o) => Some(o.len()),
                _ => None,
            };
            match (len, arg) {
                (Some(l), Value::Object(_)) => return matches(arg, &json!(l), &format!("{path}.length")),
                (Some(l), _) => arg.as_u64() == Some(l as u64),
                (None, _) => false,
            }
        }
        "$exists" => actual.is_null() != arg.as_bool().unwrap_or(true),
        "$absent" => actual.is_null(),
        other => return Err(format!("{path}: unknown matcher {other}")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{path}: {name} {arg} does not hold for {actual}"))
    }
}

/// The error's JSON form, as every runner reports it.
pub fn error_json(e: &Error) -> Value {
    e.to_value()
}

/// Collects a stream into the runners' result form.
pub async fn collect_stream(mut s: modelplug_core::ChatStream) -> Value {
    let (mut text, mut reasoning) = (String::new(), String::new());
    let mut counts = serde_json::Map::new();
    let mut response = Value::Null;
    let mut error = Value::Null;
    while let Some(ev) = s.next().await {
        match ev {
            Ok(ev) => {
                let kind = serde_json::to_value(&ev).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let n = counts.get(&kind).and_then(Value::as_u64).unwrap_or(0);
                counts.insert(kind, json!(n + 1));
                match ev {
                    StreamEvent::TextDelta { text: t } => text.push_str(&t),
                    StreamEvent::ReasoningDelta { text: t } => reasoning.push_str(&t),
                    StreamEvent::Done { response: r } => response = serde_json::to_value(&r).unwrap(),
                    _ => {}
                }
            }
            Err(e) => error = error_json(&e),
        }
    }
    let mut out = json!({"text": text, "reasoning": reasoning, "event_counts": counts});
    if !response.is_null() {
        out["response"] = response;
    }
    if !error.is_null() {
        out["error"] = error;
    }
    out
}

/// `over` laid on `base`: objects merge key by key, anything else is replaced.
fn merged(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                let m = merged(b.get(k).unwrap_or(&Value::Null), v);
                out.insert(k.clone(), m);
            }
            Value::Object(out)
        }
        _ => over.clone(),
    }
}

/// The shared vectors' provider matrix: a case with `providers` (`{label: overrides}`) runs
/// once per label, named `name[label]`, with the label's overrides merged over the case.
pub fn expand_providers(cases: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for case in cases {
        let Some(providers) = case.get("providers").and_then(Value::as_object) else {
            out.push(case.clone());
            continue;
        };
        let mut base = case.clone();
        base.as_object_mut().unwrap().remove("providers");
        for (label, over) in providers {
            let mut c = merged(&base, over);
            c["name"] = format!("{}[{label}]", case["name"].as_str().unwrap()).into();
            out.push(c);
        }
    }
    out
}
