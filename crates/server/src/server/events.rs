//! Every event of the pipeline is recorded here and only here: its log line (one shape, in
//! `log`), its Prometheus series (`metrics`) and the totals of the stop summary, all from one
//! call, so the three can never disagree.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::net::SocketAddr;
use std::sync::Mutex;

use super::log::{DROP_LINES_PER_SECOND, DropLog, RequestContext, Window};
use super::outcome::{DropKind, DropReason, Refusal};
use crate::auth::{Decision, Outcome};
use crate::metrics::Metrics;
use crate::protocol::code;

/// The label of a Status-Server answer in decisions.
pub const STATUS_SERVER_REASON: &str = "status-server";

/// Counts for the line logged when the server stops.
#[derive(Debug, Default)]
struct Totals {
    received: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    challenged: AtomicU64,
    status_server: AtomicU64,
    resent: AtomicU64,
    accounted: AtomicU64,
    dropped: [AtomicU64; DropKind::ALL.len()],
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// The totals since start, as the stop summary reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub received: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub challenged: u64,
    pub status_server: u64,
    pub resent: u64,
    pub accounted: u64,
    pub dropped: [u64; DropKind::ALL.len()],
}

impl Summary {
    pub fn dropped(&self, kind: DropKind) -> u64 {
        self.dropped[kind as usize]
    }
}

/// The recorder of the pipeline's events.
#[derive(Debug, Default)]
pub struct Events {
    metrics: Metrics,
    totals: Totals,
    drop_log: DropLog,
    refusal_log: Mutex<Window>,
}

/// Why a RadSec connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// The NAS closed it.
    ByPeer,
    /// No packet for `idle_timeout_secs`.
    Idle,
    /// A packet began but did not finish in time.
    SlowPacket,
    /// A Length outside 20..=4096: the stream cannot be framed any more.
    BadLength(usize),
    /// A malformed packet, or one failing its Message-Authenticator (logged as a drop).
    Refused(&'static str),
    /// Reading or writing failed (TLS or the socket).
    Failed(String),
    /// The server is stopping.
    Stopping,
}

impl Closed {
    pub fn describe(&self) -> String {
        match self {
            Closed::ByPeer => "closed by the NAS".into(),
            Closed::Idle => "idle ([radsec] idle_timeout_secs)".into(),
            Closed::SlowPacket => format!(
                "a packet did not arrive within {} s of its first octet",
                crate::radsec::PACKET_TIMEOUT.as_secs()
            ),
            Closed::BadLength(n) => {
                format!("a packet's Length is {n}, outside 20..=4096 (RFC 6614 §2.6)")
            }
            Closed::Refused(label) => format!("closed after a packet dropped as {label}"),
            Closed::Failed(e) => e.clone(),
            Closed::Stopping => "the server is stopping".into(),
        }
    }
}

impl Events {
    /// The Prometheus registry (for `/metrics` and its gauges).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// A datagram arrived.
    pub(crate) fn received(&self) {
        bump(&self.totals.received);
    }

    /// It passed the precheck: a request of a code we serve.
    pub(crate) fn request(&self, packet_code: u8) {
        self.metrics.request(code::name(packet_code));
    }

    pub(crate) fn dropped(&self, ctx: &RequestContext, reason: &DropReason) {
        bump(&self.totals.dropped[reason.kind() as usize]);
        self.metrics.dropped(reason.label());
        self.drop_log.log(ctx, reason, Instant::now());
    }

    /// A RadSec connection refused, at warn (at most so many lines a second).
    pub(crate) fn radsec_refused(&self, peer: SocketAddr, client: Option<&str>, why: &Refusal) {
        self.metrics.radsec_connection(why.label());
        let admitted = self
            .refusal_log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .admit(Instant::now());
        let Some(suppressed) = admitted else { return };
        let mut detail = why.detail();
        if suppressed > 0 {
            detail.push_str(&format!(
                "; {suppressed} more refusals were not logged (at most {DROP_LINES_PER_SECOND} \
                 lines a second)"
            ));
        }
        tracing::warn!(
            peer = %peer,
            client,
            reason = why.label(),
            detail,
            "radsec connection refused"
        );
    }

    /// A RadSec connection whose NAS proved its certificate.
    pub(crate) fn radsec_opened(&self, peer: SocketAddr, client: &str, tls: &str) {
        self.metrics.radsec_connection("accepted");
        self.metrics.radsec_open.inc();
        tracing::info!(peer = %peer, client, tls, "radsec connection");
    }

    /// An open RadSec connection ended, after `packets` packets.
    pub(crate) fn radsec_closed(&self, peer: SocketAddr, client: &str, why: &Closed, packets: u64) {
        self.metrics.radsec_open.dec();
        let reason = why.describe();
        match why {
            Closed::BadLength(_) | Closed::Refused(_) | Closed::SlowPacket | Closed::Failed(_) => {
                tracing::warn!(peer = %peer, client, packets, reason, "radsec connection closed")
            }
            _ => tracing::info!(peer = %peer, client, packets, reason, "radsec connection closed"),
        }
    }

    /// An accounting record recorded and answered: one line with what it says (no secret).
    pub(crate) fn accounted(&self, ctx: &RequestContext, record: &crate::accounting::Record) {
        bump(&self.totals.accounted);
        self.metrics.accounting(record.status.as_str());
        tracing::info!(
            client = ctx.client.as_deref(),
            peer = %ctx.peer,
            transport = ctx.transport,
            id = ctx.id.map(u64::from),
            user = ctx.user.as_deref(),
            status = record.status.as_str(),
            session_id = record.session_id.as_deref(),
            framed_ip = record.framed_ip.map(|ip| ip.to_string()),
            duration_s = record.duration,
            input_octets = record.input_octets,
            output_octets = record.output_octets,
            "accounting"
        );
    }

    /// A retransmission answered from the reply cache.
    pub(crate) fn resent(&self, ctx: &RequestContext) {
        bump(&self.totals.resent);
        self.metrics.resent.inc();
        tracing::debug!(
            client = ctx.client.as_deref(),
            peer = %ctx.peer,
            id = ctx.id.map(u64::from),
            "retransmission: resending the cached reply"
        );
    }

    pub(crate) fn status_server(&self, ctx: &RequestContext) {
        bump(&self.totals.status_server);
        self.metrics.decision("accept", STATUS_SERVER_REASON);
        ctx.decision("accept", STATUS_SERVER_REASON, None, None, false);
    }

    /// An EAP round answered with an Access-Challenge (the TLS handshake's rounds): at debug,
    /// the login's decision is the line that counts.
    pub(crate) fn eap_round(&self, ctx: &RequestContext) {
        self.metrics.eap_round.inc();
        tracing::debug!(
            client = ctx.client.as_deref(),
            peer = %ctx.peer,
            id = ctx.id.map(u64::from),
            user = ctx.user.as_deref(),
            "eap round"
        );
    }

    /// How long a request waited for a worker.
    pub(crate) fn queued(&self, waited: Duration) {
        self.metrics.queue_wait.observe(waited.as_secs_f64());
    }

    /// An Access-Request decided; `leaves_at` is when its reply goes out.
    pub(crate) fn decided(&self, ctx: &RequestContext, decision: &Decision, leaves_at: Instant) {
        let outcome = decision.outcome.as_str();
        let label = decision.reason.label();
        bump(match decision.outcome {
            Outcome::Accept => &self.totals.accepted,
            Outcome::Reject => &self.totals.rejected,
            Outcome::Challenge => &self.totals.challenged,
        });
        self.metrics.decision(outcome, label);
        let verify = decision.check_time;
        if let Some(t) = verify {
            self.metrics.verify_seconds.observe(t.as_secs_f64());
        }
        let latency = leaves_at.max(Instant::now()) - ctx.received;
        self.metrics.request_seconds.observe(latency.as_secs_f64());
        let detail = decision.detail();
        // Microseconds are all the precision a person reads.
        let verify_ms = verify.map(|t| (t.as_secs_f64() * 1e6).round() / 1000.0);
        let security =
            decision.reason.is_security_event() || decision.consequences.locked_until.is_some();
        ctx.decision(outcome, label, detail.as_deref(), verify_ms, security);
    }

    pub fn summary(&self) -> Summary {
        let t = &self.totals;
        Summary {
            received: read(&t.received),
            accepted: read(&t.accepted),
            rejected: read(&t.rejected),
            challenged: read(&t.challenged),
            status_server: read(&t.status_server),
            resent: read(&t.resent),
            accounted: read(&t.accounted),
            dropped: std::array::from_fn(|i| read(&t.dropped[i])),
        }
    }
}
