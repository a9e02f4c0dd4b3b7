//! Guardrails: rules every call's text passes on its way out of and back into the process —
//! the same engine for every language and every provider (DESIGN §2: input guardrails before
//! the cache and the providers, output guardrails after).
//!
//! A rule has a `kind` (what it looks for), a `stage` (input, output or both) and an `action`:
//! **block** (GUARDRAIL_BLOCKED naming the rule, never the matched text), **redact** (the span
//! becomes a typed placeholder such as `[EMAIL]`), **warn** (recorded only). Every rule that ran
//! leaves an outcome (name, stage, action, count) on the response and on the usage event —
//! never the matched text.
//!
//! Built-in kinds ([`spec::KindSpec`]): PII with checksums ([`pii`]), deny topics with
//! normalisation and stemming ([`topics`]), linear-time regexes, a prompt-injection heuristic
//! set ([`injection`]), max input tokens, allowed/blocked models and providers, and JSON Schema
//! validation of structured answers. Host-language checks are [`custom`] guardrails.
//!
//! Streamed answers are checked as they arrive ([`stream`]): only a tail that could still
//! turn into a match is held back, so a redaction or a block happens before the offending
//! text reaches the caller while the first token is barely delayed.
//!
//! Rules come from the config's `guardrails:` list (and, later, the central policy); a client
//! takes a new rule set atomically ([`Guardrails::replace`]): a call runs entirely on the set
//! it started with.

pub mod custom;
pub mod injection;
mod open_match;
pub mod pii;
mod rules;
mod scan;
pub mod spec;
mod stage;
mod stream;
pub mod topics;

pub use custom::{CustomGuardrail, FailMode, HostCheck, HostVerdict};
pub use rules::RuleSet;
pub(crate) use rules::glob;
pub use scan::Finding;
pub use spec::{GuardrailSpec, KindSpec};
pub use stage::Guardrails;

/// What a rule does when it finds something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Nothing found (recorded, so a log shows the rule ran).
    Pass,
    /// Stop the call with GUARDRAIL_BLOCKED.
    Block,
    /// Replace what was found with a typed placeholder.
    Redact,
    /// Record only.
    Warn,
    /// A custom guardrail failed (raised or timed out) and fails open.
    Error,
}

impl Action {
    /// The config and event name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pass => "pass",
            Action::Block => "block",
            Action::Redact => "redact",
            Action::Warn => "warn",
            Action::Error => "error",
        }
    }

    /// An action a rule may be configured with (`block`, `redact`, `warn`).
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "block" => Some(Action::Block),
            "redact" => Some(Action::Redact),
            "warn" => Some(Action::Warn),
            _ => None,
        }
    }
}

/// Where a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StageSet {
    /// The request's texts, before they leave the process.
    pub input: bool,
    /// The answer (streamed or not).
    pub output: bool,
}

impl StageSet {
    /// `input`, `output` or `both`.
    pub fn parse(s: &str) -> Option<StageSet> {
        match s {
            "input" => Some(StageSet {
                input: true,
                output: false,
            }),
            "output" => Some(StageSet {
                input: false,
                output: true,
            }),
            "both" => Some(StageSet {
                input: true,
                output: true,
            }),
            _ => None,
        }
    }

    /// Whether the set holds `stage`.
    pub fn has(self, stage: Stage) -> bool {
        match stage {
            Stage::Input => self.input,
            Stage::Output => self.output,
        }
    }
}

/// One side of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The request.
    Input,
    /// The answer.
    Output,
}

impl Stage {
    /// `input` or `output`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Input => "input",
            Stage::Output => "output",
        }
    }
}
