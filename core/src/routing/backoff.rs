//! How long to wait before retrying the same deployment.

use std::time::Duration;

use crate::config::RetryConfig;

/// The wait before retry number `retry` (0-based): the provider's `retry-after` when it gave
/// one, else exponential backoff with "equal jitter" (half fixed, half random).
pub fn delay(policy: &RetryConfig, retry: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(d) = retry_after {
        return d;
    }
    let base = policy
        .backoff_ms
        .saturating_mul(1u64 << retry.min(20))
        .min(policy.max_backoff_ms);
    let half = base / 2;
    Duration::from_millis(half + fastrand::u64(0..=half))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_capped_and_jittered() {
        let p = RetryConfig {
            attempts: 5,
            backoff_ms: 100,
            max_backoff_ms: 300,
            max_retry_after_ms: 1000,
        };
        for _ in 0..50 {
            let d0 = delay(&p, 0, None).as_millis();
            assert!((50..=100).contains(&d0), "{d0}");
            let d1 = delay(&p, 1, None).as_millis();
            assert!((100..=200).contains(&d1), "{d1}");
            let d5 = delay(&p, 5, None).as_millis();
            assert!((150..=300).contains(&d5), "{d5}");
        }
        assert_eq!(
            delay(&p, 0, Some(Duration::from_millis(7))),
            Duration::from_millis(7)
        );
    }
}
