//! `radotp serve`: build the server from the configuration, run it until SIGINT/SIGTERM;
//! SIGHUP reloads the configuration.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Failure, build_failure, load_config};
use radotp_server::auth::password;
use radotp_server::config::Config;
use radotp_server::server::{self, Reloader};
use tokio::signal::unix::{Signal, SignalKind, signal};

pub(super) fn run(path: &Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let cost = config.password;
    if password::reserved_bytes(cost) == 0 {
        tracing::warn!(
            memory_kib = cost.memory_kib,
            "password.memory_kib is above the 64 MiB a worker keeps between verifications: \
             each verification allocates its memory afresh"
        );
    }
    let server = server::build(&config).map_err(|e| build_failure(path, e))?;
    let reload = Reload {
        reloader: Arc::new(server.reloader()),
        path: path.to_owned(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        // Installed before any socket is bound, so that a signal sent as soon as the server
        // says it listens is never the default action (death) instead of a graceful stop.
        let signals = Signals::install()?;
        server
            .serve(signals.stop(reload))
            .await
            .map_err(|e| Failure::Runtime(e.to_string()))
    })
}

/// SIGINT and SIGTERM stop the server gracefully; SIGHUP reloads the configuration file.
/// SIGXFSZ, a write past the file size limit, is logged too: the write itself fails (EFBIG),
/// so the request that needed it is dropped and the health check reports the database down
/// until writes succeed again.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
    file_size: Signal,
}

/// What SIGHUP reloads: the file, into the running server.
struct Reload {
    reloader: Arc<Reloader>,
    path: std::path::PathBuf,
}

/// SIGXFSZ comes with every write past the limit; it is logged at most this often.
const FILE_SIZE_LOG_INTERVAL: Duration = Duration::from_secs(60);

impl Signals {
    fn install() -> Result<Self, Failure> {
        let install = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| Failure::Runtime(format!("cannot handle {name}: {e}")))
        };
        Ok(Self {
            interrupt: install(SignalKind::interrupt(), "SIGINT")?,
            terminate: install(SignalKind::terminate(), "SIGTERM")?,
            hangup: install(SignalKind::hangup(), "SIGHUP")?,
            file_size: install(SignalKind::from_raw(libc::SIGXFSZ), "SIGXFSZ")?,
        })
    }

    /// Completes at SIGINT or SIGTERM; reloads at SIGHUP, one reload at a time.
    async fn stop(mut self, reload: Reload) {
        let mut file_size = Throttled::default();
        loop {
            tokio::select! {
                _ = self.interrupt.recv() => return,
                _ = self.terminate.recv() => return,
                _ = self.hangup.recv() => {
                    tracing::info!(path = %reload.path.display(), "SIGHUP: reloading the configuration");
                    let (reloader, path) = (Arc::clone(&reload.reloader), reload.path.clone());
                    server::systemd::reloading();
                    let reloading =
                        tokio::task::spawn_blocking(move || reloader.reload(Config::load(&path)));
                    if reloading.await.is_err() {
                        tracing::error!("the reload failed; still running on the previous configuration");
                    }
                    server::systemd::reloaded();
                }
                _ = self.file_size.recv() => {
                    if let Some(since) = file_size.due(Instant::now(), FILE_SIZE_LOG_INTERVAL) {
                        tracing::error!(
                            held_back = since,
                            "SIGXFSZ: a write went past the file size limit (ulimit -f, \
                             systemd LimitFSIZE=) and failed; requests that cannot be recorded \
                             are dropped until the limit is raised or the files shrink"
                        );
                    }
                }
            }
        }
    }
}

/// Lets through the first of a repeated event, then at most one per interval, with the
/// number held back in between.
#[derive(Debug, Default)]
struct Throttled {
    last: Option<Instant>,
    held: u64,
}

impl Throttled {
    /// `Some(held back since the last one let through)` when this one may be logged.
    fn due(&mut self, now: Instant, interval: Duration) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < interval => {
                self.held += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_event_is_let_through_once_per_interval_with_the_count_held_back() {
        let mut throttled = Throttled::default();
        let start = Instant::now();
        let minute = Duration::from_secs(60);
        assert_eq!(throttled.due(start, minute), Some(0));
        for s in 1..=3 {
            assert_eq!(throttled.due(start + Duration::from_secs(s), minute), None);
        }
        assert_eq!(throttled.due(start + minute, minute), Some(3));
        assert_eq!(throttled.due(start + minute, minute), None);
        assert_eq!(throttled.due(start + 2 * minute, minute), Some(1));
    }
}
