//! The config's `guardrails:` list: one rule per item, each field checked with file, line and
//! field in the error, and every rule compiled here once (a regex that does not compile, a
//! schema that is not valid, an empty topic list are config errors, never runtime panics).
//!
//! ```yaml
//! guardrails:
//!   - { name: no-pii, kind: pii, stage: both, action: redact }
//!   - { name: no-legal-advice, kind: deny_topics, topics: [legal advice], action: block }
//!   - { name: ticket-ids, kind: regex, pattern: 'TCK-\d{6}', action: redact, placeholder: '[TICKET]' }
//! ```

use super::super::node::{Node, Value};
use super::Validator;
use crate::guardrails::pii::PiiKind;
use crate::guardrails::{Action, GuardrailSpec, KindSpec, RuleSet, StageSet};

const COMMON_FIELDS: &[&str] = &["name", "kind", "stage", "action"];

/// The fields each kind takes besides the common ones.
fn kind_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "pii" => &["entities"],
        "deny_topics" => &["topics", "synonyms"],
        "regex" => &["pattern", "placeholder", "max_match_chars"],
        "max_input_tokens" => &["max"],
        "models" | "providers" => &["allowed", "blocked"],
        "json_schema" => &["schema"],
        _ => &[],
    }
}

impl Validator<'_> {
    /// `guardrails: [...]` (`at`: its field path).
    pub(super) fn guardrails(&mut self, node: &Node, at: &str) -> Vec<GuardrailSpec> {
        let Value::Seq(items) = &node.value else {
            self.issue(
                node.pos,
                at,
                format!("expected a list of rules, got {}", node.type_name()),
            );
            return Vec::new();
        };
        let mut out: Vec<GuardrailSpec> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{at}[{i}]");
            let Some(spec) = self.guardrail(item, &path) else {
                continue;
            };
            if names.contains(&spec.name) {
                self.issue(
                    item.pos,
                    &format!("{path}.name"),
                    format!("the name `{}` is used twice", spec.name),
                );
                continue;
            }
            names.push(spec.name.clone());
            if let Err((_, why)) = RuleSet::compile(std::slice::from_ref(&spec)) {
                self.issue(item.pos, &path, why);
                continue;
            }
            out.push(spec);
        }
        out
    }

    /// A models/providers rule's `allowed` and `blocked` lists (an issue when both are empty).
    pub(super) fn allowed_blocked(
        &mut self,
        f: &super::Fields<'_>,
        path: &str,
    ) -> (Vec<String>, Vec<String>) {
        let list = |v: &mut Self, key: &str| -> Vec<String> {
            f.get(key)
                .map(|n| v.string_list(n, &f.path(key)))
                .unwrap_or_default()
                .into_iter()
                .map(|(s, _)| s)
                .collect()
        };
        let (allowed, blocked) = (list(self, "allowed"), list(self, "blocked"));
        if allowed.is_empty() && blocked.is_empty() {
            self.issue(f.node.pos, path, "set `allowed`, `blocked` or both");
        }
        (allowed, blocked)
    }

    fn guardrail(&mut self, node: &Node, path: &str) -> Option<GuardrailSpec> {
        // The allowed fields depend on the kind: read it first.
        let kind_name =
            match &node.value {
                Value::Map(entries) => entries
                    .iter()
                    .find(|(k, _)| k == "kind")
                    .and_then(|(_, n)| match &n.value {
                        Value::Str(s) => Some(s.clone()),
                        _ => None,
                    }),
                _ => None,
            };
        let mut allowed: Vec<&str> = COMMON_FIELDS.to_vec();
        if let Some(k) = &kind_name {
            allowed.extend(kind_fields(k));
        }
        let f = self.fields(node, path, &allowed)?;
        let name = self
            .required(&f, "name")
            .and_then(|n| self.non_empty_string(n, &f.path("name")));
        let kind_node = self.required(&f, "kind")?;
        let kind = self.non_empty_string(kind_node, &f.path("kind"))?;
        let spec = match kind.as_str() {
            "pii" => KindSpec::Pii {
                entities: match f.get("entities") {
                    Some(n) => self
                        .string_list(n, &f.path("entities"))
                        .into_iter()
                        .filter_map(|(e, pos)| {
                            let k = PiiKind::parse(&e);
                            if k.is_none() {
                                let names: Vec<&str> = PiiKind::ALL.iter().map(|k| k.as_str()).collect();
                                self.issue(
                                    pos,
                                    &f.path("entities"),
                                    format!("unknown PII kind `{e}` (expected one of: {})", names.join(", ")),
                                );
                            }
                            k
                        })
                        .collect(),
                    None => Vec::new(),
                },
            },
            "deny_topics" => {
                let topics: Vec<String> = self
                    .required(&f, "topics")
                    .map(|n| self.string_list(n, &f.path("topics")))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(t, _)| t)
                    .collect();
                if topics.is_empty() && f.get("topics").is_some() {
                    self.issue(f.node.pos, &f.path("topics"), "must list at least one topic");
                }
                let mut synonyms = Vec::new();
                if let Some(n) = f.get("synonyms")
                    && let Some(entries) = self.mapping(n, &f.path("synonyms"), "words to their synonyms")
                {
                    for (word, list) in entries {
                        let alts = self.string_list(list, &format!("{}.{word}", f.path("synonyms")));
                        synonyms.push((word.clone(), alts.into_iter().map(|(a, _)| a).collect()));
                    }
                }
                KindSpec::DenyTopics { topics, synonyms }
            }
            "regex" => KindSpec::Regex {
                pattern: self
                    .required(&f, "pattern")
                    .and_then(|n| self.non_empty_string(n, &f.path("pattern")))?,
                placeholder: f
                    .get("placeholder")
                    .and_then(|n| self.non_empty_string(n, &f.path("placeholder"))),
                max_match_chars: f
                    .get("max_match_chars")
                    .and_then(|n| self.integer(n, &f.path("max_match_chars"), 1, 65_536))
                    .map(|x| x as usize),
            },
            "prompt_injection" => KindSpec::PromptInjection,
            "max_input_tokens" => KindSpec::MaxInputTokens {
                max: self
                    .required(&f, "max")
                    .and_then(|n| self.integer(n, &f.path("max"), 1, u64::from(u32::MAX)))?,
            },
            "models" | "providers" => {
                let (allowed, blocked) = self.allowed_blocked(&f, path);
                if kind == "models" {
                    KindSpec::Models { allowed, blocked }
                } else {
                    KindSpec::Providers { allowed, blocked }
                }
            }
            "json_schema" => {
                let n = self.required(&f, "schema")?;
                if !matches!(n.value, Value::Map(_)) {
                    self.issue(
                        n.pos,
                        &f.path("schema"),
                        format!("expected a JSON Schema object, got {}", n.type_name()),
                    );
                    return None;
                }
                KindSpec::JsonSchema { schema: n.to_json() }
            }
            other => {
                let hint = match crate::config::closest(other, &KindSpec::NAMES) {
                    Some(s) => format!(" (did you mean `{s}`?)"),
                    None => format!(" (expected one of: {})", KindSpec::NAMES.join(", ")),
                };
                self.issue(
                    kind_node.pos,
                    &f.path("kind"),
                    format!("unknown guardrail kind `{other}`{hint}"),
                );
                return None;
            }
        };
        let stages = match f.get("stage") {
            Some(n) => {
                let s = self.non_empty_string(n, &f.path("stage"))?;
                let Some(stages) = StageSet::parse(&s) else {
                    self.issue(
                        n.pos,
                        &f.path("stage"),
                        format!("expected input, output or both, not `{s}`"),
                    );
                    return None;
                };
                if let Some(only) = spec.only_stage()
                    && StageSet::parse(only) != Some(stages)
                {
                    self.issue(
                        n.pos,
                        &f.path("stage"),
                        format!("a `{kind}` rule checks the {only} only"),
                    );
                    return None;
                }
                stages
            }
            None => StageSet::parse(spec.only_stage().unwrap_or(match spec {
                KindSpec::PromptInjection => "input",
                _ => "both",
            }))
            .expect("a known stage"),
        };
        let action = match f.get("action") {
            Some(n) => {
                let s = self.non_empty_string(n, &f.path("action"))?;
                if !spec.actions().contains(&s.as_str()) {
                    self.issue(
                        n.pos,
                        &f.path("action"),
                        format!("a `{kind}` rule can {}, not `{s}`", spec.actions().join(", ")),
                    );
                    return None;
                }
                Action::parse(&s).expect("a listed action")
            }
            None => Action::Block,
        };
        Some(GuardrailSpec {
            name: name?,
            kind: spec,
            stages,
            action,
        })
    }
}
