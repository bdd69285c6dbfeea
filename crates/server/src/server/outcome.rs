//! Typed stage outcomes: why a datagram was dropped, and the counters every drop and decision
//! feeds. Counters are what the metrics endpoint will expose; the log carries the detail.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::protocol::password::PasswordError;
use crate::protocol::precheck::Malformed;

/// Why a datagram got no answer. Never sent to the client; logged and counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    UnknownClient,
    Malformed(Malformed),
    BadAttribute(&'static str),
    BadUserPassword(PasswordError),
    MissingMessageAuthenticator {
        status_server: bool,
    },
    BadMessageAuthenticator,
    ProxyStateWithoutMessageAuthenticator,
    DuplicateInFlight,
    RateLimited,
    CacheFull,
    Overloaded,
    /// Waited longer than `max_queue_wait_ms` for a worker: the NAS has given up.
    QueueTimeout(std::time::Duration),
    StoreUnavailable(String),
    WorkerFailed,
    ReplyTooLong(String),
}

/// Drop reasons grouped for counters and log rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropKind {
    UnknownClient = 0,
    Malformed,
    MessageAuthenticator,
    Duplicate,
    Overloaded,
    Internal,
}

impl DropKind {
    pub const ALL: [DropKind; 6] = [
        DropKind::UnknownClient,
        DropKind::Malformed,
        DropKind::MessageAuthenticator,
        DropKind::Duplicate,
        DropKind::Overloaded,
        DropKind::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropKind::UnknownClient => "unknown_client",
            DropKind::Malformed => "malformed",
            DropKind::MessageAuthenticator => "message_authenticator",
            DropKind::Duplicate => "duplicate",
            DropKind::Overloaded => "overloaded",
            DropKind::Internal => "internal",
        }
    }
}

impl DropReason {
    pub fn kind(&self) -> DropKind {
        match self {
            DropReason::UnknownClient => DropKind::UnknownClient,
            DropReason::Malformed(_)
            | DropReason::BadAttribute(_)
            | DropReason::BadUserPassword(_) => DropKind::Malformed,
            DropReason::MissingMessageAuthenticator { .. }
            | DropReason::BadMessageAuthenticator
            | DropReason::ProxyStateWithoutMessageAuthenticator => DropKind::MessageAuthenticator,
            DropReason::DuplicateInFlight => DropKind::Duplicate,
            DropReason::CacheFull
            | DropReason::Overloaded
            | DropReason::QueueTimeout(_)
            | DropReason::RateLimited => DropKind::Overloaded,
            DropReason::StoreUnavailable(_)
            | DropReason::WorkerFailed
            | DropReason::ReplyTooLong(_) => DropKind::Internal,
        }
    }
}

impl DropReason {
    /// A fixed label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            DropReason::UnknownClient => "unknown_client",
            DropReason::Malformed(_) | DropReason::BadAttribute(_) => "malformed",
            DropReason::BadUserPassword(_) => "bad_user_password",
            DropReason::MissingMessageAuthenticator { .. } => "missing_message_authenticator",
            DropReason::BadMessageAuthenticator => "bad_message_authenticator",
            DropReason::ProxyStateWithoutMessageAuthenticator => "proxy_state_without_ma",
            DropReason::DuplicateInFlight => "duplicate_in_flight",
            DropReason::RateLimited => "rate_limited",
            DropReason::CacheFull => "cache_full",
            DropReason::Overloaded => "queue_full",
            DropReason::QueueTimeout(_) => "queue_timeout",
            DropReason::StoreUnavailable(_) => "store_unavailable",
            DropReason::WorkerFailed => "worker_failed",
            DropReason::ReplyTooLong(_) => "reply_too_long",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::UnknownClient => f.write_str("unknown client (add a [[client]] for it)"),
            DropReason::Malformed(m) => write!(f, "malformed: {m}"),
            DropReason::BadAttribute(what) => write!(f, "malformed: {what}"),
            DropReason::BadUserPassword(e) => write!(f, "malformed: {e} (wrong shared secret?)"),
            DropReason::MissingMessageAuthenticator {
                status_server: true,
            } => f.write_str("missing Message-Authenticator (always required on Status-Server)"),
            DropReason::MissingMessageAuthenticator {
                status_server: false,
            } => f.write_str(
                "missing Message-Authenticator (required for this client; \
                 require_message_authenticator = false allows old devices)",
            ),
            DropReason::BadMessageAuthenticator => {
                f.write_str("bad Message-Authenticator (wrong shared secret?)")
            }
            DropReason::ProxyStateWithoutMessageAuthenticator => f.write_str(
                "Proxy-State without Message-Authenticator (limit_proxy_state; BlastRADIUS)",
            ),
            DropReason::DuplicateInFlight => f.write_str("duplicate of a request in progress"),
            DropReason::RateLimited => f.write_str("overloaded: client over its rate_limit"),
            DropReason::CacheFull => f.write_str("overloaded: response cache full"),
            DropReason::Overloaded => f.write_str("overloaded: verification queue full"),
            DropReason::QueueTimeout(waited) => write!(
                f,
                "overloaded: waited {} ms for a worker, longer than max_queue_wait_ms",
                waited.as_millis()
            ),
            DropReason::StoreUnavailable(e) => write!(f, "database unavailable: {e}"),
            DropReason::WorkerFailed => f.write_str("internal error while verifying"),
            DropReason::ReplyTooLong(e) => write!(f, "reply cannot be built: {e}"),
        }
    }
}

/// Running totals since start.
#[derive(Debug, Default)]
pub struct Stats {
    pub received: AtomicU64,
    pub accepted: AtomicU64,
    pub rejected: AtomicU64,
    pub challenged: AtomicU64,
    pub status_server: AtomicU64,
    pub resent: AtomicU64,
    dropped: [AtomicU64; DropKind::ALL.len()],
}

impl Stats {
    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_drop(&self, kind: DropKind) {
        self.dropped[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn dropped(&self, kind: DropKind) -> u64 {
        self.dropped[kind as usize].load(Ordering::Relaxed)
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
