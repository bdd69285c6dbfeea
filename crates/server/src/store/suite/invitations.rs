//! Enrollment invitations and API tokens: one live link per user, dead once replaced, expired,
//! tried too often or completed; completion enrolls one token, once, and only for a user with
//! no active token; API tokens found by their value and revoked at once; neither secret at
//! rest; and the upgrade from schema 10 that adds both tables.

use super::concurrency::{nodes, race};
use super::*;
use crate::store::{ApiToken, INVITATION_MAX_FAILURES, Invitation, PasswordSource};

/// A user with no token yet, as `user add --invite` leaves one.
fn pending(store: &dyn Store, name: &str) {
    store
        .add_users(&[NewUser {
            name,
            password_hash: "h",
            password_source: PasswordSource::Local,
            token: None,
            now: 50,
        }])
        .unwrap();
}

/// The token an enrollment page adds: an app whose first code (step `first`) was typed.
fn enrolled(first: u64) -> NewToken {
    NewToken {
        last_used: Some(first),
        ..NewToken::app(seed(3))
    }
}

pub(crate) fn an_invitation_is_replaced_by_the_next(backend: &dyn Backend) {
    let store = open(backend);
    pending(&*store, "walt");
    let (old, new) = (code("link-old"), code("link-new"));
    store.create_invitation("walt", &old, 1_000, 100).unwrap();
    let first = Invitation {
        name: "walt".into(),
        created_at: 100,
        expires_at: 1_000,
        failures: 0,
    };
    assert_eq!(
        store.invitation_for_user("walt").unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.find_invitation(&old, 150).unwrap(), Some(first));
    assert_eq!(store.count_invitation_failure(&old, 150).unwrap(), Some(1));
    store.create_invitation("walt", &new, 2_000, 200).unwrap();
    assert_eq!(store.find_invitation(&old, 250).unwrap(), None, "replaced");
    assert_eq!(store.count_invitation_failure(&old, 250).unwrap(), None);
    assert!(matches!(
        store.complete_invitation(&old, &enrolled(1), 250),
        Err(StoreError::InvitationGone)
    ));
    let second = Invitation {
        name: "walt".into(),
        created_at: 200,
        expires_at: 2_000,
        failures: 0,
    };
    assert_eq!(store.find_invitation(&new, 250).unwrap(), Some(second));
    assert_eq!(backend.count_rows("invitations"), 1, "one per user");
    // Only users are invited.
    assert!(matches!(
        store.create_invitation("nobody", &code("x"), 2_000, 200),
        Err(StoreError::UserNotFound(n)) if n == "nobody"
    ));
    assert_eq!(store.invitation_for_user("nobody").unwrap(), None);
}

pub(crate) fn an_invitation_expires(backend: &dyn Backend) {
    let store = open(backend);
    pending(&*store, "xia");
    let link = code("link");
    store.create_invitation("xia", &link, 1_000, 100).unwrap();
    assert!(store.find_invitation(&link, 999).unwrap().is_some());
    assert_eq!(store.find_invitation(&link, 1_000).unwrap(), None);
    assert_eq!(store.count_invitation_failure(&link, 1_000).unwrap(), None);
    assert!(matches!(
        store.complete_invitation(&link, &enrolled(1), 1_000),
        Err(StoreError::InvitationGone)
    ));
    // Still shown (`user show`), as expired.
    let shown = store.invitation_for_user("xia").unwrap().unwrap();
    assert!(!shown.is_live(1_000) && shown.is_live(999));
    assert_eq!(store.find_invitation(&code("other"), 500).unwrap(), None);
}

pub(crate) fn wrong_tries_kill_an_invitation_at_the_limit(backend: &dyn Backend) {
    let nodes = nodes(backend);
    pending(&*nodes[0], "yuki");
    let link = code("link");
    nodes[0]
        .create_invitation("yuki", &link, 1_000, 100)
        .unwrap();
    for n in 1..=INVITATION_MAX_FAILURES {
        assert!(nodes[1].find_invitation(&link, 200).unwrap().is_some());
        let counted = nodes[(n % 2) as usize].count_invitation_failure(&link, 200);
        assert_eq!(counted.unwrap(), Some(n));
    }
    assert_eq!(nodes[0].find_invitation(&link, 200).unwrap(), None);
    assert_eq!(nodes[1].count_invitation_failure(&link, 200).unwrap(), None);
    assert!(matches!(
        nodes[0].complete_invitation(&link, &enrolled(1), 200),
        Err(StoreError::InvitationGone)
    ));
    let shown = nodes[0].invitation_for_user("yuki").unwrap().unwrap();
    assert_eq!(
        shown.failures, INVITATION_MAX_FAILURES,
        "counted no further"
    );
    // Racing tries on a fresh link: each count is handed out once, none beyond the limit.
    nodes[1]
        .create_invitation("yuki", &link, 1_000, 300)
        .unwrap();
    let counts = race(&nodes, |store, _| {
        store.count_invitation_failure(&link, 301).unwrap()
    });
    let mut counted: Vec<u32> = counts.iter().flatten().copied().collect();
    counted.sort_unstable();
    assert_eq!(counted, (1..=INVITATION_MAX_FAILURES).collect::<Vec<_>>());
}

pub(crate) fn completing_an_invitation_enrolls_the_token_once(backend: &dyn Backend) {
    let store = open(backend);
    pending(&*store, "una");
    let link = code("link-una");
    store.create_invitation("una", &link, 1_000, 100).unwrap();
    store.count_invitation_failure(&link, 110).unwrap();
    let done = store
        .complete_invitation(&link, &enrolled(42), 120)
        .unwrap();
    assert_eq!(done, ("una".to_owned(), 1));
    let una = store.find_user("una").unwrap().unwrap();
    assert_eq!(una.tokens.len(), 1);
    let token = &una.tokens[0];
    assert_eq!(
        (token.last_used, token.created_at, &first_seed(&una).secret),
        (Some(42), 120, &seed(3).secret)
    );
    assert!(
        !store.consume_token("una", 1, 42, 0, 130).unwrap(),
        "the code typed on the page is used"
    );
    assert!(store.consume_token("una", 1, 43, 0, 130).unwrap());
    // The invitation is gone: a second completion, a lookup, a count all find nothing.
    assert_eq!(store.invitation_for_user("una").unwrap(), None);
    assert_eq!(store.find_invitation(&link, 130).unwrap(), None);
    assert_eq!(store.count_invitation_failure(&link, 130).unwrap(), None);
    let again = store.complete_invitation(&link, &enrolled(50), 140);
    match again {
        Err(e @ StoreError::InvitationGone) => {
            assert!(e.to_string().contains("no longer valid"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.find_user("una").unwrap().unwrap().tokens.len(), 1);
    // The next id, as add_tokens gives it: ids are never reused.
    add(&*store, "vic", &seed(4));
    store.remove_token("vic", 1).unwrap();
    store.create_invitation("vic", &link, 1_000, 200).unwrap();
    let done = store.complete_invitation(&link, &enrolled(7), 210).unwrap();
    assert_eq!(done, ("vic".to_owned(), 2));
}

pub(crate) fn completing_is_refused_while_the_user_has_an_active_token(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "vera", &seed(5));
    let link = code("link-vera");
    store.create_invitation("vera", &link, 1_000, 100).unwrap();
    let err = store
        .complete_invitation(&link, &enrolled(1), 110)
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::HasActiveToken(n) if n == "vera"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("radotp user reset-otp vera") && text.contains("radotp token remove vera"),
        "{text}"
    );
    let vera = store.find_user("vera").unwrap().unwrap();
    assert_eq!(vera.tokens.len(), 1, "nothing added");
    assert!(
        store.find_invitation(&link, 120).unwrap().is_some(),
        "the invitation is kept"
    );
    // A user whose tokens are all disabled may enroll one.
    store.set_token_disabled("vera", 1, true).unwrap();
    let done = store.complete_invitation(&link, &enrolled(1), 130).unwrap();
    assert_eq!(done, ("vera".to_owned(), 2));
    let vera = store.find_user("vera").unwrap().unwrap();
    assert_eq!((vera.tokens.len(), vera.active_tokens().count()), (2, 1));
}

pub(crate) fn racing_nodes_complete_an_invitation_once(backend: &dyn Backend) {
    let nodes = nodes(backend);
    for round in 0..5 {
        let name = format!("racer{round}");
        pending(&*nodes[0], &name);
        let link = code(&format!("link-{round}"));
        nodes[round % 2]
            .create_invitation(&name, &link, 1_000, 100)
            .unwrap();
        let outcomes = race(&nodes, |store, thread| {
            match store.complete_invitation(&link, &enrolled(thread as u64), 110) {
                Ok(done) => Some(done),
                Err(StoreError::InvitationGone) => None,
                Err(e) => panic!("round {round}: {e}"),
            }
        });
        let wins: Vec<_> = outcomes.iter().flatten().collect();
        assert_eq!(wins, [&(name.clone(), 1)], "round {round}: {outcomes:?}");
        let user = nodes[1].find_user(&name).unwrap().unwrap();
        assert_eq!(user.tokens.len(), 1, "round {round}");
    }
    assert_eq!(backend.count_rows("invitations"), 0);
}

pub(crate) fn removing_a_user_removes_their_invitation(backend: &dyn Backend) {
    let store = open(backend);
    for name in ["tom", "tim", "tam"] {
        pending(&*store, name);
        let link = code(&format!("link-{name}"));
        store.create_invitation(name, &link, 1_000, 100).unwrap();
    }
    store.remove_user("tom").unwrap();
    assert_eq!(store.find_invitation(&code("link-tom"), 200).unwrap(), None);
    assert_eq!(backend.count_rows("invitations"), 2);
    assert_eq!(store.remove_users(&["tim", "tam"]).unwrap(), 2);
    assert_eq!(backend.count_rows("invitations"), 0);
    // A new user of the same name is not invited by the old link.
    pending(&*store, "tom");
    assert_eq!(store.find_invitation(&code("link-tom"), 200).unwrap(), None);
    assert_eq!(store.invitation_for_user("tom").unwrap(), None);
}

pub(crate) fn the_database_holds_no_link_and_no_api_token(backend: &dyn Backend) {
    let store = open(backend);
    pending(&*store, "sue");
    let link = SecretBytes::new(b"\x9fUniqueLinkSecret\x01".to_vec());
    let api = SecretBytes::new(b"\x9eUniqueApiSecret\x02".to_vec());
    store.create_invitation("sue", &link, 1_000, 100).unwrap();
    store.create_api_token("ci-deploy", &api, 100).unwrap();
    drop(store);
    let bytes = backend.raw_contents();
    assert!(
        bytes.windows(9).any(|w| w == b"ci-deploy"),
        "the dump holds the data"
    );
    for secret in [&link, &api] {
        let needle = secret.expose();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "found a secret in the database"
        );
    }
    // A different key file finds neither.
    let other = backend.open(Keys::from_master(b"x")).unwrap();
    assert_eq!(other.find_invitation(&link, 200).unwrap(), None);
    assert_eq!(other.authenticate_api_token(&api, 200).unwrap(), None);
}

pub(crate) fn api_tokens_are_created_listed_used_and_revoked(backend: &dyn Backend) {
    let nodes = nodes(backend);
    let (deploy, backup) = (code("deploy-secret"), code("backup-secret"));
    nodes[0].create_api_token("deploy", &deploy, 100).unwrap();
    nodes[0].create_api_token("Zed", &backup, 110).unwrap();
    let err = nodes[1]
        .create_api_token("deploy", &code("another"), 120)
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::ApiTokenExists(n) if n == "deploy"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("radotp api-token remove deploy"),
        "{err}"
    );
    let listed = |at: Option<i64>| {
        vec![
            ApiToken {
                name: "Zed".into(),
                created_at: 110,
                last_used_at: None,
            },
            ApiToken {
                name: "deploy".into(),
                created_at: 100,
                last_used_at: at,
            },
        ]
    };
    assert_eq!(
        nodes[1].list_api_tokens().unwrap(),
        listed(None),
        "byte order"
    );
    assert_eq!(
        nodes[1].authenticate_api_token(&deploy, 200).unwrap(),
        Some("deploy".to_owned())
    );
    assert_eq!(nodes[0].list_api_tokens().unwrap(), listed(Some(200)));
    assert_eq!(
        nodes[0]
            .authenticate_api_token(&code("another"), 200)
            .unwrap(),
        None,
        "the refused duplicate was not stored"
    );
    // Revoked on one node: refused on every node at once.
    nodes[0].remove_api_token("deploy").unwrap();
    assert_eq!(nodes[1].authenticate_api_token(&deploy, 300).unwrap(), None);
    let err = nodes[1].remove_api_token("deploy").unwrap_err();
    assert!(
        matches!(&err, StoreError::ApiTokenNotFound(n) if n == "deploy"),
        "{err:?}"
    );
    assert!(err.to_string().contains("radotp api-token list"), "{err}");
    assert_eq!(nodes[1].list_api_tokens().unwrap().len(), 1);
    // The name is free again.
    nodes[1].create_api_token("deploy", &deploy, 400).unwrap();
    assert_eq!(
        nodes[0].authenticate_api_token(&deploy, 410).unwrap(),
        Some("deploy".to_owned())
    );
}

pub(crate) fn a_schema_10_database_gains_invitations_and_api_tokens(backend: &dyn Backend) {
    backend.create_at_version(10);
    backend.execute("INSERT INTO users (name, password_hash, created_at) VALUES ('olga', 'h', 7)");
    let store = open(backend);
    assert_eq!(backend.count_rows("invitations"), 0);
    assert_eq!(backend.count_rows("api_tokens"), 0);
    let link = code("link-olga");
    store.create_invitation("olga", &link, 1_000, 100).unwrap();
    let done = store.complete_invitation(&link, &enrolled(9), 110).unwrap();
    assert_eq!(done, ("olga".to_owned(), 1));
    store.create_api_token("deploy", &code("api"), 120).unwrap();
    assert_eq!(
        store.authenticate_api_token(&code("api"), 130).unwrap(),
        Some("deploy".to_owned())
    );
    // Opened again: nothing left to migrate, nothing lost.
    drop(store);
    let store = open(backend);
    assert_eq!(store.list_api_tokens().unwrap().len(), 1);
    assert_eq!(store.find_user("olga").unwrap().unwrap().tokens.len(), 1);
}
