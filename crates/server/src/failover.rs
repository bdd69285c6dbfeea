//! What the directory and the upstream RADIUS servers share: servers tried in order, one that
//! failed passed over for a while, an outage (no server answers) logged once when it starts and
//! once when it ends; and how long a check takes lately, which is what a dummy check waits.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A server that did not answer is passed over for this long (unless all are).
pub const RETRY_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Server {
    name: String,
    /// Passed over until then.
    skip_until: Mutex<Option<Instant>>,
    down: AtomicBool,
}

/// The health of a list of servers that stand in for each other.
#[derive(Debug)]
pub struct Servers {
    /// What they are, for the log: "directory", "upstream RADIUS".
    what: &'static str,
    servers: Vec<Server>,
    /// No server answers (logged once each way).
    outage: AtomicBool,
}

impl Servers {
    /// `names` as the log shows them (a URL, an address), in the configured order.
    pub fn new(what: &'static str, names: impl IntoIterator<Item = String>) -> Self {
        Servers {
            what,
            servers: names
                .into_iter()
                .map(|name| Server {
                    name,
                    skip_until: Mutex::new(None),
                    down: AtomicBool::new(false),
                })
                .collect(),
            outage: AtomicBool::new(false),
        }
    }

    /// The servers to try, by index: in order, passing over those that failed lately unless
    /// every one has.
    pub fn order(&self) -> Vec<usize> {
        let now = Instant::now();
        let fresh: Vec<usize> = (0..self.servers.len())
            .filter(|&i| {
                let until = self.servers[i]
                    .skip_until
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                until.is_none_or(|until| until <= now)
            })
            .collect();
        if fresh.is_empty() {
            (0..self.servers.len()).collect()
        } else {
            fresh
        }
    }

    /// Whether the last attempt found no server answering.
    pub fn in_outage(&self) -> bool {
        self.outage.load(Ordering::Relaxed)
    }

    /// Server `i` answered.
    pub fn answers(&self, i: usize) {
        let server = &self.servers[i];
        *server.skip_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if server.down.swap(false, Ordering::Relaxed) {
            tracing::warn!(server = %server.name, "{} server answers again", self.what);
        }
        if self.outage.swap(false, Ordering::Relaxed) {
            tracing::warn!(server = %server.name, "the {} answers again: logins resume", self.what);
        }
    }

    /// Server `i` did not answer (`why`): passed over for `RETRY_AFTER`.
    pub fn fails(&self, i: usize, why: &str) {
        let server = &self.servers[i];
        *server.skip_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + RETRY_AFTER);
        if !server.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(server = %server.name, error = %why, "{} server cannot answer; trying the next", self.what);
        }
    }

    /// Every server was tried and none answered (`last` says why the last did not): logged
    /// when the outage starts; the message for the request's error.
    pub fn exhausted(&self, last: &str) -> String {
        if !self.outage.swap(true, Ordering::Relaxed) {
            tracing::error!(
                error = %last,
                "no {} server answers: logins that need it are dropped until one does",
                self.what
            );
        }
        format!("no {} server answers ({last})", self.what)
    }
}

/// How long a check takes lately, in microseconds: the first measure replaces the estimate,
/// later ones move an average (1/8 each).
#[derive(Debug, Default)]
pub struct Latency {
    micros: AtomicU64,
    samples: AtomicU64,
}

impl Latency {
    pub fn record(&self, took: Duration) {
        let took = micros(took);
        let average = if self.samples.fetch_add(1, Ordering::Relaxed) == 0 {
            took
        } else {
            (self.micros.load(Ordering::Relaxed) * 7 + took) / 8
        };
        self.micros.store(average, Ordering::Relaxed);
    }

    /// An estimate before anything was measured (a service account's bind); later measures
    /// replace it.
    pub fn guess(&self, took: Duration) {
        let _ = self
            .micros
            .compare_exchange(0, micros(took), Ordering::Relaxed, Ordering::Relaxed);
    }

    pub fn get(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::Relaxed))
    }

    /// Block the calling thread as long as a check takes lately. A thread sleep rather than
    /// tokio's timer, whose millisecond ticks would make every dummy longer than the
    /// sub-millisecond check it stands for.
    pub fn wait(&self) {
        std::thread::sleep(self.get());
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_server_is_passed_over_unless_all_failed() {
        let servers = Servers::new("test", ["a".to_string(), "b".to_string()]);
        assert_eq!(servers.order(), [0, 1]);
        servers.fails(0, "timeout");
        assert_eq!(servers.order(), [1]);
        servers.fails(1, "timeout");
        assert_eq!(servers.order(), [0, 1]);
        assert!(!servers.in_outage());
        servers.exhausted("timeout");
        assert!(servers.in_outage());
        servers.answers(1);
        assert!(!servers.in_outage());
        assert_eq!(servers.order(), [1]);
    }

    #[test]
    fn latency_starts_from_the_first_measure_then_averages() {
        let latency = Latency::default();
        latency.guess(Duration::from_micros(800));
        assert_eq!(latency.get(), Duration::from_micros(800));
        latency.record(Duration::from_micros(100));
        assert_eq!(latency.get(), Duration::from_micros(100));
        latency.record(Duration::from_micros(900));
        assert_eq!(latency.get(), Duration::from_micros(200));
        latency.guess(Duration::from_micros(5));
        assert_eq!(latency.get(), Duration::from_micros(200));
    }
}
