//! Users, their seeds, steps, recovery codes and lockout: the same assertions on every backend.

use super::*;
use crate::auth::otp::to_base32;
use crate::store::{LockoutPolicy, RecoveryCodeState};

pub(crate) fn add_find_and_refuse_duplicates(backend: &dyn Backend) {
    let store = open(backend);
    let seed = seed(7);
    add(&*store, "alice", &seed);
    let again = NewUser {
        name: "alice",
        password_hash: "h",
        password_source: crate::store::PasswordSource::Local,
        token: Some(&NewToken::app(seed.clone())),
        now: 1,
    };
    assert!(matches!(store.add_users(&[again]), Err(StoreError::UserExists(n)) if n == "alice"));
    let found = store.find_user("alice").unwrap().unwrap();
    assert_eq!(found.password_hash, "$argon2id$x");
    let totp = first_seed(&found);
    assert_eq!(totp.params, seed.params);
    assert_eq!(totp.secret, seed.secret);
    assert_eq!(
        (found.tokens[0].id, found.tokens[0].label.as_str()),
        (1, "app")
    );
    assert_eq!(
        (found.tokens[0].last_used, found.failures, found.disabled),
        (None, 0, false)
    );
    assert_eq!(found.created_at, 100);
    assert!(store.find_user("Alice").unwrap().is_none());
    assert_eq!(store.count_users().unwrap(), 1);
}

pub(crate) fn batch_add_is_all_or_nothing(backend: &dyn Backend) {
    let store = open(backend);
    let s = seed(1);
    add(&*store, "taken", &s);
    let token = NewToken::app(s.clone());
    let batch: Vec<NewUser> = ["a", "b", "taken", "c"]
        .iter()
        .map(|name| NewUser {
            name,
            password_hash: "h",
            password_source: crate::store::PasswordSource::Local,
            token: Some(&token),
            now: 0,
        })
        .collect();
    assert!(matches!(store.add_users(&batch), Err(StoreError::UserExists(n)) if n == "taken"));
    assert_eq!(
        store.count_users().unwrap(),
        1,
        "nothing of the batch was written"
    );
}

pub(crate) fn batch_remove_deletes_the_listed_users_that_exist(backend: &dyn Backend) {
    let store = open(backend);
    for name in ["a", "b", "c", "d"] {
        add(&*store, name, &seed(1));
    }
    store
        .replace_recovery_codes("b", &[SecretBytes::from(b"code1-code1".as_slice())])
        .unwrap();
    assert_eq!(store.remove_users(&["b", "nobody", "d"]).unwrap(), 2);
    assert_eq!(store.remove_users(&[]).unwrap(), 0);
    let left: Vec<String> = store
        .list_users()
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(left, ["a", "c"]);
    assert_eq!(
        backend.count_rows("recovery_codes"),
        0,
        "b's codes went with b"
    );
}

pub(crate) fn a_step_is_consumed_once_and_only_forwards(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "bob", &seed(2));
    assert!(store.consume_token("bob", 1, 10, 0, 1).unwrap());
    assert!(!store.consume_token("bob", 1, 10, 0, 2).unwrap(), "replay");
    assert!(
        !store.consume_token("bob", 1, 9, 0, 3).unwrap(),
        "older step"
    );
    assert!(store.consume_token("bob", 1, 11, 0, 4).unwrap());
    assert!(!store.consume_token("nobody", 1, 12, 0, 5).unwrap());
    drop(store);
    // Survives a reopen (a restart).
    let store = open(backend);
    let bob = store.find_user("bob").unwrap().unwrap();
    assert_eq!(bob.tokens[0].last_used, Some(11));
    assert_eq!(bob.last_login_at, Some(4));
    assert!(!store.consume_token("bob", 1, 11, 0, 6).unwrap());
}

pub(crate) fn updates_name_missing_users(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "carol", &seed(3));
    store.set_password("carol", "new", Some(500)).unwrap();
    store.set_disabled("carol", true).unwrap();
    store.consume_token("carol", 1, 7, 0, 1).unwrap();
    let id = store
        .replace_tokens("carol", &NewToken::app(seed(4)), 2)
        .unwrap();
    assert_eq!(id, 2, "ids are never reused");
    let carol = store.find_user("carol").unwrap().unwrap();
    assert_eq!(carol.password_hash, "new");
    assert_eq!(carol.password_expires_at, Some(500));
    assert!(carol.disabled);
    assert_eq!(carol.tokens.len(), 1, "the old token is gone");
    assert_eq!(first_seed(&carol).secret, seed(4).secret);
    assert_eq!(
        carol.tokens[0].last_used, None,
        "a new seed starts a new step history"
    );
    for result in [
        store.set_password("nobody", "x", None),
        store.set_disabled("nobody", false),
        store.unlock("nobody"),
        store.remove_user("nobody"),
        store
            .replace_tokens("nobody", &NewToken::app(seed(1)), 0)
            .map(drop),
        store
            .add_tokens(&[("nobody", NewToken::app(seed(1)))], 0)
            .map(drop),
        store.replace_recovery_codes("nobody", &[]),
        store.set_delivery("nobody", None),
        store.resync_token("nobody", 1, 0, 1),
        store.set_reply("nobody", &[]),
    ] {
        let err = result.unwrap_err().to_string();
        assert!(
            err.contains("\"nobody\" does not exist (see: radotp user list)"),
            "{err}"
        );
    }
}

pub(crate) fn recovery_codes_are_single_use_and_replaced_as_a_set(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "dave", &seed(5));
    let codes: Vec<SecretBytes> = ["aaaaabbbbb", "cccccddddd"]
        .iter()
        .map(|c| SecretBytes::from(c.as_bytes()))
        .collect();
    store.replace_recovery_codes("dave", &codes).unwrap();
    assert_eq!(
        store
            .find_user("dave")
            .unwrap()
            .unwrap()
            .recovery_codes_left,
        2
    );
    assert_eq!(
        store.recovery_code_state("dave", &codes[0]).unwrap(),
        RecoveryCodeState::Unused
    );
    let never_issued = SecretBytes::from(b"zzzzzzzzzz".as_slice());
    assert_eq!(
        store.recovery_code_state("dave", &never_issued).unwrap(),
        RecoveryCodeState::NotFound
    );
    assert_eq!(
        store.consume_recovery_code("dave", &codes[0], 1).unwrap(),
        Some(1)
    );
    assert_eq!(
        store.recovery_code_state("dave", &codes[0]).unwrap(),
        RecoveryCodeState::Used
    );
    assert_eq!(
        store.find_user("dave").unwrap().unwrap().last_login_at,
        Some(1)
    );
    assert_eq!(
        store.consume_recovery_code("dave", &codes[0], 2).unwrap(),
        None,
        "used"
    );
    let wrong = SecretBytes::from(b"eeeeefffff".as_slice());
    assert_eq!(
        store.consume_recovery_code("dave", &wrong, 3).unwrap(),
        None
    );
    // Another user's code is not this user's code.
    add(&*store, "erin", &seed(6));
    assert_eq!(
        store.consume_recovery_code("erin", &codes[1], 3).unwrap(),
        None
    );
    // A new set replaces the old one entirely.
    store
        .replace_recovery_codes("dave", std::slice::from_ref(&wrong))
        .unwrap();
    assert_eq!(
        store.consume_recovery_code("dave", &codes[1], 4).unwrap(),
        None
    );
    assert_eq!(
        store.consume_recovery_code("dave", &wrong, 5).unwrap(),
        Some(0)
    );
}

pub(crate) fn remove_takes_everything_with_it(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "frank", &seed(8));
    let code = SecretBytes::from(b"ggggghhhhh".as_slice());
    store
        .replace_recovery_codes("frank", std::slice::from_ref(&code))
        .unwrap();
    let limits = crate::store::SendLimits {
        ttl: 300,
        cooldown: 60,
        per_hour: 3,
    };
    store.issue_code("frank", &code, 1_000, limits).unwrap();
    store
        .create_challenge(b"state", "frank", "vpn", &[], None, 2_000, 1_000)
        .unwrap();
    store.remove_user("frank").unwrap();
    assert!(store.find_user("frank").unwrap().is_none());
    for table in ["recovery_codes", "sent_codes", "challenges"] {
        assert_eq!(backend.count_rows(table), 0, "{table}");
    }
}

pub(crate) fn the_database_alone_reveals_no_seed_and_no_code(backend: &dyn Backend) {
    let store = open(backend);
    let seed = TotpSeed {
        secret: SecretBytes::new(b"\x9fUniqueSeedBytes!\x01\x02\x03".to_vec()),
        params: seed(0).params,
    };
    add(&*store, "grace", &seed);
    let code = SecretBytes::from(b"qwert-yuiop".as_slice());
    store
        .replace_recovery_codes("grace", std::slice::from_ref(&code))
        .unwrap();
    drop(store);
    let bytes = backend.raw_contents();
    assert!(!bytes.is_empty());
    assert!(
        bytes.windows(5).any(|w| w == b"grace"),
        "the dump holds the data"
    );
    let base32 = to_base32(&seed.secret);
    for needle in [seed.secret.expose(), base32.as_bytes(), code.expose()] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "found a secret in the database"
        );
    }
    // And a different key file cannot read it.
    let other = backend.open(Keys::from_master(b"x")).unwrap();
    assert!(matches!(other.find_user("grace"), Err(StoreError::Key(_))));
}

/// Values no radotp writes make a record corrupt, on every backend alike and named by its user;
/// counters beyond a `u32` are clamped, not refused.
pub(crate) fn invalid_records_are_refused_naming_their_user(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "mallory", &seed(11));
    let corrupt = |set: &str, expect: &str| {
        backend.execute(set);
        for result in [
            store.find_user("mallory").map(drop),
            store.list_users().map(drop),
        ] {
            match result {
                Err(StoreError::Corrupt { user, reason }) => {
                    assert_eq!(user, "mallory");
                    assert!(reason.contains(expect), "{set}: {reason}");
                }
                other => panic!("{set}: {other:?}"),
            }
        }
    };
    corrupt("UPDATE tokens SET digits = 7", "digits 7");
    corrupt("UPDATE tokens SET digits = 8, algorithm = 'MD5'", "MD5");
    corrupt(
        "UPDATE tokens SET algorithm = 'SHA1', kind = 'rsa'",
        "token 1: kind",
    );
    corrupt(
        "UPDATE tokens SET kind = 'totp'; UPDATE users SET groups = 'admins'",
        "column groups",
    );
    corrupt(
        "UPDATE users SET groups = '[]', reply = '[1]'",
        "column reply",
    );
    backend.execute("UPDATE users SET reply = '[]', failures = 5000000000, locks = -1");
    let mallory = store.find_user("mallory").unwrap().unwrap();
    assert_eq!((mallory.failures, mallory.locks), (u32::MAX, 0));
    assert_eq!(first_seed(&mallory).secret, seed(11).secret);
}

pub(crate) fn refuses_a_schema_from_the_future(backend: &dyn Backend) {
    drop(open(backend));
    backend.set_schema_version(99);
    let err = backend.open(keys()).err().unwrap().to_string();
    assert!(err.contains("version 99"), "{err}");
}

pub(crate) fn users_are_listed_in_byte_order(backend: &dyn Backend) {
    let store = open(backend);
    for name in ["bob", "Zoe", "alice", "émile", "Bob"] {
        add(&*store, name, &seed(1));
    }
    let names: Vec<String> = store
        .list_users()
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["Bob", "Zoe", "alice", "bob", "émile"]);
    assert_eq!(store.count_users().unwrap(), 5);
}

pub(crate) fn failures_lock_and_each_lock_doubles(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "heidi", &seed(9));
    let policy = LockoutPolicy {
        max_failures: 3,
        base_secs: 60,
        max_secs: 200,
        trusted_station_days: 90,
    };
    let fail = |now| store.record_failure("heidi", now, policy).unwrap();
    assert_eq!((fail(1_000), fail(1_001)), (None, None));
    assert_eq!(store.find_user("heidi").unwrap().unwrap().failures, 2);
    assert_eq!(fail(1_002), Some(1_062), "third failure: locked 60 s");
    // The count stays: `user show` says how many failures the lock followed.
    let heidi = store.find_user("heidi").unwrap().unwrap();
    assert_eq!(
        (heidi.failures, heidi.locks, heidi.locked_until),
        (3, 1, Some(1_062))
    );
    assert_eq!(fail(1_003), Some(1_062), "still locked by the earlier one");
    fail(2_000);
    assert_eq!(fail(2_001), Some(2_121), "second lock: twice as long");
    fail(3_000);
    fail(3_001);
    assert_eq!(fail(3_002), Some(3_202), "third lock: capped at max_secs");
    // No code is accepted while the lock runs, however right (lock at the moment of the
    // commit); once it has run out, a success resets the counters.
    assert!(!store.consume_token("heidi", 1, 5, 0, 3_003).unwrap());
    assert!(store.consume_token("heidi", 1, 5, 0, 3_202).unwrap());
    let heidi = store.find_user("heidi").unwrap().unwrap();
    assert_eq!(
        (heidi.failures, heidi.locks, heidi.locked_until),
        (0, 0, Some(3_202))
    );
    fail(3_204);
    store.unlock("heidi").unwrap();
    let heidi = store.find_user("heidi").unwrap().unwrap();
    assert_eq!(
        (heidi.failures, heidi.locks, heidi.locked_until),
        (0, 0, None)
    );
    assert_eq!(store.record_failure("nobody", 1, policy).unwrap(), None);
}

/// A login with a recovery code or a sent code is a success like a TOTP login: it resets the
/// failure count, so earlier guesses do not carry over into the next lock.
pub(crate) fn any_successful_login_resets_failures(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "ivan", &seed(10));
    let policy = LockoutPolicy {
        max_failures: 5,
        base_secs: 60,
        max_secs: 200,
        trusted_station_days: 90,
    };
    let code = SecretBytes::from(b"aaaaabbbbb".as_slice());
    store
        .replace_recovery_codes("ivan", std::slice::from_ref(&code))
        .unwrap();
    for now in 1..=3 {
        store.record_failure("ivan", now, policy).unwrap();
    }
    assert_eq!(
        store.consume_recovery_code("ivan", &code, 10).unwrap(),
        Some(0)
    );
    let ivan = store.find_user("ivan").unwrap().unwrap();
    assert_eq!((ivan.failures, ivan.last_login_at), (0, Some(10)));

    let limits = crate::store::SendLimits {
        ttl: 300,
        cooldown: 0,
        per_hour: 5,
    };
    let sent = SecretBytes::from(b"424242".as_slice());
    store.issue_code("ivan", &sent, 20, limits).unwrap();
    for now in 21..=23 {
        store.record_failure("ivan", now, policy).unwrap();
    }
    assert!(store.consume_sent_code("ivan", &sent, 30).unwrap());
    let ivan = store.find_user("ivan").unwrap().unwrap();
    assert_eq!((ivan.failures, ivan.last_login_at), (0, Some(30)));
}
