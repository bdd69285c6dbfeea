//! Requests per client address, in one-minute windows: a guesser behind one address gets a
//! few tries a minute (and an invitation survives five wrong ones in all), everyone else is
//! not slowed. Bounded in memory: past `MAX_ADDRESSES` the oldest windows are forgotten.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
const MAX_ADDRESSES: usize = 10_000;

/// What a request is, for its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Bucket {
    /// Opening pages and links.
    Page,
    /// A password or a code typed on the page.
    Attempt,
    /// An API call refused for its token.
    BadToken,
}

impl Bucket {
    /// Requests allowed per address and window.
    fn allowed(self) -> u32 {
        match self {
            Bucket::Page => 60,
            Bucket::Attempt => 10,
            Bucket::BadToken => 10,
        }
    }
}

/// What a window is kept for: an IPv4 address, or an IPv6 /64 (what one subscriber gets, so
/// rotating addresses inside it does not give fresh windows).
fn key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::V6(octets.into())
        }
        v4 => v4,
    }
}

#[derive(Debug, Default)]
pub(super) struct Limits {
    windows: Mutex<HashMap<(IpAddr, Bucket), (Instant, u32)>>,
}

impl Limits {
    /// Count one request; `Err(seconds)` to wait if the address is over its limit.
    pub(super) fn take(&self, address: IpAddr, bucket: Bucket) -> Result<(), u64> {
        self.take_at(address, bucket, Instant::now())
    }

    fn take_at(&self, address: IpAddr, bucket: Bucket, now: Instant) -> Result<(), u64> {
        let address = key(address);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_ADDRESSES && !windows.contains_key(&(address, bucket)) {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            // Still full of live windows: the newcomer waits rather than anyone's count being
            // forgotten (clearing would give a flooder a fresh start).
            if windows.len() >= MAX_ADDRESSES {
                return Err(WINDOW.as_secs());
            }
        }
        let (start, count) = windows.entry((address, bucket)).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        if *count >= bucket.allowed() {
            let wait = WINDOW.saturating_sub(now.duration_since(*start));
            return Err(wait.as_secs().max(1));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_and_kind_has_its_own_window() {
        let limits = Limits::default();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let now = Instant::now();
        for _ in 0..10 {
            assert!(limits.take_at(a, Bucket::Attempt, now).is_ok());
        }
        assert!(limits.take_at(a, Bucket::Attempt, now).is_err());
        assert!(limits.take_at(b, Bucket::Attempt, now).is_ok());
        assert!(limits.take_at(a, Bucket::Page, now).is_ok());
        assert!(limits.take_at(a, Bucket::Attempt, now + WINDOW).is_ok());
        // One /64 is one window.
        let (c, d): (IpAddr, IpAddr) = (
            "2001:db8:1:2::1".parse().unwrap(),
            "2001:db8:1:2:ffff::9".parse().unwrap(),
        );
        for _ in 0..10 {
            assert!(limits.take_at(c, Bucket::Attempt, now).is_ok());
        }
        assert!(limits.take_at(d, Bucket::Attempt, now).is_err());
    }
}
