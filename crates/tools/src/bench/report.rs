//! What a run counted, and how it is shown: a few aligned lines, or one JSON document.
//!
//! `sent` requests end as `answered` (a valid answer within the timeout) or `lost`. Datagrams
//! that answer nothing sent count as `bad` (with their reasons) or, when they verify against a
//! request that already timed out or was answered, as `late`. Requests/s is answered requests
//! over the time from the first send to the last answer.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::generator::{Load, Plan};
use super::scenario::{Kind, Scenario};
use radotp_server::protocol::code;

/// Counters of one run, filled in by the generator.
#[derive(Debug, Default)]
pub struct Tally {
    pub sent: u64,
    pub lost: u64,
    pub late: u64,
    pub bad: u64,
    pub bad_reasons: BTreeMap<&'static str, u64>,
    /// Open loop: a request was due but every Identifier of every socket was in use.
    pub no_identifier: u64,
    /// An accept was due but every bench user had logged in at this step already.
    pub no_user_this_step: u64,
    /// A reject was due but every bench user was one failure away from a lockout.
    pub no_user_below_lockout: u64,
    pub send_errors: u64,
    pub accepts: u64,
    pub rejects: u64,
    pub challenges: u64,
    /// Answers with another code than the scenario expects (e.g. a reject of an accept).
    pub unexpected: u64,
    latencies_us: Vec<u32>,
    first_send: Option<Instant>,
    last_answer: Option<Instant>,
}

impl Tally {
    pub fn record_sent(&mut self, at: Instant) {
        self.sent += 1;
        self.first_send.get_or_insert(at);
    }

    pub fn record_answer(&mut self, kind: Kind, reply_code: u8, latency: Duration, at: Instant) {
        match reply_code {
            code::ACCESS_ACCEPT => self.accepts += 1,
            code::ACCESS_REJECT => self.rejects += 1,
            _ => self.challenges += 1,
        }
        if reply_code != kind.expected_code() {
            self.unexpected += 1;
        }
        let micros = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        self.latencies_us.push(micros);
        self.last_answer = Some(self.last_answer.map_or(at, |last| last.max(at)));
    }

    pub fn record_bad(&mut self, reason: &'static str) {
        self.bad += 1;
        *self.bad_reasons.entry(reason).or_default() += 1;
    }

    pub fn answered(&self) -> u64 {
        self.latencies_us.len() as u64
    }
}

/// Latency percentiles in milliseconds (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    fn of(mut micros: Vec<u32>) -> Option<Self> {
        if micros.is_empty() {
            return None;
        }
        micros.sort_unstable();
        let rank = |p: f64| {
            let index = ((p / 100.0) * micros.len() as f64).ceil() as usize;
            f64::from(micros[index.clamp(1, micros.len()) - 1]) / 1000.0
        };
        Some(Latency {
            p50: rank(50.0),
            p95: rank(95.0),
            p99: rank(99.0),
            max: f64::from(micros[micros.len() - 1]) / 1000.0,
        })
    }
}

/// A finished run, ready to print.
#[derive(Debug)]
pub struct Summary {
    pub scenario: Scenario,
    pub plan: Plan,
    pub users: Option<u64>,
    pub answered: u64,
    pub requests_per_s: f64,
    pub latency: Option<Latency>,
    pub elapsed: Duration,
    pub tally: Tally,
    pub warnings: Vec<String>,
}

impl Summary {
    pub fn new(
        scenario: Scenario,
        plan: Plan,
        users: Option<u64>,
        mut tally: Tally,
        elapsed: Duration,
        warnings: Vec<String>,
    ) -> Self {
        let answered = tally.answered();
        let requests_per_s = match (tally.first_send, tally.last_answer) {
            (Some(first), Some(last)) if last > first => {
                answered as f64 / last.duration_since(first).as_secs_f64()
            }
            _ => 0.0,
        };
        let latency = Latency::of(std::mem::take(&mut tally.latencies_us));
        Summary {
            scenario,
            plan,
            users,
            answered,
            requests_per_s,
            latency,
            elapsed,
            tally,
            warnings,
        }
    }

    fn load_text(&self) -> String {
        match self.plan.load {
            Load::Rate(rate) => format!("open loop at {rate} req/s"),
            Load::Concurrency(n) => format!("closed loop with {n} outstanding"),
        }
    }

    /// The report as one JSON document.
    pub fn to_json(&self) -> Value {
        let t = &self.tally;
        let (mode, rate, concurrency) = match self.plan.load {
            Load::Rate(rate) => ("open", Some(rate), None),
            Load::Concurrency(n) => ("closed", None, Some(n)),
        };
        let latency = self.latency.map(|l| {
            json!({ "p50": round3(l.p50), "p95": round3(l.p95), "p99": round3(l.p99), "max": round3(l.max) })
        });
        json!({
            "scenario": self.scenario.as_str(),
            "server": self.plan.server().to_string(),
            "servers": self.plan.servers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "mode": mode,
            "rate": rate,
            "concurrency": concurrency,
            "sockets": self.plan.sockets,
            "users": self.users,
            "elapsed_s": round3(self.elapsed.as_secs_f64()),
            "sent": t.sent,
            "answered": self.answered,
            "lost": t.lost,
            "bad": t.bad,
            "bad_reasons": t.bad_reasons,
            "late": t.late,
            "answers": { "accept": t.accepts, "reject": t.rejects, "challenge": t.challenges },
            "unexpected": t.unexpected,
            "not_sent": {
                "no_identifier": t.no_identifier,
                "no_user_this_step": t.no_user_this_step,
                "no_user_below_lockout": t.no_user_below_lockout,
                "send_error": t.send_errors,
            },
            "requests_per_s": round3(self.requests_per_s),
            "latency_ms": latency,
            "warnings": self.warnings,
        })
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let t = &self.tally;
        let mut out = String::new();
        let users = self
            .users
            .map_or(String::new(), |n| format!(", {n} bench users"));
        let _ = writeln!(
            out,
            "{} scenario against {}, {}{users}, {:.1} s",
            self.scenario.as_str(),
            self.plan
                .servers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            self.load_text(),
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(out, "sent        {}", t.sent);
        let _ = writeln!(
            out,
            "answered    {} (Access-Accept {}, Access-Reject {}, Access-Challenge {}; {} not as expected)",
            self.answered, t.accepts, t.rejects, t.challenges, t.unexpected
        );
        let _ = writeln!(
            out,
            "lost        {} (no valid answer within {} ms)",
            t.lost,
            self.plan.timeout.as_millis()
        );
        let reasons: Vec<String> = t
            .bad_reasons
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        match reasons.is_empty() {
            true => _ = writeln!(out, "bad         {}", t.bad),
            false => _ = writeln!(out, "bad         {} ({})", t.bad, reasons.join(", ")),
        }
        let _ = writeln!(out, "late        {}", t.late);
        let not_sent = [
            (t.no_identifier, "no free Identifier"),
            (
                t.no_user_this_step,
                "every bench user logged in at this step",
            ),
            (
                t.no_user_below_lockout,
                "every bench user at the lockout limit",
            ),
            (t.send_errors, "send failed"),
        ];
        for (n, why) in not_sent.iter().filter(|(n, _)| *n > 0) {
            let _ = writeln!(out, "not sent    {n} ({why})");
        }
        let _ = writeln!(out, "req/s       {:.1}", self.requests_per_s);
        if let Some(l) = self.latency {
            let _ = writeln!(
                out,
                "latency ms  p50 {:.3}  p95 {:.3}  p99 {:.3}  max {:.3}",
                l.p50, l.p95, l.p99, l.max
            );
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "warning: {warning}");
        }
        out
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let micros: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        let l = Latency::of(micros).unwrap();
        assert_eq!((l.p50, l.p95, l.p99, l.max), (50.0, 95.0, 99.0, 100.0));
        let l = Latency::of(vec![7_500]).unwrap();
        assert_eq!((l.p50, l.p99, l.max), (7.5, 7.5, 7.5));
        assert_eq!(Latency::of(Vec::new()), None);
    }

    #[test]
    fn answers_are_counted_by_code_and_against_the_expected_one() {
        let mut t = Tally::default();
        let now = Instant::now();
        t.record_sent(now);
        t.record_sent(now);
        t.record_sent(now);
        let ms = Duration::from_millis(2);
        t.record_answer(Kind::Accept, code::ACCESS_ACCEPT, ms, now + ms);
        t.record_answer(Kind::Accept, code::ACCESS_REJECT, ms, now + ms);
        t.record_answer(Kind::Reject, code::ACCESS_REJECT, ms, now + ms * 2);
        t.record_bad("bad_response_authenticator");
        t.record_bad("bad_response_authenticator");
        assert_eq!((t.accepts, t.rejects, t.unexpected), (1, 2, 1));
        assert_eq!(t.answered(), 3);
        assert_eq!(t.bad_reasons["bad_response_authenticator"], 2);
        let plan = Plan {
            servers: vec!["127.0.0.1:1812".parse().unwrap()],
            load: Load::Concurrency(4),
            duration: Duration::from_secs(1),
            count: None,
            timeout: Duration::from_secs(1),
            sockets: 1,
        };
        let s = Summary::new(Scenario::Mixed, plan, Some(9), t, ms * 2, Vec::new());
        // Three answers over the 4 ms from the first send to the last answer.
        assert_eq!(s.requests_per_s.round(), 750.0);
        let doc = s.to_json();
        assert_eq!(doc["answered"], 3);
        assert_eq!(doc["answers"]["reject"], 2);
        assert_eq!(doc["bad"], 2);
        assert_eq!(doc["latency_ms"]["p50"], 2.0);
        assert!(
            s.to_text()
                .contains("bad         2 (bad_response_authenticator 2)")
        );
    }
}
