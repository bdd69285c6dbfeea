//! Why a request got no answer. A drop is never sent to the client; it is logged and counted
//! with a fixed `label` — the same text in the log's `reason` and in `radotp_drops_total` — and
//! a `detail` for the log only.

use std::fmt;
use std::time::Duration;

use crate::protocol::password::PasswordError;
use crate::protocol::precheck::Malformed;

/// Why a datagram got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    UnknownClient,
    /// The client is configured for another transport (`transport = "radsec"`).
    WrongTransport {
        configured: &'static str,
    },
    Malformed(Malformed),
    BadAttribute(&'static str),
    BadUserPassword(PasswordError),
    MissingMessageAuthenticator {
        status_server: bool,
    },
    BadMessageAuthenticator,
    /// An Accounting-Request whose Request Authenticator is not the secret's (RFC 2866 §3).
    BadRequestAuthenticator,
    /// An Accounting-Request where accounting is not served: which listener serves it, if any.
    AccountingNotServed(&'static str),
    ProxyStateWithoutMessageAuthenticator,
    DuplicateInFlight,
    RateLimited,
    CacheFull,
    /// The queue of requests waiting for a worker is full.
    QueueFull,
    /// Waited longer than `max_queue_wait_ms` for a worker: the NAS has given up.
    QueueTimeout(Duration),
    StoreUnavailable(String),
    /// A directory or upstream server that checks passwords did not answer.
    SourceUnavailable(String),
    WorkerFailed,
    ReplyTooLong(String),
    /// `[eap] max_conversations` are in progress, or this NAS holds its share of them.
    EapConversationsFull(crate::eap::table::Full),
    /// An EAP response that answers no request of ours (a stale Identifier, or one the
    /// conversation is still deciding): the NAS retransmits the real one.
    EapDiscarded(&'static str),
}

/// Why a RadSec connection was refused (before or during its TLS handshake) — logged with
/// the peer, and counted by `label` in `radotp_radsec_connections_total`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No `[[client]]` covers the address.
    UnknownClient,
    /// The client covering the address has `transport = "udp"`.
    NotRadsec,
    /// `max_connections` are open.
    ServerFull(usize),
    /// The client holds its share of `max_connections`.
    ClientFull(usize),
    /// The source address holds `radsec::PER_ADDRESS` connections.
    AddressFull(usize),
    /// The handshake did not finish within its time.
    HandshakeTimeout,
    /// The handshake failed: a certificate refused, or TLS itself.
    Handshake(String),
}

impl Refusal {
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::UnknownClient => "unknown client",
            Refusal::NotRadsec => "wrong transport",
            Refusal::ServerFull(_) => "max_connections",
            Refusal::ClientFull(_) => "client share",
            Refusal::AddressFull(_) => "address share",
            Refusal::HandshakeTimeout => "handshake timeout",
            Refusal::Handshake(_) => "handshake failed",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Refusal::UnknownClient => {
                "no [[client]] with transport = \"radsec\" covers this address".into()
            }
            Refusal::NotRadsec => "the client covering this address has transport = \"udp\"".into(),
            Refusal::ServerFull(n) => {
                format!("{n} RadSec connections are open ([radsec] max_connections)")
            }
            Refusal::ClientFull(n) => {
                format!("this client holds {n} connections, its share of [radsec] max_connections")
            }
            Refusal::AddressFull(n) => {
                format!("this address holds {n} connections, the most one address may hold")
            }
            Refusal::HandshakeTimeout => format!(
                "the TLS handshake did not finish within {} s",
                crate::radsec::HANDSHAKE_TIMEOUT.as_secs()
            ),
            Refusal::Handshake(why) => why.clone(),
        }
    }
}

/// Drop reasons grouped for the stop summary and for the log's rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropKind {
    UnknownClient = 0,
    Malformed,
    MessageAuthenticator,
    Duplicate,
    Overloaded,
    Internal,
    /// Well-formed and authentic, but for a service this listener does not offer
    /// (accounting where it is not served).
    NotServed,
}

impl DropKind {
    pub const ALL: [DropKind; 7] = [
        DropKind::UnknownClient,
        DropKind::Malformed,
        DropKind::MessageAuthenticator,
        DropKind::Duplicate,
        DropKind::Overloaded,
        DropKind::Internal,
        DropKind::NotServed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropKind::UnknownClient => "unknown_client",
            DropKind::Malformed => "malformed",
            DropKind::MessageAuthenticator => "message_authenticator",
            DropKind::Duplicate => "duplicate",
            DropKind::Overloaded => "overloaded",
            DropKind::Internal => "internal",
            DropKind::NotServed => "not_served",
        }
    }
}

impl DropReason {
    pub fn kind(&self) -> DropKind {
        match self {
            DropReason::UnknownClient | DropReason::WrongTransport { .. } => {
                DropKind::UnknownClient
            }
            DropReason::Malformed(_)
            | DropReason::BadAttribute(_)
            | DropReason::BadUserPassword(_) => DropKind::Malformed,
            DropReason::MissingMessageAuthenticator { .. }
            | DropReason::BadMessageAuthenticator
            | DropReason::BadRequestAuthenticator
            | DropReason::ProxyStateWithoutMessageAuthenticator => DropKind::MessageAuthenticator,
            DropReason::AccountingNotServed(_) => DropKind::NotServed,
            DropReason::DuplicateInFlight => DropKind::Duplicate,
            DropReason::CacheFull
            | DropReason::QueueFull
            | DropReason::QueueTimeout(_)
            | DropReason::RateLimited
            | DropReason::EapConversationsFull(_) => DropKind::Overloaded,
            DropReason::EapDiscarded(_) => DropKind::Duplicate,
            DropReason::StoreUnavailable(_)
            | DropReason::SourceUnavailable(_)
            | DropReason::WorkerFailed
            | DropReason::ReplyTooLong(_) => DropKind::Internal,
        }
    }

    /// The fixed text of the log's `reason` and of the metrics label.
    pub fn label(&self) -> &'static str {
        match self {
            DropReason::UnknownClient => "unknown client",
            DropReason::WrongTransport { .. } => "wrong transport",
            DropReason::Malformed(_) | DropReason::BadAttribute(_) => "malformed",
            DropReason::BadUserPassword(_) => "bad User-Password",
            DropReason::MissingMessageAuthenticator { .. } => "missing Message-Authenticator",
            DropReason::BadMessageAuthenticator => "bad Message-Authenticator",
            DropReason::BadRequestAuthenticator => "bad Request Authenticator",
            DropReason::AccountingNotServed(_) => "accounting not served here",
            DropReason::ProxyStateWithoutMessageAuthenticator => {
                "Proxy-State without Message-Authenticator"
            }
            DropReason::DuplicateInFlight => "duplicate in progress",
            DropReason::RateLimited => "rate limited",
            DropReason::CacheFull => "response cache full",
            DropReason::QueueFull => "queue full",
            DropReason::QueueTimeout(_) => "queue timeout",
            DropReason::StoreUnavailable(_) => "database unavailable",
            DropReason::SourceUnavailable(_) => "password source unavailable",
            DropReason::WorkerFailed => "internal error",
            DropReason::ReplyTooLong(_) => "reply too long",
            DropReason::EapConversationsFull(_) => "EAP conversations full",
            DropReason::EapDiscarded(_) => "EAP response discarded",
        }
    }

    /// What the administrator should know beyond the label.
    pub fn detail(&self) -> Option<String> {
        Some(match self {
            DropReason::UnknownClient => "no [[client]] covers this address; add one for it".into(),
            DropReason::WrongTransport { configured } => {
                format!("the client covering this address has transport = \"{configured}\"")
            }
            DropReason::Malformed(m) => m.to_string(),
            DropReason::BadAttribute(what) => (*what).to_owned(),
            DropReason::BadUserPassword(e) => format!("{e} (wrong shared secret?)"),
            DropReason::MissingMessageAuthenticator {
                status_server: true,
            } => "always required on Status-Server".into(),
            DropReason::MissingMessageAuthenticator {
                status_server: false,
            } => "required for this client; require_message_authenticator = false on the \
                  client allows old devices"
                .into(),
            DropReason::BadMessageAuthenticator | DropReason::BadRequestAuthenticator => {
                "wrong shared secret?".into()
            }
            DropReason::AccountingNotServed(where_) => (*where_).to_owned(),
            DropReason::ProxyStateWithoutMessageAuthenticator => {
                "the client has limit_proxy_state (BlastRADIUS)".into()
            }
            DropReason::DuplicateInFlight => "the first copy is still being decided".into(),
            DropReason::RateLimited => "the client is over its rate_limit".into(),
            DropReason::CacheFull => {
                "65536 requests are still being decided or held back by the reject delay".into()
            }
            DropReason::QueueFull => "every worker is busy and the queue is full".into(),
            DropReason::QueueTimeout(waited) => format!(
                "waited {} ms for a worker, longer than max_queue_wait_ms",
                waited.as_millis()
            ),
            DropReason::StoreUnavailable(e) | DropReason::SourceUnavailable(e) => e.clone(),
            DropReason::WorkerFailed => "the worker failed while deciding".into(),
            DropReason::ReplyTooLong(e) => e.clone(),
            DropReason::EapConversationsFull(crate::eap::table::Full::Table(n)) => format!(
                "{n} EAP conversations are in progress ([eap] max_conversations); idle ones end \
                 after {} s",
                crate::eap::IDLE_SECS
            ),
            DropReason::EapConversationsFull(crate::eap::table::Full::Client(n)) => format!(
                "this NAS holds {n} EAP conversations, its share of [eap] max_conversations"
            ),
            DropReason::EapDiscarded(why) => (*why).to_owned(),
        })
    }

    /// Every label, for documentation and for tests that keep the README in step.
    pub const LABELS: &'static [&'static str] = &[
        "unknown client",
        "wrong transport",
        "malformed",
        "bad User-Password",
        "missing Message-Authenticator",
        "bad Message-Authenticator",
        "bad Request Authenticator",
        "accounting not served here",
        "Proxy-State without Message-Authenticator",
        "duplicate in progress",
        "rate limited",
        "response cache full",
        "queue full",
        "queue timeout",
        "database unavailable",
        "password source unavailable",
        "internal error",
        "reply too long",
        "EAP conversations full",
        "EAP response discarded",
    ];
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())?;
        if let Some(detail) = self.detail() {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_documented_set() {
        let every = [
            DropReason::UnknownClient,
            DropReason::WrongTransport {
                configured: "radsec",
            },
            DropReason::Malformed(Malformed::TooShort(3)),
            DropReason::BadUserPassword(PasswordError::EmbeddedNul),
            DropReason::MissingMessageAuthenticator {
                status_server: false,
            },
            DropReason::BadMessageAuthenticator,
            DropReason::BadRequestAuthenticator,
            DropReason::AccountingNotServed("x"),
            DropReason::ProxyStateWithoutMessageAuthenticator,
            DropReason::DuplicateInFlight,
            DropReason::RateLimited,
            DropReason::CacheFull,
            DropReason::QueueFull,
            DropReason::QueueTimeout(Duration::from_secs(3)),
            DropReason::StoreUnavailable("x".into()),
            DropReason::SourceUnavailable("x".into()),
            DropReason::WorkerFailed,
            DropReason::ReplyTooLong("x".into()),
            DropReason::EapConversationsFull(crate::eap::table::Full::Table(1)),
            DropReason::EapDiscarded("x"),
        ];
        let labels: Vec<&str> = every.iter().map(DropReason::label).collect();
        assert_eq!(labels, DropReason::LABELS);
        assert_eq!(DropReason::BadAttribute("x").label(), "malformed");
    }
}

/// The README lists every reason a log line (and a metrics label) can carry.
#[cfg(test)]
mod documented {
    use super::DropReason;
    use crate::auth::Reason;
    use crate::server::events::STATUS_SERVER_REASON;

    #[test]
    fn every_reason_is_in_the_readme() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let logs = &readme[readme.find("## Logs").unwrap()..];
        let logs = &logs[..logs.find("## Metrics").unwrap()];
        let every = Reason::LABELS
            .iter()
            .chain(DropReason::LABELS)
            .chain([&STATUS_SERVER_REASON]);
        for label in every {
            assert!(
                logs.contains(&format!("`{label}`")),
                "README's Logs lack `{label}`"
            );
        }
        for outcome in ["accept", "challenge", "reject", "drop"] {
            assert!(logs.contains(&format!("| `{outcome}` |")), "{outcome}");
        }
    }
}
