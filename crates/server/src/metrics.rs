//! Prometheus metrics: what the server did, counted and timed. Encoded in the OpenMetrics text
//! format by `prometheus-client`; served over HTTP by `server::metrics_http`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Every metric radotp exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    decisions: Family<Labels, Counter>,
    drops: Family<Labels, Counter>,
    pub resent: Counter,
    /// EAP rounds answered with an Access-Challenge.
    pub eap_round: Counter,
    pub queue_depth: Gauge,
    pub queue_wait: Histogram,
    pub verify_seconds: Histogram,
    pub request_seconds: Histogram,
    pub users: Gauge,
    radsec_connections: Family<Labels, Counter>,
    pub radsec_open: Gauge,
    accounting: Family<Labels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("radotp");
        let requests = Family::<Labels, Counter>::default();
        let decisions = Family::<Labels, Counter>::default();
        let drops = Family::<Labels, Counter>::default();
        let resent = Counter::default();
        let eap_round = Counter::default();
        let queue_depth = Gauge::default();
        let users = Gauge::default();
        let radsec_connections = Family::<Labels, Counter>::default();
        let radsec_open = Gauge::default();
        let accounting = Family::<Labels, Counter>::default();
        // 1 ms … ~16 s: from a cached resend to a NAS's patience.
        let queue_wait = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        let verify_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 12));
        let request_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register(
            "requests",
            "Datagrams received, by packet code",
            requests.clone(),
        );
        registry.register(
            "decisions",
            "Answers, by outcome and reason",
            decisions.clone(),
        );
        registry.register(
            "drops",
            "Datagrams dropped without an answer, by reason",
            drops.clone(),
        );
        registry.register(
            "duplicate_cache_hits",
            "Retransmissions answered from the cache",
            resent.clone(),
        );
        registry.register(
            "eap_rounds",
            "EAP rounds answered with an Access-Challenge (TLS handshakes in progress)",
            eap_round.clone(),
        );
        registry.register(
            "queue_depth",
            "Requests waiting for a password worker",
            queue_depth.clone(),
        );
        registry.register(
            "queue_wait_seconds",
            "Time requests waited for a worker",
            queue_wait.clone(),
        );
        registry.register(
            "argon2_verify_seconds",
            "Time of one argon2 verification",
            verify_seconds.clone(),
        );
        registry.register(
            "request_seconds",
            "Time from receipt to reply",
            request_seconds.clone(),
        );
        registry.register("users", "Users in the store", users.clone());
        registry.register(
            "radsec_connections",
            "RadSec connections accepted, or refused by reason",
            radsec_connections.clone(),
        );
        registry.register(
            "accounting_records",
            "Accounting-Requests recorded and answered, by Acct-Status-Type",
            accounting.clone(),
        );
        registry.register(
            "radsec_connections_open",
            "RadSec connections open now",
            radsec_open.clone(),
        );
        Self {
            registry,
            requests,
            decisions,
            drops,
            resent,
            eap_round,
            queue_depth,
            queue_wait,
            verify_seconds,
            request_seconds,
            users,
            radsec_connections,
            radsec_open,
            accounting,
        }
    }

    /// An accounting record recorded, by its Acct-Status-Type.
    pub fn accounting(&self, status: &'static str) {
        self.accounting
            .get_or_create(&vec![("status", status.to_owned())])
            .inc();
    }

    /// A RadSec connection accepted (`"accepted"`) or refused (the refusal's label).
    pub fn radsec_connection(&self, outcome: &'static str) {
        self.radsec_connections
            .get_or_create(&vec![("outcome", outcome.to_owned())])
            .inc();
    }

    pub fn request(&self, code: &'static str) {
        self.requests
            .get_or_create(&vec![("code", code.to_owned())])
            .inc();
    }

    pub fn decision(&self, outcome: &'static str, reason: &'static str) {
        let labels = vec![
            ("outcome", outcome.to_owned()),
            ("reason", reason.to_owned()),
        ];
        self.decisions.get_or_create(&labels).inc();
    }

    pub fn dropped(&self, reason: &'static str) {
        self.drops
            .get_or_create(&vec![("reason", reason.to_owned())])
            .inc();
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_what_was_counted() {
        let m = Metrics::new();
        m.request("Access-Request");
        m.decision("reject", "wrong password");
        m.dropped("unknown_client");
        m.verify_seconds.observe(0.025);
        m.users.set(3);
        m.accounting("Start");
        m.radsec_connection("accepted");
        m.radsec_open.inc();
        let text = m.encode();
        for line in [
            "radotp_requests_total{code=\"Access-Request\"} 1",
            "radotp_decisions_total{outcome=\"reject\",reason=\"wrong password\"} 1",
            "radotp_drops_total{reason=\"unknown_client\"} 1",
            "radotp_argon2_verify_seconds_count 1",
            "radotp_users 3",
            "radotp_accounting_records_total{status=\"Start\"} 1",
            "radotp_radsec_connections_total{outcome=\"accepted\"} 1",
            "radotp_radsec_connections_open 1",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }
}
