//! What callers send: [`ChatRequest`] and [`EmbedRequest`], in the OpenAI shape everyone knows.
//!
//! The serde representation *is* the public JSON/dict form used by every binding and by the
//! shared test vectors: `{"model": "smart", "messages": [{"role": "user", "content": "hi"}]}`.

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A chat completion request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// A model alias from the config, or `provider/model` directly (e.g. `openai/gpt-4o`).
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Functions the model may call.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tools: Vec<Tool>,
    /// Whether and which tool the model must call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may call several tools in one turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Plain text, any JSON object, or JSON matching a schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Sampling temperature (0–2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass (0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Upper bound on generated tokens (also accepted as `max_completion_tokens`).
    #[serde(
        default,
        alias = "max_completion_tokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_tokens: Option<u32>,
    /// Sequences that end generation (a string or a list).
    #[serde(
        default,
        deserialize_with = "string_or_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub stop: Vec<String>,
    /// Seed for best-effort deterministic sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Penalty for tokens already present (-2–2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Penalty proportional to token frequency (-2–2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Reasoning effort for reasoning models (`minimal`, `low`, `medium`, `high`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Who is calling, for usage attribution (never sent to the provider).
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    /// Provider-specific parameters, merged into the provider's request body as given.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
    /// Deadline for the whole call, across retries and fallbacks, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Keep the provider's raw JSON answer in [`crate::ChatResponse::raw`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_raw: bool,
}

impl ChatRequest {
    /// A request for `model` with one user message.
    pub fn new(model: impl Into<String>, user_text: impl Into<String>) -> ChatRequest {
        ChatRequest {
            model: model.into(),
            messages: vec![Message::user(user_text)],
            ..ChatRequest::default()
        }
    }

    /// Parses the public JSON form; errors are [`crate::ErrorKind::InvalidRequest`] naming the field.
    pub fn from_json(json: &str) -> crate::Result<ChatRequest> {
        from_json_with_path(json)
    }

    /// Converts a JSON value (a Python dict, a JS object) into a request.
    pub fn from_value(value: Value) -> crate::Result<ChatRequest> {
        from_value_with_path(value)
    }
}

/// Who sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// Instructions for the model (OpenAI's newer name for `system`).
    Developer,
    /// The end user.
    #[default]
    User,
    /// The model.
    Assistant,
    /// A tool's result.
    Tool,
}

impl Role {
    /// The lowercase wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One message of the conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Who sent it.
    pub role: Role,
    /// Text, or a list of text and image parts. `null` is allowed for assistant tool calls.
    #[serde(default)]
    pub content: Content,
    /// Optional participant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls the assistant made (assistant messages only).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tool_calls: Vec<ToolCall>,
    /// Which tool call this message answers (tool messages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The provider's opaque reasoning blocks of a previous answer (assistant messages only):
    /// give back [`crate::AssistantMessage::reasoning_blocks`] unchanged, so that a provider
    /// which needs them (Anthropic with extended thinking and tool use) can continue.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub reasoning_blocks: Vec<ReasoningBlock>,
    /// A prompt-cache breakpoint after this message: the provider may cache the prompt up to
    /// and including it (Anthropic `cache_control`; providers that cache on their own, such as
    /// OpenAI, ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// An answer's readable reasoning ([`crate::AssistantMessage::reasoning`]), accepted so
    /// that an answer's message can go back into the conversation as it is. Not sent to any
    /// provider: the ones that need reasoning back take it through `reasoning_blocks` and
    /// tool-call signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// An answer's refusal text ([`crate::AssistantMessage::refusal`]), accepted for the same
    /// reason; not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

/// An opaque reasoning block a provider needs back unchanged on the next turn (Anthropic
/// `thinking` and `redacted_thinking` blocks). Take them from
/// [`crate::AssistantMessage::reasoning_blocks`] and put them, as they are, into the
/// assistant message of the next request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReasoningBlock {
    /// Reasoning text with the provider's signature over it (Anthropic `thinking`).
    Thinking {
        /// The reasoning text, as the provider sent it.
        text: String,
        /// The provider's opaque signature of `text`; send it back unchanged.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// Reasoning the provider encrypted (Anthropic `redacted_thinking`): only the provider can
    /// read `data`; send it back unchanged.
    Redacted {
        /// The encrypted reasoning.
        data: String,
    },
}

/// A prompt-cache breakpoint (the shape Anthropic and LiteLLM use:
/// `{"type": "ephemeral", "ttl": "1h"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheControl {
    /// The only kind: `ephemeral`.
    #[serde(rename = "type", default)]
    pub kind: CacheKind,
    /// How long the cache entry lives: `5m` (the provider's default) or `1h`.
    #[serde(
        default,
        deserialize_with = "cache_ttl",
        skip_serializing_if = "Option::is_none"
    )]
    pub ttl: Option<String>,
}

impl CacheControl {
    /// An `ephemeral` breakpoint with the provider's default lifetime (5 minutes).
    pub fn ephemeral() -> CacheControl {
        CacheControl::default()
    }

    /// An `ephemeral` breakpoint living `ttl` (`5m` or `1h`).
    pub fn with_ttl(ttl: impl Into<String>) -> CacheControl {
        CacheControl {
            kind: CacheKind::Ephemeral,
            ttl: Some(ttl.into()),
        }
    }

    /// The lifetimes a breakpoint may ask for.
    pub const TTLS: [&'static str; 2] = ["5m", "1h"];

    /// Checks `ttl` (INVALID_REQUEST naming `field`, e.g. `messages[2].cache_control.ttl`).
    pub fn validate(&self, field: &str) -> crate::error::Result<()> {
        match self.ttl.as_deref() {
            None => Ok(()),
            Some(t) if Self::TTLS.contains(&t) => Ok(()),
            Some(_) => Err(crate::error::Error::invalid_request(format!(
                "invalid request: `{field}.ttl` must be `5m` or `1h`"
            ))),
        }
    }
}

fn cache_ttl<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let ttl = Option::<String>::deserialize(d)?;
    match ttl.as_deref() {
        Some(t) if !CacheControl::TTLS.contains(&t) => {
            Err(de::Error::custom("a cache lifetime must be `5m` or `1h`"))
        }
        _ => Ok(ttl),
    }
}

/// The kind of a [`CacheControl`] breakpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheKind {
    /// A short-lived cache entry (the only kind providers offer).
    #[default]
    Ephemeral,
}

impl Message {
    /// A system message.
    pub fn system(text: impl Into<String>) -> Message {
        Message::text(Role::System, text)
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Message {
        Message::text(Role::User, text)
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Message {
        Message::text(Role::Assistant, text)
    }

    /// A tool result answering `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, text: impl Into<String>) -> Message {
        Message {
            tool_call_id: Some(tool_call_id.into()),
            ..Message::text(Role::Tool, text)
        }
    }

    /// A message of `role` with plain text content.
    pub fn text(role: Role, text: impl Into<String>) -> Message {
        Message {
            role,
            content: Content::Text(text.into()),
            ..Message::default()
        }
    }
}

/// Message content: plain text or a list of parts.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Plain text (empty for an assistant message that only calls tools).
    Text(String),
    /// Text and image parts, in order.
    Parts(Vec<ContentPart>),
}

impl Default for Content {
    fn default() -> Content {
        Content::Text(String::new())
    }
}

impl Content {
    /// True for empty text or no parts.
    pub fn is_empty(&self) -> bool {
        match self {
            Content::Text(t) => t.is_empty(),
            Content::Parts(p) => p.is_empty(),
        }
    }

    /// The text parts joined together (images are skipped).
    pub fn joined_text(&self) -> String {
        match self {
            Content::Text(t) => t.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Text { text } => Some(text.as_str()),
                    ContentPart::Image(_) => None,
                })
                .collect(),
        }
    }
}

impl Serialize for Content {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Content::Text(t) => s.serialize_str(t),
            Content::Parts(p) => p.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Content, D::Error> {
        let v = Value::deserialize(d)?;
        match v {
            Value::Null => Ok(Content::default()),
            Value::String(s) => Ok(Content::Text(s)),
            Value::Array(_) => serde_json::from_value(v)
                .map(Content::Parts)
                .map_err(de::Error::custom),
            other => Err(de::Error::custom(format!(
                "content: expected a string, a list of parts or null, got {}",
                json_type_name(&other)
            ))),
        }
    }
}

/// One part of a multi-part message.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentPart {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, by URL (https or `data:`) or as base64 bytes.
    Image(Image),
}

/// An image input.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Where the bytes come from.
    pub source: ImageSource,
    /// OpenAI's `detail` hint (`low`, `high`, `auto`).
    pub detail: Option<String>,
}

/// Where an image's bytes come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    /// An https URL or a `data:<media type>;base64,<data>` URL.
    Url(String),
    /// Base64-encoded bytes with their media type.
    Base64 {
        /// e.g. `image/png`.
        media_type: String,
        /// The base64 text (no `data:` prefix).
        data: String,
    },
}

impl ImageSource {
    /// The source as one URL (`data:` URL for base64), as OpenAI-style APIs want it.
    pub fn to_url(&self) -> std::borrow::Cow<'_, str> {
        match self {
            ImageSource::Url(u) => std::borrow::Cow::Borrowed(u),
            ImageSource::Base64 { media_type, data } => {
                std::borrow::Cow::Owned(format!("data:{media_type};base64,{data}"))
            }
        }
    }
}

impl Serialize for ContentPart {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        match self {
            ContentPart::Text { text } => {
                m.serialize_entry("type", "text")?;
                m.serialize_entry("text", text)?;
            }
            ContentPart::Image(img) => {
                #[derive(Serialize)]
                struct ImageUrl<'a> {
                    url: &'a str,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    detail: Option<&'a str>,
                }
                m.serialize_entry("type", "image_url")?;
                m.serialize_entry(
                    "image_url",
                    &ImageUrl {
                        url: &img.source.to_url(),
                        detail: img.detail.as_deref(),
                    },
                )?;
            }
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ContentPart, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ImageUrl {
            url: String,
            #[serde(default)]
            detail: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
        enum Wire {
            Text {
                text: String,
            },
            ImageUrl {
                image_url: ImageUrl,
            },
            /// modelplug's own form: `{"type":"image","url":…}` or `{"type":"image","media_type","data"}`.
            Image {
                #[serde(default)]
                url: Option<String>,
                #[serde(default)]
                media_type: Option<String>,
                #[serde(default)]
                data: Option<String>,
                #[serde(default)]
                detail: Option<String>,
            },
        }
        Ok(match Wire::deserialize(d)? {
            Wire::Text { text } => ContentPart::Text { text },
            Wire::ImageUrl { image_url } => ContentPart::Image(Image {
                source: ImageSource::Url(image_url.url),
                detail: image_url.detail,
            }),
            Wire::Image {
                url,
                media_type,
                data,
                detail,
            } => {
                let source = match (url, media_type, data) {
                    (Some(url), None, None) => ImageSource::Url(url),
                    (None, Some(media_type), Some(data)) => ImageSource::Base64 { media_type, data },
                    _ => {
                        return Err(de::Error::custom(
                            "image part: give either `url`, or `media_type` and `data`",
                        ));
                    }
                };
                ContentPart::Image(Image { source, detail })
            }
        })
    }
}

/// A function the model may call (OpenAI shape: `{"type":"function","function":{…}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// Always `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: FunctionType,
    /// The function's name, description and JSON Schema.
    pub function: FunctionDef,
    /// A prompt-cache breakpoint after this tool's definition (Anthropic `cache_control`;
    /// ignored by providers that cache on their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
}

impl Tool {
    /// A function tool.
    pub fn function(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Tool {
        Tool {
            kind: FunctionType::Function,
            function: FunctionDef {
                name: name.into(),
                description: Some(description.into()),
                parameters: Some(parameters),
                strict: None,
            },
            cache_control: None,
        }
    }
}

/// The only tool type: `function`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FunctionType {
    /// A function call.
    #[default]
    Function,
}

fn function_type() -> FunctionType {
    FunctionType::Function
}

/// A function's declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionDef {
    /// The name the model calls it by.
    pub name: String,
    /// What it does (the model reads this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Ask the provider to enforce the schema exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// A tool call made by the model (OpenAI shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call id, echoed back in the tool result message.
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: FunctionType,
    /// Which function, with which arguments.
    pub function: FunctionCall,
    /// The provider's opaque signature of the reasoning behind this call (Gemini
    /// `thoughtSignature`): send it back unchanged in the next request. Anthropic ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl ToolCall {
    /// A function call.
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: impl Into<String>) -> ToolCall {
        ToolCall {
            id: id.into(),
            kind: FunctionType::Function,
            function: FunctionCall {
                name: name.into(),
                arguments: arguments.into(),
            },
            signature: None,
        }
    }
}

/// The function and arguments of a tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The function's name.
    pub name: String,
    /// The arguments as a JSON text (as the model wrote them).
    #[serde(default)]
    pub arguments: String,
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This function must be called.
    Function(String),
}

impl Serialize for ToolChoice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ToolChoice::Auto => s.serialize_str("auto"),
            ToolChoice::None => s.serialize_str("none"),
            ToolChoice::Required => s.serialize_str("required"),
            ToolChoice::Function(name) => {
                serde_json::json!({"type": "function", "function": {"name": name}}).serialize(s)
            }
        }
    }
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ToolChoice, D::Error> {
        let v = Value::deserialize(d)?;
        match &v {
            Value::String(s) => match s.as_str() {
                "auto" => Ok(ToolChoice::Auto),
                "none" => Ok(ToolChoice::None),
                "required" | "any" => Ok(ToolChoice::Required),
                other => Err(de::Error::custom(format!(
                    "tool_choice: unknown value `{other}` (expected auto, none, required or {{\"type\":\"function\",\"function\":{{\"name\":…}}}})"
                ))),
            },
            Value::Object(o) => o
                .get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| o.get("name"))
                .and_then(Value::as_str)
                .map(|n| ToolChoice::Function(n.to_owned()))
                .ok_or_else(|| de::Error::custom("tool_choice: object form needs function.name")),
            other => Err(de::Error::custom(format!(
                "tool_choice: expected a string or an object, got {}",
                json_type_name(other)
            ))),
        }
    }
}

/// The shape the answer must take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResponseFormat {
    /// Free text (the default).
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// The schema and its name.
        json_schema: JsonSchemaFormat,
    },
}

/// A named JSON Schema for structured output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSchemaFormat {
    /// A name for the schema (letters, digits, `_`, `-`).
    pub name: String,
    /// What the schema is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Ask the provider to enforce the schema exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// Who is calling, for usage attribution. Never sent to a provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Overrides the config's `app` for this call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// Overrides the config's `team` for this call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The end user (an id, not a name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Free-form key/value attribution (a notebook's experiment, a backend's feature): at most
    /// [`Metadata::MAX_LABELS`], keys up to [`Metadata::MAX_LABEL_KEY`] bytes, values up to
    /// [`Metadata::MAX_LABEL_VALUE`].
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// The caller's W3C trace context (`00-<trace id>-<span id>-<flags>`); the bindings fill
    /// it from the host language's current span when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl Metadata {
    /// The most labels a call may carry.
    pub const MAX_LABELS: usize = 32;
    /// The longest label key, in bytes.
    pub const MAX_LABEL_KEY: usize = 64;
    /// The longest label value, in bytes.
    pub const MAX_LABEL_VALUE: usize = 256;

    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self.app.is_none()
            && self.team.is_none()
            && self.user.is_none()
            && self.tags.is_empty()
            && self.labels.is_empty()
            && self.traceparent.is_none()
    }

    /// Checks the labels' bounds and the trace context's form (INVALID_REQUEST naming the
    /// label or field, never echoing a value).
    pub fn validate(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        if self.labels.len() > Self::MAX_LABELS {
            return Err(Error::invalid_request(format!(
                "`metadata.labels`: at most {} labels, got {}",
                Self::MAX_LABELS,
                self.labels.len()
            )));
        }
        for (key, value) in &self.labels {
            let key_ok = !key.is_empty()
                && key.len() <= Self::MAX_LABEL_KEY
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b':'));
            if !key_ok {
                return Err(Error::invalid_request(format!(
                    "`metadata.labels`: a key must be 1–{} characters of letters, digits, `_ - . / :`",
                    Self::MAX_LABEL_KEY
                )));
            }
            if value.len() > Self::MAX_LABEL_VALUE {
                return Err(Error::invalid_request(format!(
                    "`metadata.labels.{key}`: at most {} bytes, got {}",
                    Self::MAX_LABEL_VALUE,
                    value.len()
                )));
            }
        }
        if let Some(tp) = &self.traceparent
            && !is_traceparent(tp)
        {
            return Err(Error::invalid_request(
                "`metadata.traceparent`: expected a W3C trace context `00-<32 hex>-<16 hex>-<2 hex>`",
            ));
        }
        Ok(())
    }
}

/// True for a W3C `traceparent` this SDK can continue: version `00`, a non-zero 32-hex-digit
/// trace id, a non-zero 16-hex-digit parent id, two hex digits of flags.
pub fn is_traceparent(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let hex = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let nonzero = |p: &str| p.bytes().any(|b| b != b'0');
    parts.len() == 4
        && parts[0] == "00"
        && hex(parts[1], 32)
        && nonzero(parts[1])
        && hex(parts[2], 16)
        && nonzero(parts[2])
        && hex(parts[3], 2)
}

/// An embeddings request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedRequest {
    /// A model alias from the config, or `provider/model`.
    pub model: String,
    /// The texts to embed (a string or a list).
    #[serde(deserialize_with = "string_or_list")]
    pub input: Vec<String>,
    /// Output dimensions, for models that can shorten their vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// Who is calling, for usage attribution.
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    /// Provider-specific parameters, merged into the request body.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
    /// Deadline for the whole call in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl EmbedRequest {
    /// An embeddings request for `model` over `input`.
    pub fn new(model: impl Into<String>, input: Vec<String>) -> EmbedRequest {
        EmbedRequest {
            model: model.into(),
            input,
            ..EmbedRequest::default()
        }
    }

    /// Parses the public JSON form.
    pub fn from_json(json: &str) -> crate::Result<EmbedRequest> {
        from_json_with_path(json)
    }

    /// Converts a JSON value into a request.
    pub fn from_value(value: Value) -> crate::Result<EmbedRequest> {
        from_value_with_path(value)
    }
}

/// `null` means the same as leaving the field out (real clients send `"tool_calls": null`).
pub(crate) fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match Option::<OneOrMany>::deserialize(d)? {
        None => Ok(Vec::new()),
        Some(OneOrMany::One(s)) => Ok(vec![s]),
        Some(OneOrMany::Many(v)) => Ok(v),
    }
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn request_error(path: &str, e: &serde_json::Error) -> crate::Error {
    let msg = crate::redact::scrub_serde_message(&e.to_string());
    if path.is_empty() || path == "." {
        crate::Error::invalid_request(format!("invalid request: {msg}"))
    } else {
        crate::Error::invalid_request(format!("invalid request: {path}: {msg}"))
    }
}

/// The INVALID_REQUEST error for a number that is NaN or infinite (no provider accepts one,
/// and JSON cannot carry it): every binding reports it with this message, naming the field.
pub fn non_finite_error(field: &str, value: f64) -> crate::Error {
    crate::Error::invalid_request(format!(
        "invalid request: `{field}` must be a finite number, got {}",
        crate::json::non_finite_name(value)
    ))
}

fn from_json_with_path<T: de::DeserializeOwned>(json: &str) -> crate::Result<T> {
    let mut de = serde_json::Deserializer::from_str(json);
    let v = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        match crate::json::non_finite_in(json, e.inner()) {
            Some(v) => non_finite_error(&path, v),
            None => request_error(&path, e.inner()),
        }
    })?;
    de.end().map_err(|e| request_error("", &e))?;
    Ok(v)
}

fn from_value_with_path<T: de::DeserializeOwned>(value: Value) -> crate::Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| request_error(&e.path().to_string(), e.inner()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_openai_shape() {
        let r = ChatRequest::from_value(json!({
            "model": "smart",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                    {"type": "image", "media_type": "image/png", "data": "iVBOR"}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "42"}
            ],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
            "stop": "END",
            "max_completion_tokens": 10
        }))
        .unwrap();
        assert_eq!(r.messages.len(), 4);
        assert_eq!(r.stop, vec!["END"]);
        assert_eq!(r.max_tokens, Some(10));
        assert_eq!(r.tool_choice, Some(ToolChoice::Function("f".into())));
        let Content::Parts(parts) = &r.messages[1].content else {
            panic!()
        };
        assert!(matches!(
            &parts[2],
            ContentPart::Image(Image {
                source: ImageSource::Base64 { .. },
                ..
            })
        ));
        assert_eq!(r.messages[2].content, Content::default());
        // The serde form round-trips.
        let again: ChatRequest = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(
            again.messages[1],
            Message {
                content: Content::Parts(vec![
                    ContentPart::Text {
                        text: "what is this?".into()
                    },
                    ContentPart::Image(Image {
                        source: ImageSource::Url("https://x/y.png".into()),
                        detail: Some("low".into())
                    }),
                    ContentPart::Image(Image {
                        source: ImageSource::Url("data:image/png;base64,iVBOR".into()),
                        detail: None
                    }),
                ]),
                ..Message::default()
            }
        );
    }

    #[test]
    fn an_answers_message_goes_back_as_it_is() {
        let answer = crate::AssistantMessage {
            role: "assistant".into(),
            content: Some("Let me check.".into()),
            tool_calls: vec![ToolCall::new("c1", "f", "{}")],
            reasoning: Some("thinking".into()),
            refusal: None,
            reasoning_blocks: vec![ReasoningBlock::Thinking {
                text: "thinking".into(),
                signature: Some("sig".into()),
            }],
        };
        let m: Message = serde_json::from_value(serde_json::to_value(&answer).unwrap()).unwrap();
        assert_eq!(m.role, Role::Assistant);
        assert_eq!(m.tool_calls, answer.tool_calls);
        assert_eq!(m.reasoning_blocks, answer.reasoning_blocks);
        assert_eq!(m.reasoning.as_deref(), Some("thinking"));
    }

    #[test]
    fn typos_are_rejected_with_the_field_name() {
        let e = ChatRequest::from_json(r#"{"model":"m","messages":[],"max_token":5}"#).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidRequest);
        assert!(e.message().contains("max_token"), "{e}");
        let e = ChatRequest::from_json(r#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#)
            .unwrap_err();
        assert!(e.message().contains("robot"), "{e}");
        let e =
            ChatRequest::from_json(r#"{"model":"m","messages":[{"role":"user","content":5}]}"#).unwrap_err();
        assert!(e.message().contains("content"), "{e}");
    }

    #[test]
    fn non_finite_numbers_name_their_field() {
        for (token, shown) in [
            ("NaN", "NaN"),
            ("Infinity", "Infinity"),
            ("-Infinity", "-Infinity"),
        ] {
            let text = format!(
                r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],"temperature":{token}}}"#
            );
            let e = ChatRequest::from_json(&text).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidRequest);
            assert!(
                e.message().contains("`temperature` must be a finite number"),
                "{e}"
            );
            assert!(e.message().contains(shown), "{e}");
        }
        let e = ChatRequest::from_json(r#"{"model":"m","messages":[],"extra":{"a":{"b":[1, NaN]}}}"#)
            .unwrap_err();
        assert!(e.message().contains("`extra.a.b[1]`"), "{e}");
        // Other syntax errors keep their own message.
        let e = ChatRequest::from_json(r#"{"model":"m","messages":[],"temperature":nope}"#).unwrap_err();
        assert!(!e.message().contains("finite"), "{e}");
    }

    #[test]
    fn reasoning_blocks_signatures_and_cache_breakpoints_round_trip() {
        let public = json!({"model": "m", "messages": [
            {"role": "system", "content": [{"type": "text", "text": "rules"}],
             "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            {"role": "user", "content": "hi", "cache_control": {"type": "ephemeral"}},
            {"role": "assistant", "content": "ok",
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"},
                             "signature": "tsig"}],
             "reasoning_blocks": [
                {"type": "thinking", "text": "let me think", "signature": "sig1"},
                {"type": "redacted", "data": "opaque"},
                {"type": "thinking", "text": "unsigned"}]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"}],
          "tools": [{"type": "function", "function": {"name": "f"}, "cache_control": {"type": "ephemeral", "ttl": "5m"}}]});
        let r = ChatRequest::from_value(public.clone()).unwrap();
        let a = &r.messages[2];
        assert_eq!(
            a.reasoning_blocks,
            [
                ReasoningBlock::Thinking {
                    text: "let me think".into(),
                    signature: Some("sig1".into())
                },
                ReasoningBlock::Redacted {
                    data: "opaque".into()
                },
                ReasoningBlock::Thinking {
                    text: "unsigned".into(),
                    signature: None
                },
            ]
        );
        assert_eq!(a.tool_calls[0].signature.as_deref(), Some("tsig"));
        assert_eq!(r.messages[0].cache_control, Some(CacheControl::with_ttl("1h")));
        assert_eq!(r.messages[1].cache_control, Some(CacheControl::ephemeral()));
        assert_eq!(r.tools[0].cache_control, Some(CacheControl::with_ttl("5m")));
        // The public form is written back exactly as given (absent fields stay absent).
        assert_eq!(serde_json::to_value(&r).unwrap(), public);
        let plain = ChatRequest::from_value(json!({"model": "m", "messages": [
            {"role": "assistant", "content": "x", "reasoning_blocks": null,
             "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]}]}))
        .unwrap();
        assert!(plain.messages[0].reasoning_blocks.is_empty());
        assert_eq!(plain.messages[0].tool_calls[0].signature, None);
        let v = serde_json::to_value(&plain).unwrap();
        assert!(v["messages"][0].get("reasoning_blocks").is_none(), "{v}");
        assert!(
            v["messages"][0]["tool_calls"][0].get("signature").is_none(),
            "{v}"
        );
    }

    #[test]
    fn bad_cache_breakpoints_and_reasoning_blocks_name_their_field() {
        let e = ChatRequest::from_value(json!({"model": "m", "messages": [
            {"role": "user", "content": "hi", "cache_control": {"type": "ephemeral", "ttl": "2h"}}]}))
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidRequest);
        assert!(e.message().contains("messages[0].cache_control.ttl"), "{e}");
        assert!(e.message().contains("`5m` or `1h`"), "{e}");
        let e = ChatRequest::from_value(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f"}, "cache_control": {"type": "persistent"}}]}))
        .unwrap_err();
        assert!(e.message().contains("tools[0].cache_control"), "{e}");
        let e = ChatRequest::from_value(json!({"model": "m", "messages": [
            {"role": "assistant", "content": "x", "reasoning_blocks": [{"type": "summary", "text": "t"}]}]}))
        .unwrap_err();
        assert!(e.message().contains("messages[0].reasoning_blocks[0]"), "{e}");
        // Built in Rust, a bad lifetime is caught where it is used.
        let e = CacheControl::with_ttl("1d").validate("tools[3]").unwrap_err();
        assert!(e.message().contains("`tools[3].ttl`"), "{e}");
    }

    #[test]
    fn embed_input_accepts_one_string() {
        let r = EmbedRequest::from_json(r#"{"model":"e","input":"hello"}"#).unwrap();
        assert_eq!(r.input, vec!["hello"]);
    }
}
