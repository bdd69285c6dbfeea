//! Is the store answering? A node whose database is unreachable must not look healthy: it
//! drops Access-Requests (never guessing an answer) and leaves Status-Server unanswered
//! (RFC 5997 allows it), so NASes fail over. The state flips on store errors and successes,
//! and a probe checks every few seconds; each outage is logged once, and so is its end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::store::Store;

/// How often the store is probed.
pub(super) const PROBE_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct Health {
    up: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            up: AtomicBool::new(true),
        }
    }
}

impl Health {
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// A store call failed.
    pub fn failed(&self, error: &str) {
        if self.up.swap(false, Ordering::Relaxed) {
            tracing::error!(
                error,
                "database unavailable: dropping requests and Status-Server until it is back"
            );
        }
    }

    /// A store call worked.
    pub fn succeeded(&self) {
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!("database available again: serving requests");
        }
    }
}

/// Probe the store forever (the caller aborts the task at shutdown).
pub(super) async fn probe(store: Arc<dyn Store>, health: Arc<Health>) {
    loop {
        tokio::time::sleep(PROBE_INTERVAL).await;
        let store = Arc::clone(&store);
        match tokio::task::spawn_blocking(move || store.count_users()).await {
            Ok(Ok(_)) => health.succeeded(),
            Ok(Err(e)) => health.failed(&e.to_string()),
            Err(_) => health.failed("the probe failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flips_both_ways() {
        let h = Health::default();
        assert!(h.is_up());
        h.failed("connection refused");
        h.failed("still refused");
        assert!(!h.is_up());
        h.succeeded();
        assert!(h.is_up());
    }
}
