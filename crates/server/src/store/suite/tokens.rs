//! Several tokens per user: ids, kinds, each token's own replay state, YubiKeys that belong
//! to one user, disabling and removing, resynchronisation, and the upgrade that turned each
//! user's TOTP secret into their token 1.

use super::*;
use crate::store::{NewToken, TokenKind, TokenSecret};

fn hotp(secret: u8, next_counter: u64) -> NewToken {
    NewToken {
        label: "fob".into(),
        serial: Some("HOTP0001".into()),
        secret: TokenSecret::Hotp {
            secret: SecretBytes::new(vec![secret; 20]),
            digits: 8,
        },
        last_used: next_counter.checked_sub(1),
    }
}

fn yubikey(public_id: &str) -> NewToken {
    NewToken {
        label: "yubikey".into(),
        serial: Some("1234567".into()),
        secret: TokenSecret::Yubico {
            public_id: public_id.into(),
            private_id: SecretBytes::new(b"\xa1\xb2\xc3\xd4\xe5\xf6".to_vec()),
            aes_key: SecretBytes::new(b"yubikey-aes-key!".to_vec()),
        },
        last_used: None,
    }
}

pub(crate) fn a_schema_9_totp_secret_becomes_token_1(backend: &dyn Backend) {
    backend.create_at_version(9);
    let secret = SecretBytes::new(vec![5; 20]);
    let sealed = keys().seal("olga", &secret);
    backend.execute(&format!(
        "INSERT INTO users (name, password_hash, created_at, totp_sealed, totp_digits,
                            totp_period, totp_algorithm, last_step, drift_steps, last_login_at)
         VALUES ('olga', 'h', 7, {}, 8, 60, 'SHA256', 12345, -2, 99);
         INSERT INTO users (name, password_hash, created_at) VALUES ('pending', 'h', 8)",
        backend.blob(&sealed)
    ));
    let store = open(backend);
    let olga = store.find_user("olga").unwrap().unwrap();
    assert_eq!(olga.tokens.len(), 1);
    let token = &olga.tokens[0];
    assert_eq!(
        (token.id, token.kind(), token.label.as_str(), token.disabled),
        (1, TokenKind::Totp, "app", false)
    );
    assert_eq!(
        (
            token.last_used,
            token.drift,
            token.created_at,
            token.last_used_at
        ),
        (Some(12345), -2, 7, Some(99)),
        "the replay state and the learned drift came along"
    );
    let seed = first_seed(&olga);
    assert_eq!(seed.secret, secret);
    assert_eq!(
        seed.params,
        TotpParams {
            algorithm: Algorithm::Sha256,
            digits: 8,
            period: 60
        }
    );
    assert!(
        store
            .find_user("pending")
            .unwrap()
            .unwrap()
            .tokens
            .is_empty()
    );
    // The used step is still used; ids go on from the migrated one.
    assert!(!store.consume_token("olga", 1, 12345, 0, 100).unwrap());
    assert!(store.consume_token("olga", 1, 12346, 0, 100).unwrap());
    let ids = store
        .add_tokens(&[("olga", hotp(1, 0)), ("pending", hotp(2, 0))], 200)
        .unwrap();
    assert_eq!(ids, [2, 1]);
}

pub(crate) fn tokens_have_ids_kinds_and_replay_state_of_their_own(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "alice", &seed(1));
    let ids = store
        .add_tokens(
            &[("alice", hotp(9, 5)), ("alice", yubikey("vvccccrbjnkt"))],
            300,
        )
        .unwrap();
    assert_eq!(ids, [2, 3]);
    let alice = store.find_user("alice").unwrap().unwrap();
    let kinds: Vec<(u32, TokenKind, Option<u64>)> = alice
        .tokens
        .iter()
        .map(|t| (t.id, t.kind(), t.last_used))
        .collect();
    assert_eq!(
        kinds,
        [
            (1, TokenKind::Totp, None),
            (2, TokenKind::Hotp, Some(4)),
            (3, TokenKind::Yubico, None)
        ]
    );
    let fob = alice.token(2).unwrap();
    assert_eq!(
        (fob.label.as_str(), fob.serial.as_deref(), fob.created_at),
        ("fob", Some("HOTP0001"), 300)
    );
    match (&fob.secret, &alice.token(3).unwrap().secret) {
        (
            TokenSecret::Hotp { secret, digits },
            TokenSecret::Yubico {
                public_id,
                private_id,
                aes_key,
            },
        ) => {
            assert_eq!((secret.expose(), *digits), (&[9u8; 20][..], 8));
            assert_eq!(public_id, "vvccccrbjnkt");
            assert_eq!(private_id.expose(), b"\xa1\xb2\xc3\xd4\xe5\xf6");
            assert_eq!(aes_key.expose(), b"yubikey-aes-key!");
        }
        other => panic!("{other:?}"),
    }
    // Each token's codes are used once, forwards only, independently of the others.
    assert!(
        store
            .consume_token("alice", 2, 4, 0, 301)
            .is_ok_and(|won| !won)
    );
    assert!(store.consume_token("alice", 2, 7, 0, 301).unwrap());
    assert!(!store.consume_token("alice", 2, 7, 0, 302).unwrap());
    assert!(!store.consume_token("alice", 2, 6, 0, 302).unwrap());
    assert!(store.consume_token("alice", 1, 7, 0, 303).unwrap());
    assert!(store.consume_token("alice", 3, 0x0102, 0, 304).unwrap());
    assert!(!store.consume_token("alice", 3, 0x0101, 0, 305).unwrap());
    assert!(
        !store.consume_token("alice", 9, 1, 0, 305).unwrap(),
        "no such token"
    );
    let alice = store.find_user("alice").unwrap().unwrap();
    assert_eq!(alice.token(2).unwrap().last_used, Some(7));
    assert_eq!(alice.token(3).unwrap().last_used_at, Some(304));
    assert_eq!(alice.last_login_at, Some(304));
    // Sealed at rest, like TOTP seeds.
    let raw = backend.raw_contents();
    for secret in [&b"yubikey-aes-key!"[..], &[9u8; 20][..]] {
        assert!(!raw.windows(secret.len()).any(|w| w == secret));
    }
}

pub(crate) fn a_yubikey_belongs_to_one_user_and_imports_are_all_or_nothing(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "alice", &seed(1));
    add(&*store, "bob", &seed(2));
    store
        .add_tokens(&[("alice", yubikey("vvccccrbjnkt"))], 1)
        .unwrap();
    let taken = store.add_tokens(&[("bob", hotp(3, 0)), ("bob", yubikey("vvccccrbjnkt"))], 2);
    match taken {
        Err(StoreError::YubikeyTaken { public_id }) => assert_eq!(public_id, "vvccccrbjnkt"),
        other => panic!("{other:?}"),
    }
    let missing = store.add_tokens(&[("bob", hotp(3, 0)), ("nobody", hotp(4, 0))], 2);
    assert!(matches!(missing, Err(StoreError::UserNotFound(n)) if n == "nobody"));
    let bob = store.find_user("bob").unwrap().unwrap();
    assert_eq!(bob.tokens.len(), 1, "nothing of either batch was written");
    assert_eq!(
        store.add_tokens(&[("bob", hotp(3, 0))], 3).unwrap(),
        [2],
        "a batch that failed used no id"
    );
}

pub(crate) fn disabled_and_removed_tokens_log_no_one_in(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "carol", &seed(1));
    store.add_tokens(&[("carol", hotp(5, 0))], 1).unwrap();
    store.set_token_disabled("carol", 2, true).unwrap();
    let carol = store.find_user("carol").unwrap().unwrap();
    assert!(carol.token(2).unwrap().disabled);
    assert_eq!(carol.active_tokens().count(), 1);
    assert!(!store.consume_token("carol", 2, 0, 0, 2).unwrap());
    store.set_token_disabled("carol", 2, false).unwrap();
    assert!(store.consume_token("carol", 2, 0, 0, 3).unwrap());
    store.remove_token("carol", 2).unwrap();
    assert!(
        store
            .find_user("carol")
            .unwrap()
            .unwrap()
            .token(2)
            .is_none()
    );
    assert!(!store.consume_token("carol", 2, 1, 0, 4).unwrap());
    for result in [
        store.remove_token("carol", 2),
        store.set_token_disabled("carol", 7, true),
        store.resync_token("carol", 7, 0, 1),
    ] {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, StoreError::TokenNotFound { user, id } if user == "carol" && *id != 1),
            "{err:?}"
        );
        assert!(err.to_string().contains("radotp token list carol"), "{err}");
    }
    assert!(matches!(
        store.remove_token("nobody", 1),
        Err(StoreError::UserNotFound(_))
    ));
    // Replacing all tokens (reset-otp) leaves only the new one, with a new id.
    let id = store
        .replace_tokens("carol", &NewToken::app(seed(9)), 5)
        .unwrap();
    let carol = store.find_user("carol").unwrap().unwrap();
    assert_eq!((id, carol.tokens.len()), (3, 1));
    assert_eq!(first_seed(&carol).secret, seed(9).secret);
    // A removed user takes their tokens along.
    store.remove_user("carol").unwrap();
    assert_eq!(backend.count_rows("tokens"), 0);
}

pub(crate) fn resync_moves_a_token_forward_only(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "dave", &seed(1));
    store.add_tokens(&[("dave", hotp(5, 0))], 1).unwrap();
    store.resync_token("dave", 2, 0, 40).unwrap();
    assert_eq!(
        store
            .find_user("dave")
            .unwrap()
            .unwrap()
            .token(2)
            .unwrap()
            .last_used,
        Some(40)
    );
    store.resync_token("dave", 2, 0, 20).unwrap();
    let dave = store.find_user("dave").unwrap().unwrap();
    assert_eq!(dave.token(2).unwrap().last_used, Some(40), "never back");
    store.resync_token("dave", 1, -4, 1000).unwrap();
    let totp = store.find_user("dave").unwrap().unwrap();
    assert_eq!(
        (totp.tokens[0].drift, totp.tokens[0].last_used),
        (-4, Some(1000))
    );
}
