//! Real provider traffic recorded in `provider-specs/recorded/`: status, headers and body of
//! `NAME.response.meta.json` + `NAME.response.{json,sse,eventstream}`.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// A recorded answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// HTTP status.
    pub status: u16,
    /// Headers to send (hop-by-hop and length headers removed; lists flattened).
    pub headers: Vec<(String, String)>,
    /// The body bytes (SSE and eventstream byte-exact; JSON as stored).
    pub body: Vec<u8>,
}

/// The default recordings folder (vendored beside this crate).
pub fn default_dir() -> PathBuf {
    match std::env::var_os("MODELPLUG_RECORDINGS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../provider-specs/recorded"),
    }
}

/// Headers a replay must not copy: the server sets its own framing.
const SKIP_HEADERS: [&str; 7] = [
    "connection",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "keep-alive",
    "set-cookie",
    "date",
];

/// Loads recording `name` (e.g. `openai/chat_stream_text_include_usage`) from `dir`.
pub fn load(dir: &Path, name: &str) -> Result<Recording, String> {
    if name.contains("..") {
        return Err(format!("bad recording name `{name}`"));
    }
    let base = dir.join(name);
    let meta_path = with_suffix(&base, ".response.meta.json");
    let meta: Value = std::fs::read(&meta_path)
        .map_err(|e| format!("recording `{name}`: {}: {e}", meta_path.display()))
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("recording `{name}`: bad meta: {e}")))?;
    let status = meta.get("status").and_then(Value::as_u64).unwrap_or(200) as u16;
    let mut headers = Vec::new();
    if let Some(Value::Object(h)) = meta.get("headers") {
        for (k, v) in h {
            let key = k.to_ascii_lowercase();
            if SKIP_HEADERS.contains(&key.as_str()) {
                continue;
            }
            match v {
                Value::String(s) => headers.push((key, s.clone())),
                Value::Array(items) => headers.extend(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|s| (key.clone(), s.to_owned())),
                ),
                other => headers.push((key, other.to_string())),
            }
        }
    }
    for (ext, content_type) in [
        (".response.sse", "text/event-stream"),
        (".response.eventstream", "application/vnd.amazon.eventstream"),
        (".response.json", "application/json"),
    ] {
        let path = with_suffix(&base, ext);
        if let Ok(body) = std::fs::read(&path) {
            if !headers.iter().any(|(k, _)| k == "content-type") {
                headers.push(("content-type".to_owned(), content_type.to_owned()));
            }
            return Ok(Recording {
                status,
                headers,
                body,
            });
        }
    }
    Err(format!("recording `{name}` has no response body file"))
}

fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Every recording name under `dir/<provider>/` (without suffixes), sorted.
pub fn list(dir: &Path, provider: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(provider))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let f = e.file_name().to_string_lossy().into_owned();
            f.strip_suffix(".response.meta.json")
                .map(|n| format!("{provider}/{n}"))
        })
        .collect();
    names.sort();
    names
}

/// The recording under `dir/<provider>/` whose recorded request body equals `body` (after
/// leaving out fields that only restate a default: `"stream": false` and `"is_error": false`
/// on tool results), e.g. `anthropic/messages_nonstream_system`. Lets a test in any language
/// send a request and get the answer recorded for that very request.
pub fn find_by_request(dir: &Path, provider: &str, body: &Value) -> Option<String> {
    let want = normalised_request(body);
    list(dir, provider).into_iter().find(|name| {
        std::fs::read(with_suffix(&dir.join(name), ".request.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|r| r.get("body").map(normalised_request))
            .is_some_and(|recorded| recorded == want)
    })
}

fn normalised_request(body: &Value) -> Value {
    match body {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, v)| !(matches!(k.as_str(), "stream" | "is_error") && **v == Value::Bool(false)))
                .map(|(k, v)| (k.clone(), normalised_request(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalised_request).collect()),
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0 && !n.is_u64() && !n.is_i64())
            .map_or_else(|| Value::Number(n.clone()), |f| Value::from(f as i64)),
        other => other.clone(),
    }
}
