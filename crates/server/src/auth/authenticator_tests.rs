//! The authenticator against a real SQLite store: one argon2 verification per request, the
//! commit of each factor, password-only flows (send a code, challenge) and challenge answers.

use super::*;
use crate::auth::otp::{Algorithm, TotpParams, code_at};
use crate::store::{Channel, NewUser, SqliteStore, TotpSeed};

const NOW: u64 = 1_700_000_015;
/// Enough room that the other tests never lock anyone.
const RELAXED: LockoutPolicy = LockoutPolicy {
    max_failures: 100,
    base_secs: 60,
    max_secs: 200,
};
const LOCKOUT: LockoutPolicy = LockoutPolicy {
    max_failures: 3,
    base_secs: 60,
    max_secs: 200,
};

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    auth: Authenticator,
    seed: TotpSeed,
}

fn setup(send: bool) -> Setup {
    setup_with(send, RELAXED)
}

fn setup_with(send: bool, lockout: LockoutPolicy) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(
            &dir.path().join("t.db"),
            crate::store::Keys::from_master(b"k"),
        )
        .unwrap(),
    );
    let seed = TotpSeed {
        secret: otp::generate_secret(),
        params: TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        },
    };
    let hash = password::hash(password::TEST_COST, b"hunter2").unwrap();
    store
        .add_users(&[NewUser {
            name: "alice",
            password_hash: &hash,
            totp: &seed,
            now: 0,
        }])
        .unwrap();
    let policy = Policy {
        window: 1,
        send_limits: send.then_some(SendLimits {
            ttl: 300,
            cooldown: 60,
            per_hour: 5,
        }),
        lockout,
    };
    let dummy = DummyHash::new(password::TEST_COST).unwrap();
    let auth = Authenticator::new(store.clone(), policy, Arc::default(), dummy);
    Setup {
        _dir: dir,
        store,
        auth,
        seed,
    }
}

fn request<'a>(
    user: &'a str,
    input: &'a SecretBytes,
    mode: Mode,
    state: Option<&'a [u8]>,
    now: u64,
) -> AuthRequest<'a> {
    AuthRequest {
        user_name: user,
        input,
        client: "nas",
        mode,
        state,
        allowed_groups: None,
        now,
    }
}

fn attempt(auth: &Authenticator, user: &str, input: &str) -> (Outcome, String) {
    let before = auth.verifications();
    let input = SecretBytes::from(input.as_bytes());
    let decision = auth
        .authenticate(&request(user, &input, Mode::Append, None, NOW))
        .unwrap();
    assert_eq!(
        auth.verifications(),
        before + 1,
        "exactly one argon2 verification"
    );
    (decision.outcome, decision.reason)
}

fn reject(reason: &str) -> (Outcome, String) {
    (Outcome::Reject, reason.to_owned())
}

#[test]
fn every_class_costs_one_verification_and_replays_fail() {
    let s = setup(false);
    let code = code_at(&s.seed.secret, s.seed.params, NOW);
    assert_eq!(
        attempt(&s.auth, "alice", &format!("hunter2{code}")),
        (Outcome::Accept, "TOTP code".into())
    );
    assert_eq!(
        attempt(&s.auth, "alice", &format!("hunter2{code}")),
        reject("code already used")
    );
    assert_eq!(
        attempt(&s.auth, "alice", &format!("wrong{code}")),
        reject("wrong password")
    );
    assert_eq!(
        attempt(&s.auth, "alice", "hunter2"),
        reject("password without code")
    );
    assert_eq!(
        attempt(&s.auth, "mallory", &format!("hunter2{code}")),
        reject("unknown user")
    );
    let next = code_at(&s.seed.secret, s.seed.params, NOW + 30);
    assert_eq!(
        attempt(&s.auth, "alice", &format!("hunter2{next}")),
        (Outcome::Accept, "TOTP code (clock drift +1 steps)".into())
    );
}

#[test]
fn password_only_sends_a_code_that_works_once() {
    let s = setup(true);
    // No address: a plain reject.
    assert_eq!(
        attempt(&s.auth, "alice", "hunter2"),
        reject("password without code")
    );
    let delivery = Delivery {
        channel: Channel::Sms,
        destination: "+41790000000".into(),
    };
    s.store.set_delivery("alice", Some(&delivery)).unwrap();
    let input = SecretBytes::from(b"hunter2".as_slice());
    let decision = s
        .auth
        .authenticate(&request("alice", &input, Mode::Append, None, NOW))
        .unwrap();
    assert_eq!(decision.outcome, Outcome::Reject);
    assert_eq!(decision.reason, "password without code; code sent by sms");
    let sent = decision.send.expect("a code to send");
    assert_eq!((sent.delivery, sent.expires_in), (delivery, 300));
    let code = String::from_utf8(sent.code.expose().to_vec()).unwrap();
    // Cooldown: a second password-only attempt right away sends nothing.
    let again = s
        .auth
        .authenticate(&request("alice", &input, Mode::Append, None, NOW + 1))
        .unwrap();
    assert!(
        again.send.is_none() && again.reason.contains("moments ago"),
        "{}",
        again.reason
    );
    // password + sent code → accept, once.
    assert_eq!(
        attempt(&s.auth, "alice", &format!("hunter2{code}")),
        (Outcome::Accept, "code sent out of band".into())
    );
    assert_eq!(
        attempt(&s.auth, "alice", &format!("hunter2{code}")).0,
        Outcome::Reject
    );
}

#[test]
fn sent_codes_die_after_too_many_wrong_guesses() {
    let s = setup(true);
    let delivery = Delivery {
        channel: Channel::Email,
        destination: "a@example.org".into(),
    };
    s.store.set_delivery("alice", Some(&delivery)).unwrap();
    let input = SecretBytes::from(b"hunter2".as_slice());
    let sent = s
        .auth
        .authenticate(&request("alice", &input, Mode::Append, None, NOW))
        .unwrap()
        .send
        .unwrap();
    let code = String::from_utf8(sent.code.expose().to_vec()).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..crate::store::MAX_CODE_ATTEMPTS {
        assert_eq!(
            attempt(&s.auth, "alice", &format!("hunter2{wrong}")).0,
            Outcome::Reject
        );
    }
    assert_eq!(
        attempt(&s.auth, "alice", &format!("hunter2{code}")).0,
        Outcome::Reject
    );
}

#[test]
fn challenge_mode_round_trip() {
    let s = setup(false);
    let input = SecretBytes::from(b"hunter2".as_slice());
    let first = s
        .auth
        .authenticate(&request("alice", &input, Mode::Challenge, None, NOW))
        .unwrap();
    let Outcome::Challenge { state } = first.outcome else {
        panic!("expected a challenge, got {first:?}")
    };
    assert!(state.len() >= 16);
    let code = SecretBytes::from(code_at(&s.seed.secret, s.seed.params, NOW).as_bytes());
    let before = s.auth.verifications();
    // From another NAS, the State means nothing (and is not consumed).
    let foreign = AuthRequest {
        client: "other-nas",
        ..request("alice", &code, Mode::Challenge, Some(&state), NOW)
    };
    assert_eq!(
        s.auth.authenticate(&foreign).unwrap().reason,
        "unknown, used or expired State"
    );
    let answer = s
        .auth
        .authenticate(&request(
            "alice",
            &code,
            Mode::Challenge,
            Some(&state),
            NOW + 5,
        ))
        .unwrap();
    assert_eq!(answer.outcome, Outcome::Accept);
    assert_eq!(
        s.auth.verifications(),
        before,
        "answering a challenge runs no argon2"
    );
    // The State is single use.
    let next = SecretBytes::from(code_at(&s.seed.secret, s.seed.params, NOW + 30).as_bytes());
    let reused = s
        .auth
        .authenticate(&request(
            "alice",
            &next,
            Mode::Challenge,
            Some(&state),
            NOW + 6,
        ))
        .unwrap();
    assert_eq!(reused.outcome, Outcome::Reject);
    // An expired State.
    let second = s
        .auth
        .authenticate(&request("alice", &input, Mode::Challenge, None, NOW + 40))
        .unwrap();
    let Outcome::Challenge { state } = second.outcome else {
        panic!()
    };
    let late = NOW + 40 + CHALLENGE_TTL_SECS as u64 + 1;
    let expired = s
        .auth
        .authenticate(&request(
            "alice",
            &next,
            Mode::Challenge,
            Some(&state),
            late,
        ))
        .unwrap();
    assert_eq!(expired.reason, "unknown, used or expired State");
    // password+code in one field still works in challenge mode.
    let code = code_at(&s.seed.secret, s.seed.params, NOW + 60);
    let both = SecretBytes::from(format!("hunter2{code}").as_bytes());
    let direct = s
        .auth
        .authenticate(&request("alice", &both, Mode::Challenge, None, NOW + 60))
        .unwrap();
    assert_eq!(direct.outcome, Outcome::Accept);
}

#[test]
fn recovery_codes_work_once_and_say_how_many_remain() {
    let s = setup(false);
    let codes = codes::generate_recovery_codes();
    let stored: Vec<SecretBytes> = codes
        .iter()
        .filter_map(|c| codes::normalize_recovery_code(c.as_bytes()))
        .collect();
    s.store.replace_recovery_codes("alice", &stored).unwrap();
    assert_eq!(
        attempt(
            &s.auth,
            "alice",
            &format!("hunter2{}", codes[3].to_uppercase())
        ),
        (Outcome::Accept, "recovery code (9 left)".into())
    );
    assert_eq!(
        attempt(&s.auth, "alice", &format!("hunter2{}", codes[3])),
        reject("wrong password or code")
    );
    assert_eq!(
        attempt(&s.auth, "alice", &format!("wrong{}", codes[4])),
        reject("wrong password")
    );
}

#[test]
fn guesses_lock_the_account_without_argon2_and_locks_double() {
    let s = setup_with(true, LOCKOUT);
    let code = code_at(&s.seed.secret, s.seed.params, NOW);
    let at = |t: u64, input: &str| {
        let input = SecretBytes::from(input.as_bytes());
        s.auth
            .authenticate(&request("alice", &input, Mode::Append, None, t))
            .unwrap()
    };
    // A right password without a code is not a failure.
    for _ in 0..5 {
        assert_eq!(at(NOW, "hunter2").reason, "password without code");
    }
    assert_eq!(at(NOW, &format!("guess1{code}")).reason, "wrong password");
    assert_eq!(at(NOW, "guess2000000").reason, "wrong password or code");
    let third = at(NOW, "guess3000000");
    assert!(
        third
            .reason
            .starts_with("wrong password or code; locked until"),
        "{}",
        third.reason
    );
    // Locked: refused without argon2, even with the right password and code.
    let before = s.auth.verifications();
    let locked = at(NOW + 59, &format!("hunter2{code}"));
    assert!(
        locked.reason.starts_with("locked until"),
        "{}",
        locked.reason
    );
    assert!(locked.verify_time.is_none());
    assert_eq!(s.auth.verifications(), before);
    // After the lock, three more failures lock for twice as long (120 s).
    for i in 0..3 {
        at(NOW + 60, &format!("again{i}000000"));
    }
    let user = s.store.find_user("alice").unwrap().unwrap();
    assert_eq!(user.locked_until, Some(NOW as i64 + 60 + 120));
    // Then capped at max_secs; and a success resets everything.
    for i in 0..3 {
        at(NOW + 200, &format!("more{i}000000"));
    }
    let user = s.store.find_user("alice").unwrap().unwrap();
    assert_eq!(user.locked_until, Some(NOW as i64 + 200 + 200));
    let later = NOW + 401;
    let code = code_at(&s.seed.secret, s.seed.params, later);
    assert_eq!(
        at(later, &format!("hunter2{code}")).outcome,
        Outcome::Accept
    );
    let user = s.store.find_user("alice").unwrap().unwrap();
    assert_eq!((user.failures, user.locks), (0, 0));
}

#[test]
fn allowed_groups_refuse_outsiders_after_full_authentication() {
    let s = setup(false);
    let code = code_at(&s.seed.secret, s.seed.params, NOW);
    let input = SecretBytes::from(format!("hunter2{code}").as_bytes());
    let admins = vec!["vpn-admins".to_owned()];
    let restricted = AuthRequest {
        allowed_groups: Some(&admins),
        ..request("alice", &input, Mode::Append, None, NOW)
    };
    let before = s.auth.verifications();
    let refused = s.auth.authenticate(&restricted).unwrap();
    assert_eq!(
        (refused.outcome, refused.reason.as_str()),
        (Outcome::Reject, "not in allowed groups")
    );
    assert_eq!(
        s.auth.verifications(),
        before + 1,
        "same cost as any reject"
    );
    // The code was not consumed: a member could still use it.
    s.store.set_groups("alice", &admins).unwrap();
    assert_eq!(
        s.auth.authenticate(&restricted).unwrap().outcome,
        Outcome::Accept
    );
}
