use super::*;
use crate::bench::TEST_COST;
use radotp_server::auth::otp::{Algorithm, TotpParams};
use radotp_server::store::{Keys, PostgresUrl, SqliteStore, TokenKind, TokenSecret};

const PARAMS: TotpParams = TotpParams {
    algorithm: Algorithm::Sha1,
    digits: 6,
    period: 30,
};

fn store() -> SqliteStore {
    SqliteStore::open_in_memory(Keys::from_master(&[7; 32])).unwrap()
}

fn ask(count: u64, prefix: &str, password: Option<&str>) -> Setup {
    Setup {
        count,
        prefix: prefix.into(),
        password: password.map(|p| SecretBytes::from(p.as_bytes())),
        params: PARAMS,
        cost: TEST_COST,
        now: 1_700_000_000,
        source: PasswordSource::Local,
        tokens: 1,
    }
}

#[test]
fn with_several_tokens_the_bench_token_comes_last_after_hotp_decoys() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db.bench.json");
    let store = SqliteStore::open_in_memory(Keys::from_master(&[2; 32])).unwrap();
    let setup_ask = Setup {
        tokens: 3,
        ..ask(2, "bench", Some("pw"))
    };
    setup(&store, &file, setup_ask, &mut |_, _| {}).unwrap();
    let users = BenchUsers::load(&file).unwrap().unwrap();
    let record = store.find_user(&users.name(1)).unwrap().unwrap();
    let kinds: Vec<_> = record.tokens.iter().map(|t| (t.id, t.kind())).collect();
    assert_eq!(
        kinds,
        [
            (1, TokenKind::Hotp),
            (2, TokenKind::Hotp),
            (3, TokenKind::Totp)
        ]
    );
    match &record.tokens[2].secret {
        TokenSecret::Totp(seed) => assert_eq!(seed.secret, users.seed(&users.name(1))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_postgresql_database_has_its_record_named_after_it_beside_the_key_file() {
    let url = PostgresUrl::parse("postgres://radotp:pw@db.example.org:5433/radius").unwrap();
    let file = BenchUsers::path_for(&DatabaseConfig {
        path: PathBuf::new(),
        url: Some(url),
        key_file: PathBuf::from("/var/lib/radotp/radotp.key"),
    });
    assert_eq!(
        file,
        Path::new("/var/lib/radotp/postgres-db.example.org-5433-radius.bench.json")
    );
}

#[test]
fn setup_creates_users_whose_seeds_and_password_the_file_reproduces() {
    let dir = tempfile::tempdir().unwrap();
    let file = BenchUsers::path_for(&DatabaseConfig {
        path: dir.path().join("radotp.db"),
        url: None,
        key_file: dir.path().join("radotp.key"),
    });
    assert_eq!(file, dir.path().join("radotp.db.bench.json"));
    let store = store();
    let mut calls = Vec::new();
    let report = setup(&store, &file, ask(30, "bench", Some("pw")), &mut |d, t| {
        calls.push((d, t))
    })
    .unwrap();
    assert_eq!((report.created, report.total), (30, 30));
    assert_eq!(calls, vec![(30, 30)]);
    assert_eq!(store.count_users().unwrap(), 30);

    let users = BenchUsers::load(&file).unwrap().unwrap();
    assert_eq!(users.count(), 30);
    assert_eq!(users.name(7), "bench-0000007");
    let record = store.find_user("bench-0000007").unwrap().unwrap();
    let seed = match &record.tokens[0].secret {
        TokenSecret::Totp(seed) => seed.clone(),
        other => panic!("not TOTP: {other:?}"),
    };
    assert_eq!(seed.secret, users.seed("bench-0000007"));
    assert_eq!(seed.params, PARAMS);
    assert_ne!(users.seed("bench-0000007"), users.seed("bench-0000008"));
    let now = 1_700_000_015;
    let code = users.code(7, now);
    assert_eq!(
        otp::matching_step(&seed.secret, PARAMS, &code, now, 0),
        Some(now / 30)
    );
    assert_eq!(password::verify(b"pw", &record.password_hash), Ok(true));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn setup_adds_only_the_missing_users_and_keeps_prefix_and_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db.bench.json");
    let store = store();
    setup(&store, &file, ask(10, "b", None), &mut |_, _| {}).unwrap();
    let first = BenchUsers::load(&file).unwrap().unwrap();
    let report = setup(&store, &file, ask(25, "b", None), &mut |_, _| {}).unwrap();
    assert_eq!((report.created, report.total), (15, 25));
    let again = setup(&store, &file, ask(5, "b", None), &mut |_, _| {}).unwrap();
    assert_eq!((again.created, again.total), (0, 25));
    let later = BenchUsers::load(&file).unwrap().unwrap();
    assert_eq!(later.password(), first.password());
    assert_eq!(later.seed("b-0000003"), first.seed("b-0000003"));
    assert_eq!(store.count_users().unwrap(), 25);

    assert!(matches!(
        setup(&store, &file, ask(30, "other", None), &mut |_, _| {}),
        Err(BenchError::OtherPrefix { existing }) if existing == "b"
    ));
    assert!(matches!(
        setup(
            &store,
            &file,
            ask(30, "b", Some("not the same")),
            &mut |_, _| {}
        ),
        Err(BenchError::OtherPassword)
    ));
    assert_eq!(store.count_users().unwrap(), 25);
}

#[test]
fn remove_deletes_every_recorded_user_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db.bench.json");
    let store = store();
    setup(&store, &file, ask(12, "bench", None), &mut |_, _| {}).unwrap();
    store.remove_user("bench-0000004").unwrap();
    let report = remove(&store, &file, &mut |_, _| {}).unwrap();
    assert_eq!((report.removed, report.missing), (11, 1));
    assert_eq!(store.count_users().unwrap(), 0);
    assert!(!file.exists());
    assert!(matches!(
        remove(&store, &file, &mut |_, _| {}),
        Err(BenchError::NoUsers { .. })
    ));
}

#[test]
fn a_damaged_file_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db.bench.json");
    assert!(BenchUsers::load(&file).unwrap().is_none());
    std::fs::write(&file, "{\"format\": \"something else\"}").unwrap();
    let error = BenchUsers::load(&file).unwrap_err();
    assert!(matches!(error, BenchError::InvalidUsers { .. }), "{error}");
    assert!(error.to_string().contains("db.bench.json"), "{error}");
}

#[test]
fn prefixes() {
    for good in ["bench", "load-test_2.x"] {
        assert!(validate_prefix(good).is_ok(), "{good}");
    }
    for bad in ["", "a b", "a:b", "ä", &"x".repeat(65)] {
        assert!(validate_prefix(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn hex_round_trip() {
    let bytes = [0u8, 1, 0xab, 0xff];
    assert_eq!(encode_hex(&bytes), "0001abff");
    assert_eq!(decode_hex("0001ABff"), Some(bytes.to_vec()));
    assert_eq!(decode_hex("abc"), None);
    assert_eq!(decode_hex("zz"), None);
}
