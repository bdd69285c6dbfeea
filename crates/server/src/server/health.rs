//! Can the store decide and record? A node whose database cannot record — unreachable, full,
//! read-only — must not look healthy: it drops Access-Requests (never guessing an answer) and
//! leaves Status-Server unanswered (RFC 5997 allows it), so NASes fail over.
//!
//! Health goes down on any store error of a request or of the probe, and comes back only when
//! the probe's writes succeed twice in a row — a read that works proves nothing about a full
//! disk, and on a full disk one small write can still fit into the room a failed one left. The
//! probe writes more than any request does (see `Store::probe`). Each outage is logged once
//! when it starts and once when it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use crate::store::Store;

/// How often the store is probed while it records.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// How often while it does not: back as soon as it can be.
const PROBE_INTERVAL_DOWN: Duration = Duration::from_millis(500);
/// Recorded probes in a row that end an outage.
const RECORDED_TO_RECOVER: u32 = 2;

#[derive(Debug)]
pub struct Health {
    up: AtomicBool,
    /// Probes recorded since the last failure.
    recorded: AtomicU32,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            up: AtomicBool::new(true),
            recorded: AtomicU32::new(0),
        }
    }
}

impl Health {
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// A store call failed.
    pub fn failed(&self, error: &str) {
        self.recorded.store(0, Ordering::Relaxed);
        if self.up.swap(false, Ordering::Relaxed) {
            tracing::error!(
                error,
                "database unavailable: dropping requests and Status-Server until it records again"
            );
        }
    }

    /// The probe recorded its write.
    fn recorded(&self) {
        let in_a_row = self.recorded.fetch_add(1, Ordering::Relaxed) + 1;
        if in_a_row >= RECORDED_TO_RECOVER && !self.up.swap(true, Ordering::Relaxed) {
            tracing::warn!("database available again: it records; serving requests");
        }
    }
}

/// Probe the store with a write, forever (the caller aborts the task at shutdown).
pub(super) async fn probe(store: Arc<dyn Store>, health: Arc<Health>) {
    loop {
        let pause = if health.is_up() {
            PROBE_INTERVAL
        } else {
            PROBE_INTERVAL_DOWN
        };
        tokio::time::sleep(pause).await;
        let written =
            crate::store::call(&store, |s| s.probe(crate::clock::unix_now_signed())).await;
        match written {
            Ok(()) => health.recorded(),
            Err(e) => health.failed(&e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Keys, SqliteStore};

    #[test]
    fn only_a_recorded_write_brings_it_back() {
        let h = Health::default();
        assert!(h.is_up());
        h.failed("disk full");
        h.failed("still full");
        assert!(!h.is_up());
        h.recorded();
        assert!(!h.is_up(), "one write may fit where a failed one left room");
        h.failed("full again");
        h.recorded();
        assert!(!h.is_up());
        h.recorded();
        assert!(h.is_up());
    }

    #[test]
    fn the_probe_writes() {
        let store = SqliteStore::open_in_memory(Keys::from_master(b"k")).unwrap();
        store.probe(1).unwrap();
        store.probe(2).unwrap();
    }
}
