//! Keeping secrets and prompt text out of errors, logs and `Debug` output.

use std::fmt;
use std::sync::Arc;

/// A credential. `Debug` and `Display` print `***`; only [`Secret::expose`] reveals the value,
/// and only the provider adapters call it, to build a request header.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<Arc<str>>) -> Secret {
        Secret(value.into())
    }

    /// The credential itself. Never log or format the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for an empty credential (the provider needs none, e.g. a local Ollama).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Longest provider message kept in an error (in bytes).
const MAX_MESSAGE_LEN: usize = 400;

/// Prefixes of credential formats we recognise in free text.
const KEY_PREFIXES: [&str; 7] = ["sk-", "sk_", "gsk_", "AKIA", "AIza", "Bearer ", "key="];

/// Makes a provider's error message safe to keep: removes `secrets` (exact values) and anything
/// shaped like a known credential, and cuts the result to a bounded length.
pub fn scrub(message: &str, secrets: &[&str]) -> String {
    let mut out = message.to_owned();
    for s in secrets {
        if s.len() >= 4 && out.contains(s) {
            out = out.replace(s, "***");
        }
    }
    let out = mask_key_shapes(&out);
    truncate(out, MAX_MESSAGE_LEN)
}

fn mask_key_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for p in KEY_PREFIXES {
            if let Some(after) = rest.strip_prefix(p) {
                let run = after
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                    .count();
                // A sentence's full stop is not part of the key.
                let n = after[..run].trim_end_matches('.').len();
                if n >= 8 {
                    out.push_str(p);
                    out.push_str("***");
                    rest = &after[n..];
                    continue 'outer;
                }
            }
        }
        let ch = rest.chars().next().unwrap_or_default();
        out.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    out
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Removes quoted values from a serde error message (`invalid type: string "…", expected …`),
/// which could otherwise carry prompt text into an error.
pub(crate) fn scrub_serde_message(message: &str) -> String {
    const MARK: &str = "string \"";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(MARK) {
        out.push_str(&rest[..i + "string".len()]);
        let after = &rest[i + MARK.len()..];
        // serde ends the quoted value with `", ` or `"` at the end of the message.
        match after.find("\", ").or_else(|| after.rfind('"')) {
            Some(end) => rest = &after[end + 1..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    truncate(out, MAX_MESSAGE_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("sk-live-123456789");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
        assert_eq!(s.expose(), "sk-live-123456789");
    }

    #[test]
    fn scrub_removes_known_and_shaped_keys() {
        let m = scrub(
            "Incorrect API key provided: sk-proj-abcdefgh12345. Also mysecretvalue and Bearer eyJhbGciOi.x",
            &["mysecretvalue"],
        );
        assert_eq!(m, "Incorrect API key provided: sk-***. Also *** and Bearer ***");
        assert_eq!(scrub("short sk-ab ok", &[]), "short sk-ab ok");
        let long = "é".repeat(400);
        assert!(scrub(&long, &[]).len() <= MAX_MESSAGE_LEN + '…'.len_utf8());
    }

    #[test]
    fn serde_messages_lose_quoted_values() {
        assert_eq!(
            scrub_serde_message(r#"invalid type: string "tell me a secret", expected a sequence"#),
            "invalid type: string, expected a sequence"
        );
        assert_eq!(
            scrub_serde_message("unknown field `max_token`"),
            "unknown field `max_token`"
        );
    }
}
