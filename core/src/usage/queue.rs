//! [`EventQueue`]: how usage events leave the request path for a background task (the
//! reporter's, a sink's) cheaply. A push is a pointer appended under an uncontended lock; the
//! task is woken only when a batch window opens (the first event after a drain) and when the
//! batch is full — not once per event, which would cost a thread wake-up (a system call) per
//! call.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

use super::UsageEvent;

/// A bounded queue of events for one background task.
#[derive(Debug)]
pub(crate) struct EventQueue {
    events: Mutex<Vec<Arc<UsageEvent>>>,
    capacity: usize,
    full_batch: usize,
    wake: Notify,
    closed: AtomicBool,
}

/// Why a push was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue holds `capacity` events.
    Full,
    /// The task has stopped.
    Closed,
}

impl EventQueue {
    /// A queue of at most `capacity` events whose task is woken when `full_batch` are waiting.
    pub(crate) fn new(capacity: usize, full_batch: usize) -> EventQueue {
        EventQueue {
            events: Mutex::new(Vec::new()),
            capacity: capacity.max(1),
            full_batch: full_batch.clamp(1, capacity.max(1)),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<UsageEvent>>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an event (a pointer copy).
    pub(crate) fn push(&self, event: &Arc<UsageEvent>) -> Result<(), Refused> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(Refused::Closed);
        }
        let len = {
            let mut events = self.lock();
            if events.len() >= self.capacity {
                return Err(Refused::Full);
            }
            events.push(event.clone());
            events.len()
        };
        if len == 1 || len == self.full_batch {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Takes every waiting event.
    pub(crate) fn take(&self) -> Vec<Arc<UsageEvent>> {
        std::mem::take(&mut *self.lock())
    }

    /// True when a full batch is waiting.
    pub(crate) fn has_full_batch(&self) -> bool {
        self.lock().len() >= self.full_batch
    }

    /// Resolves when the task should look: a window opened or a batch filled.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Refuses further pushes (the task is stopping).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}
