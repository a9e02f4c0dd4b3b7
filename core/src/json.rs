//! Non-finite numbers in JSON text. JSON cannot carry NaN or ±Infinity, but host languages
//! can; bindings that serialize requests and configs to text (Node, Kotlin) write such a number
//! as the bare token `NaN`, `Infinity` or `-Infinity`, and the core's parse error then names
//! the field instead of a column.

/// How a non-finite number is shown in messages: `NaN`, `Infinity` or `-Infinity`.
pub fn non_finite_name(value: f64) -> &'static str {
    if value.is_nan() {
        "NaN"
    } else if value > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// The non-finite number a JSON syntax error in `json` stopped on, if that is what it stopped on.
pub(crate) fn non_finite_in(json: &str, error: &serde_json::Error) -> Option<f64> {
    if !error.is_syntax() {
        return None;
    }
    let start_of_line: usize = json
        .split_inclusive('\n')
        .take(error.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let at = (start_of_line + error.column()).saturating_sub(1).min(json.len());
    let from = json[..at].rfind([':', ',', '[']).map_or(0, |i| i + 1);
    let token = json[from..].trim_start();
    [
        ("NaN", f64::NAN),
        ("Infinity", f64::INFINITY),
        ("-Infinity", f64::NEG_INFINITY),
    ]
    .into_iter()
    .find(|(t, _)| token.starts_with(t))
    .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use crate::{ChatRequest, Config, ErrorKind};

    #[test]
    fn bare_tokens_name_their_field_in_requests_and_configs() {
        let e = ChatRequest::from_json(r#"{"model":"m","messages":[],"top_p":-Infinity}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(
            e.message()
                .contains("`top_p` must be a finite number, got -Infinity"),
            "{e}"
        );
        let e = Config::from_json_str(
            r#"{"prices": {"openai/gpt-4o": {"input": 1.0, "output": NaN}}}"#,
            &|_| None,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(
            e.message()
                .contains("prices.openai/gpt-4o.output: must be a finite number, got NaN"),
            "{e}"
        );
        let e = Config::from_json_str(r#"{"models": nope}"#, &|_| None).unwrap_err();
        assert!(e.message().contains("not valid JSON"), "{e}");
    }
}
