//! A compiled rule set: each [`GuardrailSpec`] made ready once (regexes compiled, phrases
//! indexed, schemas built), shared by every call that starts while it is in force.

use std::sync::Arc;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::open_match::OpenMatch;

use super::pii::PiiKind;
use super::spec::{GuardrailSpec, KindSpec};
use super::topics::TopicMatcher;
use super::{Action, Stage, StageSet};
use crate::error::{Error, ErrorKind};

/// The longest regex match a stream waits for when a pattern has no bound of its own.
const DEFAULT_MAX_MATCH: usize = 256;
/// Compiled-regex size bound: a pathological pattern is a config error, not a slow call.
const REGEX_SIZE_LIMIT: usize = 2 << 20;

/// The rules in force: compiled once, swapped whole.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    /// Every regex rule's pattern in one set, and the rule each belongs to: one pass tells
    /// which of them can match at all.
    pub(crate) regexes: Option<(RegexSet, Vec<usize>)>,
}

/// One compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) name: Arc<str>,
    pub(crate) stages: StageSet,
    pub(crate) action: Action,
    pub(crate) check: Check,
}

/// What a compiled rule looks for.
#[derive(Debug)]
pub(crate) enum Check {
    Pii(Vec<PiiKind>),
    Topics(TopicMatcher),
    Regex {
        regex: Regex,
        placeholder: String,
        max_match: usize,
        /// For streams: where a match could still be under way.
        open: Option<Box<OpenMatch>>,
    },
    Injection,
    MaxInputTokens(u64),
    Models {
        allowed: Vec<String>,
        blocked: Vec<String>,
    },
    Providers {
        allowed: Vec<String>,
        blocked: Vec<String>,
    },
    JsonSchema(Box<jsonschema::Validator>),
}

impl Check {
    fn kind(&self) -> &'static str {
        match self {
            Check::Pii(_) => "pii",
            Check::Topics(_) => "deny_topics",
            Check::Regex { .. } => "regex",
            Check::Injection => "prompt_injection",
            Check::MaxInputTokens(_) => "max_input_tokens",
            Check::Models { .. } => "models",
            Check::Providers { .. } => "providers",
            Check::JsonSchema(_) => "json_schema",
        }
    }
}

impl Rule {
    /// The GUARDRAIL_BLOCKED error this rule ends a call with (its name and kind; never the
    /// text it matched).
    pub(crate) fn blocked(&self, stage: Stage) -> Error {
        Error::new(
            ErrorKind::GuardrailBlocked,
            format!(
                "the guardrail `{}` ({}) blocked the {}",
                self.name,
                self.check.kind(),
                match stage {
                    Stage::Input => "request",
                    Stage::Output => "answer",
                }
            ),
        )
    }
}

impl RuleSet {
    /// Compiles `specs`; the first rule that cannot be compiled is named with the reason.
    pub fn compile(specs: &[GuardrailSpec]) -> Result<RuleSet, (usize, String)> {
        let rules = specs
            .iter()
            .enumerate()
            .map(|(i, s)| compile(s).map_err(|e| (i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let (patterns, owners): (Vec<&str>, Vec<usize>) = rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match &r.check {
                Check::Regex { regex, .. } => Some((regex.as_str(), i)),
                _ => None,
            })
            .unzip();
        let regexes = match patterns.len() {
            0 | 1 => None,
            _ => RegexSetBuilder::new(&patterns)
                .size_limit(REGEX_SIZE_LIMIT * 4)
                .dfa_size_limit(REGEX_SIZE_LIMIT * 4)
                .build()
                .ok()
                .map(|set| (set, owners)),
        };
        Ok(RuleSet { rules, regexes })
    }

    /// No rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether any rule checks `stage`.
    pub(crate) fn has(&self, stage: Stage) -> bool {
        self.rules.iter().any(|r| r.stages.has(stage))
    }
}

fn compile(spec: &GuardrailSpec) -> Result<Rule, String> {
    let check = match &spec.kind {
        KindSpec::Pii { entities } => Check::Pii(entities.clone()),
        KindSpec::DenyTopics { topics, synonyms } => Check::Topics(TopicMatcher::new(topics, synonyms)?),
        KindSpec::Regex {
            pattern,
            placeholder,
            max_match_chars,
        } => {
            let regex = RegexBuilder::new(pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("the pattern does not compile: {}", first_line(&e.to_string())))?;
            if regex.is_match("") {
                return Err("the pattern matches the empty string".to_owned());
            }
            let bound = regex_syntax::parse(pattern)
                .ok()
                .and_then(|hir| hir.properties().maximum_len());
            Check::Regex {
                open: OpenMatch::new(pattern).map(Box::new),
                regex,
                placeholder: placeholder.clone().unwrap_or_else(|| "[REDACTED]".to_owned()),
                max_match: max_match_chars
                    .unwrap_or_else(|| bound.unwrap_or(DEFAULT_MAX_MATCH).min(DEFAULT_MAX_MATCH)),
            }
        }
        KindSpec::PromptInjection => Check::Injection,
        KindSpec::MaxInputTokens { max } => Check::MaxInputTokens(*max),
        KindSpec::Models { allowed, blocked } => Check::Models {
            allowed: allowed.clone(),
            blocked: blocked.clone(),
        },
        KindSpec::Providers { allowed, blocked } => Check::Providers {
            allowed: allowed.clone(),
            blocked: blocked.clone(),
        },
        KindSpec::JsonSchema { schema } => {
            let validator = jsonschema::options()
                .build(schema)
                .map_err(|e| format!("the schema is not valid: {}", first_line(&e.to_string())))?;
            Check::JsonSchema(Box::new(validator))
        }
    };
    Ok(Rule {
        name: spec.name.as_str().into(),
        stages: spec.stages,
        action: spec.action,
        check,
    })
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `name` matches a pattern with `*` wildcards (case-insensitive).
pub(crate) fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_ascii_lowercase(), name.to_ascii_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == n;
    }
    let mut rest = n.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("gpt-4o*", "gpt-4o-mini"));
        assert!(glob("*mini", "gpt-4o-mini"));
        assert!(glob("openai/*", "openai/gpt-4o"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("gpt-4o", "gpt-4o-mini"));
        assert!(glob("GPT-4O", "gpt-4o"));
    }
}
