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

/// What replaces request text found in a provider's message.
pub const REQUEST_TEXT_MARK: &str = "[request text]";

/// Shortest run of request text (in bytes) that is removed from a provider message when it
/// appears there unquoted; quoted values are removed from four bytes on.
const MIN_ECHO_LEN: usize = 10;

/// Removes from a provider's error `message` every piece of the request's own text (`texts`:
/// the prompt, tool results, inputs) that the provider echoed back, such as
/// `Invalid value: 'My SSN is 078-05-1120 …'`. Returns `None` when nothing was echoed.
///
/// Two rules: a quoted value (`'…'`, `"…"`, `` `…` ``, `‘…’`, `“…”`) whose text — minus a
/// trailing ellipsis, since providers cut long values — occurs in the request goes whole;
/// and any run of whole words of at least ten bytes that occurs verbatim in the request goes
/// too. Over-removal only costs words of the provider's message; under-removal would leak the
/// prompt into logs, so the rules lean to removing.
pub fn without_request_text(message: &str, texts: &[&str]) -> Option<String> {
    let texts: Vec<&str> = texts.iter().copied().filter(|t| t.len() >= 4).collect();
    if texts.is_empty() || message.is_empty() {
        return None;
    }
    let in_request = |piece: &str| {
        texts
            .iter()
            .any(|t| memchr::memmem::find(t.as_bytes(), piece.as_bytes()).is_some())
    };
    let mut spans: Vec<(usize, usize)> = Vec::new();
    // Quoted values.
    for (open, close) in [('\'', '\''), ('"', '"'), ('`', '`'), ('‘', '’'), ('“', '”')] {
        let mut from = 0;
        while let Some(i) = message[from..].find(open) {
            let start = from + i + open.len_utf8();
            let Some(j) = message[start..].find(close) else {
                break;
            };
            let end = start + j;
            let value = message[start..end]
                .trim_end_matches('…')
                .trim_end_matches("...")
                .trim();
            if value.len() >= 4 && in_request(value) {
                spans.push((start, end));
            }
            from = end + close.len_utf8();
        }
    }
    // Unquoted runs of whole words.
    let words: Vec<(usize, usize)> = word_spans(message);
    let mut i = 0;
    while i < words.len() {
        let mut best = None;
        for j in i..words.len() {
            let piece = &message[words[i].0..words[j].1];
            if !in_request(piece) {
                break;
            }
            best = Some(j);
        }
        match best {
            Some(j) if words[j].1 - words[i].0 >= MIN_ECHO_LEN => {
                spans.push((words[i].0, words[j].1));
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut out = String::with_capacity(message.len());
    let mut at = 0;
    for (start, end) in merged {
        out.push_str(&message[at..start]);
        out.push_str(REQUEST_TEXT_MARK);
        at = end;
    }
    out.push_str(&message[at..]);
    Some(out)
}

/// Byte ranges of the whitespace-separated words of `text`, without surrounding punctuation.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, ch) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (ch.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                let word = &text[s..i];
                let lead = word.len() - word.trim_start_matches(|c: char| c.is_ascii_punctuation()).len();
                let trimmed = word.trim_matches(|c: char| c.is_ascii_punctuation());
                if !trimmed.is_empty() {
                    spans.push((s + lead, s + lead + trimmed.len()));
                }
                start = None;
            }
            _ => {}
        }
    }
    spans
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

    #[test]
    fn echoed_request_text_is_removed() {
        let prompt = "My SSN is 078-05-1120 and I need help with my taxes";
        let m = without_request_text(
            "Invalid value: 'My SSN is 078-05-1120 and I need…'. Supported values are: 'low'.",
            &[prompt],
        )
        .unwrap();
        assert_eq!(m, "Invalid value: '[request text]'. Supported values are: 'low'.");
        let m = without_request_text("The input My SSN is 078-05-1120 was rejected", &[prompt]).unwrap();
        assert!(!m.contains("078-05-1120") && !m.contains("My SSN"), "{m}");
        assert!(m.starts_with("The input") && m.ends_with("was rejected"), "{m}");
        // Nothing echoed, or only short common words: the message stays.
        assert_eq!(
            without_request_text("Rate limit reached for gpt-4o", &[prompt]),
            None
        );
        assert_eq!(without_request_text("I need a break", &[prompt]), None);
        assert_eq!(without_request_text("anything", &[]), None);
    }
}
