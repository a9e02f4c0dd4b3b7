//! A config document as a tree that remembers where each value was written, built from YAML
//! text (with line and column) or from a JSON value (a Python dict, a JS object; no positions).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Where a value was written (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A value of the config document.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string (still holding any `${ENV}` references).
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(String, Node)>),
}

/// A value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it was written; `None` for documents built from JSON.
    pub pos: Option<Pos>,
}

impl Node {
    fn new(value: Value, pos: Option<Pos>) -> Node {
        Node { value, pos }
    }

    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Builds a tree from a JSON value (no positions).
    pub fn from_json(v: &serde_json::Value) -> Node {
        let value = match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(a) => Value::Seq(a.iter().map(Node::from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (k.clone(), Node::from_json(v))).collect())
            }
        };
        Node::new(value, None)
    }

    /// The tree as canonical JSON (keys sorted), used for the config hash.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
            Value::Str(s) => s.as_str().into(),
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// What it expected.
    pub message: String,
}

/// Parses YAML text into a tree. An empty document is an empty mapping.
pub fn parse_yaml(text: &str) -> Result<Node, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| SyntaxError {
        pos: pos_of(e.marker()),
        message: e.info().to_owned(),
    })?;
    if let Some(message) = builder.error {
        return Err(SyntaxError {
            pos: builder.error_pos,
            message,
        });
    }
    Ok(builder
        .root
        .unwrap_or_else(|| Node::new(Value::Map(Vec::new()), Some(Pos { line: 1, column: 1 }))))
}

fn pos_of(m: &Marker) -> Pos {
    Pos {
        line: m.line(),
        column: m.col() + 1,
    }
}

/// Turns parser events into a [`Node`] tree (anchors and aliases included).
#[derive(Default)]
struct Builder {
    /// Open collections: the node being filled and, for mappings, a key waiting for its value.
    stack: Vec<(Node, Option<String>)>,
    anchors: HashMap<usize, Node>,
    /// Anchor ids of the open collections, parallel to `stack`.
    open_anchors: Vec<usize>,
    root: Option<Node>,
    error: Option<String>,
    error_pos: Pos,
}

impl Builder {
    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some((parent, pending_key)) = self.stack.last_mut() else {
            self.root = Some(node);
            return;
        };
        match &mut parent.value {
            Value::Seq(items) => items.push(node),
            Value::Map(entries) => match pending_key.take() {
                Some(key) => {
                    if entries.iter().any(|(k, _)| *k == key) && self.error.is_none() {
                        self.error = Some(format!("duplicate key `{key}`"));
                        self.error_pos = node.pos.unwrap_or_default();
                    }
                    entries.push((key, node));
                }
                None => match node.value {
                    Value::Str(s) => *pending_key = Some(s),
                    Value::Int(i) => *pending_key = Some(i.to_string()),
                    Value::Bool(b) => *pending_key = Some(b.to_string()),
                    Value::Null => *pending_key = Some("null".to_owned()),
                    _ => {
                        if self.error.is_none() {
                            self.error = Some("mapping keys must be plain scalars".to_owned());
                            self.error_pos = node.pos.unwrap_or_default();
                        }
                        *pending_key = Some(String::new());
                    }
                },
            },
            _ => {}
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Some(pos_of(&mark));
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let value = if style == TScalarStyle::Plain {
                    plain_scalar(text)
                } else {
                    Value::Str(text)
                };
                self.push_value(Node::new(value, pos), anchor);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push((Node::new(Value::Seq(Vec::new()), pos), None));
                self.open_anchors.push(anchor);
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push((Node::new(Value::Map(Vec::new()), pos), None));
                self.open_anchors.push(anchor);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let (Some((node, _)), Some(anchor)) = (self.stack.pop(), self.open_anchors.pop()) {
                    self.push_value(node, anchor);
                }
            }
            Event::Alias(id) => {
                let node = match self.anchors.get(&id) {
                    Some(n) => n.clone(),
                    None => Node::new(Value::Null, pos),
                };
                self.push_value(node, 0);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// YAML 1.2 core-schema resolution of an unquoted scalar.
fn plain_scalar(text: String) -> Value {
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::Int(i);
    }
    let looks_numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if looks_numeric
        && text.bytes().any(|b| b.is_ascii_digit())
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_types_and_aliases() {
        let doc = "app: a\nn: 12\nf: 1.5\nb: true\nq: '12'\nlist:\n  - &x {k: v}\n  - *x\nnothing:\n";
        let root = parse_yaml(doc).unwrap();
        let Value::Map(entries) = &root.value else {
            panic!()
        };
        let get = |k: &str| entries.iter().find(|(key, _)| key == k).unwrap().1.clone();
        assert_eq!(get("n").value, Value::Int(12));
        assert_eq!(get("f").value, Value::Float(1.5));
        assert_eq!(get("b").value, Value::Bool(true));
        assert_eq!(get("q").value, Value::Str("12".into()));
        assert_eq!(get("nothing").value, Value::Null);
        assert_eq!(get("n").pos, Some(Pos { line: 2, column: 4 }));
        let Value::Seq(items) = get("list").value else {
            panic!()
        };
        assert_eq!(items[0].value, items[1].value);
        assert_eq!(items[0].pos.unwrap().line, 7);
    }

    #[test]
    fn syntax_and_duplicate_key_errors_have_positions() {
        let e = parse_yaml("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.pos.line >= 1, "{e:?}");
        let e = parse_yaml("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.message, "duplicate key `a`");
        assert_eq!(e.pos.line, 3);
    }

    #[test]
    fn empty_document_is_an_empty_mapping() {
        assert_eq!(parse_yaml("").unwrap().value, Value::Map(vec![]));
        assert_eq!(
            parse_yaml("# only a comment\n").unwrap().value,
            Value::Map(vec![])
        );
    }
}
