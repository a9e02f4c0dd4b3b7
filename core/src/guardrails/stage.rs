//! The guardrails' two places on the call path ([`crate::pipeline::Stage`]s): the input
//! guard (before the cache and the providers: checks and rewrites the request; outermost of
//! the two, it also puts the call's outcomes on the answer) and the output guard (checks the
//! answer, and each streamed delta through a [`super::stream::OutputFilter`]).

use std::sync::{Arc, RwLock};

use futures_util::FutureExt;

use super::custom::{CustomGuardrail, CustomOutcome, HostVerdict};
use super::rules::RuleSet;
use super::stream::{OutcomeFilter, OutputFilter};
use super::{Action, Stage as Side};
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::{CallCx, Flow, Position, ReplyMut, Stage, Step, StreamFilter};
use crate::usage::GuardrailOutcome;

/// A client's guardrails: the rule set in force (replaced atomically) and the custom ones.
#[derive(Debug)]
pub struct Guardrails {
    rules: RwLock<Arc<RuleSet>>,
    custom: Vec<CustomGuardrail>,
}

impl Guardrails {
    /// Guardrails with `rules` and the host-language `custom` checks.
    pub fn new(rules: RuleSet, custom: Vec<CustomGuardrail>) -> Arc<Guardrails> {
        Arc::new(Guardrails {
            rules: RwLock::new(Arc::new(rules)),
            custom,
        })
    }

    /// Puts a new rule set in force. Calls already started finish on the set they began with.
    pub fn replace(&self, rules: RuleSet) {
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rules);
    }

    /// Puts a compiled rule set in force (central policy shares it with its calls).
    pub(crate) fn replace_shared(&self, rules: Arc<RuleSet>) {
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = rules;
    }

    /// The rule set in force.
    pub fn current(&self) -> Arc<RuleSet> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The two pipeline stages.
    pub(crate) fn stages(self: &Arc<Self>) -> [Arc<dyn Stage>; 2] {
        [
            Arc::new(InputGuard(self.clone())),
            Arc::new(OutputGuard(self.clone())),
        ]
    }

    fn custom_for(&self, side: Side) -> impl Iterator<Item = &CustomGuardrail> {
        self.custom.iter().filter(move |c| c.stages.has(side))
    }

    /// Runs the custom guardrails of `side` on `texts` in order, rewriting them on `redact`.
    async fn run_custom(
        &self,
        side: Side,
        texts: &mut Vec<String>,
        model: &str,
        out: &mut Vec<GuardrailOutcome>,
    ) -> Result<bool> {
        let mut changed = false;
        for c in self.custom_for(side) {
            let outcome = c.run(side.as_str(), texts, model).await;
            let action = outcome.action(c.fail);
            out.push(GuardrailOutcome {
                name: c.name.clone(),
                stage: side.as_str().to_owned(),
                action: action.as_str().to_owned(),
                count: u32::from(action != Action::Pass),
            });
            match (outcome, action) {
                (CustomOutcome::Verdict(HostVerdict::Redact { texts: new }), _) => {
                    changed |= new != *texts;
                    *texts = new;
                }
                (CustomOutcome::Failed(why), Action::Block) => {
                    return Err(Error::new(
                        ErrorKind::GuardrailBlocked,
                        format!(
                            "the custom guardrail `{}` failed ({why}) and fails closed",
                            c.name
                        ),
                    ));
                }
                (_, Action::Block) => {
                    return Err(Error::new(
                        ErrorKind::GuardrailBlocked,
                        format!(
                            "the custom guardrail `{}` blocked the {}",
                            c.name,
                            side_noun(side)
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(changed)
    }
}

fn side_noun(side: Side) -> &'static str {
    match side {
        Side::Input => "request",
        Side::Output => "answer",
    }
}

/// Checks and rewrites the request; puts the call's outcomes on its answer.
struct InputGuard(Arc<Guardrails>);

impl Stage for InputGuard {
    fn name(&self) -> &'static str {
        "input guardrails"
    }

    fn position(&self) -> Position {
        Position::GuardInput
    }

    fn before<'a>(&'a self, cx: &'a mut CallCx) -> Step<'a, Flow> {
        // Central policy may have given the call its snapshot's rules at admission.
        let rules = match &cx.guard_rules {
            Some(r) => r.clone(),
            None => self.0.current(),
        };
        cx.guard_rules = Some(rules.clone());
        if rules.has(Side::Input) {
            let mut texts = cx.request.texts_mut();
            if let Err(e) = rules.check_input(&mut texts, &mut cx.guardrails) {
                return Step::Ready(Err(e));
            }
        }
        if self.0.custom_for(Side::Input).next().is_none() {
            return Step::Ready(Ok(Flow::Continue));
        }
        Step::Pending(
            async move {
                let mut texts: Vec<String> = cx.request.texts_mut().into_iter().map(|t| t.clone()).collect();
                let model = cx.request.model().to_owned();
                let mut outcomes = std::mem::take(&mut cx.guardrails);
                let result = self
                    .0
                    .run_custom(Side::Input, &mut texts, &model, &mut outcomes)
                    .await;
                cx.guardrails = outcomes;
                if result? {
                    for (slot, new) in cx.request.texts_mut().into_iter().zip(texts) {
                        *slot = new;
                    }
                }
                Ok(Flow::Continue)
            }
            .boxed(),
        )
    }

    fn after<'a>(&'a self, cx: &'a mut CallCx, reply: ReplyMut<'a>) -> Step<'a, ()> {
        if !cx.stream {
            set_outcomes(reply, &cx.guardrails);
        }
        Step::Ready(Ok(()))
    }

    fn stream_filter(&self, cx: &CallCx) -> Option<Box<dyn StreamFilter>> {
        // Without any guardrail there are no outcomes to report: no per-event filter.
        let none = cx.guard_rules.as_ref().is_none_or(|r| r.is_empty()) && self.0.custom.is_empty();
        (!none).then(|| Box::new(OutcomeFilter) as Box<dyn StreamFilter>)
    }
}

/// The call's outcomes, on its answer.
pub(crate) fn set_outcomes(reply: ReplyMut<'_>, outcomes: &[GuardrailOutcome]) {
    match reply {
        ReplyMut::Chat(r) => r.guardrails = outcomes.to_vec(),
        ReplyMut::Embed(r) => r.guardrails = outcomes.to_vec(),
    }
}

/// Checks the answer.
struct OutputGuard(Arc<Guardrails>);

impl Stage for OutputGuard {
    fn name(&self) -> &'static str {
        "output guardrails"
    }

    fn position(&self) -> Position {
        Position::GuardOutput
    }

    fn after<'a>(&'a self, cx: &'a mut CallCx, reply: ReplyMut<'a>) -> Step<'a, ()> {
        let ReplyMut::Chat(response) = reply else {
            return Step::Ready(Ok(()));
        };
        let rules = cx.guard_rules.clone().unwrap_or_default();
        // A stream's built-in checks run on its deltas (the filter); here only a whole answer.
        if !cx.stream && rules.has(Side::Output) {
            let content = response.message.content.clone();
            let mut texts = response.output_texts_mut();
            if let Err(e) = rules.check_output(&mut texts, content.as_deref(), &mut cx.guardrails) {
                return Step::Ready(Err(e));
            }
            rules.redact_copies(&mut response.reasoning_block_texts_mut());
        }
        if self.0.custom_for(Side::Output).next().is_none() {
            return Step::Ready(Ok(()));
        }
        Step::Pending(
            async move {
                let mut texts = vec![response.text().to_owned()];
                let model = cx.request.model().to_owned();
                let mut outcomes = std::mem::take(&mut cx.guardrails);
                let result = self
                    .0
                    .run_custom(Side::Output, &mut texts, &model, &mut outcomes)
                    .await;
                cx.guardrails = outcomes;
                if result? && let Some(text) = texts.pop() {
                    response.message.content = Some(text);
                }
                Ok(())
            }
            .boxed(),
        )
    }

    fn stream_filter(&self, cx: &CallCx) -> Option<Box<dyn StreamFilter>> {
        let rules = cx.guard_rules.clone()?;
        rules
            .has(Side::Output)
            .then(|| Box::new(OutputFilter::new(rules)) as Box<dyn StreamFilter>)
    }
}
