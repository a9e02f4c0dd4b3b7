//! Where OpenAI-compatible servers differ from OpenAI (PROTOCOLS.md §6), as data.

use crate::providers::ProviderKind;

/// Per-provider differences in the Chat Completions dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quirks {
    /// `max_completion_tokens` (OpenAI, required by reasoning models) or `max_tokens` (everyone else).
    pub max_tokens_field: &'static str,
    /// `seed`, or Mistral's `random_seed`.
    pub seed_field: &'static str,
    /// Whether to send `stream_options: {include_usage: true}` (else usage comes unasked or not at all).
    pub stream_usage_option: bool,
    /// Whether the `developer` role is understood (else it is sent as `system`).
    pub developer_role: bool,
    /// Whether to ask for base64 embeddings (a quarter of the bytes of JSON floats).
    pub embeddings_base64: bool,
}

const OPENAI: Quirks = Quirks {
    max_tokens_field: "max_completion_tokens",
    seed_field: "seed",
    stream_usage_option: true,
    developer_role: true,
    embeddings_base64: true,
};

const COMPATIBLE: Quirks = Quirks {
    max_tokens_field: "max_tokens",
    seed_field: "seed",
    stream_usage_option: true,
    developer_role: false,
    embeddings_base64: false,
};

impl Quirks {
    /// The dialect of `kind`.
    pub fn of(kind: ProviderKind) -> Quirks {
        match kind {
            ProviderKind::OpenAi | ProviderKind::Azure => OPENAI,
            // Mistral sends usage on the last chunk unasked and rejects unknown stream options.
            ProviderKind::Mistral => Quirks {
                seed_field: "random_seed",
                stream_usage_option: false,
                ..COMPATIBLE
            },
            _ => COMPATIBLE,
        }
    }
}
