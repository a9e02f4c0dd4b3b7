//! [`Deadline`]: the bound on a whole call — retries, backoff, fallbacks and, for a stream,
//! reading it to the end.

use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};

/// When a call must be over, and how long it was given (for the error message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    total_ms: u64,
}

impl Deadline {
    /// A deadline `total_ms` after `started`.
    pub fn new(started: Instant, total_ms: u64) -> Deadline {
        Deadline {
            at: started + Duration::from_millis(total_ms),
            total_ms,
        }
    }

    /// The instant.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// Time left (zero once passed).
    pub fn left(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether it has passed.
    pub fn passed(&self) -> bool {
        self.left().is_zero()
    }

    /// The TIMEOUT error of a call that ran out of time.
    pub fn error(&self) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "the call's deadline of {} ms passed (set `timeout_ms` on the request, or `deadline_ms` in the config)",
                self.total_ms
            ),
        )
    }
}
