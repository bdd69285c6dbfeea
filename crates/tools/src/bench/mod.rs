//! `radotp bench`: a load generator that speaks real RADIUS, and the tools around it.
//!
//! Every request is signed (Message-Authenticator first, User-Password hidden) and every answer
//! is checked as a NAS checks it (Response Authenticator, Message-Authenticator) before it
//! counts; answers that fail the checks are counted apart, as `bad`.
//!
//! - [`users`]: benchmark users: names, TOTP seeds derived from one recorded master seed, quick
//!   creation (one argon2 hash shared by every row) and removal.
//! - [`pool`]: which user the next accept or reject goes to: each user logs in at most once per
//!   TOTP step (replay protection) and is never pushed into a lockout.
//! - [`scenario`]: `status`, `reject`, `accept` and `mixed`, and the requests they send.
//! - [`slots`]: the 256 Identifiers of one socket: outstanding requests, and which datagram
//!   answers which (sans I/O).
//! - [`target`]: where to send and with which shared secret; this machine only, unless allowed.
//! - [`generator`]: the tokio driver: open loop at a rate, or closed loop with N outstanding,
//!   bounded by duration and count.
//! - [`report`]: counts and latency percentiles, as text or one JSON document.
//! - [`warnings`]: what would make a run measure something else than intended (too few users
//!   for the rate, lockouts, the reject delay), said before and after it.
//! - [`calibrate`]: raw argon2 verifications per second on all cores, the ceiling for
//!   authentications per second.

pub mod calibrate;
pub mod generator;
pub mod pool;
pub mod report;
pub mod scenario;
pub mod slots;
pub mod target;
pub mod users;
pub mod warnings;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::client::BuildError;
use radotp_server::auth::password::HashError;
use radotp_server::store::StoreError;

/// What `NAS-Identifier` says in bench requests, so they stand out in the server's log.
pub const NAS_IDENTIFIER: &str = "radotp-bench";

/// Why a benchmark could not run; each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot read the bench users file {path}: {reason}")]
    ReadUsers { path: PathBuf, reason: String },
    #[error("cannot write the bench users file {path}: {reason}")]
    WriteUsers { path: PathBuf, reason: String },
    #[error(
        "the bench users file {path} is not valid ({reason}); restore it, or delete it and the \
         users it lists with `radotp user remove`"
    )]
    InvalidUsers { path: PathBuf, reason: String },
    #[error(
        "no bench users for this database ({path} does not exist); create them first with \
         `radotp bench --setup-users N`"
    )]
    NoUsers { path: PathBuf },
    #[error(
        "this database has bench users named {existing}-…; add to them with --prefix {existing}, \
         or remove them first with `radotp bench --remove-users`"
    )]
    OtherPrefix { existing: String },
    #[error(
        "the bench users of this database have another password; leave --password out to reuse \
         the recorded one, or remove them first with `radotp bench --remove-users`"
    )]
    OtherPassword,
    #[error("bad --prefix {prefix:?}: {reason}")]
    BadPrefix { prefix: String, reason: String },
    #[error("cannot hash the bench password: {0}")]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot build a request: {0}")]
    Build(#[from] BuildError),
    #[error("cannot open a UDP socket to reach {server}: {reason}")]
    Socket { server: SocketAddr, reason: String },
    #[error("cannot start the load generator's runtime: {0}")]
    Runtime(String),
    #[error("the load generator failed: {0}; the run was stopped and its figures discarded")]
    Generator(String),
}

/// Parse `300ms`, `10s`, `1.5s`, `2m` or a bare number of seconds, within `1ms..=1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    radotp_server::timefmt::parse_duration(text, Duration::from_secs(3600))
}

/// Whether `ip` is this machine's loopback: 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104.
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Seconds since the Unix epoch, as the TOTP steps count them (the server's clock).
pub fn unix_now() -> u64 {
    radotp_server::clock::unix_now()
}

/// A tiny argon2 cost for tests that do not measure cost.
#[cfg(test)]
pub(crate) const TEST_COST: radotp_server::auth::password::PasswordCost =
    radotp_server::auth::password::PasswordCost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = |s: &str| parse_duration(s).map(|d| d.as_millis());
        assert_eq!(ok("300ms"), Ok(300));
        assert_eq!(ok("10s"), Ok(10_000));
        assert_eq!(ok("1.5s"), Ok(1_500));
        assert_eq!(ok("2m"), Ok(120_000));
        assert_eq!(ok(" 7 "), Ok(7_000));
        assert!(ok("0s").is_err());
        assert!(ok("2h").is_err());
        assert!(ok("fast").is_err());
        assert!(ok("61m").is_err());
    }

    #[test]
    fn loopback() {
        for (ip, expected) in [
            ("127.0.0.1", true),
            ("127.255.0.9", true),
            ("::1", true),
            ("::ffff:127.0.0.1", true),
            ("10.0.0.1", false),
            ("0.0.0.0", false),
            ("192.0.2.1", false),
            ("2001:db8::1", false),
            ("::ffff:192.0.2.1", false),
        ] {
            assert_eq!(is_loopback(ip.parse().unwrap()), expected, "{ip}");
        }
    }
}
