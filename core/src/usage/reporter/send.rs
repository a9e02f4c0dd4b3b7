//! Sending a batch of usage events to the collector's ingest API: one gzip-compressed JSON
//! body `{"events": [...], "dropped": N}` per `POST {url}/v1/events`, and what the answer
//! means for the batch (delivered, retry later — and when —, or rejected for good).

use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::redact::Secret;
use crate::usage::UsageEvent;

/// One item of a batch: an event, or an event's JSON as the spool kept it.
pub(crate) enum Item<'a> {
    Event(&'a UsageEvent),
    Raw(&'a [u8]),
}

/// The gzip-compressed body for `items`, reporting `dropped` events lost since the last batch.
pub(crate) fn encode(items: &[Item<'_>], dropped: u64) -> std::io::Result<Vec<u8>> {
    // The JSON first, then one compression pass: the encoder runs its compressor on every
    // write, and serde writes in tiny pieces (that was ~100× slower).
    let mut json = Vec::with_capacity(items.len() * 1024 + 64);
    json.extend_from_slice(b"{\"events\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        match item {
            Item::Event(e) => serde_json::to_writer(&mut json, *e)?,
            Item::Raw(raw) => json.extend_from_slice(raw),
        }
    }
    write!(json, "],\"dropped\":{dropped}}}")?;
    let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 8 + 64), Compression::fast());
    gz.write_all(&json)?;
    gz.finish()
}

/// What became of a batch.
#[derive(Debug, PartialEq)]
pub(crate) enum Sent {
    /// The collector has it.
    Delivered,
    /// Not delivered; worth trying again (no sooner than `after`, when the collector said).
    Retry { after: Option<Duration>, why: String },
    /// The collector refused the batch for good (malformed, or too large to ever fit).
    Rejected { why: String },
    /// The body is over the collector's size limit: send it in smaller parts.
    TooLarge,
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// `{collector url}/v1/events`.
    pub(crate) url: String,
    /// The ingest key.
    pub(crate) key: Option<Secret>,
    /// The bound on one POST.
    pub(crate) timeout: Duration,
    /// `User-Agent`.
    pub(crate) user_agent: String,
}

/// POSTs one encoded body.
pub(crate) async fn post(http: &reqwest::Client, to: &Endpoint, body: Vec<u8>) -> Sent {
    let mut req = http
        .post(&to.url)
        .timeout(to.timeout)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .header("user-agent", &to.user_agent)
        .body(body);
    if let Some(key) = &to.key {
        req = req.bearer_auth(key.expose());
    }
    let response = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Sent::Retry {
                after: None,
                why: format!("no answer within {} ms", to.timeout.as_millis()),
            };
        }
        Err(e) => {
            return Sent::Retry {
                after: None,
                why: format!(
                    "cannot reach the collector: {}",
                    crate::http::transport_error(e, "collector").message()
                ),
            };
        }
    };
    let status = response.status().as_u16();
    let retry_after = crate::http::retry_after(response.headers());
    // Read the body so the connection can be reused.
    let _ = response.bytes().await;
    classify(status, retry_after)
}

fn classify(status: u16, retry_after: Option<Duration>) -> Sent {
    match status {
        200..=299 => Sent::Delivered,
        413 => Sent::TooLarge,
        // Malformed batch: sending it again cannot help.
        400 | 415 | 422 => Sent::Rejected {
            why: format!("the collector rejected the batch (HTTP {status})"),
        },
        // Everything else — 401/403 (a key being rotated), 404 (a collector being deployed),
        // 408, 429, 5xx — may pass: keep the events and try again.
        _ => Sent::Retry {
            after: retry_after,
            why: format!("the collector answered HTTP {status}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn body_is_gzipped_json_with_raw_items_verbatim() {
        let body = encode(&[Item::Raw(br#"{"id":"a"}"#), Item::Raw(br#"{"id":"b"}"#)], 7).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, r#"{"events":[{"id":"a"},{"id":"b"}],"dropped":7}"#);
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(200, None), Sent::Delivered);
        assert_eq!(classify(413, None), Sent::TooLarge);
        assert!(matches!(classify(400, None), Sent::Rejected { .. }));
        let wait = Some(Duration::from_secs(2));
        assert_eq!(
            classify(429, wait),
            Sent::Retry {
                after: wait,
                why: "the collector answered HTTP 429".into()
            }
        );
        assert!(matches!(classify(503, None), Sent::Retry { after: None, .. }));
        assert!(matches!(classify(401, None), Sent::Retry { .. }));
    }
}
