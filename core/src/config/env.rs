//! `${ENV}` interpolation in config strings: `${NAME}`, `${NAME:-default}`, and `$$` for a
//! literal `$`. Errors name the variable, never its value.

/// Why a string could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    /// `${NAME}` where NAME is not set.
    Missing(String),
    /// A malformed reference.
    Syntax(String),
}

/// Reads an environment variable (injectable for tests).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// True when `text` refers to at least one variable.
pub fn has_reference(text: &str) -> bool {
    text.contains("${")
}

/// Replaces every reference in `text` with its value.
pub fn interpolate(text: &str, env: EnvLookup<'_>) -> Result<String, InterpolationError> {
    if !text.contains('$') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(body_and_rest) = after.strip_prefix('{') {
            let end = body_and_rest
                .find('}')
                .ok_or_else(|| InterpolationError::Syntax("`${` without a closing `}`".to_owned()))?;
            let body = &body_and_rest[..end];
            let (name, default) = match body.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (body, None),
            };
            if !is_var_name(name) {
                return Err(InterpolationError::Syntax(format!(
                    "`${{{name}}}` is not a valid variable name (letters, digits and _)"
                )));
            }
            match (env(name), default) {
                (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Err(InterpolationError::Missing(name.to_owned())),
            }
            rest = &body_and_rest[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn is_var_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("sk-123".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn references_defaults_and_escapes() {
        assert_eq!(interpolate("${KEY}", &env).unwrap(), "sk-123");
        assert_eq!(
            interpolate("a-${KEY}-b $$5 $x", &env).unwrap(),
            "a-sk-123-b $5 $x"
        );
        assert_eq!(interpolate("${NOPE:-dflt}", &env).unwrap(), "dflt");
        assert_eq!(interpolate("${EMPTY:-dflt}", &env).unwrap(), "dflt");
        assert_eq!(interpolate("${EMPTY}", &env).unwrap(), "");
    }

    #[test]
    fn errors_name_the_variable() {
        assert_eq!(
            interpolate("${NOPE}", &env),
            Err(InterpolationError::Missing("NOPE".into()))
        );
        assert!(matches!(
            interpolate("${KEY", &env),
            Err(InterpolationError::Syntax(_))
        ));
        assert!(matches!(
            interpolate("${1X}", &env),
            Err(InterpolationError::Syntax(_))
        ));
    }
}
