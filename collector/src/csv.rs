//! CSV (RFC 4180) of flat JSON rows, for report and event exports. Cells that a spreadsheet
//! would run as a formula (`=`, `+`, `-`, `@` first) are prefixed with `'`: exported names are
//! user data.

use serde_json::{Map, Value};

fn cell(v: Option<&Value>) -> String {
    let text = match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(";"),
        Some(other) => other.to_string(),
    };
    let text = match text.as_bytes().first() {
        Some(b'=' | b'+' | b'@' | b'\t' | b'\r') => format!("'{text}"),
        Some(b'-') if text.parse::<f64>().is_err() => format!("'{text}"),
        _ => text,
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// `columns` as the header, then one line per row.
pub fn write(columns: &[String], rows: &[&Map<String, Value>]) -> String {
    let mut out = columns
        .iter()
        .map(|c| cell(Some(&Value::String(c.clone()))))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(
            &columns
                .iter()
                .map(|c| cell(r.get(c)))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_escapes_and_defuses_formulas() {
        let row = serde_json::json!({"a": "x,\"y\"", "b": "=HYPERLINK(1)", "c": -1.5, "d": {"E": 2}})
            .as_object()
            .cloned()
            .unwrap();
        let cols: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            write(&cols, &[&row]),
            "a,b,c,d,e\r\n\"x,\"\"y\"\"\",'=HYPERLINK(1),-1.5,E=2,\r\n"
        );
    }
}
