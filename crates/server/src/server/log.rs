//! The one log shape for every decision and every drop: `client`, `peer`, `transport`, `id`,
//! `code`, `user`, `outcome`, `reason`, `detail`, `verify_ms`, typed (numbers are numbers) and
//! present on every line (`-`/`null` when unknown). Drop lines are rate-limited per kind so a
//! flood cannot fill the disk; the next line that gets through says how many were suppressed.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::outcome::{DropKind, DropReason};
use crate::protocol::code;

/// The request line, at `$level`: the same fields, in the same order, for every decision and
/// every drop.
macro_rules! request_line {
    ($level:ident, $ctx:expr, $outcome:expr, $reason:expr, $detail:expr, $verify_ms:expr) => {{
        let ctx: &RequestContext = $ctx;
        tracing::$level!(
            client = ctx.client.as_deref(),
            peer = %ctx.peer,
            transport = ctx.transport,
            id = ctx.id.map(u64::from),
            code = ctx.code.map(code::name),
            user = ctx.user.as_deref(),
            outcome = $outcome,
            reason = $reason,
            detail = $detail,
            verify_ms = $verify_ms,
            "request"
        )
    }};
}

/// Drop lines allowed per kind per second.
pub(super) const DROP_LINES_PER_SECOND: u32 = 20;

/// What is known about a request so far, for its log line.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub peer: SocketAddr,
    /// The transport's name (`udp`).
    pub transport: &'static str,
    pub client: Option<String>,
    pub id: Option<u8>,
    pub code: Option<u8>,
    /// Printable form of User-Name (control characters escaped, length capped).
    pub user: Option<String>,
    /// When the request arrived: the reject delay and the latency count from here.
    pub received: Instant,
}

impl RequestContext {
    pub fn new(peer: SocketAddr, transport: &'static str, received: Instant) -> Self {
        Self {
            peer,
            transport,
            client: None,
            id: None,
            code: None,
            user: None,
            received,
        }
    }

    /// An Accept, Reject or Challenge, at info level — at warn for what an administrator must
    /// see (a lock, a wrong code after a right password), at debug for Status-Server (monitors
    /// poll it).
    pub(crate) fn decision(
        &self,
        outcome: &str,
        reason: &str,
        detail: Option<&str>,
        verify_ms: Option<f64>,
        security: bool,
    ) {
        if self.code == Some(code::STATUS_SERVER) {
            request_line!(debug, self, outcome, reason, detail, verify_ms);
        } else if security {
            request_line!(warn, self, outcome, reason, detail, verify_ms);
        } else {
            request_line!(info, self, outcome, reason, detail, verify_ms);
        }
    }

    fn dropped(&self, reason: &DropReason, suppressed: u64) {
        let label = reason.label();
        let mut detail = reason.detail().unwrap_or_default();
        if suppressed > 0 {
            detail.push_str(&format!(
                "; {suppressed} more drops of this kind were not logged (at most \
                 {DROP_LINES_PER_SECOND} lines a second)"
            ));
        }
        let detail = (!detail.is_empty()).then_some(detail.as_str());
        let verify_ms: Option<f64> = None;
        match reason.kind() {
            // What an administrator must see even at `--log-level warn`.
            DropKind::Internal
            | DropKind::Overloaded
            | DropKind::MessageAuthenticator
            | DropKind::UnknownClient => {
                request_line!(warn, self, "drop", label, detail, verify_ms);
            }
            _ => request_line!(info, self, "drop", label, detail, verify_ms),
        }
    }
}

/// Escape control characters and cap the length, so a User-Name cannot forge log lines.
pub(super) fn printable_user(name: &[u8]) -> String {
    const MAX_CHARS: usize = 64;
    let name = String::from_utf8_lossy(name);
    let mut out = String::new();
    for c in name.chars().take(MAX_CHARS) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if name.chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Window {
    started: Option<Instant>,
    lines: u32,
    suppressed: u64,
}

impl Window {
    /// May a line be logged at `now`? `Some(n)`: yes, and `n` lines were suppressed before it.
    pub(super) fn admit(&mut self, now: Instant) -> Option<u64> {
        if self
            .started
            .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1))
        {
            self.started = Some(now);
            self.lines = 0;
        }
        if self.lines >= DROP_LINES_PER_SECOND {
            self.suppressed += 1;
            return None;
        }
        self.lines += 1;
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// Per-kind rate limiter for drop lines.
#[derive(Debug, Default)]
pub(crate) struct DropLog {
    windows: Mutex<[Window; DropKind::ALL.len()]>,
}

impl DropLog {
    pub(crate) fn log(&self, ctx: &RequestContext, reason: &DropReason, now: Instant) {
        let admitted = {
            let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
            windows[reason.kind() as usize].admit(now)
        };
        if let Some(suppressed) = admitted {
            ctx.dropped(reason, suppressed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_cannot_forge_lines() {
        assert_eq!(printable_user(b"alice"), "alice");
        assert_eq!(printable_user(b"a\nINFO fake"), "a\\nINFO fake");
        assert_eq!(printable_user("jürgen".as_bytes()), "jürgen");
        assert_eq!(printable_user(b"\xff\xfe"), "\u{fffd}\u{fffd}");
        assert_eq!(
            printable_user("x".repeat(100).as_bytes()).chars().count(),
            65
        );
    }
}
