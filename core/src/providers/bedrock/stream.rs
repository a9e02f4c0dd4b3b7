//! ConverseStream events → provider events. Each eventstream message is one event, named by
//! its `:event-type` (PROTOCOLS.md §4.4):
//!
//! ```text
//! messageStart{role}
//! ( contentBlockStart{contentBlockIndex, start:{toolUse:{toolUseId,name}}}?   — tool blocks only
//!   contentBlockDelta{contentBlockIndex, delta: {text} | {toolUse:{input}} | {reasoningContent: {text}|{signature}|{redactedContent}}}*
//!   contentBlockStop{contentBlockIndex} )*
//! messageStop{stopReason}
//! metadata{usage, metrics}     — the usage arrives after messageStop
//! ```
//!
//! `metadata` is the terminal event (anything after it is ignored); a body that ends after
//! `messageStop` without it is accepted, with a warning (no usage then). A text or reasoning block has no start event: its first delta
//! opens it. Payloads carry a `"p"` padding member, and unknown events and members are
//! skipped (the API adds them over time). Exception messages are typed errors before they get
//! here (the framing's work).

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::Deserialize;

use super::response::finish_reason;
use super::usage::WireUsage;
use crate::error::{Error, ErrorKind, Result};
use crate::providers::anthropic::REDACTED_THINKING;
use crate::providers::exchange::malformed;
use crate::providers::framing::Frame;
use crate::providers::{EventDecoder, ProviderEvent};
use crate::types::FinishReason;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart<'a> {
    content_block_index: u32,
    #[serde(default, borrow)]
    start: Option<StartUnion<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartUnion<'a> {
    #[serde(default, borrow)]
    tool_use: Option<ToolStart<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolStart<'a> {
    #[serde(borrow)]
    tool_use_id: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    /// `server_tool_use`: a tool Bedrock runs itself (Nova's code interpreter), not the caller's.
    #[serde(default, borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta<'a> {
    content_block_index: u32,
    #[serde(borrow)]
    delta: DeltaUnion<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaUnion<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_use: Option<ToolDelta<'a>>,
    #[serde(default, borrow)]
    reasoning_content: Option<ReasoningDelta<'a>>,
}

#[derive(Deserialize)]
struct ToolDelta<'a> {
    #[serde(default, borrow)]
    input: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningDelta<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    signature: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    redacted_content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStop {
    content_block_index: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStop<'a> {
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// What a content block index is, once its start or first delta has been seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Thinking,
    /// A tool call: its 0-based call index and whether argument text was sent.
    Tool {
        call: u32,
        sent_arguments: bool,
    },
    /// The structured-output answer tool: its input is the answer text; whether any was sent.
    Answer {
        sent: bool,
    },
    /// A block the caller has no part in (a server-side tool's call or result): skipped.
    Other,
}

/// Decodes ConverseStream events; the terminal event is `metadata`.
#[derive(Debug, Default)]
pub struct ConverseStreamDecoder {
    started: bool,
    stopped: bool,
    done: bool,
    blocks: Vec<(u32, Block)>,
    calls: u32,
    /// The signature of each open reasoning block so far, by index (sent at its end).
    signatures: Vec<(u32, String)>,
    answer_tool: Option<String>,
    answered: bool,
}

fn protocol_error(what: &str) -> Error {
    Error::new(
        ErrorKind::ProviderUnavailable,
        format!("the provider's event stream is malformed: {what}"),
    )
}

fn parse<'a, T: Deserialize<'a>>(data: &'a str) -> Result<T> {
    serde_json::from_str(data).map_err(|e| malformed("stream event", &e))
}

impl ConverseStreamDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> ConverseStreamDecoder {
        ConverseStreamDecoder::default()
    }

    /// A decoder for a structured-output request whose answer tool is `name`: that tool's
    /// input pieces are the answer's text deltas, it is not reported as a tool call, and an
    /// answer without other tool calls finishes with `stop`.
    pub fn with_answer_tool(name: Option<&str>) -> ConverseStreamDecoder {
        ConverseStreamDecoder {
            answer_tool: name.map(str::to_owned),
            ..ConverseStreamDecoder::default()
        }
    }

    fn block(&self, index: u32) -> Option<Block> {
        self.blocks.iter().find(|(i, _)| *i == index).map(|(_, b)| *b)
    }

    fn set_block(&mut self, index: u32, block: Block) {
        match self.blocks.iter_mut().find(|(i, _)| *i == index) {
            Some((_, b)) => *b = block,
            None => self.blocks.push((index, block)),
        }
    }

    /// Decodes one event: its name (`:event-type`) and JSON payload.
    pub fn on_data(&mut self, event: &str, data: &str, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        if self.done {
            // The answer is complete; whatever follows in the same read is not part of it.
            return Ok(());
        }
        if event != "messageStart" && !self.started && is_known(event) {
            return Err(protocol_error("an event before messageStart"));
        }
        match event {
            "messageStart" => {
                if self.started {
                    return Err(protocol_error("a second messageStart"));
                }
                self.started = true;
                out.push_back(ProviderEvent::Meta {
                    id: None,
                    model: None,
                });
            }
            "contentBlockStart" => {
                let s: BlockStart<'_> = parse(data)?;
                if self.block(s.content_block_index).is_some() {
                    return Err(protocol_error("a content block index started twice"));
                }
                if let Some(tool) = s.start.and_then(|s| s.tool_use) {
                    let block = if tool.kind.as_deref() == Some("server_tool_use") {
                        Block::Other
                    } else if self.answer_tool.as_deref() == Some(&*tool.name) {
                        self.answered = true;
                        Block::Answer { sent: false }
                    } else {
                        let call = self.calls;
                        self.calls += 1;
                        out.push_back(ProviderEvent::ToolCall {
                            index: call,
                            id: Some(tool.tool_use_id.into_owned()),
                            name: Some(tool.name.into_owned()),
                            arguments: String::new(),
                        });
                        Block::Tool {
                            call,
                            sent_arguments: false,
                        }
                    };
                    self.set_block(s.content_block_index, block);
                } else {
                    // A server tool's result, or a block type added later.
                    self.set_block(s.content_block_index, Block::Other);
                }
            }
            "contentBlockDelta" => self.on_delta(parse(data)?, out)?,
            "contentBlockStop" => {
                let s: BlockStop = parse(data)?;
                self.on_block_stop(s.content_block_index, out);
            }
            "messageStop" => {
                let s: MessageStop<'_> = parse(data)?;
                self.stopped = true;
                let finish = match s.stop_reason.as_deref().map_or(FinishReason::Stop, finish_reason) {
                    // The model called only the answer tool: the answer is complete.
                    FinishReason::ToolCalls if self.answered && self.calls == 0 => FinishReason::Stop,
                    f => f,
                };
                out.push_back(ProviderEvent::Finish(finish));
            }
            "metadata" => {
                let m: Metadata = parse(data)?;
                if let Some(u) = m.usage {
                    out.push_back(ProviderEvent::Usage(u.normalise()));
                }
                self.done = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn on_delta(&mut self, d: BlockDelta<'_>, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        let index = d.content_block_index;
        let block = self.block(index);
        if block == Some(Block::Other) {
            return Ok(());
        }
        if let Some(text) = d.delta.text {
            if block.is_none() {
                self.set_block(index, Block::Text);
            }
            if !text.is_empty() {
                out.push_back(ProviderEvent::Text(text.into_owned()));
            }
        }
        if let Some(r) = d.delta.reasoning_content {
            if block.is_none() {
                self.set_block(index, Block::Thinking);
            }
            if let Some(text) = r.text.filter(|t| !t.is_empty()) {
                out.push_back(ProviderEvent::Reasoning(text.into_owned()));
            }
            if let Some(sig) = r.signature {
                match self.signatures.iter_mut().find(|(i, _)| *i == index) {
                    Some((_, s)) => s.push_str(&sig),
                    None => self.signatures.push((index, sig.into_owned())),
                }
            }
            if let Some(data) = r.redacted_content {
                out.push_back(ProviderEvent::Reasoning(REDACTED_THINKING.to_owned()));
                out.push_back(ProviderEvent::RedactedReasoning(data.into_owned()));
            }
        }
        if let Some(tool) = d.delta.tool_use {
            match block {
                Some(Block::Tool { call, .. }) => {
                    if !tool.input.is_empty() {
                        out.push_back(ProviderEvent::ToolCall {
                            index: call,
                            id: None,
                            name: None,
                            arguments: tool.input.into_owned(),
                        });
                        self.set_block(
                            index,
                            Block::Tool {
                                call,
                                sent_arguments: true,
                            },
                        );
                    }
                }
                Some(Block::Other) => {}
                Some(Block::Answer { .. }) => {
                    if !tool.input.is_empty() {
                        out.push_back(ProviderEvent::Text(tool.input.into_owned()));
                        self.set_block(index, Block::Answer { sent: true });
                    }
                }
                _ => return Err(protocol_error("tool input for a block that is not a tool call")),
            }
        }
        Ok(())
    }

    fn on_block_stop(&mut self, index: u32, out: &mut VecDeque<ProviderEvent>) {
        if let Some(at) = self.signatures.iter().position(|(i, _)| *i == index) {
            // The block's reasoning so far and this signature form one signed block.
            let (_, signature) = self.signatures.swap_remove(at);
            out.push_back(ProviderEvent::ReasoningSignature(signature));
        }
        match self.block(index) {
            Some(Block::Answer { sent: false }) => {
                // An answer tool without input: `{}`, as in whole answers.
                out.push_back(ProviderEvent::Text("{}".to_owned()));
                self.set_block(index, Block::Answer { sent: true });
            }
            Some(Block::Tool {
                call,
                sent_arguments: false,
            }) => {
                out.push_back(ProviderEvent::ToolCall {
                    index: call,
                    id: None,
                    name: None,
                    arguments: "{}".to_owned(),
                });
                self.set_block(
                    index,
                    Block::Tool {
                        call,
                        sent_arguments: true,
                    },
                );
            }
            _ => {}
        }
    }
}

/// The events of the ConverseStream grammar (others are skipped wherever they come).
fn is_known(event: &str) -> bool {
    matches!(
        event,
        "contentBlockStart" | "contentBlockDelta" | "contentBlockStop" | "messageStop" | "metadata"
    )
}

impl EventDecoder for ConverseStreamDecoder {
    fn on_event(&mut self, event: Frame<'_>, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        self.on_data(event.event, event.data, out)
    }

    fn finished(&self) -> bool {
        self.done
    }

    fn complete_at_end(&self) -> bool {
        if self.stopped && !self.done {
            tracing::warn!(
                "a Bedrock stream ended after messageStop without its metadata event: no usage reported"
            );
        }
        self.stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(events: &[(&str, &str)], answer_tool: Option<&str>) -> (Vec<ProviderEvent>, Result<()>) {
        let mut d = ConverseStreamDecoder::with_answer_tool(answer_tool);
        let mut out = VecDeque::new();
        let mut r = Ok(());
        for (e, data) in events {
            r = d.on_data(e, data, &mut out);
            if r.is_err() {
                break;
            }
        }
        (out.into_iter().collect(), r)
    }

    #[test]
    fn tool_call_with_pieces_and_late_usage() {
        let (events, r) = decode(
            &[
                ("messageStart", r#"{"role":"assistant","p":"ab"}"#),
                (
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":0,"delta":{"text":"Let me check."}}"#,
                ),
                ("contentBlockStop", r#"{"contentBlockIndex":0}"#),
                (
                    "contentBlockStart",
                    r#"{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t1","name":"f"}}}"#,
                ),
                (
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"a\":"}}}"#,
                ),
                (
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"1}"}}}"#,
                ),
                ("contentBlockStop", r#"{"contentBlockIndex":1}"#),
                ("messageStop", r#"{"stopReason":"tool_use"}"#),
                (
                    "metadata",
                    r#"{"usage":{"inputTokens":3,"outputTokens":4,"totalTokens":7},"metrics":{"latencyMs":1}}"#,
                ),
            ],
            None,
        );
        r.unwrap();
        assert!(events.contains(&ProviderEvent::ToolCall {
            index: 0,
            id: None,
            name: None,
            arguments: "1}".into()
        }));
        assert!(events.contains(&ProviderEvent::Finish(FinishReason::ToolCalls)));
        assert!(matches!(events.last(), Some(ProviderEvent::Usage(u)) if u.total_tokens == 7));
    }

    #[test]
    fn reasoning_signature_and_answer_tool() {
        let (events, r) = decode(
            &[
                ("messageStart", r#"{"role":"assistant"}"#),
                (
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hmm"}}}"#,
                ),
                (
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"sig"}}}"#,
                ),
                ("contentBlockStop", r#"{"contentBlockIndex":0}"#),
                (
                    "contentBlockStart",
                    r#"{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t","name":"city"}}}"#,
                ),
                (
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"n\":1}"}}}"#,
                ),
                ("contentBlockStop", r#"{"contentBlockIndex":1}"#),
                ("messageStop", r#"{"stopReason":"tool_use"}"#),
            ],
            Some("city"),
        );
        r.unwrap();
        assert_eq!(events[1], ProviderEvent::Reasoning("hmm".into()));
        assert_eq!(events[2], ProviderEvent::ReasoningSignature("sig".into()));
        assert_eq!(events[3], ProviderEvent::Text("{\"n\":1}".into()));
        assert_eq!(events[4], ProviderEvent::Finish(FinishReason::Stop));
    }

    #[test]
    fn grammar_errors_are_typed() {
        for events in [
            &[(
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"text":"x"}}"#,
            )][..],
            &[("messageStart", "{}"), ("messageStart", "{}")],
            &[
                ("messageStart", "{}"),
                (
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"x"}}}"#,
                ),
            ],
            &[("messageStart", "{}"), ("contentBlockDelta", "{not json")],
        ] {
            let (_, r) = decode(events, None);
            assert_eq!(r.unwrap_err().kind(), ErrorKind::ProviderUnavailable);
        }
    }
}
