//! A usage receiver: a stand-in for the collector's ingest API (`POST /v1/events`) until the
//! collector exists, so every language's tests can check what a client's reporter delivers.
//! It stores each event id once (as the collector must), counts duplicates and reported drops,
//! and answers per a script of steps (status, `retry-after`, delay) to test failures.
//!
//! Routes (see [`crate::serve`]):
//! - `POST /_receiver` `{"steps": [ReceiverStep…]}` (optional) → `{"id", "url"}`; configure a
//!   client's `collector.url` as `url`.
//! - `PUT /_receiver/{id}/steps` `[ReceiverStep…]` → replaces the script (e.g. "now answer").
//! - `GET /_receiver/{id}` → [`Received`].
//! - `POST /r/{id}/v1/events` → the ingest endpoint.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Read;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How the receiver answers one POST (the last step repeats; no steps means 200).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverStep {
    /// The HTTP status (default 200; a non-2xx stores nothing).
    #[serde(default)]
    pub status: Option<u16>,
    /// A `retry-after` header, in seconds.
    #[serde(default)]
    pub retry_after_s: Option<u64>,
    /// Wait this long before answering (a slow or hanging collector; a 2xx batch is stored
    /// before the wait, as a collector that committed but answered late).
    #[serde(default)]
    pub delay_ms: u64,
}

/// What a receiver got.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Received {
    /// Every distinct event, in arrival order.
    pub events: Vec<Value>,
    /// POSTs answered (any status).
    pub posts: u64,
    /// Events in stored (2xx) POSTs, duplicates included.
    pub events_received: u64,
    /// Events whose id had been stored before.
    pub duplicates: u64,
    /// The sum of the batches' `dropped` counts.
    pub dropped: u64,
    /// True when every POST was gzip-compressed.
    pub all_gzip: bool,
    /// The `authorization` header of each POST, in order.
    pub authorization: Vec<String>,
    /// Bodies that were not a valid batch.
    pub malformed: u64,
}

/// One receiver's state.
#[derive(Debug, Default)]
pub struct Receiver {
    steps: VecDeque<ReceiverStep>,
    ids: HashSet<String>,
    received: Received,
}

impl Receiver {
    /// A receiver answering per `steps`.
    pub fn new(steps: Vec<ReceiverStep>) -> Receiver {
        Receiver {
            steps: steps.into(),
            received: Received {
                all_gzip: true,
                ..Received::default()
            },
            ..Receiver::default()
        }
    }

    /// Replaces the script.
    pub fn set_steps(&mut self, steps: Vec<ReceiverStep>) {
        self.steps = steps.into();
    }

    /// What it got so far.
    pub fn received(&self) -> Received {
        self.received.clone()
    }

    /// The step for the next POST.
    pub fn next_step(&mut self) -> ReceiverStep {
        if self.steps.len() > 1 {
            self.steps.pop_front().unwrap_or_default()
        } else {
            self.steps.front().cloned().unwrap_or_default()
        }
    }

    /// Takes one POST's body; returns the answer's JSON.
    pub fn ingest(
        &mut self,
        step_status: u16,
        gzip: bool,
        authorization: Option<String>,
        body: &[u8],
    ) -> Value {
        let r = &mut self.received;
        r.posts += 1;
        r.all_gzip &= gzip;
        r.authorization.push(authorization.unwrap_or_default());
        if !(200..300).contains(&step_status) {
            return serde_json::json!({"error": format!("scripted failure (HTTP {step_status})")});
        }
        let batch = decode(gzip, body);
        let Some(batch) = batch else {
            r.malformed += 1;
            return serde_json::json!({"error": "not a batch"});
        };
        r.dropped += batch.get("dropped").and_then(Value::as_u64).unwrap_or(0);
        let mut accepted = 0;
        let mut duplicate = 0;
        for event in batch
            .get("events")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            r.events_received += 1;
            let id = event
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if self.ids.insert(id) {
                accepted += 1;
                r.events.push(event);
            } else {
                duplicate += 1;
                r.duplicates += 1;
            }
        }
        serde_json::json!({"accepted": accepted, "duplicate": duplicate, "rejected": []})
    }
}

fn decode(gzip: bool, body: &[u8]) -> Option<Value> {
    let text = if gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body).read_to_end(&mut out).ok()?;
        out
    } else {
        body.to_vec()
    };
    serde_json::from_slice::<Value>(&text)
        .ok()
        .filter(Value::is_object)
}

/// Every receiver, by id.
pub type Receivers = HashMap<String, Receiver>;

/// How long to wait before answering.
pub fn delay(step: &ReceiverStep) -> Duration {
    Duration::from_millis(step.delay_ms)
}
