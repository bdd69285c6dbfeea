//! The one log shape for every decision and every drop: `client`, `peer`, `id`, `code`,
//! `user`, `outcome`, `reason`. Drop lines are rate-limited per kind so a flood cannot fill the
//! disk; the next line that gets through says how many were suppressed.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::outcome::{DropKind, DropReason};
use crate::protocol::code;

/// Drop lines allowed per kind per second.
const DROP_LINES_PER_SECOND: u32 = 20;

/// What is known about a request so far, for its log line.
#[derive(Debug, Clone)]
pub(super) struct RequestContext {
    pub peer: SocketAddr,
    pub client: Option<String>,
    pub id: Option<u8>,
    pub code: Option<u8>,
    /// Printable form of User-Name (control characters escaped, length capped).
    pub user: Option<String>,
    /// When the datagram arrived (request latency).
    pub received: Instant,
}

impl RequestContext {
    pub(super) fn new(peer: SocketAddr) -> Self {
        Self {
            peer,
            client: None,
            id: None,
            code: None,
            user: None,
            received: Instant::now(),
        }
    }

    fn fields(&self) -> (&str, String, &str, &str) {
        (
            self.client.as_deref().unwrap_or("-"),
            self.id.map_or_else(|| "-".to_owned(), |id| id.to_string()),
            self.code.map_or("-", code::name),
            self.user.as_deref().unwrap_or("-"),
        )
    }

    /// An Accept, Reject or Challenge, at info level (Status-Server at debug: monitors poll it).
    pub(super) fn decision(&self, outcome: &str, reason: &str, verify_ms: Option<f64>) {
        let (client, id, code_name, user) = self.fields();
        let verify_ms = verify_ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1}"));
        if self.code == Some(code::STATUS_SERVER) {
            tracing::debug!(client, peer = %self.peer, id, code = code_name, user, outcome, reason, verify_ms, "request");
        } else {
            tracing::info!(client, peer = %self.peer, id, code = code_name, user, outcome, reason, verify_ms, "request");
        }
    }

    fn dropped(&self, reason: &DropReason, suppressed: u64) {
        let (client, id, code_name, user) = self.fields();
        let kind = reason.kind().as_str();
        match reason.kind() {
            DropKind::Internal | DropKind::Overloaded => {
                tracing::warn!(client, peer = %self.peer, id, code = code_name, user, outcome = "drop", reason = %reason, kind, suppressed, "request")
            }
            _ => {
                tracing::info!(client, peer = %self.peer, id, code = code_name, user, outcome = "drop", reason = %reason, kind, suppressed, "request")
            }
        }
    }
}

/// Escape control characters and cap the length, so a User-Name cannot forge log lines.
pub(super) fn printable_user(name: &str) -> String {
    const MAX_CHARS: usize = 64;
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

#[derive(Clone, Copy)]
struct Window {
    started: Option<Instant>,
    lines: u32,
    suppressed: u64,
}

/// Per-kind rate limiter for drop lines.
pub(super) struct DropLog {
    windows: Mutex<[Window; DropKind::ALL.len()]>,
}

impl Default for DropLog {
    fn default() -> Self {
        Self {
            windows: Mutex::new(
                [Window {
                    started: None,
                    lines: 0,
                    suppressed: 0,
                }; DropKind::ALL.len()],
            ),
        }
    }
}

impl DropLog {
    pub(super) fn log(&self, ctx: &RequestContext, reason: &DropReason, now: Instant) {
        let suppressed = {
            let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
            let w = &mut windows[reason.kind() as usize];
            if w.started
                .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1))
            {
                w.started = Some(now);
                w.lines = 0;
            }
            if w.lines >= DROP_LINES_PER_SECOND {
                w.suppressed += 1;
                return;
            }
            w.lines += 1;
            std::mem::take(&mut w.suppressed)
        };
        ctx.dropped(reason, suppressed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_cannot_forge_lines() {
        assert_eq!(printable_user("alice"), "alice");
        assert_eq!(printable_user("a\nINFO fake"), "a\\nINFO fake");
        assert_eq!(printable_user("jürgen"), "jürgen");
        assert_eq!(printable_user(&"x".repeat(100)).chars().count(), 65);
    }
}
