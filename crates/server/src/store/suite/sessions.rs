//! Accounting sessions: Start, Interim-Update, Stop and a NAS's restart, the bound, and
//! sessions seen from a second node — the same assertions on every backend.

use super::*;
use crate::store::{Session, SessionChange};

fn session(nas: &str, id: &str, user: &str, since: i64, updated: i64) -> Session {
    Session {
        nas: nas.into(),
        session_id: id.into(),
        user: user.into(),
        address: Some("10.8.0.5".into()),
        since,
        updated,
    }
}

fn ids(store: &dyn Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .list_sessions()
        .unwrap()
        .into_iter()
        .map(|s| format!("{}/{}", s.nas, s.session_id))
        .collect();
    ids.sort();
    ids
}

pub(crate) fn sessions_open_update_close_and_clear_with_their_nas(backend: &dyn Backend) {
    let store = backend.open(keys()).unwrap();
    let a = session("vpn", "a", "alice", 100, 100);
    store.record_session(SessionChange::Open(&a), 100).unwrap();
    // An Interim-Update keeps when it started, and takes the new address.
    let mut update = session("vpn", "a", "alice", 999, 160);
    update.address = Some("10.8.0.9".into());
    store
        .record_session(SessionChange::Open(&update), 100)
        .unwrap();
    let listed = store.list_sessions().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].since, listed[0].updated), (100, 160));
    assert_eq!(listed[0].address.as_deref(), Some("10.8.0.9"));
    for (nas, id) in [("vpn", "b"), ("wifi", "a"), ("wifi", "b")] {
        let s = session(nas, id, "bob", 200, 200);
        store.record_session(SessionChange::Open(&s), 100).unwrap();
    }
    // Another node sees them.
    let other = backend.open(keys()).unwrap();
    assert_eq!(ids(other.as_ref()), ["vpn/a", "vpn/b", "wifi/a", "wifi/b"]);
    other
        .record_session(
            SessionChange::Close {
                nas: "vpn",
                session_id: "a",
            },
            100,
        )
        .unwrap();
    store
        .record_session(SessionChange::ClearNas { nas: "wifi" }, 100)
        .unwrap();
    assert_eq!(ids(store.as_ref()), ["vpn/b"]);
    // Closing what is not open changes nothing.
    store
        .record_session(
            SessionChange::Close {
                nas: "vpn",
                session_id: "zzz",
            },
            100,
        )
        .unwrap();
    assert_eq!(ids(store.as_ref()), ["vpn/b"]);
}

pub(crate) fn sessions_beyond_the_bound_go_least_recently_updated_first(backend: &dyn Backend) {
    let store = backend.open(keys()).unwrap();
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        let t = 100 + i as i64;
        let s = session("vpn", id, "alice", t, t);
        store.record_session(SessionChange::Open(&s), 3).unwrap();
    }
    // "a" is updated, so "b" is now the stalest.
    let s = session("vpn", "a", "alice", 100, 200);
    store.record_session(SessionChange::Open(&s), 3).unwrap();
    let s = session("vpn", "d", "alice", 300, 300);
    store.record_session(SessionChange::Open(&s), 3).unwrap();
    assert_eq!(ids(store.as_ref()), ["vpn/a", "vpn/c", "vpn/d"]);
    assert_eq!(backend.count_rows("sessions"), 3);
}
