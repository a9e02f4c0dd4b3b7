//! Output guardrails on a stream. Each text channel (answer text, reasoning) keeps only the
//! tail that could still grow into a match ([`RuleSet::hold_from`]): everything before it is
//! checked, redacted where a rule says so, and released at once. A blocking match ends the
//! stream with GUARDRAIL_BLOCKED before its text is released. At `Done` the rest is checked
//! and released, the answer's text becomes what the caller received, JSON Schema rules and
//! tool-call arguments are checked on the whole answer, and the outcomes are recorded.

use std::collections::VecDeque;
use std::sync::Arc;

use super::Stage;
use super::rules::RuleSet;
use super::scan::{HoldState, Tally, floor_char_boundary};
use crate::error::Result;
use crate::pipeline::{CallCx, ReplyMut, StreamFilter};
use crate::types::StreamEvent;

/// How much already-released text a scan sees before the held tail: enough for word
/// boundaries and the checks that look a few characters back.
const CONTEXT: usize = 16;

/// One stream of text being checked.
#[derive(Debug, Default)]
struct Channel {
    /// Released text's last bytes (original, not redacted), for boundaries.
    context: String,
    /// Text not yet released.
    held: String,
    /// Everything released so far (redacted), the answer's text at `Done`.
    released: String,
}

impl Channel {
    /// Takes `delta`; returns the text that may go to the caller now. `end` releases all.
    fn push(
        &mut self,
        rules: &RuleSet,
        hold: &mut HoldState,
        tally: &mut Tally,
        delta: &str,
        end: bool,
    ) -> Result<String> {
        self.held.push_str(delta);
        let offset = self.context.len();
        let text = format!("{}{}", self.context, self.held);
        let hold_at = if end {
            text.len()
        } else {
            rules.hold_from(&text, offset, hold).max(offset)
        };
        // Nothing can go out yet (a word still growing): check it when it can.
        if hold_at == offset {
            return Ok(String::new());
        }
        let findings: Vec<_> = rules
            .scan(Stage::Output, &text)
            .into_iter()
            .filter(|f| f.end > offset)
            .collect();
        // A block acts on any match, released or not: nothing of it goes out.
        if let Some(f) = findings
            .iter()
            .filter(|f| rules.rules[f.rule].action == super::Action::Block)
            .min_by_key(|f| f.rule)
        {
            tally.add(rules, f.rule, 1);
            return Err(rules.rules[f.rule].blocked(Stage::Output));
        }
        let mut cut = hold_at;
        // A match that straddles the cut waits whole.
        for f in &findings {
            if f.start < cut && f.end > cut && f.start >= offset {
                cut = f.start;
            }
        }
        let cut = floor_char_boundary(&text, cut.max(offset));
        let released: Vec<_> = findings
            .into_iter()
            .filter(|f| f.end <= cut || (f.start < offset))
            .collect();
        for f in &released {
            tally.add(rules, f.rule, 1);
        }
        let out = rules
            .redact(&text, &released, offset, cut)
            .unwrap_or_else(|| text[offset..cut].to_owned());
        let keep_from = floor_char_boundary(&text, cut.saturating_sub(CONTEXT));
        self.context = text[keep_from..cut].to_owned();
        self.held = text[cut..].to_owned();
        self.released.push_str(&out);
        Ok(out)
    }
}

/// The per-stream filter of the output guard.
pub(crate) struct OutputFilter {
    rules: Arc<RuleSet>,
    hold: HoldState,
    tally: Tally,
    text: Channel,
    reasoning: Channel,
}

impl OutputFilter {
    pub(crate) fn new(rules: Arc<RuleSet>) -> OutputFilter {
        OutputFilter {
            tally: Tally::new(&rules),
            hold: rules.hold_state(),
            rules,
            text: Channel::default(),
            reasoning: Channel::default(),
        }
    }

    /// Records the outcomes (also when the stream is blocked, so the event says why).
    fn record(&self, cx: &mut CallCx) {
        self.tally
            .outcomes(&self.rules, Stage::Output, |_| true, &mut cx.guardrails);
    }

    fn checked(&mut self, cx: &mut CallCx, r: Result<String>) -> Result<String> {
        if r.is_err() {
            self.record(cx);
        }
        r
    }
}

impl StreamFilter for OutputFilter {
    fn on_event(
        &mut self,
        cx: &mut CallCx,
        event: StreamEvent,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<()> {
        match event {
            StreamEvent::TextDelta { text } => {
                let r = self
                    .text
                    .push(&self.rules, &mut self.hold, &mut self.tally, &text, false);
                let text = self.checked(cx, r)?;
                if !text.is_empty() {
                    out.push_back(StreamEvent::TextDelta { text });
                }
            }
            StreamEvent::ReasoningDelta { text } => {
                let r = self
                    .reasoning
                    .push(&self.rules, &mut self.hold, &mut self.tally, &text, false);
                let text = self.checked(cx, r)?;
                if !text.is_empty() {
                    out.push_back(StreamEvent::ReasoningDelta { text });
                }
            }
            StreamEvent::Done { mut response } => {
                let r = self
                    .reasoning
                    .push(&self.rules, &mut self.hold, &mut self.tally, "", true);
                let reasoning = self.checked(cx, r)?;
                if !reasoning.is_empty() {
                    out.push_back(StreamEvent::ReasoningDelta { text: reasoning });
                }
                let r = self
                    .text
                    .push(&self.rules, &mut self.hold, &mut self.tally, "", true);
                let text = self.checked(cx, r)?;
                if !text.is_empty() {
                    out.push_back(StreamEvent::TextDelta { text });
                }
                // The whole answer: schemas on what the model wrote, tool-call arguments.
                self.rules
                    .check_schemas(response.message.content.as_deref(), &mut self.tally);
                let mut args: Vec<&mut String> = response
                    .message
                    .tool_calls
                    .iter_mut()
                    .map(|c| &mut c.function.arguments)
                    .collect();
                let mut tool_outcomes = Vec::new();
                let tools = self.rules.check_output(&mut args, None, &mut tool_outcomes);
                merge_counts(&mut self.tally, &self.rules, &tool_outcomes);
                if response.message.content.is_some() {
                    response.message.content = Some(std::mem::take(&mut self.text.released));
                }
                if response.message.reasoning.is_some() {
                    response.message.reasoning = Some(std::mem::take(&mut self.reasoning.released));
                }
                self.rules
                    .redact_copies(&mut response.reasoning_block_texts_mut());
                self.record(cx);
                if let Some(i) = self.tally.blocked() {
                    return Err(self.rules.rules[i].blocked(Stage::Output));
                }
                tools?;
                out.push_back(StreamEvent::Done { response });
            }
            other => out.push_back(other),
        }
        Ok(())
    }
}

/// Adds the counts of `outcomes` (from a check of the tool calls) to `tally`, rule by rule.
fn merge_counts(tally: &mut Tally, rules: &RuleSet, outcomes: &[crate::usage::GuardrailOutcome]) {
    for o in outcomes {
        if let Some(i) = rules.rules.iter().position(|r| *r.name == o.name) {
            tally.add(rules, i, o.count);
        }
    }
}

/// The input guard's filter: puts the call's outcomes on the `Done` answer.
pub(crate) struct OutcomeFilter;

impl StreamFilter for OutcomeFilter {
    fn on_event(
        &mut self,
        cx: &mut CallCx,
        event: StreamEvent,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<()> {
        match event {
            StreamEvent::Done { mut response } => {
                super::stage::set_outcomes(ReplyMut::Chat(&mut response), &cx.guardrails);
                out.push_back(StreamEvent::Done { response });
            }
            other => out.push_back(other),
        }
        Ok(())
    }
}
