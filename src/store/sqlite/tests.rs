//! The SQLite store against a real file.

use super::*;
use crate::auth::otp::to_base32;

fn seed(byte: u8) -> TotpSeed {
    TotpSeed {
        secret: SecretBytes::new(vec![byte; 20]),
        params: TotpParams {
            algorithm: Algorithm::Sha256,
            digits: 8,
            period: 60,
        },
    }
}

fn keys() -> Keys {
    Keys::from_master(b"test master key")
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("sub/radotp.db"), keys()).unwrap();
    (dir, store)
}

fn add(store: &SqliteStore, name: &str, seed: &TotpSeed) {
    store
        .add_users(&[NewUser {
            name,
            password_hash: "$argon2id$x",
            totp: seed,
            now: 100,
        }])
        .unwrap();
}

#[test]
fn add_find_and_refuse_duplicates() {
    let (_dir, store) = store();
    let seed = seed(7);
    add(&store, "alice", &seed);
    let again = NewUser {
        name: "alice",
        password_hash: "h",
        totp: &seed,
        now: 1,
    };
    assert!(matches!(store.add_users(&[again]), Err(StoreError::UserExists(n)) if n == "alice"));
    let found = store.find_user("alice").unwrap().unwrap();
    assert_eq!(found.password_hash, "$argon2id$x");
    let totp = found.totp.unwrap();
    assert_eq!(totp.params, seed.params);
    assert_eq!(totp.secret, seed.secret);
    assert_eq!(
        (found.last_step, found.failures, found.disabled),
        (None, 0, false)
    );
    assert!(store.find_user("Alice").unwrap().is_none());
    assert_eq!(store.count_users().unwrap(), 1);
}

#[test]
fn batch_add_is_all_or_nothing() {
    let (_dir, store) = store();
    let s = seed(1);
    add(&store, "taken", &s);
    let batch: Vec<NewUser> = ["a", "b", "taken", "c"]
        .iter()
        .map(|name| NewUser {
            name,
            password_hash: "h",
            totp: &s,
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

#[test]
fn a_step_is_consumed_once_and_only_forwards() {
    let (dir, store) = store();
    add(&store, "bob", &seed(2));
    assert!(store.consume_totp_step("bob", 10, 0, 1).unwrap());
    assert!(!store.consume_totp_step("bob", 10, 0, 2).unwrap(), "replay");
    assert!(
        !store.consume_totp_step("bob", 9, 0, 3).unwrap(),
        "older step"
    );
    assert!(store.consume_totp_step("bob", 11, 0, 4).unwrap());
    assert!(!store.consume_totp_step("nobody", 12, 0, 5).unwrap());
    drop(store);
    // Survives a reopen (a restart).
    let store = SqliteStore::open(&dir.path().join("sub/radotp.db"), keys()).unwrap();
    let bob = store.find_user("bob").unwrap().unwrap();
    assert_eq!(bob.last_step, Some(11));
    assert_eq!(bob.last_login_at, Some(4));
    assert!(!store.consume_totp_step("bob", 11, 0, 6).unwrap());
}

#[test]
fn updates_name_missing_users() {
    let (_dir, store) = store();
    add(&store, "carol", &seed(3));
    store.set_password("carol", "new", Some(500)).unwrap();
    store.set_disabled("carol", true).unwrap();
    store.consume_totp_step("carol", 7, 0, 1).unwrap();
    store.set_totp("carol", &seed(4)).unwrap();
    let carol = store.find_user("carol").unwrap().unwrap();
    assert_eq!(carol.password_hash, "new");
    assert_eq!(carol.password_expires_at, Some(500));
    assert!(carol.disabled);
    assert_eq!(carol.totp.unwrap().secret, seed(4).secret);
    assert_eq!(
        carol.last_step, None,
        "a new seed starts a new step history"
    );
    for result in [
        store.set_password("nobody", "x", None),
        store.set_disabled("nobody", false),
        store.unlock("nobody"),
        store.remove_user("nobody"),
        store.set_totp("nobody", &seed(1)),
        store.replace_recovery_codes("nobody", &[]),
    ] {
        let err = result.unwrap_err().to_string();
        assert!(
            err.contains("\"nobody\" does not exist (see: radotp user list)"),
            "{err}"
        );
    }
}

#[test]
fn recovery_codes_are_single_use_and_replaced_as_a_set() {
    let (_dir, store) = store();
    add(&store, "dave", &seed(5));
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
        store.consume_recovery_code("dave", &codes[0], 1).unwrap(),
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
    add(&store, "erin", &seed(6));
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

#[test]
fn remove_takes_everything_with_it() {
    let (_dir, store) = store();
    add(&store, "frank", &seed(8));
    let code = SecretBytes::from(b"ggggghhhhh".as_slice());
    store
        .replace_recovery_codes("frank", std::slice::from_ref(&code))
        .unwrap();
    store.remove_user("frank").unwrap();
    assert!(store.find_user("frank").unwrap().is_none());
    let left: i64 = store
        .conn()
        .query_row("SELECT COUNT(*) FROM recovery_codes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn the_database_file_alone_reveals_no_seed_and_no_code() {
    let (dir, store) = store();
    let seed = TotpSeed {
        secret: SecretBytes::new(b"\x9fUniqueSeedBytes!\x01\x02\x03".to_vec()),
        params: seed(0).params,
    };
    add(&store, "grace", &seed);
    let code = SecretBytes::from(b"qwert-yuiop".as_slice());
    store
        .replace_recovery_codes("grace", std::slice::from_ref(&code))
        .unwrap();
    drop(store);
    let mut bytes = Vec::new();
    for file in ["radotp.db", "radotp.db-wal"] {
        if let Ok(b) = std::fs::read(dir.path().join("sub").join(file)) {
            bytes.extend(b);
        }
    }
    assert!(!bytes.is_empty());
    let base32 = to_base32(&seed.secret);
    for needle in [seed.secret.expose(), base32.as_bytes(), code.expose()] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "found a secret in the database file"
        );
    }
    // And a different key file cannot read it.
    let other =
        SqliteStore::open(&dir.path().join("sub/radotp.db"), Keys::from_master(b"x")).unwrap();
    assert!(matches!(other.find_user("grace"), Err(StoreError::Key(_))));
}

#[test]
fn refuses_a_schema_from_the_future() {
    let (dir, store) = store();
    store
        .conn()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    drop(store);
    let err = SqliteStore::open(&dir.path().join("sub/radotp.db"), keys())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("version 99"), "{err}");
}

#[cfg(unix)]
#[test]
fn database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, _store) = store();
    let mode = std::fs::metadata(dir.path().join("sub/radotp.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
}
