//! Synthesised SageMaker Runtime answers from a container speaking OpenAI's Chat Completions
//! format (TGI, LMI-vLLM): `InvokeEndpoint` answers the OpenAI chat JSON, and
//! `InvokeEndpointWithResponseStream` answers an eventstream of `PayloadPart` frames whose
//! payloads are the raw bytes of the container's OpenAI SSE stream, cut at arbitrary places.

use std::ops::Range;

use serde_json::Value;

use crate::eventstream;
use crate::scenario::Reply;
use crate::synth::{Endpoint, answer};
use crate::synth_aws::AwsAnswer;

/// `x-amzn-Invoked-Production-Variant`'s value.
pub const VARIANT: &str = "AllTraffic";

fn with_stream(request: &Value, stream: bool) -> Value {
    let mut r = request.clone();
    if let Value::Object(o) = &mut r {
        o.insert("stream".to_owned(), stream.into());
    }
    r
}

/// `POST /endpoints/{EndpointName}/invocations`: the OpenAI chat synth's JSON answer, or
/// the OpenAI embeddings synth's for an embeddings body (`input` without `messages`: an
/// embedding model's container).
pub fn invocations(reply: &Reply, request: &Value) -> AwsAnswer {
    let embeddings = request.get("input").is_some() && request.get("messages").is_none();
    let (_, body) = if embeddings {
        answer(reply, request, Endpoint::Embeddings)
    } else {
        answer(reply, &with_stream(request, false), Endpoint::Chat)
    };
    AwsAnswer {
        status: 200,
        headers: vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("x-amzn-invoked-production-variant".to_owned(), VARIANT.to_owned()),
        ],
        body,
    }
}

/// `POST /endpoints/{EndpointName}/invocations-response-stream`: the OpenAI chat synth's SSE
/// stream (`data: …` through `data: [DONE]`), cut by [`cuts`] into `PayloadPart` frames
/// (`:content-type: application/octet-stream`, payload = the raw bytes).
pub fn response_stream(reply: &Reply, request: &Value) -> AwsAnswer {
    let (_, sse) = answer(reply, &with_stream(request, true), Endpoint::Chat);
    let body = cuts(&sse)
        .into_iter()
        .flat_map(|r| eventstream::event("PayloadPart", "application/octet-stream", &sse[r]))
        .collect();
    AwsAnswer {
        status: 200,
        headers: vec![
            ("content-type".to_owned(), eventstream::CONTENT_TYPE.to_owned()),
            (
                "x-amzn-sagemaker-content-type".to_owned(),
                "text/event-stream".to_owned(),
            ),
            ("x-amzn-invoked-production-variant".to_owned(), VARIANT.to_owned()),
        ],
        body,
    }
}

/// Where to cut an SSE body into parts: every event is cut in its middle (bytes, so a
/// multi-byte character may be split too), and only every other event boundary is a cut, so
/// some parts carry the end of one event and the start of the next. The ranges cover `sse`.
pub fn cuts(sse: &[u8]) -> Vec<Range<usize>> {
    let mut points = vec![0];
    let mut start = 0;
    let mut k = 0;
    while start < sse.len() {
        let end = sse[start..]
            .windows(2)
            .position(|w| w == b"\n\n")
            .map_or(sse.len(), |p| start + p + 2);
        let middle = start + (end - start) / 2;
        if middle > start {
            points.push(middle);
        }
        if k % 2 == 0 || end == sse.len() {
            points.push(end);
        }
        start = end;
        k += 1;
    }
    points.dedup();
    points
        .windows(2)
        .map(|w| w[0]..w[1])
        .filter(|r| !r.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parts_reassemble_into_the_openai_stream() {
        let reply = Reply {
            text: "Héllo wörld, a longer answer".into(),
            ..Reply::default()
        };
        let request = json!({"model": "m", "messages": [], "stream_options": {"include_usage": true}});
        let a = response_stream(&reply, &request);
        let frames = eventstream::decode_all(&a.body).unwrap();
        let (_, sse) = answer(&reply, &with_stream(&request, true), Endpoint::Chat);
        let joined: Vec<u8> = frames.iter().flat_map(|(_, p)| p.clone()).collect();
        assert_eq!(joined, sse);
        assert!(joined.ends_with(b"data: [DONE]\n\n"));
        for (headers, _) in &frames {
            assert!(headers.contains(&(":event-type".into(), "PayloadPart".into())));
            assert!(headers.contains(&(":content-type".into(), "application/octet-stream".into())));
            assert!(headers.contains(&(":message-type".into(), "event".into())));
        }
        // Parts do not line up with events: some end mid-event, some span two events.
        let events = sse.windows(2).filter(|w| w == b"\n\n").count();
        assert!(frames.len() > events);
        assert!(frames.iter().any(|(_, p)| !p.ends_with(b"\n\n")));
        assert!(frames.iter().any(|(_, p)| {
            p.windows(2)
                .position(|w| w == b"\n\n")
                .is_some_and(|i| i + 2 < p.len())
        }));
        assert!(
            a.headers
                .contains(&("x-amzn-sagemaker-content-type".into(), "text/event-stream".into()))
        );
    }

    #[test]
    fn invocations_is_the_openai_json() {
        let reply = Reply {
            text: "hi".into(),
            ..Reply::default()
        };
        let a = invocations(&reply, &json!({"messages": [], "stream": true}));
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["choices"][0]["message"]["content"], "hi");
    }

    #[test]
    fn cuts_cover_everything() {
        for sse in [
            &b""[..],
            b"data: x\n\n",
            b"data: a\n\ndata: bb\n\ndata: [DONE]\n\n",
            b"no separator",
        ] {
            let c = cuts(sse);
            let joined: Vec<u8> = c.iter().flat_map(|r| sse[r.clone()].to_vec()).collect();
            assert_eq!(joined, sse);
        }
    }
}
