//! The audit trail's diff: what changed between two policy documents, compared as JSON — a
//! list of `{path, change, before?, after?}` with paths such as `apps.x.budgets[0].limit_usd`.

use serde_json::{Map, Value, json};

/// One difference.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Where: object keys joined with `.`, list indexes in `[]` (a key that is not a plain
    /// name is written `["…"]`); empty for the whole document.
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// The value before (not for `added`).
    pub before: Option<Value>,
    /// The value after (not for `removed`).
    pub after: Option<Value>,
}

impl Change {
    /// As JSON: `{"path", "change", "before"?, "after"?}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("path".into(), json!(self.path));
        m.insert("change".into(), json!(self.change));
        if let Some(b) = &self.before {
            m.insert("before".into(), b.clone());
        }
        if let Some(a) = &self.after {
            m.insert("after".into(), a.clone());
        }
        Value::Object(m)
    }
}

/// The differences from `before` to `after`, in document order (keys sorted).
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk(String::new(), before, after, &mut out);
    out
}

/// The differences as a JSON array.
pub fn diff_json(before: &Value, after: &Value) -> Value {
    Value::Array(diff(before, after).iter().map(Change::to_json).collect())
}

fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '/' | '*' | ':' | '@'));
    match (parent.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{}]", Value::String(key.to_owned())),
    }
}

/// One key or index on either side: compared when on both, added or removed otherwise.
fn pair(p: String, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<Change>) {
    match (before, after) {
        (Some(x), Some(y)) => walk(p, x, y, out),
        (Some(x), None) => out.push(Change {
            path: p,
            change: "removed",
            before: Some(x.clone()),
            after: None,
        }),
        (None, Some(y)) => out.push(Change {
            path: p,
            change: "added",
            before: None,
            after: Some(y.clone()),
        }),
        (None, None) => {}
    }
}

fn walk(path: String, before: &Value, after: &Value, out: &mut Vec<Change>) {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = key_path(&path, k);
                pair(p, a.get(k), b.get(k), out);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let p = format!("{path}[{i}]");
                pair(p, a.get(i), b.get(i), out);
            }
        }
        (x, y) if x == y => {}
        (x, y) => out.push(Change {
            path,
            change: "changed",
            before: Some(x.clone()),
            after: Some(y.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_keys_and_indexes() {
        let a = json!({"apps": {"x": {"budgets": [{"limit_usd": 5, "name": "d"}]}}, "capture_content": true});
        let b = json!({"apps": {"x": {"budgets": [{"limit_usd": 7, "name": "d"}, {"name": "m"}]}},
                       "prices": {"openai/gpt-4o": {"input": 1}}, "teams": {"a.b": {}}});
        let d: Vec<Value> = diff(&a, &b).iter().map(Change::to_json).collect();
        assert_eq!(
            d,
            vec![
                json!({"path": "apps.x.budgets[0].limit_usd", "change": "changed", "before": 5, "after": 7}),
                json!({"path": "apps.x.budgets[1]", "change": "added", "after": {"name": "m"}}),
                json!({"path": "capture_content", "change": "removed", "before": true}),
                json!({"path": "prices", "change": "added", "after": {"openai/gpt-4o": {"input": 1}}}),
                json!({"path": "teams", "change": "added", "after": {"a.b": {}}}),
            ]
        );
        let d = diff(&json!({"teams": {"a.b": 1}}), &json!({"teams": {"a.b": 2}}));
        assert_eq!(d[0].path, "teams[\"a.b\"]");
        assert!(diff(&a, &a).is_empty());
        assert_eq!(diff(&json!({}), &json!([]))[0].path, "");
    }
}
