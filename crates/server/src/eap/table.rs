//! The EAP conversations in progress, by the State each Access-Challenge carried: bounded in
//! number (`[eap] max_conversations`), idle ones forgotten after `IDLE_SECS`, and shared fairly
//! between NASes — one NAS flooding EAP-Starts fills its own share, never another's.
//!
//! A conversation is taken out while its round is worked on and put back with a fresh State,
//! so two requests never work on one conversation at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::IDLE_SECS;
use super::conversation::Conversation;
use crate::secret::random_bytes;

/// Octets of the State that names a conversation.
pub const STATE_LEN: usize = 16;
/// Every NAS may hold at least this many conversations, however small its share.
const MIN_SHARE: usize = 16;

/// A conversation between rounds.
#[derive(Debug)]
pub struct Entry {
    pub conversation: Conversation,
    /// The NAS it belongs to: only that NAS may continue it.
    pub client: String,
    /// The State of a challenge the decision opened (PEAP/GTC's second prompt), to pass to
    /// the decision with the next answer.
    pub challenge: Option<Vec<u8>>,
    /// The decision that asked for the code, logged with the prompt's round.
    pub challenge_decision: Option<crate::auth::Decision>,
    pub started: Instant,
    /// An Accept waiting for the last round (PEAP's Result TLV).
    pub decision: Option<crate::auth::Decision>,
    /// The user and the time of the full login that tickets of this session resume.
    pub bind: Option<(String, i64)>,
}

/// Why a new conversation was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// `max_conversations` are in progress, none older than idle.
    Table(usize),
    /// This NAS holds its share of them.
    Client(usize),
}

#[derive(Debug)]
struct Held {
    entry: Entry,
    touched: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    by_state: HashMap<[u8; STATE_LEN], Held>,
    per_client: HashMap<String, usize>,
    swept: Option<Instant>,
}

/// The conversations in progress.
#[derive(Debug, Default)]
pub struct Table {
    inner: Mutex<Inner>,
}

impl Table {
    pub fn new() -> Self {
        Self::default()
    }

    /// Conversations in progress now.
    pub fn len(&self) -> usize {
        self.lock().by_state.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep `entry` under a fresh State, returned. `max` bounds the table, `clients` is the
    /// number of NASes that may speak EAP (each may hold `max / clients`, at least 16).
    /// A conversation that was already under way (`continuing`) is always put back.
    pub fn put(
        &self,
        entry: Entry,
        now: Instant,
        max: usize,
        clients: usize,
        continuing: bool,
    ) -> Result<[u8; STATE_LEN], Full> {
        let mut inner = self.lock();
        inner.expire(now);
        if inner.by_state.len() >= max {
            inner.swept = None;
            inner.expire(now);
        }
        if !continuing {
            let share = (max / clients.max(1)).max(MIN_SHARE).min(max);
            let held = inner.per_client.get(&entry.client).copied().unwrap_or(0);
            if held >= share {
                return Err(Full::Client(held));
            }
            if inner.by_state.len() >= max {
                return Err(Full::Table(max));
            }
        }
        let state = loop {
            let state = random_bytes::<STATE_LEN>();
            if !inner.by_state.contains_key(&state) {
                break state;
            }
        };
        *inner.per_client.entry(entry.client.clone()).or_default() += 1;
        inner.by_state.insert(
            state,
            Held {
                entry,
                touched: now,
            },
        );
        Ok(state)
    }

    /// Put a conversation back under the State it was taken by (its response was discarded;
    /// the NAS sends the right one under the same State).
    pub fn restore(&self, state: &[u8], entry: Entry, now: Instant) {
        let Ok(key) = <[u8; STATE_LEN]>::try_from(state) else {
            return;
        };
        let mut inner = self.lock();
        *inner.per_client.entry(entry.client.clone()).or_default() += 1;
        inner.by_state.insert(
            key,
            Held {
                entry,
                touched: now,
            },
        );
    }

    /// The conversation `state` names, taken out, if `client` holds it and it is not idle.
    pub fn take(&self, state: &[u8], client: &str, now: Instant) -> Option<Entry> {
        let key: [u8; STATE_LEN] = state.try_into().ok()?;
        let mut inner = self.lock();
        inner.expire(now);
        let held = inner.by_state.get(&key)?;
        let idle = now.saturating_duration_since(held.touched) >= Duration::from_secs(IDLE_SECS);
        if idle || held.entry.client != client {
            return None;
        }
        let held = inner.by_state.remove(&key)?;
        inner.release(&held.entry.client);
        Some(held.entry)
    }
}

impl Inner {
    /// Forget idle conversations; the whole table is looked at no more than once a second.
    fn expire(&mut self, now: Instant) {
        if self
            .swept
            .is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(1))
        {
            return;
        }
        self.swept = Some(now);
        let idle = Duration::from_secs(IDLE_SECS);
        let expired: Vec<[u8; STATE_LEN]> = self
            .by_state
            .iter()
            .filter(|(_, held)| now.saturating_duration_since(held.touched) >= idle)
            .map(|(state, _)| *state)
            .collect();
        for state in expired {
            if let Some(held) = self.by_state.remove(&state) {
                self.release(&held.entry.client);
            }
        }
    }

    fn release(&mut self, client: &str) {
        if let Some(count) = self.per_client.get_mut(client) {
            *count -= 1;
            if *count == 0 {
                self.per_client.remove(client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eap::Method;

    fn entry(client: &str) -> Entry {
        let key = test_key();
        let config = crate::radsec::server_config_without_client_auth(key).unwrap();
        let (conversation, _) = Conversation::start(
            Method::Ttls,
            std::sync::Arc::new(config),
            1024,
            1,
            [0; crate::eap::conversation::HANDLE_LEN],
        )
        .unwrap();
        Entry {
            conversation,
            client: client.into(),
            challenge: None,
            challenge_decision: None,
            started: Instant::now(),
            decision: None,
            bind: None,
        }
    }

    fn test_key() -> std::sync::Arc<rustls::sign::CertifiedKey> {
        use rustls_pki_types::pem::PemObject;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["radius.example.org".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = rustls_pki_types::PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes())
            .unwrap();
        let provider = rustls::crypto::ring::default_provider();
        std::sync::Arc::new(
            rustls::sign::CertifiedKey::from_der(vec![cert.der().clone()], der, &provider).unwrap(),
        )
    }

    #[test]
    fn a_conversation_is_taken_once_by_its_client_and_forgotten_when_idle() {
        let table = Table::new();
        let now = Instant::now();
        let state = table.put(entry("wlc"), now, 64, 1, false).unwrap();
        assert!(
            table.take(&state, "other-nas", now).is_none(),
            "another NAS's State"
        );
        let taken = table.take(&state, "wlc", now).expect("its own");
        assert!(table.take(&state, "wlc", now).is_none(), "taken once");
        let state = table.put(taken, now, 64, 1, true).unwrap();
        let later = now + Duration::from_secs(IDLE_SECS);
        assert!(
            table.take(&state, "wlc", later).is_none(),
            "idle 30 s: forgotten"
        );
        assert!(table.is_empty());
    }

    #[test]
    fn one_nas_fills_its_share_and_no_more() {
        let table = Table::new();
        let now = Instant::now();
        // 64 in all, two EAP NASes: 32 each.
        for _ in 0..32 {
            table.put(entry("flooder"), now, 64, 2, false).unwrap();
        }
        assert_eq!(
            table.put(entry("flooder"), now, 64, 2, false),
            Err(Full::Client(32))
        );
        let state = table.put(entry("wlc"), now, 64, 2, false).unwrap();
        assert!(table.take(&state, "wlc", now).is_some());
        // Idle ones make room again.
        let later = now + Duration::from_secs(IDLE_SECS + 1);
        assert!(table.put(entry("flooder"), later, 64, 2, false).is_ok());
        assert_eq!(table.len(), 1);
    }
}
