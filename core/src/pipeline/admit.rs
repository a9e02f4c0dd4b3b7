//! The admission stage: a call goes on only with a request every provider would accept.
//! (Central policy — allowed models, budgets — joins here.)

use super::{CallCx, CallRequest, Flow, Position, Stage, Step};
use crate::error::{Error, Result};
use crate::types::{ChatRequest, EmbedRequest};

/// Rejects requests that no provider would accept, before any network call.
#[derive(Debug, Default)]
pub struct Admit;

impl Stage for Admit {
    fn name(&self) -> &'static str {
        "admit"
    }

    fn position(&self) -> Position {
        Position::Admit
    }

    fn before<'a>(&'a self, cx: &'a mut CallCx) -> Step<'a, Flow> {
        let checked = match &cx.request {
            CallRequest::Chat(r) => validate_chat(r),
            CallRequest::Embed(r) => validate_embed(r),
        }
        .and_then(|()| cx.request.metadata().validate());
        Step::Ready(checked.map(|()| Flow::Continue))
    }
}

/// What every provider would reject in a chat request.
pub(crate) fn validate_chat(r: &ChatRequest) -> Result<()> {
    if r.model.is_empty() {
        return Err(Error::invalid_request("`model` is required"));
    }
    if r.messages.is_empty() {
        return Err(Error::invalid_request("`messages` needs at least one message"));
    }
    for (name, value, range) in [
        ("temperature", r.temperature, 0.0..=2.0),
        ("top_p", r.top_p, 0.0..=1.0),
        ("presence_penalty", r.presence_penalty, -2.0..=2.0),
        ("frequency_penalty", r.frequency_penalty, -2.0..=2.0),
    ] {
        if let Some(v) = value
            && !range.contains(&v)
        {
            return Err(if v.is_finite() {
                Error::invalid_request(format!(
                    "`{name}` must be between {} and {}, got {v}",
                    range.start(),
                    range.end()
                ))
            } else {
                crate::types::non_finite_error(name, v)
            });
        }
    }
    if r.max_tokens == Some(0) {
        return Err(Error::invalid_request("`max_tokens` must be at least 1"));
    }
    Ok(())
}

/// What every provider would reject in an embeddings request.
fn validate_embed(r: &EmbedRequest) -> Result<()> {
    if r.model.is_empty() {
        Err(Error::invalid_request("`model` is required"))
    } else if r.input.is_empty() {
        Err(Error::invalid_request("`input` needs at least one text"))
    } else {
        Ok(())
    }
}
