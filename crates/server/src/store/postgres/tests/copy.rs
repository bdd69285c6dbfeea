//! `db copy`: SQLite → PostgreSQL, everything that guards a user preserved, all or nothing.

use super::*;
use crate::auth::otp::{Algorithm, TotpParams};
use crate::store::postgres::copy::{CopySummary, copy_from_sqlite};
use crate::store::{
    Channel, Delivery, LockoutPolicy, NewToken, SendLimits, SqliteStore, TokenSecret, TotpSeed,
    UserRecord,
};

fn seed(byte: u8) -> TotpSeed {
    TotpSeed {
        secret: SecretBytes::new(vec![byte; 20]),
        params: TotpParams {
            algorithm: Algorithm::Sha512,
            digits: 8,
            period: 60,
        },
    }
}

/// Every field of a user, for comparing two stores.
fn fields(u: &UserRecord) -> String {
    let tokens: Vec<String> = u
        .tokens
        .iter()
        .map(|t| {
            let params = match &t.secret {
                TokenSecret::Totp(seed) => Some(seed.params),
                _ => None,
            };
            let secret = format!(
                "{:?} {:?} {params:?} {:?} {:?}",
                t.kind(),
                t.secret.digits(),
                t.secret.sealed_part().expose(),
                t.serial
            );
            format!(
                "{} {} {secret} {:?} {} {}",
                t.id, t.label, t.last_used, t.drift, t.disabled
            )
        })
        .collect();
    format!(
        "{} {} {:?} {:?} {:?} {} {} {:?} {} {} {:?} {} {:?} {:?} {:?} {:?}",
        u.name,
        u.password_hash,
        u.password_expires_at,
        tokens,
        u.tokens.len(),
        u.failures,
        u.locks,
        u.locked_until,
        u.disabled,
        u.created_at,
        u.last_login_at,
        u.recovery_codes_left,
        u.delivery,
        u.tokens.first().map(|t| t.created_at),
        u.groups,
        u.reply
    )
}

/// An SQLite installation with users in every state a copy must keep.
fn sqlite_source(dir: &std::path::Path, names: &[&str]) -> std::path::PathBuf {
    let path = dir.join("radotp.db");
    let store = SqliteStore::open(&path, suite::keys()).unwrap();
    let seeds: Vec<NewToken> = (0..names.len())
        .map(|i| NewToken::app(seed(i as u8 + 1)))
        .collect();
    let users: Vec<NewUser> = names
        .iter()
        .zip(&seeds)
        .map(|(name, seed)| NewUser {
            name,
            password_hash: "$argon2id$v=19$h",
            password_source: crate::store::PasswordSource::Local,
            token: Some(seed),
            now: 1_000,
        })
        .collect();
    store.add_users(&users).unwrap();
    let first = names[0];
    store.consume_token(first, 1, 77, -1, 1_100).unwrap();
    // A fob and a YubiKey besides the app, one of them used, one disabled.
    let fob = NewToken {
        label: "fob".into(),
        serial: Some("F-1".into()),
        secret: TokenSecret::Hotp {
            secret: SecretBytes::new(vec![3; 20]),
            digits: 8,
        },
        last_used: Some(9),
    };
    let yubikey = NewToken {
        label: "yubikey".into(),
        serial: None,
        secret: TokenSecret::Yubico {
            public_id: "vvccccrbjnkt".into(),
            private_id: SecretBytes::new(vec![1; 6]),
            aes_key: SecretBytes::new(vec![2; 16]),
        },
        last_used: None,
    };
    store
        .add_tokens(&[(first, fob), (first, yubikey)], 1_050)
        .unwrap();
    store.consume_token(first, 2, 12, 0, 1_060).unwrap();
    store.set_token_disabled(first, 3, true).unwrap();
    store.set_password(first, "temp", Some(9_999)).unwrap();
    store
        .set_delivery(
            first,
            Some(&Delivery {
                channel: Channel::Sms,
                destination: "+15550100".into(),
            }),
        )
        .unwrap();
    store
        .set_groups(first, &["vpn".into(), "admins".into()])
        .unwrap();
    store
        .set_reply(first, &["Session-Timeout=3600".into()])
        .unwrap();
    let codes = [
        SecretBytes::from(b"rc-one".as_slice()),
        SecretBytes::from(b"rc-two".as_slice()),
    ];
    store.replace_recovery_codes(first, &codes).unwrap();
    store
        .consume_recovery_code(first, &codes[0], 1_200)
        .unwrap();
    let second = names[1];
    let policy = LockoutPolicy {
        max_failures: 2,
        base_secs: 60,
        max_secs: 600,
        trusted_station_days: 90,
    };
    for _ in 0..3 {
        store.record_failure(second, 1_300, policy).unwrap();
    }
    store.set_disabled(second, true).unwrap();
    // A pending invitation, tried once, and an administrator's API token, used once.
    store
        .create_invitation(second, &SecretBytes::from(b"link".as_slice()), 5_000, 1_300)
        .unwrap();
    store
        .count_invitation_failure(&SecretBytes::from(b"link".as_slice()), 1_310)
        .unwrap();
    let api = SecretBytes::from(b"api-secret".as_slice());
    store.create_api_token("deploy", &api, 1_000).unwrap();
    store.authenticate_api_token(&api, 1_320).unwrap();
    // Short-lived state, not copied.
    let limits = SendLimits {
        ttl: 300,
        cooldown: 60,
        per_hour: 5,
    };
    store.issue_code(first, &codes[1], 1_400, limits).unwrap();
    store
        .create_challenge(b"state", first, "vpn", &[], None, 2_000, 1_400)
        .unwrap();
    path
}

#[test]
fn a_copy_keeps_users_steps_locks_and_recovery_codes() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["sam", "tess", "uma"];
    let source = sqlite_source(dir.path(), &names);
    let backend = PgBackend::new();
    let mut calls = Vec::new();
    let summary = copy_from_sqlite(
        &source,
        &suite::keys(),
        backend.url(),
        &mut |done, total| calls.push((done, total)),
    )
    .unwrap();
    assert_eq!(
        summary,
        CopySummary {
            users: 3,
            tokens: 5,
            recovery_codes: 2,
            invitations: 1,
            api_tokens: 1,
        }
    );
    assert_eq!(calls.first(), Some(&(0, 3)));
    assert_eq!(calls.last(), Some(&(3, 3)));

    let sqlite = SqliteStore::open(&source, suite::keys()).unwrap();
    let postgres = PostgresStore::open(backend.url(), suite::keys()).unwrap();
    let before: Vec<String> = sqlite.list_users().unwrap().iter().map(fields).collect();
    let after: Vec<String> = postgres.list_users().unwrap().iter().map(fields).collect();
    assert_eq!(before, after);
    assert_eq!(
        backend.count_rows("sent_codes") + backend.count_rows("challenges"),
        0
    );

    // What guards the users holds on the copy.
    assert!(
        !postgres.consume_token("sam", 1, 77, 0, 1_500).unwrap(),
        "used step"
    );
    let used = SecretBytes::from(b"rc-one".as_slice());
    let unused = SecretBytes::from(b"rc-two".as_slice());
    assert_eq!(
        postgres.consume_recovery_code("sam", &used, 1_500).unwrap(),
        None
    );
    assert_eq!(
        postgres
            .consume_recovery_code("sam", &unused, 1_500)
            .unwrap(),
        Some(0)
    );
    assert_eq!(
        postgres.invitation_for_user("tess").unwrap(),
        sqlite.invitation_for_user("tess").unwrap()
    );
    let link = SecretBytes::from(b"link".as_slice());
    let invitation = postgres.find_invitation(&link, 1_500).unwrap().unwrap();
    assert_eq!((invitation.name.as_str(), invitation.failures), ("tess", 1));
    assert_eq!(
        postgres.list_api_tokens().unwrap(),
        sqlite.list_api_tokens().unwrap()
    );
    let api = SecretBytes::from(b"api-secret".as_slice());
    assert_eq!(
        postgres.authenticate_api_token(&api, 1_500).unwrap(),
        Some("deploy".to_owned())
    );
    let tess = postgres.find_user("tess").unwrap().unwrap();
    assert_eq!(
        (tess.locks, tess.locked_until, tess.disabled),
        (1, Some(1_360), true)
    );
    // New users come after the copied ones.
    let extra = seed(42);
    postgres
        .add_users(&[NewUser {
            name: "vic",
            password_hash: "h",
            password_source: crate::store::PasswordSource::Local,
            token: Some(&NewToken::app(extra.clone())),
            now: 2_000,
        }])
        .unwrap();
    assert_eq!(postgres.count_users().unwrap(), 4);
}

#[test]
fn a_copy_refuses_a_target_that_holds_data() {
    let dir = tempfile::tempdir().unwrap();
    let source = sqlite_source(dir.path(), &["wes", "xena"]);
    let backend = PgBackend::new();
    let target = PostgresStore::open(backend.url(), suite::keys()).unwrap();
    let other = seed(5);
    target
        .add_users(&[NewUser {
            name: "already",
            password_hash: "h",
            password_source: crate::store::PasswordSource::Local,
            token: Some(&NewToken::app(other.clone())),
            now: 0,
        }])
        .unwrap();
    let err = copy_from_sqlite(&source, &suite::keys(), backend.url(), &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not empty (1 rows)"), "{err}");
    assert_eq!(target.count_users().unwrap(), 1);
}

#[test]
fn a_failed_copy_leaves_the_target_empty() {
    let dir = tempfile::tempdir().unwrap();
    // PostgreSQL text cannot hold NUL: the third user fails after two were written.
    let source = sqlite_source(dir.path(), &["yara", "zack", "bad\0name"]);
    let backend = PgBackend::new();
    let mut written = 0;
    let result = copy_from_sqlite(&source, &suite::keys(), backend.url(), &mut |done, _| {
        written = done
    });
    let err = result.unwrap_err().to_string();
    assert!(err.contains("0x00"), "{err}");
    assert_eq!(written, 2, "the failure came after two users were written");
    for table in ["users", "recovery_codes", "invitations", "api_tokens"] {
        assert_eq!(backend.count_rows(table), 0, "{table}");
    }
}

#[test]
fn a_copy_needs_the_key_file_of_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let source = sqlite_source(dir.path(), &["abe", "bea"]);
    let backend = PgBackend::new();
    let result = copy_from_sqlite(
        &source,
        &Keys::from_master(b"wrong"),
        backend.url(),
        &mut |_, _| {},
    );
    assert!(matches!(result, Err(StoreError::Key(_))), "{result:?}");
    let missing = copy_from_sqlite(
        &dir.path().join("nope.db"),
        &suite::keys(),
        backend.url(),
        &mut |_, _| {},
    );
    assert!(missing.unwrap_err().to_string().contains("no such file"));
}
