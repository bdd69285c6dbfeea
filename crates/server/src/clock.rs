//! The wall clock every decision, enrollment and benchmark reads: unix seconds.
//!
//! Tests of the real binary need codes that stay valid and time that moves on command (a
//! temporary password expiring, a lock running out) without sleeping. In debug builds only —
//! which is what `cargo test` runs — the variable `RADOTP_TEST_CLOCK` may hold the current
//! unix time, or name a file holding it (read at every look at the clock, so a test moves time
//! by rewriting the file). Release builds ignore the variable: the code that honours it is not
//! compiled in.

use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable naming the test clock's file (debug builds only).
pub const TEST_CLOCK_VARIABLE: &str = "RADOTP_TEST_CLOCK";

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    #[cfg(debug_assertions)]
    if let Some(now) = test_clock() {
        return now;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `unix_now` as the store counts time.
pub fn unix_now_signed() -> i64 {
    i64::try_from(unix_now()).unwrap_or(i64::MAX)
}

#[cfg(debug_assertions)]
fn test_clock() -> Option<u64> {
    let value = std::env::var_os(TEST_CLOCK_VARIABLE)?;
    if let Some(now) = value.to_str().and_then(|v| v.parse().ok()) {
        return Some(now);
    }
    let text = std::fs::read_to_string(&value).ok()?;
    text.trim().parse().ok()
}
