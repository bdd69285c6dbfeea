//! `[server]`: where to listen and how the pipeline paces and bounds its work, with the bounds
//! the server accepts.

use std::net::SocketAddr;
use std::time::Duration;

use crate::invalid::Invalid;

/// Longer than this and NASes give up before the reject arrives.
pub(super) const MAX_REJECT_DELAY: Duration = Duration::from_secs(10);
/// More password threads than this is a typo, not a machine.
pub(super) const MAX_WORKERS: usize = 1024;
/// Requests that may wait for a worker, at most.
pub(super) const MAX_PENDING: usize = 1_000_000;
/// Bounds of `max_queue_wait_ms`.
pub(super) const MIN_QUEUE_WAIT: Duration = Duration::from_millis(100);
pub(super) const MAX_QUEUE_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: Vec<SocketAddr>,
    /// Wait before sending an Access-Reject, counted from the request's arrival.
    pub reject_delay: Duration,
    /// Threads checking passwords; 0 means one per core.
    pub workers: usize,
    /// Requests allowed to wait for a worker; 0 means 64 per worker.
    pub max_pending: usize,
    /// Longest a request may wait for a worker before it is dropped unhashed.
    pub max_queue_wait: Duration,
    /// Where `/metrics` is served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
}

impl Settings {
    pub fn check(&self) -> Vec<Invalid> {
        // An empty `listen` is the configuration's to judge: RadSec may be the only transport.
        let mut problems = Vec::new();
        if self.reject_delay > MAX_REJECT_DELAY {
            problems.push(Invalid::new(
                "reject_delay_ms",
                format!(
                    "{} is too long: NASes time out first; use 0 to {}",
                    self.reject_delay.as_millis(),
                    MAX_REJECT_DELAY.as_millis()
                ),
            ));
        }
        if self.workers > MAX_WORKERS {
            problems.push(Invalid::new(
                "workers",
                format!(
                    "{} threads is too many; use 0 for one per core",
                    self.workers
                ),
            ));
        }
        if self.max_pending > MAX_PENDING {
            problems.push(Invalid::new(
                "max_pending",
                format!("must be at most {MAX_PENDING} (0 = 64 per worker)"),
            ));
        }
        if !(MIN_QUEUE_WAIT..=MAX_QUEUE_WAIT).contains(&self.max_queue_wait) {
            problems.push(Invalid::new(
                "max_queue_wait_ms",
                format!(
                    "must be between {} and {}; keep it under the NAS's timeout (2000 suits most)",
                    MIN_QUEUE_WAIT.as_millis(),
                    MAX_QUEUE_WAIT.as_millis()
                ),
            ));
        }
        problems
    }
}
