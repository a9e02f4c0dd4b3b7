//! [`Call`]: a call in progress. It counts the call as in flight until it ends, and it ends
//! the call exactly once — settling its cost and recording its usage event — however it ends,
//! including by being dropped (a cancelled future, an aborted stream): then the try in flight
//! is recorded as cancelled and the content already delivered is counted.

use std::sync::Arc;

use super::record::{Outcome, build_event};
use super::{CallCx, CallRequest, Pipeline, attempts};
use crate::error::Error;
use crate::types::Usage;
use crate::usage::estimate_tokens;

/// A call in progress; see the module doc.
pub(crate) struct Call {
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) cx: CallCx,
    settled: bool,
    /// Recorded, and no longer counted as in flight (a finished stream may live on unread).
    ended: bool,
}

impl Call {
    /// Starts a call (it counts as in flight until dropped).
    pub(crate) fn start(pipeline: Arc<Pipeline>, request: CallRequest, stream: bool) -> Call {
        pipeline.inflight.enter();
        Call {
            pipeline,
            cx: CallCx::new(request, stream),
            settled: false,
            ended: false,
        }
    }

    /// Runs every stage's `settle` hook (once), inner → outer: what the call cost is known after.
    pub(crate) fn settle(&mut self) {
        if !self.settled {
            self.settled = true;
            for stage in self.pipeline.stages.iter().rev() {
                stage.settle(&mut self.cx);
            }
        }
    }

    /// Ends the call successfully: the model as served, and the answer's text (for content
    /// capture).
    pub(crate) fn end_ok(&mut self, served_model: &str, text: Option<&str>) {
        self.end(Outcome::Ok { served_model, text });
    }

    /// Ends the call with `e`. The try in flight, if any, is recorded as failed with `e`, and
    /// content that already reached the caller is counted (estimated when the provider had
    /// not reported its usage yet).
    pub(crate) fn end_err(&mut self, e: &Error) {
        attempts::abandon_in_flight(&mut self.cx, e);
        self.count_delivered();
        self.end(Outcome::Err(e));
    }

    fn end(&mut self, outcome: Outcome<'_>) {
        if self.ended {
            return;
        }
        self.settle();
        self.ended = true;
        let event = Arc::new(build_event(&self.pipeline.facts, &mut self.cx, outcome));
        for stage in &self.pipeline.stages {
            stage.recorded(&event);
        }
        self.pipeline.inflight.leave();
    }

    /// A stream that ends early was billed for what it generated: when content reached the
    /// caller but the provider's usage report did not, estimate both sides (about four
    /// characters a token, the way the mock provider counts) and say so.
    fn count_delivered(&mut self) {
        let cx = &mut self.cx;
        if cx.delivered_chars == 0 || cx.usage.output_tokens > 0 {
            return;
        }
        let input = if cx.usage.input_tokens > 0 {
            cx.usage.input_tokens
        } else {
            let texts = cx.request.texts();
            texts.iter().map(|t| estimate_tokens(t)).sum::<u64>() + 3 * texts.len() as u64
        };
        let output = cx.delivered_chars.div_ceil(4);
        cx.usage = Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: input + output,
            ..cx.usage
        };
        cx.usage_is_estimated = true;
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.ended {
            self.end_err(&Error::cancelled("the call was cancelled before it finished"));
        }
    }
}
