//! What a guardrail rule says, as plain data (from the config file or, later, the central
//! policy): comparable, hashable into the config hash, and compiled once into a
//! [`super::RuleSet`] per client.

use super::pii::PiiKind;
use super::{Action, StageSet};

/// One rule as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardrailSpec {
    /// Its name: outcomes and GUARDRAIL_BLOCKED errors name it.
    pub name: String,
    /// What it looks for.
    pub kind: KindSpec,
    /// Where it applies.
    pub stages: StageSet,
    /// What it does when it finds something.
    pub action: Action,
}

/// What a rule looks for.
#[derive(Debug, Clone, PartialEq)]
pub enum KindSpec {
    /// Personal data and secrets (`entities`: the kinds to look for; empty = all).
    Pii {
        /// The kinds to look for.
        entities: Vec<PiiKind>,
    },
    /// Phrases about topics the organisation does not want discussed (case- and
    /// Unicode-normalised, whole words, with light stemming and the listed synonyms).
    DenyTopics {
        /// The phrases.
        topics: Vec<String>,
        /// Words that count as another word (`attorney: [lawyer]`).
        synonyms: Vec<(String, Vec<String>)>,
    },
    /// A regular expression (RE2 syntax: linear time, no look-around or back-references).
    Regex {
        /// The pattern.
        pattern: String,
        /// What a redacted match becomes (default `[REDACTED]`).
        placeholder: Option<String>,
        /// The longest match a stream waits for (default: the pattern's own bound, at most 256).
        max_match_chars: Option<usize>,
    },
    /// Jailbreak phrasings, hidden-instruction markers and Unicode smuggling.
    PromptInjection,
    /// A bound on the request's estimated tokens.
    MaxInputTokens {
        /// The bound.
        max: u64,
    },
    /// Which models a call may reach (patterns with `*`, matched against the alias asked for,
    /// the deployment's model and `provider/model`).
    Models {
        /// If not empty, only these.
        allowed: Vec<String>,
        /// Never these.
        blocked: Vec<String>,
    },
    /// Which providers a call may reach.
    Providers {
        /// If not empty, only these.
        allowed: Vec<String>,
        /// Never these.
        blocked: Vec<String>,
    },
    /// The answer must be JSON valid against this schema (no remote `$ref`).
    JsonSchema {
        /// The schema.
        schema: serde_json::Value,
    },
}

impl KindSpec {
    /// Every kind's config name.
    pub const NAMES: [&'static str; 8] = [
        "pii",
        "deny_topics",
        "regex",
        "prompt_injection",
        "max_input_tokens",
        "models",
        "providers",
        "json_schema",
    ];

    /// The config name.
    pub fn name(&self) -> &'static str {
        match self {
            KindSpec::Pii { .. } => "pii",
            KindSpec::DenyTopics { .. } => "deny_topics",
            KindSpec::Regex { .. } => "regex",
            KindSpec::PromptInjection => "prompt_injection",
            KindSpec::MaxInputTokens { .. } => "max_input_tokens",
            KindSpec::Models { .. } => "models",
            KindSpec::Providers { .. } => "providers",
            KindSpec::JsonSchema { .. } => "json_schema",
        }
    }

    /// The actions the kind supports (redaction only where there is a span to replace).
    pub fn actions(&self) -> &'static [&'static str] {
        match self {
            KindSpec::Pii { .. }
            | KindSpec::DenyTopics { .. }
            | KindSpec::Regex { .. }
            | KindSpec::PromptInjection => &["block", "redact", "warn"],
            _ => &["block", "warn"],
        }
    }

    /// The stages the kind can check (`None`: both).
    pub fn only_stage(&self) -> Option<&'static str> {
        match self {
            KindSpec::MaxInputTokens { .. } | KindSpec::Models { .. } | KindSpec::Providers { .. } => {
                Some("input")
            }
            KindSpec::JsonSchema { .. } => Some("output"),
            _ => None,
        }
    }
}
