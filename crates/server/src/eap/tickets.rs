//! TLS session tickets for EAP, sealed with keys the nodes share through the store, so a
//! session resumed on any node of a cluster works. A key seals new tickets for one rotation
//! period and opens them for one ticket lifetime more; the newest key seals, any live key
//! opens. A ticket is `key id (4) ‖ nonce (12) ‖ ChaCha20-Poly1305(rustls' state, aad = id)`.
//!
//! TLS 1.2 supplicants that resume by session id instead get their session kept in the store
//! the same way ([`SharedSessions`]).
//!
//! Fail closed: a store that cannot answer means no ticket is issued and none is opened (a full
//! login, with a code). The ticket proves only the TLS session: whether it may skip the code is
//! decided by the session its resumption data names (`store::find_eap_session`).

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rustls::server::{NoServerSessionStorage, ProducesTickets, ServerConfig, StoresServerSessions};

use crate::secret::{SecretBytes, random_bytes};
use crate::store::{Store, TicketKey};

use super::conversation::HANDLE_LEN;

thread_local! {
    /// The handle of the conversation whose TLS records this thread is processing: the
    /// tickets it seals carry it.
    static SEALING: RefCell<Option<[u8; HANDLE_LEN]>> = const { RefCell::new(None) };
    /// The handle a ticket opened on this thread carried.
    static OPENED: RefCell<Option<[u8; HANDLE_LEN]>> = const { RefCell::new(None) };
}

/// Run `f` (rustls processing one conversation's records) with `handle` as the handle new
/// tickets carry; returns what `f` returned and the handle of a ticket it opened, if any.
/// rustls keeps the resumption data of TLS 1.2 sessions to itself, so the ticket envelope
/// carries the handle for both versions; everything of one round runs on one thread.
pub fn with_handle<T>(
    handle: &[u8; HANDLE_LEN],
    f: impl FnOnce() -> T,
) -> (T, Option<[u8; HANDLE_LEN]>) {
    SEALING.with(|s| *s.borrow_mut() = Some(*handle));
    OPENED.with(|o| *o.borrow_mut() = None);
    let out = f();
    SEALING.with(|s| *s.borrow_mut() = None);
    (out, OPENED.with(|o| o.borrow_mut().take()))
}

/// Keys are read again from the store at most this often when a ticket names one not known
/// here (another node rotated).
const REFRESH_SECS: i64 = 5;

/// Seals and opens session tickets with the shared keys.
pub struct SharedTicketer {
    store: Arc<dyn Store>,
    /// Tickets live this long; a key seals for this long too, then rotates.
    lifetime: i64,
    keys: Mutex<Cached>,
    now: fn() -> i64,
}

#[derive(Default)]
struct Cached {
    /// Newest first.
    keys: Vec<TicketKey>,
    read_at: Option<i64>,
}

impl std::fmt::Debug for SharedTicketer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTicketer")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl SharedTicketer {
    /// Tickets valid for `lifetime` seconds (at least one).
    pub fn new(store: Arc<dyn Store>, lifetime: i64) -> Self {
        Self::with_clock(store, lifetime, crate::clock::unix_now_signed)
    }

    pub fn with_clock(store: Arc<dyn Store>, lifetime: i64, now: fn() -> i64) -> Self {
        Self {
            store,
            lifetime: lifetime.max(1),
            keys: Mutex::new(Cached::default()),
            now,
        }
    }

    /// The key to seal with now, rotating (in the store, for every node) when the newest is
    /// older than a lifetime.
    fn sealing_key(&self) -> Option<TicketKey> {
        let now = (self.now)();
        let mut cached = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = |keys: &[TicketKey]| {
            keys.first()
                .filter(|k| k.created > now - self.lifetime && k.created <= now + 60)
                .cloned()
        };
        if let Some(key) = fresh(&cached.keys) {
            return Some(key);
        }
        let new = TicketKey {
            id: u32::from_be_bytes(random_bytes::<4>()),
            created: now,
            key: SecretBytes::new(random_bytes::<32>().to_vec()),
        };
        match self.store.rotate_eap_ticket_key(&new, now - self.lifetime) {
            Ok(keys) => {
                cached.keys = keys;
                cached.read_at = Some(now);
                // Keys that sealed nothing still open-able are forgotten.
                if let Err(e) = self
                    .store
                    .remove_eap_ticket_keys(now - 2 * self.lifetime - 60)
                {
                    tracing::warn!(error = %e, "cannot remove expired EAP ticket keys");
                }
                fresh(&cached.keys)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot rotate the EAP ticket key; no session ticket issued");
                None
            }
        }
    }

    /// The key with this id, if it may still open tickets.
    fn opening_key(&self, id: u32) -> Option<TicketKey> {
        let now = (self.now)();
        let live = |k: &TicketKey| k.id == id && k.created > now - 2 * self.lifetime;
        let mut cached = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(key) = cached.keys.iter().find(|k| live(k)) {
            return Some(key.clone());
        }
        if cached.read_at.is_some_and(|at| now - at < REFRESH_SECS) {
            return None;
        }
        match self.store.eap_ticket_keys() {
            Ok(keys) => {
                cached.keys = keys;
                cached.read_at = Some(now);
                cached.keys.iter().find(|k| live(k)).cloned()
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the EAP ticket keys; session not resumed");
                None
            }
        }
    }
}

fn cipher(key: &TicketKey) -> Option<ChaCha20Poly1305> {
    let bytes: [u8; 32] = key.key.expose().try_into().ok()?;
    Some(ChaCha20Poly1305::new(&Key::from(bytes)))
}

impl SharedTicketer {
    /// Seal `plain` with the newest key, `context` bound in (authenticated, not stored), the
    /// handle of the conversation being processed carried inside.
    fn seal(&self, context: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
        let key = self.sealing_key()?;
        let id = key.id.to_be_bytes();
        let nonce = random_bytes::<12>();
        let handle = SEALING.with(|s| *s.borrow()).unwrap_or([0; HANDLE_LEN]);
        let message = [handle.as_slice(), plain].concat();
        let sealed = cipher(&key)?
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &message,
                    aad: &[id.as_slice(), context].concat(),
                },
            )
            .ok()?;
        Some([id.as_slice(), &nonce, &sealed].concat())
    }

    /// Open what `seal` sealed with the same `context`, noting the handle it carried.
    fn open(&self, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (id, rest) = sealed.split_first_chunk::<4>()?;
        let (nonce, sealed) = rest.split_first_chunk::<12>()?;
        let key = self.opening_key(u32::from_be_bytes(*id))?;
        let opened = cipher(&key)?
            .decrypt(
                &Nonce::from(*nonce),
                Payload {
                    msg: sealed,
                    aad: &[id.as_slice(), context].concat(),
                },
            )
            .ok()?;
        let (handle, plain) = opened.split_first_chunk::<HANDLE_LEN>()?;
        OPENED.with(|o| *o.borrow_mut() = Some(*handle));
        // What this conversation seals from now on resumes the same login.
        SEALING.with(|s| *s.borrow_mut() = Some(*handle));
        Some(plain.to_vec())
    }
}

impl ProducesTickets for SharedTicketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        u32::try_from(self.lifetime).unwrap_or(u32::MAX)
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.seal(&[], plain)
    }

    fn decrypt(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        self.open(&[], ticket)
    }
}

/// TLS 1.2 sessions kept by session id in the store, for supplicants that resume without a
/// ticket (wpa_supplicant's default, and many Windows builds): each sealed like a ticket, its
/// id bound in, so any node resumes it. Used only beside a [`SharedTicketer`]: TLS 1.3
/// resumes by ticket then, and rustls never asks this store to `take`.
#[derive(Debug)]
pub struct SharedSessions {
    ticketer: Arc<SharedTicketer>,
}

impl StoresServerSessions for SharedSessions {
    fn put(&self, id: Vec<u8>, value: Vec<u8>) -> bool {
        let Some(sealed) = self.ticketer.seal(&id, &value) else {
            return false;
        };
        let now = (self.ticketer.now)();
        match self.ticketer.store.put_eap_tls_session(&id, &sealed, now) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "cannot keep the EAP TLS session; it will not resume");
                false
            }
        }
    }

    fn get(&self, id: &[u8]) -> Option<Vec<u8>> {
        let since = (self.ticketer.now)() - self.ticketer.lifetime;
        match self.ticketer.store.get_eap_tls_session(id, since) {
            Ok(sealed) => self.ticketer.open(id, &sealed?),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the EAP TLS session; session not resumed");
                None
            }
        }
    }

    /// Single-use stateful TLS 1.3 tickets only, which a server with a ticketer never issues.
    fn take(&self, _id: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// Set up resumption in `config`: with a window (`lifetime` seconds, > 0), TLS 1.3 tickets
/// and TLS 1.2 tickets and session ids, all kept sealed with the keys in `store`; without one,
/// none of them (every connection is a full login).
pub fn resumption(config: &mut ServerConfig, store: Arc<dyn Store>, lifetime: i64) {
    if lifetime > 0 {
        let ticketer = Arc::new(SharedTicketer::new(store, lifetime));
        config.session_storage = Arc::new(SharedSessions {
            ticketer: Arc::clone(&ticketer),
        });
        config.ticketer = ticketer;
        config.send_tls13_tickets = 1;
    } else {
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;
    use crate::store::{Keys, SqliteStore};

    static NOW: AtomicI64 = AtomicI64::new(1_000_000);

    fn now() -> i64 {
        NOW.load(Ordering::Relaxed)
    }

    /// Two nodes: their own ticketers (and key caches) over one database.
    fn nodes() -> (Arc<SharedTicketer>, Arc<SharedTicketer>) {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open_in_memory(Keys::from_master(b"tickets")).unwrap());
        let node = || Arc::new(SharedTicketer::with_clock(Arc::clone(&store), 3600, now));
        (node(), node())
    }

    // One test: the clock is shared by the module.
    #[test]
    fn tickets_and_sessions_open_on_every_node_within_their_lifetime() {
        let (a, b) = nodes();
        let handle = [7u8; HANDLE_LEN];
        let (ticket, opened) = with_handle(&handle, || a.encrypt(b"state").unwrap());
        assert_eq!(opened, None);
        assert!(!ticket.windows(5).any(|w| w == b"state"), "sealed");
        let (plain, opened) = with_handle(&[0; HANDLE_LEN], || b.decrypt(&ticket));
        assert_eq!(plain.as_deref(), Some(&b"state"[..]));
        assert_eq!(opened, Some(handle), "the ticket names its conversation");
        // A changed octet opens nothing.
        let mut bent = ticket.clone();
        *bent.last_mut().unwrap() ^= 1;
        assert_eq!(b.decrypt(&bent), None);

        // TLS 1.2 sessions by id: kept by one node, resumed by the other, bound to their id.
        let (kept_a, kept_b) = (
            SharedSessions {
                ticketer: Arc::clone(&a),
            },
            SharedSessions {
                ticketer: Arc::clone(&b),
            },
        );
        let (put, _) = with_handle(&handle, || kept_a.put(b"id-1".to_vec(), b"tls12".to_vec()));
        assert!(put);
        let (got, opened) = with_handle(&[0; HANDLE_LEN], || kept_b.get(b"id-1"));
        assert_eq!(got.as_deref(), Some(&b"tls12"[..]));
        assert_eq!(opened, Some(handle));
        assert_eq!(kept_b.get(b"id-2"), None);
        assert_eq!(kept_b.take(b"id-1"), None, "nothing single-use is kept");
        // A sealed session moved to another id's row does not open there.
        let sealed = a.seal(b"id-1", b"tls12").unwrap();
        assert_eq!(b.open(b"id-3", &sealed), None);

        // Within one lifetime the key stays; past it a new one seals, the old still opens.
        NOW.fetch_add(3601, Ordering::Relaxed);
        let newer = a.encrypt(b"later").unwrap();
        assert_ne!(newer[..4], ticket[..4], "rotated");
        assert!(
            b.decrypt(&ticket).is_some(),
            "the old key opens for a lifetime more"
        );
        assert_eq!(
            kept_b.get(b"id-1"),
            None,
            "the session outlived its lifetime"
        );
        assert!(
            b.decrypt(&newer).is_some(),
            "the other node reads the new key"
        );
        // Two lifetimes on, the first key opens nothing.
        NOW.fetch_add(3600, Ordering::Relaxed);
        assert_eq!(b.decrypt(&ticket), None);
        assert!(a.decrypt(&newer).is_some());
    }
}
