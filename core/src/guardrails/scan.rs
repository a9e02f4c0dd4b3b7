//! Running a rule set over texts: findings, counts, redaction, blocks — for a request's
//! texts, an answer, and the deployments a call may reach.

use super::pii::{self, PiiKind};
use super::rules::{Check, Rule, RuleSet, glob};
use super::{Action, Stage, injection};
use crate::error::Result;
use crate::routing::DeploymentNames;
use crate::usage::GuardrailOutcome;
use crate::usage::estimate_tokens;

/// One match of a textual rule: which rule, where, and (for PII) which kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    /// Index of the rule in its set.
    pub rule: usize,
    /// Byte span.
    pub start: usize,
    /// Byte span end (exclusive).
    pub end: usize,
    /// The PII kind, for PII rules.
    pub pii: Option<PiiKind>,
}

/// Matches per rule over one stage of one call.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    counts: Vec<u32>,
    /// The first rule (in rule order) that blocks.
    blocked: Option<usize>,
}

impl Tally {
    pub(crate) fn new(rules: &RuleSet) -> Tally {
        Tally {
            counts: vec![0; rules.rules.len()],
            blocked: None,
        }
    }

    pub(crate) fn add(&mut self, rules: &RuleSet, rule: usize, n: u32) {
        if n == 0 {
            return;
        }
        self.counts[rule] = self.counts[rule].saturating_add(n);
        if rules.rules[rule].action == Action::Block && self.blocked.is_none_or(|b| rule < b) {
            self.blocked = Some(rule);
        }
    }

    /// The first blocking rule that matched.
    pub(crate) fn blocked(&self) -> Option<usize> {
        self.blocked
    }

    /// One outcome per rule of `stage` that `applies` (name, stage, action or `pass`, count).
    pub(crate) fn outcomes(
        &self,
        rules: &RuleSet,
        stage: Stage,
        applies: impl Fn(&Rule) -> bool,
        out: &mut Vec<GuardrailOutcome>,
    ) {
        for (i, r) in rules.rules.iter().enumerate() {
            if r.stages.has(stage) && applies(r) {
                let n = self.counts[i];
                out.push(GuardrailOutcome {
                    name: r.name.to_string(),
                    stage: stage.as_str().to_owned(),
                    action: if n == 0 { "pass" } else { r.action.as_str() }.to_owned(),
                    count: n,
                });
            }
        }
    }
}

impl RuleSet {
    /// A fresh count of matches per rule.
    pub(crate) fn tally(&self) -> Tally {
        Tally::new(self)
    }

    /// Every finding of the textual rules of `stage` in `text`, sorted by start.
    pub fn scan(&self, stage: Stage, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        // Which regex rules can match at all, in one pass (`None`: not known, try each).
        let regex_hits = self
            .regexes
            .as_ref()
            .map(|(set, owners)| (set.matches(text), owners));
        for (i, r) in self.rules.iter().enumerate() {
            if !r.stages.has(stage) {
                continue;
            }
            if let (Check::Regex { .. }, Some((hits, owners))) = (&r.check, &regex_hits)
                && !owners
                    .iter()
                    .position(|&o| o == i)
                    .is_some_and(|k| hits.matched(k))
            {
                continue;
            }
            match &r.check {
                Check::Pii(kinds) => {
                    for m in pii::find(text, kinds) {
                        out.push(Finding {
                            rule: i,
                            start: m.start,
                            end: m.end,
                            pii: Some(m.kind),
                        });
                    }
                }
                Check::Topics(t) => out.extend(t.find(text).into_iter().map(|m| Finding {
                    rule: i,
                    start: m.start,
                    end: m.end,
                    pii: None,
                })),
                Check::Regex { regex, .. } => out.extend(regex.find_iter(text).map(|m| Finding {
                    rule: i,
                    start: m.start(),
                    end: m.end(),
                    pii: None,
                })),
                Check::Injection => {
                    out.extend(injection::find(text).into_iter().map(|(start, end)| Finding {
                        rule: i,
                        start,
                        end,
                        pii: None,
                    }))
                }
                _ => {}
            }
        }
        out.sort_by_key(|f| (f.start, f.rule));
        out
    }

    /// What a redacted finding becomes.
    pub(crate) fn placeholder(&self, f: &Finding) -> &str {
        match (&self.rules[f.rule].check, f.pii) {
            (_, Some(kind)) => kind.placeholder(),
            (Check::Regex { placeholder, .. }, _) => placeholder,
            (Check::Topics(_), _) => "[DENIED_TOPIC]",
            (Check::Injection, _) => injection::PLACEHOLDER,
            _ => "[REDACTED]",
        }
    }

    /// `text` with the findings of redacting rules replaced by their placeholders (the
    /// earliest finding of overlapping ones names the placeholder), or `None` when nothing
    /// is redacted. Only findings within `from..` are applied.
    pub(crate) fn redact(&self, text: &str, findings: &[Finding], from: usize, to: usize) -> Option<String> {
        let mut out = String::new();
        let mut at = from;
        let mut any = false;
        for f in findings {
            if self.rules[f.rule].action != Action::Redact || f.end <= at || f.start >= to {
                continue;
            }
            let start = f.start.max(at);
            out.push_str(&text[at..start]);
            out.push_str(self.placeholder(f));
            at = f.end.min(to);
            any = true;
        }
        if !any {
            return None;
        }
        out.push_str(&text[at..to]);
        Some(out)
    }

    /// Runs the input rules over `texts` as a call would (rewriting them where rules redact):
    /// the outcomes, or GUARDRAIL_BLOCKED naming the first blocking rule. For tools and
    /// benchmarks; calls run it through the pipeline.
    pub fn check_texts(&self, texts: &mut [&mut String]) -> Result<Vec<GuardrailOutcome>> {
        let mut out = Vec::new();
        self.check_input(texts, &mut out)?;
        Ok(out)
    }

    /// Checks the request's `texts` (rewriting them where rules redact) and its size; the
    /// outcomes of every input rule go to `out`. Fails with the first blocking rule.
    pub(crate) fn check_input(
        &self,
        texts: &mut [&mut String],
        out: &mut Vec<crate::usage::GuardrailOutcome>,
    ) -> Result<()> {
        let mut tally = Tally::new(self);
        for text in texts.iter_mut() {
            let findings = self.scan(Stage::Input, text);
            for f in &findings {
                tally.add(self, f.rule, 1);
            }
            if let Some(new) = self.redact(text, &findings, 0, text.len()) {
                **text = new;
            }
        }
        for (i, r) in self.rules.iter().enumerate() {
            if let Check::MaxInputTokens(max) = r.check
                && r.stages.input
            {
                let tokens: u64 = texts.iter().map(|t| estimate_tokens(t)).sum();
                if tokens > max {
                    tally.add(self, i, 1);
                }
            }
        }
        let plan_rule = |r: &Rule| !matches!(r.check, Check::Models { .. } | Check::Providers { .. });
        tally.outcomes(self, Stage::Input, plan_rule, out);
        match tally.blocked() {
            Some(i) => Err(self.rules[i].blocked(Stage::Input)),
            None => Ok(()),
        }
    }

    /// Checks an answer's texts (content, reasoning, tool-call arguments), rewriting them
    /// where rules redact, and validates the content against JSON Schema rules.
    pub(crate) fn check_output(
        &self,
        texts: &mut [&mut String],
        content: Option<&str>,
        out: &mut Vec<GuardrailOutcome>,
    ) -> Result<()> {
        let mut tally = Tally::new(self);
        self.check_schemas(content, &mut tally);
        for text in texts.iter_mut() {
            let findings = self.scan(Stage::Output, text);
            for f in &findings {
                tally.add(self, f.rule, 1);
            }
            if let Some(new) = self.redact(text, &findings, 0, text.len()) {
                **text = new;
            }
        }
        tally.outcomes(self, Stage::Output, |_| true, out);
        match tally.blocked() {
            Some(i) => Err(self.rules[i].blocked(Stage::Output)),
            None => Ok(()),
        }
    }

    /// Rewrites `texts` where output rules redact, counting nothing: for copies of text that
    /// was checked already (an answer's reasoning blocks repeat its reasoning).
    pub(crate) fn redact_copies(&self, texts: &mut [&mut String]) {
        for text in texts.iter_mut() {
            let findings = self.scan(Stage::Output, text);
            if let Some(new) = self.redact(text, &findings, 0, text.len()) {
                **text = new;
            }
        }
    }

    /// Counts a JSON Schema rule's violation (the answer is not JSON, or not valid).
    pub(crate) fn check_schemas(&self, content: Option<&str>, tally: &mut Tally) {
        for (i, r) in self.rules.iter().enumerate() {
            if let Check::JsonSchema(validator) = &r.check
                && r.stages.output
            {
                // An answer with no text (tool calls only) has nothing to validate.
                let Some(content) = content else { continue };
                let valid = serde_json::from_str::<serde_json::Value>(content.trim())
                    .is_ok_and(|v| validator.is_valid(&v));
                if !valid {
                    tally.add(self, i, 1);
                }
            }
        }
    }

    /// Whether the model and provider rules let a call reach deployment `d` (asked for as
    /// `requested`); counts the rules that would not.
    pub(crate) fn permits(&self, requested: &str, d: &DeploymentNames, tally: &mut Tally) -> bool {
        let mut ok = true;
        for (i, r) in self.rules.iter().enumerate() {
            let denied = match &r.check {
                Check::Models { allowed, blocked } => {
                    let names = [requested, &d.model, &format!("{}/{}", d.provider, d.model)];
                    let hit = |pats: &[String]| pats.iter().any(|p| names.iter().any(|n| glob(p, n)));
                    (!allowed.is_empty() && !hit(allowed)) || hit(blocked)
                }
                Check::Providers { allowed, blocked } => {
                    let hit = |pats: &[String]| pats.iter().any(|p| glob(p, &d.provider));
                    (!allowed.is_empty() && !hit(allowed)) || hit(blocked)
                }
                _ => false,
            };
            if denied && r.stages.input {
                tally.add(self, i, 1);
                ok &= r.action != Action::Block;
            }
        }
        ok
    }

    /// Whether any model or provider rule is set.
    pub(crate) fn has_plan_rules(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.stages.input && matches!(r.check, Check::Models { .. } | Check::Providers { .. }))
    }

    /// Records the model and provider rules' outcomes, and the error when no deployment is left.
    pub(crate) fn plan_outcomes(
        &self,
        tally: &Tally,
        left: usize,
        out: &mut Vec<GuardrailOutcome>,
    ) -> Result<()> {
        tally.outcomes(
            self,
            Stage::Input,
            |r| matches!(r.check, Check::Models { .. } | Check::Providers { .. }),
            out,
        );
        match tally.blocked() {
            Some(i) if left == 0 => Err(self.rules[i].blocked(Stage::Input)),
            _ => Ok(()),
        }
    }

    /// A stream's state for [`RuleSet::hold_from`] (the DFAs' caches, made when first needed:
    /// prose rarely has a byte that can begin a match).
    pub(crate) fn hold_state(&self) -> HoldState {
        HoldState {
            caches: self.rules.iter().map(|_| None).collect(),
        }
    }

    /// Where a stream must hold text back from: the earliest start, at or after `from`, of a
    /// match that could still be growing at the end of `text` (`text.len()` when none could).
    pub(crate) fn hold_from(&self, text: &str, from: usize, state: &mut HoldState) -> usize {
        let mut hold = text.len();
        for (r, cache) in self.rules.iter().zip(&mut state.caches) {
            if !r.stages.output {
                continue;
            }
            let window = |most: usize| from.max(text.len().saturating_sub(most));
            let h = match (&r.check, cache) {
                (Check::Pii(_), _) => pii_hold(text),
                (Check::Topics(t), _) => t.hold_from(text),
                (
                    Check::Regex {
                        open: Some(o),
                        max_match,
                        ..
                    },
                    c,
                ) => o.open_from(c, text, window(*max_match)),
                (Check::Regex { max_match, .. }, _) => window(*max_match),
                (Check::Injection, c) => match injection::OPEN.as_ref() {
                    Some(o) => o.open_from(c, text, window(injection::LONGEST_MATCH)),
                    None => window(injection::LONGEST_MATCH),
                },
                _ => text.len(),
            };
            hold = hold.min(h);
        }
        floor_char_boundary(text, hold)
    }
}

/// The lazy DFAs' caches of one stream's hold-back.
pub(crate) struct HoldState {
    caches: Vec<Option<regex_automata::hybrid::dfa::Cache>>,
}

/// The start of the trailing run of `text` that could still be (part of) personal data or a
/// secret: characters that occur in addresses, numbers, keys and tokens, and single spaces
/// or dashes inside digit groups (cards, phones, IBANs). Bounded, so a long token does not
/// hold a stream forever.
fn pii_hold(text: &str) -> usize {
    const MOST: usize = 2048;
    let bytes = text.as_bytes();
    let token = |b: u8| b.is_ascii_alphanumeric() || b"@._%+-:/()=#'".contains(&b);
    let mut i = bytes.len();
    while i > 0 && bytes.len() - i < MOST {
        let b = bytes[i - 1];
        let left = |f: fn(&u8) -> bool| i >= 2 && f(&bytes[i - 2]);
        let right = |f: fn(&u8) -> bool| bytes.get(i).is_some_and(f);
        // A space inside digit groups (`4111 1111`, `DE89 3704`, `WEST 1234`), or after a
        // group at the very end (the next group may follow).
        let in_groups = b == b' '
            && ((left(u8::is_ascii_alphanumeric) && right(u8::is_ascii_digit))
                || (left(u8::is_ascii_digit) && right(u8::is_ascii_alphanumeric))
                || (left(u8::is_ascii_digit) && i == bytes.len()));
        if token(b) || in_groups {
            i -= 1;
        } else {
            break;
        }
    }
    // A private-key block still open.
    let window = floor_char_boundary(text, text.len().saturating_sub(MOST * 4));
    let w = &text[window..];
    if let Some(begin) = w.rfind("-----BEGIN") {
        let block = &w[begin..];
        let closed = block
            .find("-----END")
            .is_some_and(|e| block[e + 8..].contains("-----"));
        if !closed {
            i = i.min(window + begin);
        }
    }
    i
}

/// The largest char boundary at or below `i`.
pub(crate) fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i.min(s.len())
}
