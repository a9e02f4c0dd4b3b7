//! Request bodies against an AWS service model in botocore's JSON form (`service-2.json`, e.g.
//! tests/provider-specs/specs/bedrock/bedrock-runtime-2023-09-30.service-2.json).
//!
//! [`validate`] checks a rest-json body against a shape the way AWS's request validation
//! does, and returns every violation with its JSON path (`$.messages[0].content[1].image`):
//!
//! - `structure`: an object; unknown members are refused, `required` members must be there;
//!   members bound elsewhere (`location`: `uri`, `header`, `headers`, `querystring`,
//!   `statusCode`) are not body members — refused in the body and not required of it; a body
//!   member's JSON name is its `locationName` when it has one. `null` counts as absent for
//!   `required` but is refused as a value (our encoders never send `null`).
//! - `union: true`: exactly one member set.
//! - `document: true`: any JSON.
//! - `list` / `map`: an array / object, `min`/`max` items or entries, each member (and each
//!   map key) against its shape; `null` items only in a `sparse` one.
//! - `string`: `enum`, `min`/`max` length in Unicode scalar values, `pattern` matched against
//!   the whole value (as AWS validation does: `ToolName` `[a-zA-Z0-9_-]+` refuses `a b`).
//! - `integer` / `long`: an integral number in the type's range; `float` / `double`: a number
//!   (or `"NaN"`, `"Infinity"`, `"-Infinity"`); both within `min`/`max`.
//! - `boolean`: `true`/`false`; `blob`: standard base64 text, `min`/`max` on the decoded
//!   bytes; `timestamp`: epoch seconds, or a string with `timestampFormat` `iso8601` /
//!   `rfc822`.
//! - `eventstream` shapes and shapes with an HTTP `payload` member are not JSON bodies: refused.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Bedrock Runtime service model, vendored from botocore.
pub const BEDROCK_RUNTIME_MODEL: &str =
    "tests/provider-specs/specs/bedrock/bedrock-runtime-2023-09-30.service-2.json";

/// Reads a service model (a path from the repository root).
pub fn load_model(path: &str) -> Value {
    let full = repo().join(path);
    let bytes = std::fs::read(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()));
    let model: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        model["shapes"].is_object() && model["operations"].is_object(),
        "{path} is not a botocore service model"
    );
    model
}

/// The input shape's name of `operation` (e.g. `Converse` → `ConverseRequest`).
pub fn input_shape<'m>(model: &'m Value, operation: &str) -> &'m str {
    model["operations"][operation]["input"]["shape"]
        .as_str()
        .unwrap_or_else(|| panic!("no input shape for operation {operation}"))
}

/// Checks `body` against the shape `shape_name` of `model`; `Err` holds every violation, each
/// starting with its JSON path.
pub fn validate(model: &Value, shape_name: &str, body: &Value) -> Result<(), Vec<String>> {
    let mut v = Validator {
        shapes: &model["shapes"],
        errors: Vec::new(),
    };
    let Some(shape) = v.shapes.get(shape_name) else {
        return Err(vec![format!("$: the model has no shape {shape_name}")]);
    };
    if let Some(payload) = shape.get("payload").and_then(Value::as_str) {
        return Err(vec![format!(
            "$: {shape_name}'s body is its `{payload}` member (an HTTP payload); validate that shape"
        )]);
    }
    v.check(shape_name, None, body, "$");
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

struct Validator<'m> {
    shapes: &'m Value,
    errors: Vec<String>,
}

/// `value` shortened for a message (base64 images can be long).
fn show(value: &Value) -> String {
    let s = value.to_string();
    if s.chars().count() <= 80 {
        s
    } else {
        format!("{}…", s.chars().take(77).collect::<String>())
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `path` extended with an object key.
fn key_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::from(key))
    }
}

impl Validator<'_> {
    fn err(&mut self, path: &str, msg: impl std::fmt::Display) {
        self.errors.push(format!("{path}: {msg}"));
    }

    /// Checks `value` against shape `name`; `member` is the member definition that refers to
    /// it (for member-level traits such as `timestampFormat`).
    fn check(&mut self, name: &str, member: Option<&Value>, value: &Value, path: &str) {
        let shapes = self.shapes;
        let Some(shape) = shapes.get(name) else {
            self.err(path, format!("the model has no shape {name}"));
            return;
        };
        if shape["document"] == true {
            return;
        }
        if shape["eventstream"] == true {
            self.err(
                path,
                format!("{name} is an event stream, not part of a JSON body"),
            );
            return;
        }
        let ty = shape["type"].as_str().unwrap_or("");
        match ty {
            "structure" => self.structure(name, shape, value, path),
            "list" => self.list(name, shape, value, path),
            "map" => self.map(name, shape, value, path),
            "string" => self.string(name, shape, value, path),
            "integer" | "long" | "byte" | "short" => self.integer(name, ty, shape, value, path),
            "float" | "double" => self.float(name, shape, value, path),
            "boolean" => {
                if !value.is_boolean() {
                    self.err(path, format!("expected a boolean ({name}), got {}", show(value)));
                }
            }
            "blob" => self.blob(name, shape, value, path),
            "timestamp" => {
                let format = member
                    .and_then(|m| m.get("timestampFormat"))
                    .or_else(|| shape.get("timestampFormat"))
                    .and_then(Value::as_str)
                    .unwrap_or("unixTimestamp");
                let ok = match format {
                    "iso8601" | "rfc822" => value.is_string(),
                    _ => value.is_number(),
                };
                if !ok {
                    self.err(
                        path,
                        format!("expected a {format} timestamp ({name}), got {}", show(value)),
                    );
                }
            }
            other => self.err(path, format!("shape {name} has an unknown type `{other}`")),
        }
    }

    fn structure(&mut self, name: &str, shape: &Value, value: &Value, path: &str) {
        let Value::Object(obj) = value else {
            self.err(
                path,
                format!("expected an object ({name}), got {}", json_type(value)),
            );
            return;
        };
        let empty = serde_json::Map::new();
        let members = shape["members"].as_object().unwrap_or(&empty);
        // The JSON name of each body member (its `locationName` in rest-json), and the
        // members bound to another part of the HTTP request.
        let json_name = |m: &str, def: &Value| -> String {
            match (
                def.get("location"),
                def.get("locationName").and_then(Value::as_str),
            ) {
                (None, Some(n)) => n.to_owned(),
                _ => m.to_owned(),
            }
        };
        let mut set = Vec::new();
        for (key, v) in obj {
            let p = key_path(path, key);
            let found = members.iter().find(|(m, def)| json_name(m, def) == *key);
            let Some((member_name, def)) = found else {
                self.err(&p, format!("unknown member `{key}` of {name}"));
                continue;
            };
            if let Some(location) = def.get("location").and_then(Value::as_str) {
                self.err(
                    &p,
                    format!("`{member_name}` of {name} goes in the request's {location}, not the body"),
                );
                continue;
            }
            if v.is_null() {
                self.err(&p, format!("null is not a value of `{member_name}` of {name}"));
                continue;
            }
            set.push(key.as_str());
            self.check(def["shape"].as_str().unwrap_or(""), Some(def), v, &p);
        }
        if shape["union"] == true {
            // `{"txt": …}` is one wrong member (reported above), not also an empty union.
            let only_wrong_members = set.is_empty() && !obj.is_empty();
            if set.len() != 1 && !only_wrong_members {
                self.err(
                    path,
                    format!(
                        "a {name} union takes exactly one member, got {}{}",
                        set.len(),
                        if set.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", set.join(", "))
                        }
                    ),
                );
            }
            return;
        }
        for req in shape["required"].as_array().into_iter().flatten() {
            let req = req.as_str().unwrap_or("");
            let Some(def) = members.get(req) else {
                self.err(path, format!("{name} requires `{req}`, which it does not define"));
                continue;
            };
            if def.get("location").is_some() {
                continue; // in the URI, a header or the query: not the body's to carry
            }
            let key = json_name(req, def);
            if obj.get(&key).is_none_or(Value::is_null) {
                self.err(path, format!("missing required member `{key}` of {name}"));
            }
        }
    }

    fn bounds(&mut self, what: &str, name: &str, shape: &Value, n: f64, path: &str) {
        if let Some(min) = shape["min"].as_f64()
            && n < min
        {
            self.err(path, format!("{what} {n} is below {name}'s minimum {min}"));
        }
        if let Some(max) = shape["max"].as_f64()
            && n > max
        {
            self.err(path, format!("{what} {n} is above {name}'s maximum {max}"));
        }
    }

    fn list(&mut self, name: &str, shape: &Value, value: &Value, path: &str) {
        let Value::Array(items) = value else {
            self.err(
                path,
                format!("expected an array ({name}), got {}", json_type(value)),
            );
            return;
        };
        self.bounds("length", name, shape, items.len() as f64, path);
        let member = &shape["member"];
        let item_shape = member["shape"].as_str().unwrap_or("");
        for (i, item) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            if item.is_null() {
                if shape["sparse"] != true {
                    self.err(&p, format!("null in {name}, which is not sparse"));
                }
                continue;
            }
            self.check(item_shape, Some(member), item, &p);
        }
    }

    fn map(&mut self, name: &str, shape: &Value, value: &Value, path: &str) {
        let Value::Object(entries) = value else {
            self.err(
                path,
                format!("expected an object ({name}), got {}", json_type(value)),
            );
            return;
        };
        self.bounds("entry count", name, shape, entries.len() as f64, path);
        let key_shape = shape["key"]["shape"].as_str().unwrap_or("");
        let value_def = &shape["value"];
        let value_shape = value_def["shape"].as_str().unwrap_or("");
        for (k, v) in entries {
            let p = key_path(path, k);
            self.check(key_shape, None, &Value::from(k.as_str()), &format!("{p} (key)"));
            if v.is_null() {
                if shape["sparse"] != true {
                    self.err(&p, format!("null in {name}, which is not sparse"));
                }
                continue;
            }
            self.check(value_shape, Some(value_def), v, &p);
        }
    }

    fn string(&mut self, name: &str, shape: &Value, value: &Value, path: &str) {
        let Some(s) = value.as_str() else {
            self.err(path, format!("expected a string ({name}), got {}", show(value)));
            return;
        };
        if let Some(values) = shape["enum"].as_array()
            && !values.iter().any(|e| e == value)
        {
            let allowed: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
            self.err(
                path,
                format!("{} is not one of {name}'s values {allowed:?}", show(value)),
            );
        }
        self.bounds("length", name, shape, s.chars().count() as f64, path);
        if let Some(pattern) = shape["pattern"].as_str() {
            match regex::Regex::new(&format!("^(?:{pattern})$")) {
                Ok(re) if re.is_match(s) => {}
                Ok(_) => self.err(
                    path,
                    format!("{} does not match {name}'s pattern {pattern}", show(value)),
                ),
                Err(e) => self.err(path, format!("{name}'s pattern {pattern} does not compile: {e}")),
            }
        }
    }

    fn integer(&mut self, name: &str, ty: &str, shape: &Value, value: &Value, path: &str) {
        let (lo, hi) = match ty {
            "byte" => (i8::MIN as i64, i8::MAX as i64),
            "short" => (i16::MIN as i64, i16::MAX as i64),
            "integer" => (i32::MIN as i64, i32::MAX as i64),
            _ => (i64::MIN, i64::MAX),
        };
        let Some(n) = value.as_i64() else {
            self.err(path, format!("expected an integer ({name}), got {}", show(value)));
            return;
        };
        if n < lo || n > hi {
            self.err(path, format!("{n} is out of range for {ty} {name}"));
        }
        self.bounds("value", name, shape, n as f64, path);
    }

    fn float(&mut self, name: &str, shape: &Value, value: &Value, path: &str) {
        match value {
            Value::Number(n) => self.bounds("value", name, shape, n.as_f64().unwrap_or(f64::NAN), path),
            Value::String(s) if ["NaN", "Infinity", "-Infinity"].contains(&s.as_str()) => {}
            _ => self.err(path, format!("expected a number ({name}), got {}", show(value))),
        }
    }

    fn blob(&mut self, name: &str, shape: &Value, value: &Value, path: &str) {
        let Some(s) = value.as_str() else {
            self.err(
                path,
                format!("expected base64 text ({name}), got {}", show(value)),
            );
            return;
        };
        match STANDARD.decode(s) {
            Ok(bytes) => self.bounds("decoded length", name, shape, bytes.len() as f64, path),
            Err(e) => self.err(path, format!("{} is not base64 ({name}): {e}", show(value))),
        }
    }
}
