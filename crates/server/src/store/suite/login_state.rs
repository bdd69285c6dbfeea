//! Login state: sent codes and their limits, challenges, delivery, drift, groups and reply
//! attributes — the same assertions on every backend.

use super::*;
use crate::store::{
    Channel, Delivery, Gate, IssueOutcome, MAX_CODE_ATTEMPTS, Proven, Relay, SendLimits,
};

const LIMITS: SendLimits = SendLimits {
    ttl: 300,
    cooldown: 60,
    per_hour: 3,
};

pub(crate) fn sent_codes_respect_cooldown_hourly_limit_and_expiry(backend: &dyn Backend) {
    let store = store_with(backend, "alice");
    let t = 10_000;
    assert_eq!(
        store
            .issue_code("alice", &code("111111"), t, LIMITS)
            .unwrap(),
        IssueOutcome::Issued
    );
    assert_eq!(
        store
            .issue_code("alice", &code("222222"), t + 59, LIMITS)
            .unwrap(),
        IssueOutcome::Cooldown
    );
    assert_eq!(
        store
            .issue_code("alice", &code("222222"), t + 61, LIMITS)
            .unwrap(),
        IssueOutcome::Issued
    );
    assert_eq!(
        store
            .issue_code("alice", &code("333333"), t + 122, LIMITS)
            .unwrap(),
        IssueOutcome::Issued
    );
    assert_eq!(
        store
            .issue_code("alice", &code("444444"), t + 183, LIMITS)
            .unwrap(),
        IssueOutcome::HourlyLimit
    );
    assert_eq!(
        store.issue_code("nobody", &code("1"), t, LIMITS).unwrap(),
        IssueOutcome::HourlyLimit
    );
    // Live until the TTL, then gone; each used once.
    assert!(
        store
            .sent_code_exists("alice", &code("111111"), t + 299)
            .unwrap()
    );
    assert!(
        !store
            .sent_code_exists("alice", &code("111111"), t + 300)
            .unwrap()
    );
    assert!(
        store
            .consume_sent_code("alice", &code("222222"), t + 100)
            .unwrap()
    );
    assert!(
        !store
            .consume_sent_code("alice", &code("222222"), t + 101)
            .unwrap()
    );
    assert!(
        !store
            .consume_sent_code("alice", &code("999999"), t + 101)
            .unwrap()
    );
    // Wrong guesses kill the live ones.
    for _ in 0..MAX_CODE_ATTEMPTS {
        store.count_code_attempt("alice", t + 130).unwrap();
    }
    assert!(
        !store
            .consume_sent_code("alice", &code("333333"), t + 131)
            .unwrap()
    );
}

pub(crate) fn challenges_are_single_use_bound_to_client_and_expire(backend: &dyn Backend) {
    let store = store_with(backend, "bob");
    store
        .create_challenge(b"state-1", "bob", "vpn", &[], None, 1_120, 1_000)
        .unwrap();
    assert_eq!(
        store.take_challenge(b"state-1", "wifi", 1_001).unwrap(),
        None
    );
    assert_eq!(
        store.take_challenge(b"state-x", "vpn", 1_001).unwrap(),
        None
    );
    assert_eq!(
        store
            .take_challenge(b"state-1", "vpn", 1_001)
            .unwrap()
            .map(|c| c.owner)
            .as_deref(),
        Some("bob")
    );
    assert_eq!(
        store.take_challenge(b"state-1", "vpn", 1_002).unwrap(),
        None,
        "single use"
    );
    store
        .create_challenge(b"state-2", "bob", "vpn", &[], None, 1_120, 1_000)
        .unwrap();
    assert_eq!(
        store.take_challenge(b"state-2", "vpn", 1_120).unwrap(),
        None,
        "expired"
    );
    assert!(matches!(
        store.create_challenge(b"s", "nobody", "vpn", &[], None, 2, 1),
        Err(StoreError::UserNotFound(_))
    ));
}

pub(crate) fn a_challenge_keeps_its_groups_and_relay(backend: &dyn Backend) {
    let store = store_with(backend, "bob");
    let relay = Relay {
        server: 1,
        state: vec![0, 255, 7],
        proven: Some(Proven::Token {
            id: 1,
            kind: crate::store::TokenKind::Totp,
            drift: -1,
        }),
        gate: Some(Gate::User),
    };
    let groups = vec!["staff".to_string()];
    store
        .create_challenge(b"s-1", "bob", "vpn", &groups, Some(&relay), 1_120, 1_000)
        .unwrap();
    store
        .create_challenge(b"s-2", "bob", "vpn", &[], None, 1_120, 1_000)
        .unwrap();
    let taken = store.take_challenge(b"s-1", "vpn", 1_001).unwrap().unwrap();
    assert_eq!(taken.groups, groups);
    assert_eq!(taken.relay, Some(relay));
    let taken = store.take_challenge(b"s-2", "vpn", 1_001).unwrap().unwrap();
    assert_eq!(taken.relay, None);
}

/// A relay written before several tokens per user still reads as token 1's TOTP code.
#[test]
fn a_relay_written_before_tokens_reads_as_token_1() {
    let old = r#"{"server":0,"state":[1],"proven":{"by":"totp","drift":-1},"gate":"user"}"#;
    let challenge = crate::store::Challenge::read("bob".into(), "[]", Some(old)).unwrap();
    assert_eq!(
        challenge.relay.unwrap().proven,
        Some(Proven::Token {
            id: 1,
            kind: crate::store::TokenKind::Totp,
            drift: -1
        })
    );
}

pub(crate) fn delivery_and_drift_are_stored(backend: &dyn Backend) {
    let store = store_with(backend, "carol");
    let delivery = Delivery {
        channel: Channel::Email,
        destination: "carol@example.org".into(),
    };
    store.set_delivery("carol", Some(&delivery)).unwrap();
    store.resync_token("carol", 1, -3, 500).unwrap();
    let carol = store.find_user("carol").unwrap().unwrap();
    assert_eq!(
        (
            carol.delivery,
            carol.tokens[0].drift,
            carol.tokens[0].last_used
        ),
        (Some(delivery), -3, Some(500))
    );
    store.set_delivery("carol", None).unwrap();
    assert!(
        store
            .find_user("carol")
            .unwrap()
            .unwrap()
            .delivery
            .is_none()
    );
    // A successful TOTP login stores the drift it matched at.
    assert!(store.consume_token("carol", 1, 501, -2, 9).unwrap());
    assert_eq!(
        store.find_user("carol").unwrap().unwrap().tokens[0].drift,
        -2
    );
}

pub(crate) fn groups_and_reply_attributes_are_stored(backend: &dyn Backend) {
    let store = store_with(backend, "dave");
    let groups = vec!["vpn-users".to_owned(), "admins".to_owned()];
    let reply = vec!["Framed-IP-Address=10.8.0.5".to_owned()];
    store.set_groups("dave", &groups).unwrap();
    store.set_reply("dave", &reply).unwrap();
    let dave = store.find_user("dave").unwrap().unwrap();
    assert_eq!((dave.groups, dave.reply), (groups, reply));
    assert!(matches!(
        store.set_groups("nobody", &[]),
        Err(StoreError::UserNotFound(_))
    ));
}
