//! EAP session resumption: the ticket keys the nodes share, the sessions bound to the user
//! whose full login they resume (and what ends them), and the TLS 1.2 sessions kept by id —
//! the same assertions on every backend.

use super::*;
use crate::store::TicketKey;

fn ticket_key(id: u32, created: i64, byte: u8) -> TicketKey {
    TicketKey {
        id,
        created,
        key: SecretBytes::new(vec![byte; 32]),
    }
}

fn ids(keys: &[TicketKey]) -> Vec<u32> {
    keys.iter().map(|k| k.id).collect()
}

pub(crate) fn ticket_keys_rotate_once_for_every_node(backend: &dyn Backend) {
    let store = open(backend);
    assert!(store.eap_ticket_keys().unwrap().is_empty());
    let keys = store
        .rotate_eap_ticket_key(&ticket_key(1, 100, 0xa1), 0)
        .unwrap();
    assert_eq!(ids(&keys), [1]);
    assert_eq!(
        keys[0],
        ticket_key(1, 100, 0xa1),
        "the key comes back unsealed"
    );
    // A node that decided to rotate on what it read before finds the new key and adds none.
    let other = open(backend);
    let keys = other
        .rotate_eap_ticket_key(&ticket_key(2, 101, 0xa2), 50)
        .unwrap();
    assert_eq!(ids(&keys), [1]);
    // Once the newest is old enough, the next rotation adds a key, newest first.
    let keys = other
        .rotate_eap_ticket_key(&ticket_key(3, 200, 0xa3), 150)
        .unwrap();
    assert_eq!(ids(&keys), [3, 1]);
    assert_eq!(ids(&store.eap_ticket_keys().unwrap()), [3, 1]);
    // An id taken already adds nothing (the caller tries again).
    let keys = store
        .rotate_eap_ticket_key(&ticket_key(3, 300, 0xa4), 250)
        .unwrap();
    assert_eq!(ids(&keys), [3, 1]);
    assert_eq!(store.remove_eap_ticket_keys(150).unwrap(), 1);
    assert_eq!(ids(&other.eap_ticket_keys().unwrap()), [3]);
}

pub(crate) fn racing_nodes_rotate_one_ticket_key(backend: &dyn Backend) {
    let stores: Vec<Box<dyn Store>> = (0..4).map(|_| open(backend)).collect();
    std::thread::scope(|scope| {
        for (i, store) in stores.iter().enumerate() {
            scope.spawn(move || {
                let key = ticket_key(10 + i as u32, 500, i as u8);
                store.rotate_eap_ticket_key(&key, 400).unwrap();
            });
        }
    });
    let keys = stores[0].eap_ticket_keys().unwrap();
    assert_eq!(keys.len(), 1, "one key for every node: {:?}", ids(&keys));
}

pub(crate) fn eap_sessions_end_with_the_login_they_resume(backend: &dyn Backend) {
    let store = store_with(backend, "alice");
    add(store.as_ref(), "bob", &seed(2));
    let found = |handle: &[u8]| store.find_eap_session(handle).unwrap();
    store.bind_eap_session(b"h-alice", "alice", 100).unwrap();
    store.bind_eap_session(b"h-bob", "bob", 100).unwrap();
    let session = found(b"h-alice").unwrap();
    assert_eq!((session.user.as_str(), session.created), ("alice", 100));
    // Bound again (resumed once more): bound anew.
    store.bind_eap_session(b"h-alice", "alice", 150).unwrap();
    assert_eq!(found(b"h-alice").unwrap().created, 150);
    assert!(found(b"h-nobody").is_none());
    assert!(matches!(
        store.bind_eap_session(b"h-x", "nobody", 100),
        Err(StoreError::UserNotFound(_))
    ));
    // Seen from another node.
    let other = open(backend);
    assert_eq!(
        other.find_eap_session(b"h-bob").unwrap().unwrap().user,
        "bob"
    );

    // Disabling ends them; a disabled user gets none bound; enabling brings none back.
    store.set_disabled("alice", true).unwrap();
    assert!(found(b"h-alice").is_none());
    store.bind_eap_session(b"h-alice", "alice", 160).unwrap();
    assert!(found(b"h-alice").is_none());
    store.set_disabled("alice", false).unwrap();
    assert!(found(b"h-alice").is_none());
    assert!(found(b"h-bob").is_some(), "another user's session stays");

    // A new token (reset-otp), a new password, an explicit end, removal: each ends them.
    type End<'a> = &'a dyn Fn(&dyn Store);
    let ends: [End; 4] = [
        &|s| {
            s.replace_tokens("alice", &NewToken::app(seed(9)), 170)
                .unwrap();
        },
        &|s| s.set_password("alice", "$argon2id$y", None).unwrap(),
        &|s| assert_eq!(s.end_eap_sessions("alice").unwrap(), 1),
        &|s| s.remove_user("alice").unwrap(),
    ];
    for end in ends {
        store.bind_eap_session(b"h-alice", "alice", 200).unwrap();
        assert!(found(b"h-alice").is_some());
        end(store.as_ref());
        assert!(found(b"h-alice").is_none());
    }
    assert!(found(b"h-bob").is_some());
    assert_eq!(backend.count_rows("eap_sessions"), 1);

    // Expiry: what was created before the bound goes.
    store.bind_eap_session(b"h-bob-2", "bob", 300).unwrap();
    assert_eq!(store.expire_eap_sessions(200).unwrap(), 1);
    assert!(found(b"h-bob").is_none());
    assert!(found(b"h-bob-2").is_some());
}

pub(crate) fn tls_sessions_are_kept_by_id_and_expire(backend: &dyn Backend) {
    let store = open(backend);
    store
        .put_eap_tls_session(b"session-id-1", b"sealed one", 100)
        .unwrap();
    let other = open(backend);
    let get = |id: &[u8], since| other.get_eap_tls_session(id, since).unwrap();
    assert_eq!(
        get(b"session-id-1", 100).as_deref(),
        Some(&b"sealed one"[..])
    );
    assert_eq!(get(b"session-id-1", 101), None, "too old");
    assert_eq!(get(b"session-id-2", 0), None);
    // The same id kept again replaces the first.
    store
        .put_eap_tls_session(b"session-id-1", b"sealed two", 150)
        .unwrap();
    assert_eq!(
        get(b"session-id-1", 101).as_deref(),
        Some(&b"sealed two"[..])
    );
    // A TLS session id is not a session handle with the same octets.
    store.bind_eap_session(b"session-id-1", "nobody", 1).ok();
    assert!(store.find_eap_session(b"session-id-1").unwrap().is_none());
    store
        .put_eap_tls_session(b"session-id-3", b"s3", 300)
        .unwrap();
    assert_eq!(store.expire_eap_sessions(200).unwrap(), 1);
    assert_eq!(get(b"session-id-1", 0), None);
    assert!(get(b"session-id-3", 0).is_some());
}

pub(crate) fn the_database_holds_no_ticket_key_handle_or_session_id(backend: &dyn Backend) {
    let store = store_with(backend, "alice");
    let key = [0x5au8; 32];
    store
        .rotate_eap_ticket_key(
            &TicketKey {
                id: 4,
                created: 100,
                key: SecretBytes::new(key.to_vec()),
            },
            0,
        )
        .unwrap();
    store
        .bind_eap_session(b"handle-that-must-not-show", "alice", 100)
        .unwrap();
    store
        .put_eap_tls_session(b"tls-id-that-must-not-show", b"sealed", 100)
        .unwrap();
    let raw = backend.raw_contents();
    let holds = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    assert!(!holds(&key), "the ticket key is stored in the clear");
    assert!(!holds(b"handle-that-must-not-show"));
    assert!(!holds(b"tls-id-that-must-not-show"));
    // And another key file opens none of it.
    let stranger = backend.open(Keys::from_master(b"another key")).unwrap();
    assert!(stranger.eap_ticket_keys().is_err());
    assert!(
        stranger
            .find_eap_session(b"handle-that-must-not-show")
            .unwrap()
            .is_none()
    );
}

pub(crate) fn a_schema_11_database_gains_eap_sessions(backend: &dyn Backend) {
    backend.create_at_version(11);
    backend.execute("INSERT INTO users (name, password_hash, created_at) VALUES ('olga', 'h', 7)");
    let store = open(backend);
    assert_eq!(backend.count_rows("eap_sessions"), 0);
    assert_eq!(backend.count_rows("eap_tls_sessions"), 0);
    store.bind_eap_session(b"h", "olga", 100).unwrap();
    assert_eq!(store.find_eap_session(b"h").unwrap().unwrap().user, "olga");
    drop(store);
    let store = open(backend);
    assert!(store.find_eap_session(b"h").unwrap().is_some());
}
