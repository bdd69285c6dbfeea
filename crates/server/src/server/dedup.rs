//! The RFC 5080 §2.2.2 response cache: a retransmission of a request already answered gets the
//! same bytes again, without reprocessing; a duplicate of a request still being processed is
//! dropped. Keyed by (source address and port, Identifier, Request Authenticator), so a reused
//! Identifier with a new authenticator is a new request.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long answers are kept: longer than any NAS retries one request.
pub(super) const DEFAULT_LIFETIME: Duration = Duration::from_secs(30);
/// Bound on remembered requests. When it is reached, the oldest answer is forgotten first (at
/// more than ~2,000 requests a second, answers are kept less than `DEFAULT_LIFETIME`); only a
/// cache full of requests still in flight refuses new ones.
pub(super) const DEFAULT_CAPACITY: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct RequestKey {
    /// The same Identifier and authenticator from the same peer on another transport (another
    /// socket, a TLS connection) is another request.
    pub transport: super::Transport,
    pub peer: SocketAddr,
    pub identifier: u8,
    pub request_authenticator: [u8; 16],
}

#[derive(Debug)]
enum State {
    InFlight,
    /// The reply, and when it may be released (a reject is held back by the reject delay, and
    /// so are its retransmissions).
    Answered {
        reply: Arc<[u8]>,
        ready_at: Instant,
    },
}

#[derive(Debug)]
struct Entry {
    state: State,
    created: Instant,
}

/// What to do with an incoming request.
#[derive(Debug)]
pub(super) enum Lookup {
    /// Not seen before: process it; the guard clears the in-flight mark if processing ends
    /// without an answer.
    New(InFlightGuard),
    /// Answered before: send these bytes again.
    Resend(Arc<[u8]>),
    /// Still being processed (or its reply is not due yet): drop this copy.
    InFlight,
    /// The cache is full of requests still in flight: drop (the NAS will retry).
    Full,
}

#[derive(Debug)]
struct Inner {
    entries: HashMap<RequestKey, Entry>,
    order: VecDeque<(RequestKey, Instant)>,
    lifetime: Duration,
    capacity: usize,
}

impl Inner {
    fn expire(&mut self, now: Instant) {
        while let Some(&(key, created)) = self.order.front() {
            if now.duration_since(created) < self.lifetime {
                break;
            }
            self.order.pop_front();
            // Only remove the entry this queue slot was for, not a newer one with the same key.
            if self.entries.get(&key).is_some_and(|e| e.created == created) {
                self.entries.remove(&key);
            }
        }
    }

    /// Forget the oldest request if it has been answered and its answer released; `false` if
    /// the oldest is still in flight (or held back).
    fn evict_oldest_answer(&mut self, now: Instant) -> bool {
        while let Some(&(key, created)) = self.order.front() {
            match self.entries.get(&key) {
                Some(entry) if entry.created == created => {
                    let released = matches!(
                        entry.state,
                        State::Answered { ready_at, .. } if ready_at <= now
                    );
                    if released {
                        self.order.pop_front();
                        self.entries.remove(&key);
                    }
                    return released;
                }
                // A slot of a request forgotten early.
                _ => {
                    self.order.pop_front();
                }
            }
        }
        false
    }
}

/// Shared between the receive loops and the tasks that finish requests.
#[derive(Clone, Debug)]
pub(super) struct ResponseCache {
    inner: Arc<Mutex<Inner>>,
}

impl ResponseCache {
    pub(super) fn new(lifetime: Duration, capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                entries: HashMap::new(),
                order: VecDeque::new(),
                lifetime,
                capacity,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn lookup(&self, key: RequestKey, now: Instant) -> Lookup {
        let mut inner = self.lock();
        inner.expire(now);
        match inner.entries.get(&key) {
            Some(Entry {
                state: State::Answered { reply, ready_at },
                ..
            }) if *ready_at <= now => return Lookup::Resend(reply.clone()),
            Some(_) => return Lookup::InFlight,
            None => {}
        }
        if inner.entries.len() >= inner.capacity && !inner.evict_oldest_answer(now) {
            return Lookup::Full;
        }
        inner.entries.insert(
            key,
            Entry {
                state: State::InFlight,
                created: now,
            },
        );
        inner.order.push_back((key, now));
        // Requests forgotten early (dropped unanswered) leave stale slots; keep them bounded.
        if inner.order.len() > 2 * inner.capacity {
            let Inner { entries, order, .. } = &mut *inner;
            order.retain(|(k, created)| entries.get(k).is_some_and(|e| e.created == *created));
        }
        Lookup::New(InFlightGuard {
            cache: self.clone(),
            key,
            done: false,
        })
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Marks one request in flight. `answer` stores the reply; dropping it unanswered (an error,
/// an overload drop, a panic) forgets the request so a retransmission is processed afresh.
#[derive(Debug)]
pub(super) struct InFlightGuard {
    cache: ResponseCache,
    key: RequestKey,
    done: bool,
}

impl InFlightGuard {
    pub(super) fn answer(mut self, reply: Arc<[u8]>, ready_at: Instant) {
        let mut inner = self.cache.lock();
        if let Some(entry) = inner.entries.get_mut(&self.key) {
            entry.state = State::Answered { reply, ready_at };
        }
        self.done = true;
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if !self.done {
            let mut inner = self.cache.lock();
            if matches!(
                inner.entries.get(&self.key),
                Some(Entry {
                    state: State::InFlight,
                    ..
                })
            ) {
                inner.entries.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u8, auth: u8) -> RequestKey {
        RequestKey {
            transport: super::super::Transport::Udp {
                local: "127.0.0.1:1812".parse().unwrap(),
            },
            peer: "127.0.0.1:5000".parse().unwrap(),
            identifier: id,
            request_authenticator: [auth; 16],
        }
    }

    #[test]
    fn new_then_in_flight_then_resend() {
        let cache = ResponseCache::new(Duration::from_secs(30), 10);
        let t0 = Instant::now();
        let Lookup::New(guard) = cache.lookup(key(1, 1), t0) else {
            panic!("first sight is new")
        };
        assert!(matches!(cache.lookup(key(1, 1), t0), Lookup::InFlight));
        // Same Identifier, new authenticator: a new request.
        assert!(matches!(cache.lookup(key(1, 2), t0), Lookup::New(_)));
        guard.answer(Arc::from(&b"reply"[..]), t0);
        match cache.lookup(key(1, 1), t0) {
            Lookup::Resend(bytes) => assert_eq!(&*bytes, b"reply"),
            _ => panic!("answered request is resent"),
        }
    }

    #[test]
    fn a_held_back_reply_is_not_released_early() {
        let cache = ResponseCache::new(Duration::from_secs(30), 10);
        let t0 = Instant::now();
        let Lookup::New(guard) = cache.lookup(key(1, 1), t0) else {
            panic!()
        };
        guard.answer(Arc::from(&b"reject"[..]), t0 + Duration::from_secs(1));
        assert!(matches!(cache.lookup(key(1, 1), t0), Lookup::InFlight));
        assert!(matches!(
            cache.lookup(key(1, 1), t0 + Duration::from_secs(1)),
            Lookup::Resend(_)
        ));
    }

    #[test]
    fn unanswered_guard_clears_its_mark() {
        let cache = ResponseCache::new(Duration::from_secs(30), 10);
        let t0 = Instant::now();
        drop(cache.lookup(key(1, 1), t0));
        assert!(cache.is_empty());
        // Also when the holder panics.
        let c2 = cache.clone();
        let _ = std::thread::spawn(move || {
            let _guard = c2.lookup(key(2, 2), t0);
            panic!("handler failed");
        })
        .join();
        assert!(matches!(cache.lookup(key(2, 2), t0), Lookup::New(_)));
    }

    #[test]
    fn entries_expire_and_capacity_is_bounded() {
        let cache = ResponseCache::new(Duration::from_secs(30), 2);
        let t0 = Instant::now();
        let mut guards: Vec<_> = (0..2)
            .map(|id| match cache.lookup(key(id, 0), t0) {
                Lookup::New(g) => g,
                _ => panic!(),
            })
            .collect();
        // Full of requests in flight: a new one is refused.
        assert!(matches!(cache.lookup(key(9, 0), t0), Lookup::Full));
        // Once answered, the oldest answer makes room for the next request; the newer stays.
        for g in guards.drain(..) {
            g.answer(Arc::from(&b"r"[..]), t0);
        }
        let Lookup::New(g) = cache.lookup(key(9, 0), t0) else {
            panic!("the oldest answer is forgotten for a new request")
        };
        g.answer(Arc::from(&b"r9"[..]), t0);
        assert!(matches!(cache.lookup(key(0, 0), t0), Lookup::New(_)));
        assert!(matches!(cache.lookup(key(9, 0), t0), Lookup::Resend(_)));
        assert!(cache.len() <= 2);
        // An answer held back (a reject's delay) is not forgotten early.
        let cache = ResponseCache::new(Duration::from_secs(30), 1);
        let Lookup::New(g) = cache.lookup(key(1, 0), t0) else {
            panic!()
        };
        g.answer(Arc::from(&b"reject"[..]), t0 + Duration::from_secs(1));
        assert!(matches!(cache.lookup(key(2, 0), t0), Lookup::Full));
        assert!(matches!(
            cache.lookup(key(2, 0), t0 + Duration::from_secs(1)),
            Lookup::New(_)
        ));
        let later = t0 + Duration::from_secs(31);
        assert!(matches!(cache.lookup(key(1, 0), later), Lookup::New(_)));
    }
}
