//! Per-client packet rate limits: one token bucket per NAS, refilled continuously, holding up to
//! one second's worth. Checked right after the client lookup, before any parsing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug, Default)]
pub(super) struct RateLimits {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimits {
    /// May one more packet from `client` (limited to `rate` per second) pass at `now`?
    pub(super) fn allow(&self, client: &str, rate: u32, now: Instant) -> bool {
        let rate = f64::from(rate);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket {
            tokens: rate,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_of_one_second_then_the_rate() {
        let limits = RateLimits::default();
        let t0 = Instant::now();
        let passed = (0..150).filter(|_| limits.allow("nas", 100, t0)).count();
        assert_eq!(passed, 100, "one second's worth at once");
        assert!(!limits.allow("nas", 100, t0));
        assert!(limits.allow("other", 100, t0), "buckets are per client");
        let later = t0 + Duration::from_millis(100);
        let refilled = (0..50).filter(|_| limits.allow("nas", 100, later)).count();
        assert_eq!(refilled, 10, "100/s for 100 ms");
    }
}
