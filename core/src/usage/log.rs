//! This process's usage events, kept in memory (the last `capacity` calls) for
//! `Client::usage()` — what a notebook's `client.usage()` table shows. It is the record
//! stage's first sink.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::UsageEvent;
use crate::pipeline::{Position, Stage};

/// Default number of events kept.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// A bounded, thread-safe log of usage events; the oldest are dropped first.
#[derive(Debug)]
pub struct UsageLog {
    events: Mutex<VecDeque<Arc<UsageEvent>>>,
    capacity: usize,
}

impl UsageLog {
    /// A log keeping the last `capacity` events (0 keeps none).
    pub fn new(capacity: usize) -> UsageLog {
        UsageLog {
            events: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            capacity,
        }
    }

    /// Appends an event.
    pub fn push(&self, event: Arc<UsageEvent>) {
        if self.capacity == 0 {
            return;
        }
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if events.len() == self.capacity {
            events.pop_front();
        }
        events.push_back(event);
    }

    /// The events, oldest first.
    pub fn snapshot(&self) -> Vec<Arc<UsageEvent>> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

impl Stage for UsageLog {
    fn name(&self) -> &'static str {
        "usage-log"
    }

    fn position(&self) -> Position {
        Position::Record
    }

    fn recorded(&self, event: &Arc<UsageEvent>) {
        self.push(event.clone());
    }
}
