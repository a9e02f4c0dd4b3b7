//! `POST /v1/events`: the body decoded (identity, gzip or zstd, each bounded so a small bomb
//! cannot become a large allocation), the batch read, and each event checked on its own.

use std::io::Read;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::event::{Rejection, StoredEvent};
use crate::keys::{KeyKind, KeyRecord};

/// Body bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest body as sent (compressed), in bytes.
    pub max_body_bytes: usize,
    /// The largest body once decompressed.
    pub max_decoded_bytes: usize,
    /// The most events in one batch.
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 << 20,
            max_decoded_bytes: 64 << 20,
            max_events: 10_000,
        }
    }
}

/// Why a whole batch was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// A `Content-Encoding` other than identity, gzip and zstd, or a non-JSON content type.
    #[error("{0}")]
    Unsupported(String),
    /// Too large (as sent, decompressed, or in events).
    #[error("{0}")]
    TooLarge(String),
    /// Not a batch: bad compression, bad JSON, not `{"events": [...]}`.
    #[error("{0}")]
    Malformed(String),
}

/// Decodes a body by its `Content-Encoding`.
pub fn decode(encoding: Option<&str>, body: &[u8], limits: &Limits) -> Result<Vec<u8>, BatchError> {
    let encoding = encoding.map(|e| e.trim().to_ascii_lowercase());
    let limit = limits.max_decoded_bytes;
    let read_bounded = |mut r: Box<dyn Read + '_>, name: &str| -> Result<Vec<u8>, BatchError> {
        let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
        r.by_ref()
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| BatchError::Malformed(format!("the body is not valid {name}")))?;
        if out.len() > limit {
            return Err(BatchError::TooLarge(format!(
                "the body decompresses to more than {limit} bytes"
            )));
        }
        Ok(out)
    };
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(body.to_vec()),
        Some("gzip") | Some("x-gzip") => {
            read_bounded(Box::new(flate2::read::MultiGzDecoder::new(body)), "gzip")
        }
        Some("zstd") => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(body)
                .map_err(|_| BatchError::Malformed("the body is not valid zstd".into()))?;
            read_bounded(Box::new(decoder), "zstd")
        }
        Some(other) => Err(BatchError::Unsupported(format!(
            "Content-Encoding `{}` is not supported (identity, gzip, zstd)",
            other
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(32)
                .collect::<String>()
        ))),
    }
}

/// A batch as sent: `{"events": [...], "dropped": N}`.
#[derive(Debug, Deserialize)]
pub struct Batch<'a> {
    /// The events, each still raw so that one bad event does not spoil the rest.
    #[serde(borrow)]
    pub events: Vec<&'a RawValue>,
    /// Events the client dropped since its last accepted batch.
    #[serde(default)]
    pub dropped: u64,
}

/// Reads a decoded body as a batch.
pub fn parse<'a>(body: &'a [u8], limits: &Limits) -> Result<Batch<'a>, BatchError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| BatchError::Malformed(format!("the body is not UTF-8 (byte {})", e.valid_up_to())))?;
    let batch: Batch<'a> = serde_json::from_str(text).map_err(|e| {
        BatchError::Malformed(format!(
            "the body is not a batch `{{\"events\": [...]}}`: {} (line {}, column {})",
            crate::event::describe(&e.to_string()),
            e.line(),
            e.column()
        ))
    })?;
    if batch.events.len() > limits.max_events {
        return Err(BatchError::TooLarge(format!(
            "{} events; at most {} per batch",
            batch.events.len(),
            limits.max_events
        )));
    }
    Ok(batch)
}

/// Checks one event and that `key` may write it: an ingest key writes its own app only, and a
/// key bound to a team writes that team only (an event naming no team gets the key's).
pub fn admit(raw: &RawValue, key: &KeyRecord, now_ms: u64) -> Result<StoredEvent, Rejection> {
    let mut e = StoredEvent::parse(raw, now_ms)?;
    if key.kind == KeyKind::Ingest {
        if key.app.as_deref() != Some(e.app.as_str()) {
            return Err(Rejection {
                reason: "app_not_allowed",
                detail: "this key writes events for another app".into(),
            });
        }
        if let Some(team) = &key.team {
            if e.team.is_empty() {
                e.team = team.clone();
            } else if &e.team != team {
                return Err(Rejection {
                    reason: "team_not_allowed",
                    detail: "this key writes events for another team".into(),
                });
            }
        }
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_and_zstd_bombs_stop_at_the_bound() {
        let limits = Limits {
            max_decoded_bytes: 1 << 20,
            ..Limits::default()
        };
        let zeros = vec![b' '; 8 << 20];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&zeros).unwrap();
        let gz = gz.finish().unwrap();
        assert!(gz.len() < 64 << 10);
        assert!(matches!(
            decode(Some("gzip"), &gz, &limits),
            Err(BatchError::TooLarge(_))
        ));
        let zs = ruzstd::encoding::compress_to_vec(&zeros[..], ruzstd::encoding::CompressionLevel::Fastest);
        assert!(matches!(
            decode(Some("zstd"), &zs, &limits),
            Err(BatchError::TooLarge(_))
        ));
        let small = ruzstd::encoding::compress_to_vec(
            &b"{\"events\":[]}"[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert_eq!(decode(Some("zstd"), &small, &limits).unwrap(), b"{\"events\":[]}");
        assert!(matches!(
            decode(Some("br"), b"", &limits),
            Err(BatchError::Unsupported(_))
        ));
        assert!(matches!(
            decode(Some("gzip"), b"not gzip", &limits),
            Err(BatchError::Malformed(_))
        ));
    }

    #[test]
    fn a_batch_must_be_an_object_with_events() {
        let l = Limits::default();
        assert_eq!(
            parse(br#"{"events":[{"a":1}],"dropped":3}"#, &l).unwrap().dropped,
            3
        );
        for bad in [
            &b"[]"[..],
            b"{\"events\": 1}",
            b"{",
            b"\xff\xfe",
            b"{\"dropped\": 1}",
        ] {
            assert!(matches!(parse(bad, &l), Err(BatchError::Malformed(_))), "{bad:?}");
        }
    }
}
