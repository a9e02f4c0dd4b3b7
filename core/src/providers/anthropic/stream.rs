//! Messages API streams → provider events. The grammar (PROTOCOLS.md §3.4):
//!
//! ```text
//! message_start (id, model, usage with input and cache counts)
//! ( content_block_start(index, block) ( content_block_delta(index, delta) | ping )* content_block_stop(index) )*
//! message_delta (stop_reason, usage: cumulative output tokens)
//! message_stop
//! ```
//!
//! `ping` may come anywhere; an `error` event (`{"type":"error","error":{type,message}}`) after
//! the 200 status is a typed error; `message_stop` is the terminal event, and a stream that
//! ends without it is an error (see [`crate::providers::FramedStream`]). Unknown event, block
//! and delta types are skipped (the API adds them over time).

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::Deserialize;

use super::error_body::error_from_body;
use super::response::{REDACTED_THINKING, finish_reason, malformed};
use super::usage::WireUsage;
use crate::error::{Error, ErrorKind, Result};
use crate::providers::framing::Frame;
use crate::providers::{EventDecoder, ProviderEvent};
use crate::types::FinishReason;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent<'a> {
    MessageStart {
        #[serde(borrow)]
        message: WireStartMessage<'a>,
    },
    ContentBlockStart {
        index: u32,
        #[serde(borrow)]
        content_block: WireBlockStart<'a>,
    },
    ContentBlockDelta {
        index: u32,
        #[serde(borrow)]
        delta: WireDelta<'a>,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        #[serde(default, borrow)]
        delta: Option<WireMessageDelta<'a>>,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    MessageStop {},
    Ping {},
    Error {},
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireStartMessage<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlockStart<'a> {
    Text {
        #[serde(default, borrow)]
        text: Cow<'a, str>,
    },
    Thinking {
        #[serde(default, borrow)]
        thinking: Cow<'a, str>,
        #[serde(default, borrow)]
        signature: Option<Cow<'a, str>>,
    },
    RedactedThinking {
        #[serde(default, borrow)]
        data: Cow<'a, str>,
    },
    ToolUse {
        #[serde(borrow)]
        id: Cow<'a, str>,
        #[serde(borrow)]
        name: Cow<'a, str>,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireDelta<'a> {
    TextDelta {
        #[serde(borrow)]
        text: Cow<'a, str>,
    },
    ThinkingDelta {
        #[serde(borrow)]
        thinking: Cow<'a, str>,
    },
    InputJsonDelta {
        #[serde(borrow)]
        partial_json: Cow<'a, str>,
    },
    SignatureDelta {
        #[serde(borrow)]
        signature: Cow<'a, str>,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireMessageDelta<'a> {
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
}

/// What a content block index is, once its start has been seen.
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
    Other,
}

/// Decodes Messages API SSE events; the terminal event is `message_stop`.
#[derive(Debug, Default)]
pub struct MessagesStreamDecoder {
    done: bool,
    started: bool,
    /// Blocks by their stream index (small: a handful per answer).
    blocks: Vec<(u32, Block)>,
    calls: u32,
    /// The signature of each open thinking block so far, by stream index (sent at its end).
    signatures: Vec<(u32, String)>,
    /// The request's structured-output tool, whose input is the answer text.
    answer_tool: Option<String>,
    /// Whether the answer tool was called.
    answered: bool,
}

fn protocol_error(what: &str) -> Error {
    Error::new(
        ErrorKind::ProviderUnavailable,
        format!("the provider's event stream is malformed: {what}"),
    )
}

impl MessagesStreamDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> MessagesStreamDecoder {
        MessagesStreamDecoder::default()
    }

    /// A decoder for a structured-output request whose answer tool is `name`
    /// ([`structured_output_tool`](super::structured_output_tool)): that tool's input pieces
    /// are the answer's text deltas, it is not reported as a tool call, and an answer without
    /// other tool calls finishes with `stop`.
    pub fn with_answer_tool(name: Option<&str>) -> MessagesStreamDecoder {
        MessagesStreamDecoder {
            answer_tool: name.map(str::to_owned),
            ..MessagesStreamDecoder::default()
        }
    }

    fn block_mut(&mut self, index: u32) -> Option<&mut Block> {
        self.blocks.iter_mut().find(|(i, _)| *i == index).map(|(_, b)| b)
    }

    /// Decodes one event's `data:` JSON.
    pub fn on_data(&mut self, data: &str, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        let event: WireEvent<'_> = serde_json::from_str(data).map_err(|e| malformed("stream event", &e))?;
        if self.done && !matches!(event, WireEvent::Ping {} | WireEvent::Other) {
            return Err(protocol_error("an event after message_stop"));
        }
        match event {
            WireEvent::MessageStart { message } => {
                if self.started {
                    return Err(protocol_error("a second message_start"));
                }
                self.started = true;
                out.push_back(ProviderEvent::Meta {
                    id: message.id.map(Cow::into_owned),
                    model: message.model.map(Cow::into_owned),
                });
                if let Some(u) = message.usage {
                    out.push_back(ProviderEvent::Usage(u.normalise()));
                }
            }
            WireEvent::ContentBlockStart { index, content_block } => {
                self.need_start()?;
                if self.block_mut(index).is_some() {
                    return Err(protocol_error("a content block index started twice"));
                }
                let block = match content_block {
                    WireBlockStart::Text { text } => {
                        if !text.is_empty() {
                            out.push_back(ProviderEvent::Text(text.into_owned()));
                        }
                        Block::Text
                    }
                    WireBlockStart::Thinking { thinking, signature } => {
                        if !thinking.is_empty() {
                            out.push_back(ProviderEvent::Reasoning(thinking.into_owned()));
                        }
                        if let Some(sig) = signature.filter(|s| !s.is_empty()) {
                            self.signatures.push((index, sig.into_owned()));
                        }
                        Block::Thinking
                    }
                    WireBlockStart::RedactedThinking { data } => {
                        out.push_back(ProviderEvent::Reasoning(REDACTED_THINKING.to_owned()));
                        out.push_back(ProviderEvent::RedactedReasoning(data.into_owned()));
                        Block::Other
                    }
                    WireBlockStart::ToolUse { name, .. } if self.answer_tool.as_deref() == Some(&*name) => {
                        self.answered = true;
                        Block::Answer { sent: false }
                    }
                    WireBlockStart::ToolUse { id, name } => {
                        let call = self.calls;
                        self.calls += 1;
                        out.push_back(ProviderEvent::ToolCall {
                            index: call,
                            id: Some(id.into_owned()),
                            name: Some(name.into_owned()),
                            arguments: String::new(),
                        });
                        Block::Tool {
                            call,
                            sent_arguments: false,
                        }
                    }
                    WireBlockStart::Other => Block::Other,
                };
                self.blocks.push((index, block));
            }
            WireEvent::ContentBlockDelta { index, delta } => {
                let block = *self
                    .block_mut(index)
                    .ok_or_else(|| protocol_error("a delta for a content block that did not start"))?;
                match (delta, block) {
                    (WireDelta::TextDelta { text }, _) if !text.is_empty() => {
                        out.push_back(ProviderEvent::Text(text.into_owned()));
                    }
                    (WireDelta::ThinkingDelta { thinking }, _) if !thinking.is_empty() => {
                        out.push_back(ProviderEvent::Reasoning(thinking.into_owned()));
                    }
                    (WireDelta::InputJsonDelta { partial_json }, Block::Tool { call, .. })
                        if !partial_json.is_empty() =>
                    {
                        out.push_back(ProviderEvent::ToolCall {
                            index: call,
                            id: None,
                            name: None,
                            arguments: partial_json.into_owned(),
                        });
                        *self.block_mut(index).expect("found above") = Block::Tool {
                            call,
                            sent_arguments: true,
                        };
                    }
                    (WireDelta::SignatureDelta { signature }, Block::Thinking) => {
                        match self.signatures.iter_mut().find(|(i, _)| *i == index) {
                            Some((_, s)) => s.push_str(&signature),
                            None => self.signatures.push((index, signature.into_owned())),
                        }
                    }
                    (WireDelta::InputJsonDelta { partial_json }, Block::Answer { .. })
                        if !partial_json.is_empty() =>
                    {
                        out.push_back(ProviderEvent::Text(partial_json.into_owned()));
                        *self.block_mut(index).expect("found above") = Block::Answer { sent: true };
                    }
                    (WireDelta::InputJsonDelta { .. }, Block::Tool { .. } | Block::Answer { .. }) => {}
                    (WireDelta::InputJsonDelta { .. }, _) => {
                        return Err(protocol_error("tool input for a block that is not a tool call"));
                    }
                    _ => {}
                }
            }
            WireEvent::ContentBlockStop { index } => {
                let block = *self
                    .block_mut(index)
                    .ok_or_else(|| protocol_error("the end of a content block that did not start"))?;
                if let Some(at) = self.signatures.iter().position(|(i, _)| *i == index) {
                    // The block's text so far and this signature form one signed block.
                    let (_, signature) = self.signatures.swap_remove(at);
                    out.push_back(ProviderEvent::ReasoningSignature(signature));
                }
                if block == (Block::Answer { sent: false }) {
                    // An answer tool without input: `{}`, as in non-streamed answers.
                    out.push_back(ProviderEvent::Text("{}".to_owned()));
                    *self.block_mut(index).expect("found above") = Block::Answer { sent: true };
                }
                if let Block::Tool {
                    call,
                    sent_arguments: false,
                } = block
                {
                    // A tool without arguments: `{}`, as in non-streamed answers.
                    out.push_back(ProviderEvent::ToolCall {
                        index: call,
                        id: None,
                        name: None,
                        arguments: "{}".to_owned(),
                    });
                    *self.block_mut(index).expect("found above") = Block::Tool {
                        call,
                        sent_arguments: true,
                    };
                }
            }
            WireEvent::MessageDelta { delta, usage } => {
                self.need_start()?;
                if let Some(reason) = delta.and_then(|d| d.stop_reason) {
                    let finish = match finish_reason(&reason) {
                        // The model called only the answer tool: the answer is complete.
                        FinishReason::ToolCalls if self.answered && self.calls == 0 => FinishReason::Stop,
                        f => f,
                    };
                    out.push_back(ProviderEvent::Finish(finish));
                }
                if let Some(u) = usage {
                    out.push_back(ProviderEvent::Usage(u.normalise()));
                }
            }
            WireEvent::MessageStop {} => {
                self.need_start()?;
                self.done = true;
            }
            WireEvent::Error {} => {
                let v: serde_json::Value =
                    serde_json::from_str(data).map_err(|e| malformed("error event", &e))?;
                return Err(error_from_body(&v, None));
            }
            WireEvent::Ping {} | WireEvent::Other => {}
        }
        Ok(())
    }

    fn need_start(&self) -> Result<()> {
        if self.started {
            Ok(())
        } else {
            Err(protocol_error("an event before message_start"))
        }
    }
}

impl EventDecoder for MessagesStreamDecoder {
    fn on_event(&mut self, event: Frame<'_>, out: &mut VecDeque<ProviderEvent>) -> Result<()> {
        self.on_data(event.data, out)
    }

    fn finished(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::framing::SseDecoder;
    use crate::types::Usage;
    use serde_json::{Value, json};

    fn decode(text: &str) -> (Vec<ProviderEvent>, Result<()>, bool) {
        decode_with(MessagesStreamDecoder::new(), text)
    }

    fn decode_with(mut decoder: MessagesStreamDecoder, text: &str) -> (Vec<ProviderEvent>, Result<()>, bool) {
        let mut framing = SseDecoder::new();
        let mut out = VecDeque::new();
        let r = framing.feed(text.as_bytes(), |f| decoder.on_event(f, &mut out));
        (out.into_iter().collect(), r, decoder.finished())
    }

    const START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":4,\"output_tokens\":1}}}\n\n";

    #[test]
    fn text_tool_and_usage() {
        let text = format!(
            "{START}event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"text\",\"text\":\"\"}}}}   \n\n\
             event: ping\ndata: {{\"type\": \"ping\"}}\n\n\
             event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"Hi\"}}}}\n\n\
             event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":0}}\n\n\
             event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{{}}}}}}\n\n\
             event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":\"{{\\\"a\\\":\"}}}}\n\n\
             event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":\"1}}\"}}}}\n\n\
             event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":1}}\n\n\
             event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"g\",\"input\":{{}}}}}}\n\n\
             event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}}}\n\n\
             event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":2}}\n\n\
             event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"tool_use\"}},\"usage\":{{\"output_tokens\":20}}}}\n\n\
             event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
        );
        let (events, r, done) = decode(&text);
        r.unwrap();
        assert!(done);
        let call = |index, id: Option<&str>, name: Option<&str>, arguments: &str| ProviderEvent::ToolCall {
            index,
            id: id.map(str::to_owned),
            name: name.map(str::to_owned),
            arguments: arguments.to_owned(),
        };
        assert_eq!(
            events,
            vec![
                ProviderEvent::Meta {
                    id: Some("msg_1".into()),
                    model: Some("claude-x".into())
                },
                ProviderEvent::Usage(Usage {
                    input_tokens: 14,
                    output_tokens: 1,
                    cached_input_tokens: 4,
                    total_tokens: 15,
                    ..Usage::default()
                }),
                ProviderEvent::Text("Hi".into()),
                call(0, Some("toolu_1"), Some("f"), ""),
                call(0, None, None, "{\"a\":"),
                call(0, None, None, "1}"),
                call(1, Some("toolu_2"), Some("g"), ""),
                call(1, None, None, "{}"),
                ProviderEvent::Finish(FinishReason::ToolCalls),
                ProviderEvent::Usage(Usage {
                    output_tokens: 20,
                    total_tokens: 20,
                    ..Usage::default()
                }),
            ]
        );
    }

    fn data(events: &[Value]) -> String {
        let mut text = START.to_owned();
        for e in events {
            text.push_str(&format!("data: {e}\n\n"));
        }
        text
    }

    #[test]
    fn thinking_signatures_and_redacted_blocks() {
        let text = data(&[
            json!({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}),
            json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Use the "}}),
            json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"tool."}}),
            json!({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}),
            json!({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"Cks="}}),
            json!({"type":"content_block_stop","index":0}),
            json!({"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAh=="}}),
            json!({"type":"content_block_stop","index":1}),
            json!({"type":"content_block_start","index":2,"content_block":{"type":"thinking","thinking":"unsigned"}}),
            json!({"type":"content_block_stop","index":2}),
            json!({"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}),
            json!({"type":"content_block_stop","index":3}),
            json!({"type":"message_stop"}),
        ]);
        let (events, r, done) = decode(&text);
        r.unwrap();
        assert!(done);
        let events: Vec<ProviderEvent> = events
            .into_iter()
            .filter(|e| !matches!(e, ProviderEvent::Meta { .. } | ProviderEvent::Usage(_)))
            .collect();
        assert_eq!(
            events,
            vec![
                ProviderEvent::Reasoning("Use the ".into()),
                ProviderEvent::Reasoning("tool.".into()),
                ProviderEvent::ReasoningSignature("EqQBCks=".into()),
                ProviderEvent::Reasoning(REDACTED_THINKING.into()),
                ProviderEvent::RedactedReasoning("EmwKAh==".into()),
                ProviderEvent::Reasoning("unsigned".into()),
                ProviderEvent::ToolCall {
                    index: 0,
                    id: Some("toolu_1".into()),
                    name: Some("f".into()),
                    arguments: String::new()
                },
                ProviderEvent::ToolCall {
                    index: 0,
                    id: None,
                    name: None,
                    arguments: "{}".into()
                },
            ]
        );
    }

    #[test]
    fn the_answer_tool_streams_as_text() {
        let tool_start = |i: u32, name: &str| json!({"type":"content_block_start","index":i,"content_block":{"type":"tool_use","id":format!("toolu_{i}"),"name":name,"input":{}}});
        let json_delta = |i: u32, piece: &str| json!({"type":"content_block_delta","index":i,"delta":{"type":"input_json_delta","partial_json":piece}});
        let stop = |i: u32| json!({"type":"content_block_stop","index":i});
        let finish =
            json!({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}});
        let text = data(&[
            tool_start(0, "capital"),
            json_delta(0, ""),
            json_delta(0, "{\"city\": "),
            json_delta(0, "\"Paris\"}"),
            stop(0),
            finish.clone(),
            json!({"type":"message_stop"}),
        ]);
        let (events, r, _) = decode_with(MessagesStreamDecoder::with_answer_tool(Some("capital")), &text);
        r.unwrap();
        let kept: Vec<&ProviderEvent> = events
            .iter()
            .filter(|e| !matches!(e, ProviderEvent::Meta { .. } | ProviderEvent::Usage(_)))
            .collect();
        assert_eq!(
            kept,
            [
                &ProviderEvent::Text("{\"city\": ".into()),
                &ProviderEvent::Text("\"Paris\"}".into()),
                &ProviderEvent::Finish(FinishReason::Stop),
            ]
        );
        // Without input: `{}`. Beside the caller's own tool: that call stays, and so does
        // the tool_calls finish.
        let text = data(&[
            tool_start(0, "lookup"),
            stop(0),
            tool_start(1, "capital"),
            stop(1),
            finish,
            json!({"type":"message_stop"}),
        ]);
        let (events, r, _) = decode_with(MessagesStreamDecoder::with_answer_tool(Some("capital")), &text);
        r.unwrap();
        assert!(events.contains(&ProviderEvent::Text("{}".into())));
        assert!(events.contains(&ProviderEvent::Finish(FinishReason::ToolCalls)));
        let calls: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                ProviderEvent::ToolCall { index, name, .. } => Some((*index, name.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(calls, [(0, Some("lookup".into())), (0, None)]);
    }

    #[test]
    fn error_event_mid_stream_is_typed() {
        let text = format!(
            "{START}event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}}}\n\n"
        );
        let (events, r, done) = decode(&text);
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        assert_eq!(e.provider_code(), Some("overloaded_error"));
        assert!(e.is_retryable());
        assert!(!done);
        assert_eq!(events.len(), 2);
        let text = format!(
            "{START}event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"rate_limit_error\",\"message\":\"r\"}}}}\n\n"
        );
        assert_eq!(decode(&text).1.unwrap_err().kind(), ErrorKind::RateLimited);
    }

    #[test]
    fn malformed_streams_are_typed_errors_never_panics() {
        let bad = [
            "data: {not json\n\n".to_owned(),
            "data: []\n\n".to_owned(),
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n".to_owned(),
            format!("{START}data: {{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{{\"type\":\"text_delta\",\"text\":\"x\"}}}}\n\n"),
            format!("{START}data: {{\"type\":\"content_block_stop\",\"index\":0}}\n\n"),
            format!("{START}data: {{\"type\":\"content_block_start\",\"index\":0}}\n\n"),
            format!("{START}data: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"text\"}}}}\n\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":\"{{\"}}}}\n\n"),
            format!("{START}data: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"text\"}}}}\n\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"text\"}}}}\n\n"),
            format!("{START}{START}"),
            format!("{START}data: {{\"type\":\"message_stop\"}}\n\ndata: {{\"type\":\"message_start\",\"message\":{{}}}}\n\n"),
            format!("{START}data: {{\"type\":\"message_delta\",\"usage\":{{\"output_tokens\":-1}}}}\n\n"),
            "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":\"many\"}}}\n\n".to_owned(),
            "data: {\"type\":\"error\"}\n\n".to_owned(),
            "data: {\"type\":\"error\",\"error\":\"the secret answer\"}\n\n".to_owned(),
        ];
        for text in bad {
            let (_, r, _) = decode(&text);
            let e = r.expect_err(&text);
            assert!(matches!(e.kind(), ErrorKind::ProviderUnavailable), "{text}: {e}");
            assert!(!e.message().contains("secret"), "{e}");
        }
        // Unknown events, blocks and deltas are skipped.
        let text = format!(
            "{START}data: {{\"type\":\"brand_new\"}}\n\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"server_tool_use\",\"id\":\"s\",\"name\":\"web_search\"}}}}\n\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"citations_delta\"}}}}\n\ndata: {{\"type\":\"message_stop\"}}\n\n"
        );
        let (_, r, done) = decode(&text);
        r.unwrap();
        assert!(done);
    }

    #[test]
    fn absurd_usage_counts_do_not_panic() {
        // Found while writing the fuzz targets: the usage sums overflowed (a panic in debug
        // builds, a wrapped count in release) on counts near u64::MAX.
        let text = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":\
            {\"input_tokens\":18446744073709551615,\"cache_read_input_tokens\":7,\"output_tokens\":18446744073709551615}}}\n\n\
            event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\
            \"usage\":{\"output_tokens\":18446744073709551615,\"cache_creation_input_tokens\":18446744073709551615}}\n\n\
            event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let (events, r, done) = decode(text);
        r.unwrap();
        assert!(done);
        let mut total = Usage::default();
        for e in &events {
            if let ProviderEvent::Usage(u) = e {
                total.merge(u);
            }
        }
        assert_eq!(total.input_tokens, u64::MAX);
        assert_eq!(total.total_tokens, u64::MAX);
    }
}
