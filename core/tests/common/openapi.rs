//! Request bodies against a provider's published OpenAPI spec, with the `jsonschema` crate
//! (draft 2020-12, no remote `$ref`s).
//!
//! [`RequestSchema::load`] builds one root schema that holds the spec's `components` and
//! `$ref`s the request schema, so every `#/components/schemas/…` reference resolves inside
//! it. OpenAPI quirks are translated first: `nullable: true` (3.0) becomes a `null` type, a
//! `type` with no value (Anthropic's `Model`) is dropped, and `discriminator` is left as the
//! annotation it is in 2020-12 (the `oneOf` beside it does the checking). Specs are older
//! than the APIs: each field or variant we send that postdates the spec is an [`Amend`] with
//! its reason, and an amendment that the spec no longer needs fails the load. Google's specs
//! (proto3 JSON) list every field but do not close their objects, while the server refuses
//! unknown names: [`Dialect::Proto3Json`] closes them, accepting each field's snake_case
//! name too and `null` for any field, as the server does.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// How a spec's objects are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The schemas mean what they say (Anthropic's spec closes its objects itself).
    Plain,
    /// Google's proto3 JSON: every object with `properties` is closed (the server answers
    /// 400 "Unknown name"), a field may also be spelled in snake_case, and `null` means
    /// "not set" (such fields are dropped from the body before it is checked).
    Proto3Json,
}

/// A change to the spec's `components`, for a field or variant the spec predates.
#[derive(Debug, Clone)]
pub struct Amend {
    /// JSON pointer inside `components`, e.g. `/schemas/ToolChoice/oneOf`.
    pub at: &'static str,
    /// What to do there.
    pub op: Op,
    /// Why (when the API gained it, where we send it).
    pub why: &'static str,
}

/// An amendment's operation.
#[derive(Debug, Clone)]
pub enum Op {
    /// Adds a key that the spec does not have (the last pointer segment). `json!(true)`
    /// accepts any value: the same as stripping that one field before validating.
    Add(Value),
    /// Appends to an array (a `oneOf` variant, `enum` values).
    Push(Vec<Value>),
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A compiled request schema.
pub struct RequestSchema {
    /// `family/SchemaName`, for messages.
    pub name: String,
    dialect: Dialect,
    validator: jsonschema::Validator,
}

/// A request body in any form an encoder returns.
pub trait Body {
    /// The body as JSON.
    fn json(self) -> Value;
}

impl Body for Value {
    fn json(self) -> Value {
        self
    }
}

impl Body for &Value {
    fn json(self) -> Value {
        self.clone()
    }
}

impl Body for Vec<u8> {
    fn json(self) -> Value {
        serde_json::from_slice(&self).expect("the encoder wrote JSON")
    }
}

impl Body for &[u8] {
    fn json(self) -> Value {
        serde_json::from_slice(self).expect("the encoder wrote JSON")
    }
}

impl RequestSchema {
    /// Loads `schema` (a name under `components.schemas`) from the spec at `spec` (relative
    /// to the repository root; `.yaml`/`.yml` or `.json`).
    pub fn load(spec: &str, schema: &str, dialect: Dialect, amends: &[Amend]) -> RequestSchema {
        let path = repo().join(spec);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: Value = if spec.ends_with(".json") {
            serde_json::from_str(&text).expect("the spec is JSON")
        } else {
            modelplug_core::config::parse_yaml(&text)
                .unwrap_or_else(|e| panic!("{spec}: {e:?}"))
                .to_json()
        };
        let mut components = doc["components"].clone();
        assert!(
            components["schemas"][schema].is_object(),
            "{spec} has no components.schemas.{schema}"
        );
        components = openapi_to_json_schema(components);
        for a in amends {
            amend(&mut components, a);
        }
        if dialect == Dialect::Proto3Json {
            components = proto3_json(components);
        }
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": components,
            "$ref": format!("#/components/schemas/{schema}"),
        });
        let validator = jsonschema::options()
            .build(&root)
            .unwrap_or_else(|e| panic!("{spec}: the translated schema does not compile: {e}"));
        RequestSchema {
            name: format!("{spec}#{schema}"),
            dialect,
            validator,
        }
    }

    /// Every validation error, one line each (values shortened).
    pub fn errors(&self, body: impl Body) -> Vec<String> {
        let mut body = body.json();
        if self.dialect == Dialect::Proto3Json {
            drop_nulls(&mut body);
        }
        self.validator
            .iter_errors(&body)
            .flat_map(|e| closest(&e))
            .collect()
    }

    /// Panics, listing every error, unless `body` is valid. `what` names the body.
    pub fn check(&self, what: &str, body: impl Body) {
        let errors = self.errors(body);
        assert!(
            errors.is_empty(),
            "{what}: not a valid {}:\n  {}",
            self.name,
            errors.join("\n  ")
        );
    }

    /// Panics unless `body` is invalid (a negative control: the validator is really on).
    pub fn check_invalid(&self, what: &str, body: impl Body) -> Vec<String> {
        let errors = self.errors(body);
        assert!(
            !errors.is_empty(),
            "{what}: {} accepted a body it must refuse",
            self.name
        );
        errors
    }
}

/// One line per error; for an `anyOf`/`oneOf` that no variant matched, the errors of the
/// variants that got deepest into the body (the likely intended ones) instead of the whole value.
fn closest(e: &jsonschema::ValidationError<'_>) -> Vec<String> {
    use jsonschema::error::ValidationErrorKind as K;
    if let K::AnyOf { context } | K::OneOfNotValid { context } = e.kind() {
        let inner: Vec<(usize, String)> = context
            .iter()
            .flatten()
            .flat_map(|x| {
                closest(x)
                    .into_iter()
                    .map(|l| (x.instance_path().as_str().len(), l))
            })
            .collect();
        if let Some(deepest) = inner.iter().map(|(d, _)| *d).max() {
            let branch = if matches!(e.kind(), K::AnyOf { .. }) {
                "anyOf"
            } else {
                "oneOf"
            };
            return inner
                .into_iter()
                .filter(|(d, _)| *d == deepest)
                .map(|(_, l)| match l.contains("[no ") {
                    true => l,
                    false => format!("{l} [no {branch} variant at `{}` matched]", e.instance_path()),
                })
                .collect();
        }
    }
    let mut msg = e.to_string();
    if msg.len() > 300 {
        let cut = (0..=300).rev().find(|i| msg.is_char_boundary(*i)).unwrap_or(0);
        msg.truncate(cut);
        msg.push('…');
    }
    vec![format!(
        "at `{}`: {msg} (schema {})",
        e.instance_path(),
        e.schema_path()
    )]
}

/// OpenAPI schema objects → JSON Schema 2020-12.
fn openapi_to_json_schema(v: Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut o: Map<String, Value> = o
                .into_iter()
                .map(|(k, x)| (k, openapi_to_json_schema(x)))
                .collect();
            // `type:` with no value (YAML null): no constraint, and not valid JSON Schema.
            if o.get("type") == Some(&Value::Null) {
                o.remove("type");
            }
            // OpenAPI 3.0 `nullable: true` (a boolean; a *property* named `nullable` is an object).
            if o.get("nullable") == Some(&Value::Bool(true)) {
                o.remove("nullable");
                return match o.remove("type") {
                    Some(Value::String(t)) => {
                        o.insert("type".into(), json!([t, "null"]));
                        Value::Object(o)
                    }
                    Some(t) => {
                        o.insert("type".into(), t);
                        json!({"anyOf": [Value::Object(o), {"type": "null"}]})
                    }
                    None => json!({"anyOf": [Value::Object(o), {"type": "null"}]}),
                };
            }
            Value::Object(o)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(openapi_to_json_schema).collect()),
        other => other,
    }
}

fn amend(components: &mut Value, a: &Amend) {
    let (parent, key) = a.at.rsplit_once('/').expect("a pointer");
    let target = components
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("amendment {}: the spec has no {parent} ({})", a.at, a.why));
    match &a.op {
        Op::Add(v) => {
            let o = target
                .as_object_mut()
                .unwrap_or_else(|| panic!("amendment {}: {parent} is not an object", a.at));
            assert!(
                !o.contains_key(key),
                "amendment {}: the spec has this now; drop the amendment ({})",
                a.at,
                a.why
            );
            o.insert(key.to_owned(), v.clone());
        }
        Op::Push(items) => {
            let arr = target
                .get_mut(key)
                .and_then(Value::as_array_mut)
                .unwrap_or_else(|| panic!("amendment {}: not an array", a.at));
            for item in items {
                assert!(
                    !arr.contains(item),
                    "amendment {}: the spec has {item} now; drop it ({})",
                    a.at,
                    a.why
                );
                arr.push(item.clone());
            }
        }
    }
}

/// `maxOutputTokens` → `max_output_tokens`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Closes every object schema that lists its properties, adding snake_case spellings.
fn proto3_json(v: Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut o: Map<String, Value> = o
                .into_iter()
                .map(|(k, x)| match (k.as_str(), x) {
                    // Inside `properties` the keys are field names, not keywords: recurse into
                    // each field's schema, never treat the map itself as a schema.
                    ("properties", Value::Object(props)) => {
                        let props = props.into_iter().map(|(n, s)| (n, proto3_json(s))).collect();
                        (k, Value::Object(props))
                    }
                    (_, x) => (k, proto3_json(x)),
                })
                .collect();
            let closable = o.get("type") == Some(&json!("object")) && !o.contains_key("additionalProperties");
            if let (true, Some(Value::Object(props))) = (closable, o.get_mut("properties")) {
                let aliases: Vec<(String, Value)> = props
                    .iter()
                    .map(|(n, s)| (snake_case(n), s.clone()))
                    .filter(|(n, _)| !props.contains_key(n))
                    .collect();
                props.extend(aliases);
                o.insert("additionalProperties".into(), false.into());
            }
            Value::Object(o)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(proto3_json).collect()),
        other => other,
    }
}

/// proto3 JSON: a `null` field is an unset field.
fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.retain(|_, x| !x.is_null());
            o.values_mut().for_each(drop_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
