//! Custom guardrails written in the host language (a Python callable, a JS function, a Kotlin
//! interface). The core runs them like the built-in rules: on the texts of their stage, with a
//! timeout, and with a per-rule choice of what an exception or a timeout means (fail open: the
//! call goes on and the outcome records `error`; fail closed: GUARDRAIL_BLOCKED).
//!
//! A binding hands the core one [`HostCheck`]: it gets the check's input as JSON text and
//! answers JSON text (the wrapper in the host language turns the user's return value into it).
//! The binding must not block a core thread while the host runs the check: it queues the call
//! to the host's own thread (the JS event loop, a blocking-pool thread that takes the GIL)
//! and returns a future.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::{Action, StageSet};
use crate::error::{Error, Result};

/// A host-language check: the input as JSON text in, the verdict as JSON text out, or
/// `Err(kind)` when the host code raised (`kind` names the exception type only: its message
/// may quote the text being checked).
pub type HostCheck =
    Arc<dyn Fn(String) -> BoxFuture<'static, std::result::Result<String, String>> + Send + Sync>;

/// What a host check is asked about, as its JSON input.
#[derive(Debug, Clone, Serialize)]
pub struct HostCheckInput<'a> {
    /// The rule's name.
    pub name: &'a str,
    /// `input` or `output`.
    pub stage: &'static str,
    /// Every text of that stage: for input, each message's text (system, user, assistant,
    /// tool results) and tool-call arguments, in order; for output, the answer's text.
    pub texts: &'a [String],
    /// The model alias the call asked for.
    pub model: &'a str,
}

/// A host check's answer: `{"action": "pass"}`, `{"action": "block"}`, `{"action": "warn"}`
/// or `{"action": "redact", "texts": [...]}` (one replacement per input text, same order).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum HostVerdict {
    /// Nothing to object to.
    Pass,
    /// Stop the call with GUARDRAIL_BLOCKED.
    Block,
    /// Go on; the outcome records a warning.
    Warn,
    /// Go on with these texts instead.
    Redact {
        /// The replacement of each text.
        texts: Vec<String>,
    },
}

impl HostVerdict {
    /// Parses a host check's JSON answer.
    pub fn from_json(text: &str) -> Result<HostVerdict> {
        serde_json::from_str(text).map_err(|e| {
            Error::internal(format!(
                "a custom guardrail answered something that is not a verdict (line {}, column {}): \
                 expected {{\"action\": \"pass\" | \"block\" | \"warn\" | \"redact\", \"texts\": [...]}}",
                e.line(),
                e.column()
            ))
        })
    }
}

/// What an exception or a timeout in a custom guardrail means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// The call goes on; the outcome records `error`.
    Open,
    /// The call fails with GUARDRAIL_BLOCKED.
    #[default]
    Closed,
}

impl FailMode {
    /// `open` or `closed`.
    pub fn parse(s: &str) -> Result<FailMode> {
        match s {
            "open" => Ok(FailMode::Open),
            "closed" => Ok(FailMode::Closed),
            other => Err(Error::config(format!(
                "a custom guardrail's `fail` must be `open` or `closed`, not `{other}`"
            ))),
        }
    }
}

/// A custom guardrail registered on a client.
#[derive(Clone)]
pub struct CustomGuardrail {
    /// Its name, as outcomes and GUARDRAIL_BLOCKED errors name it.
    pub name: String,
    /// Which texts it checks.
    pub stages: StageSet,
    /// How long one check may take.
    pub timeout: Duration,
    /// What an exception or a timeout means.
    pub fail: FailMode,
    /// The host code.
    pub check: HostCheck,
}

impl std::fmt::Debug for CustomGuardrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomGuardrail")
            .field("name", &self.name)
            .field("stages", &self.stages)
            .field("timeout", &self.timeout)
            .field("fail", &self.fail)
            .finish_non_exhaustive()
    }
}

impl CustomGuardrail {
    /// A custom guardrail from a binding's arguments: `stage` is `input`, `output` or `both`,
    /// `fail` is `open` or `closed`, `timeout_ms` at least 1.
    pub fn new(
        name: &str,
        stage: &str,
        timeout_ms: u64,
        fail: &str,
        check: HostCheck,
    ) -> Result<CustomGuardrail> {
        if name.trim().is_empty() {
            return Err(Error::config("a custom guardrail needs a name"));
        }
        let stages = StageSet::parse(stage).ok_or_else(|| {
            Error::config(format!(
                "custom guardrail `{name}`: `stage` must be `input`, `output` or `both`, not `{stage}`"
            ))
        })?;
        if timeout_ms == 0 {
            return Err(Error::config(format!(
                "custom guardrail `{name}`: `timeout_ms` must be at least 1"
            )));
        }
        Ok(CustomGuardrail {
            name: name.to_owned(),
            stages,
            timeout: Duration::from_millis(timeout_ms),
            fail: FailMode::parse(fail)
                .map_err(|e| Error::config(format!("custom guardrail `{name}`: {}", e.message())))?,
            check,
        })
    }

    /// Runs the check on `texts`: the verdict, or what its failure means under [`FailMode`]
    /// (`Ok(None)` for fail-open).
    pub(crate) async fn run(&self, stage: &'static str, texts: &[String], model: &str) -> CustomOutcome {
        let input = HostCheckInput {
            name: &self.name,
            stage,
            texts,
            model,
        };
        let Ok(json) = serde_json::to_string(&input) else {
            return CustomOutcome::Failed("the input could not be encoded".to_owned());
        };
        match tokio::time::timeout(self.timeout, (self.check)(json)).await {
            Err(_) => CustomOutcome::Failed(format!("timed out after {} ms", self.timeout.as_millis())),
            Ok(Err(kind)) => CustomOutcome::Failed(format!("raised {kind}")),
            Ok(Ok(answer)) => match HostVerdict::from_json(&answer) {
                Ok(HostVerdict::Redact { texts: new }) if new.len() != texts.len() => CustomOutcome::Failed(
                    format!("answered `redact` with {} texts for {}", new.len(), texts.len()),
                ),
                Ok(v) => CustomOutcome::Verdict(v),
                Err(_) => CustomOutcome::Failed("answered something that is not a verdict".to_owned()),
            },
        }
    }
}

/// How one run of a custom guardrail ended.
pub(crate) enum CustomOutcome {
    /// The host code answered.
    Verdict(HostVerdict),
    /// It raised, timed out or answered nonsense (why, without any checked text).
    Failed(String),
}

impl CustomOutcome {
    /// The action this outcome takes.
    pub(crate) fn action(&self, fail: FailMode) -> Action {
        match self {
            CustomOutcome::Verdict(HostVerdict::Pass) => Action::Pass,
            CustomOutcome::Verdict(HostVerdict::Block) => Action::Block,
            CustomOutcome::Verdict(HostVerdict::Warn) => Action::Warn,
            CustomOutcome::Verdict(HostVerdict::Redact { .. }) => Action::Redact,
            CustomOutcome::Failed(_) => match fail {
                FailMode::Open => Action::Error,
                FailMode::Closed => Action::Block,
            },
        }
    }
}
