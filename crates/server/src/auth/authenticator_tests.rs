//! The shell against a real SQLite store: one password check per request, the commit of each
//! factor, password-only flows (send a code, challenge), challenge answers, lost races, and a
//! password source that cannot answer.

use super::*;
use crate::auth::Mode;
use crate::auth::otp::{self, Algorithm, TotpParams, code_at};
use crate::auth::password::{self, DummyHash};
use crate::auth::{CHALLENGE_TTL_SECS, LocalHashes};
use crate::secret::SecretBytes;
use crate::store::{Challenge, NewToken};
use crate::store::{
    Channel, Claim, Delivery, Gate, LockoutPolicy, NewUser, SendLimits, SqliteStore, TotpSeed,
};

const NOW: u64 = 1_700_000_015;
/// Enough room that the other tests never lock anyone.
const RELAXED: LockoutPolicy = LockoutPolicy {
    max_failures: 100,
    base_secs: 60,
    max_secs: 200,
    trusted_station_days: 90,
};
const LOCKOUT: LockoutPolicy = LockoutPolicy {
    max_failures: 3,
    base_secs: 60,
    max_secs: 200,
    trusted_station_days: 90,
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
            password_source: crate::store::PasswordSource::Local,
            token: Some(&NewToken::app(seed.clone())),
            now: 0,
        }])
        .unwrap();
    let policy = Policy {
        window: 1,
        hotp_window: 10,
        send_limits: send.then_some(SendLimits {
            ttl: 300,
            cooldown: 60,
            per_hour: 5,
        }),
        lockout,
        authorization: Arc::default(),
    };
    let dummy = DummyHash::new(password::TEST_COST).unwrap();
    let auth = Authenticator::new(store.clone(), Arc::new(LocalHashes::new(dummy)), policy);
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
) -> Request<'a> {
    Request {
        user_name: user,
        input,
        client: "nas",
        mode,
        state,
        allowed_groups: None,
        station: LAPTOP,
        unenrolled: crate::auth::Unenrolled::Reject,
    }
}

/// A replay after a right password, as the log says it.
const HELD_USED: &str = "code already used (the password was right: whoever sent it knows it)";
const HELD_RECOVERY: &str =
    "recovery code already used (the password was right: whoever sent it knows it)";

/// The stations requests come from.
const LAPTOP: &str = "id:laptop";
const HOTEL: &str = "id:hotel";
const EVIL: &str = "id:evil";

/// What the log line would say: the reason's label and the detail.
fn said(decision: &Decision) -> (Outcome, String) {
    let text = match decision.detail() {
        Some(detail) => format!("{} ({detail})", decision.reason.label()),
        None => decision.reason.label().to_owned(),
    };
    (decision.outcome, text)
}

fn decide(auth: &Authenticator, request: &Request<'_>, now: u64) -> Decision {
    auth.authenticate(request, now).unwrap()
}

fn attempt(auth: &Authenticator, user: &str, input: &str) -> (Outcome, String) {
    let before = auth.checks();
    let input = SecretBytes::from(input.as_bytes());
    let decision = decide(auth, &request(user, &input, Mode::Append, None), NOW);
    assert_eq!(auth.checks(), before + 1, "exactly one password check");
    said(&decision)
}

fn reject(reason: &str) -> (Outcome, String) {
    (Outcome::Reject, reason.to_owned())
}

#[test]
fn every_class_costs_one_check_and_replays_fail() {
    let s = setup(false);
    let code = code_at(&s.seed.secret, s.seed.params, NOW);
    assert_eq!(
        attempt(&s.auth, "alice", &format!("hunter2{code}")),
        (Outcome::Accept, "TOTP code (token 1 (totp))".into())
    );
    assert_eq!(
        attempt(&s.auth, "alice", &format!("hunter2{code}")),
        reject(HELD_USED)
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
        (
            Outcome::Accept,
            "TOTP code (token 1 (totp); clock drift +1 steps)".into()
        )
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
    let mut decision = decide(&s.auth, &request("alice", &input, Mode::Append, None), NOW);
    assert_eq!(
        said(&decision),
        reject("password without code (code sent by sms)")
    );
    let sent = decision.send.take().expect("a code to send");
    assert_eq!((sent.delivery, sent.expires_in), (delivery, 300));
    let code = String::from_utf8(sent.code.expose().to_vec()).unwrap();
    // Cooldown: a second password-only attempt right away sends nothing.
    let again = decide(
        &s.auth,
        &request("alice", &input, Mode::Append, None),
        NOW + 1,
    );
    assert!(again.send.is_none());
    assert_eq!(
        said(&again),
        reject("password without code (no code sent: one was sent moments ago)")
    );
    // password + sent code → accept, once.
    assert_eq!(
        attempt(&s.auth, "alice", &format!("hunter2{code}")),
        (Outcome::Accept, "sent code".into())
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
    let sent = decide(&s.auth, &request("alice", &input, Mode::Append, None), NOW)
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
    let first = decide(
        &s.auth,
        &request("alice", &input, Mode::Challenge, None),
        NOW,
    );
    assert_eq!(said(&first), (Outcome::Challenge, "code requested".into()));
    let state = first.state.expect("a State");
    assert!(state.len() >= 16);
    let code = SecretBytes::from(code_at(&s.seed.secret, s.seed.params, NOW).as_bytes());
    let before = s.auth.checks();
    // From another NAS, the State means nothing (and is not consumed).
    let foreign = Request {
        client: "other-nas",
        ..request("alice", &code, Mode::Challenge, Some(&state))
    };
    assert_eq!(
        decide(&s.auth, &foreign, NOW).reason.label(),
        "unknown State"
    );
    let answer = decide(
        &s.auth,
        &request("alice", &code, Mode::Challenge, Some(&state)),
        NOW + 5,
    );
    assert_eq!(answer.outcome, Outcome::Accept);
    assert_eq!(
        s.auth.checks(),
        before,
        "answering a challenge runs no check"
    );
    // The State is single use.
    let next = SecretBytes::from(code_at(&s.seed.secret, s.seed.params, NOW + 30).as_bytes());
    let reused = decide(
        &s.auth,
        &request("alice", &next, Mode::Challenge, Some(&state)),
        NOW + 6,
    );
    assert_eq!(reused.outcome, Outcome::Reject);
    // An expired State.
    let second = decide(
        &s.auth,
        &request("alice", &input, Mode::Challenge, None),
        NOW + 40,
    );
    let state = second.state.unwrap();
    let late = NOW + 40 + CHALLENGE_TTL_SECS as u64 + 1;
    let expired = decide(
        &s.auth,
        &request("alice", &next, Mode::Challenge, Some(&state)),
        late,
    );
    assert_eq!(
        said(&expired),
        reject("unknown State (never issued, already used, expired, or issued to another NAS)")
    );
    // password+code in one field still works in challenge mode.
    let code = code_at(&s.seed.secret, s.seed.params, NOW + 60);
    let both = SecretBytes::from(format!("hunter2{code}").as_bytes());
    let direct = decide(
        &s.auth,
        &request("alice", &both, Mode::Challenge, None),
        NOW + 60,
    );
    assert_eq!(direct.outcome, Outcome::Accept);
}

#[test]
fn recovery_codes_work_once_and_a_reuse_is_named() {
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
        reject(HELD_RECOVERY)
    );
    assert_eq!(
        attempt(&s.auth, "alice", &format!("wrong{}", codes[4])),
        reject("wrong password")
    );
    // The reuse counts towards the lock (the password was right); the wrong password is
    // throttled instead.
    assert_eq!(s.store.find_user("alice").unwrap().unwrap().failures, 1);
}

#[test]
fn a_temporary_password_is_named_and_its_expiry_explained() {
    let s = setup(false);
    let hash = password::hash(password::TEST_COST, b"temp-pw").unwrap();
    s.store
        .set_password("alice", &hash, Some(NOW as i64 + 60))
        .unwrap();
    let code = code_at(&s.seed.secret, s.seed.params, NOW);
    assert_eq!(
        attempt(&s.auth, "alice", &format!("temp-pw{code}")),
        (
            Outcome::Accept,
            "TOTP code (token 1 (totp); temporary password, valid until 2023-11-14T22:14:35Z)"
                .into()
        )
    );
    let later = code_at(&s.seed.secret, s.seed.params, NOW + 90);
    let input = SecretBytes::from(format!("temp-pw{later}").as_bytes());
    let expired = decide(
        &s.auth,
        &request("alice", &input, Mode::Append, None),
        NOW + 90,
    );
    let (_, text) = said(&expired);
    assert!(
        text.starts_with(
            "password expired (the temporary password expired at 2023-11-14T22:14:35Z"
        ) && text.contains("radotp user passwd"),
        "{text}"
    );
    // The old password was replaced, not kept beside it.
    let old = SecretBytes::from(format!("hunter2{later}").as_bytes());
    let old = decide(
        &s.auth,
        &request("alice", &old, Mode::Append, None),
        NOW + 90,
    );
    assert_eq!(said(&old), reject("wrong password"));
}

#[test]
fn wrong_codes_after_a_right_password_lock_the_account_and_locks_double() {
    let s = setup_with(false, LOCKOUT);
    let at = |t: u64, input: &str| {
        let input = SecretBytes::from(input.as_bytes());
        said(&decide(
            &s.auth,
            &request("alice", &input, Mode::Append, None),
            t,
        ))
    };
    let code = code_at(&s.seed.secret, s.seed.params, NOW);
    assert_eq!(at(NOW, &format!("hunter2{code}")).0, Outcome::Accept);
    // A right password without a code is no failure.
    for _ in 0..5 {
        assert_eq!(at(NOW, "hunter2"), reject("password without code"));
    }
    // The used code again: whoever sends it holds the password.
    let replay = format!("hunter2{code}");
    let held = "the password was right: whoever sent it knows it";
    assert_eq!(
        at(NOW, &replay),
        reject(&format!("code already used ({held})"))
    );
    assert_eq!(at(NOW, &replay).0, Outcome::Reject);
    assert_eq!(
        at(NOW, &replay),
        reject(&format!(
            "code already used ({held}; locked until 2023-11-14T22:14:35Z)"
        ))
    );
    // Locked: refused even with the right password and the next code, at the cost of one
    // check of nothing — as an unknown user costs — and without counting.
    let before = s.auth.checks();
    let next = code_at(&s.seed.secret, s.seed.params, NOW + 30);
    let input = SecretBytes::from(format!("hunter2{next}").as_bytes());
    let locked = decide(
        &s.auth,
        &request("alice", &input, Mode::Append, None),
        NOW + 30,
    );
    assert_eq!(said(&locked), reject("locked (until 2023-11-14T22:14:35Z)"));
    assert!(locked.check_time.is_some());
    assert_eq!(s.auth.checks(), before + 1);
    let user = s.store.find_user("alice").unwrap().unwrap();
    assert_eq!((user.failures, user.locks), (3, 1), "`user show` says why");
    // (Each further lock lasts twice as long: the store suite's
    // `failures_lock_and_each_lock_doubles`.) Once it runs out, a login resets it all.
    let later = NOW + 61;
    let code = code_at(&s.seed.secret, s.seed.params, later);
    assert_eq!(at(later, &format!("hunter2{code}")).0, Outcome::Accept);
    let user = s.store.find_user("alice").unwrap().unwrap();
    assert_eq!((user.failures, user.locks), (0, 0));
}

#[test]
fn wrong_passwords_are_throttled_never_locked_and_the_users_own_station_stays_open() {
    let s = setup_with(false, LOCKOUT);
    let from = |station: &str, t: u64, input: &str| {
        let input = SecretBytes::from(input.as_bytes());
        let request = Request {
            station,
            ..request("alice", &input, Mode::Append, None)
        };
        let before = s.auth.checks();
        let decision = decide(&s.auth, &request, t);
        assert_eq!(s.auth.checks(), before + 1, "one check, judged or not");
        said(&decision)
    };
    let code = |t: u64| code_at(&s.seed.secret, s.seed.params, t);
    // Alice logs in from her laptop: it becomes a trusted station.
    assert_eq!(
        from(LAPTOP, NOW - 3000, &format!("hunter2{}", code(NOW - 3000))).0,
        Outcome::Accept
    );
    // Someone who knows only her name guesses from elsewhere.
    for i in 0..3 {
        assert_eq!(
            from(EVIL, NOW, &format!("guess{i}")),
            reject("wrong password or code")
        );
    }
    let (outcome, text) = from(EVIL, NOW, "guess3");
    assert_eq!(outcome, Outcome::Reject);
    assert!(text.starts_with("throttled (too many wrong passwords from stations the user has not logged in from; the next is judged at 2023-11-14T22:14:35Z"), "{text}");
    // Never a lock; the guesses are counted at the user's gate.
    let user = s.store.find_user("alice").unwrap().unwrap();
    assert_eq!(
        (user.failures, user.locked_until, user.guesses),
        (0, None, 3)
    );
    // From her own laptop Alice still gets in, at once.
    assert_eq!(
        from(LAPTOP, NOW, &format!("hunter2{}", code(NOW))).0,
        Outcome::Accept
    );
    // From a new station she waits like the guesser: the limit of the design.
    assert!(
        from(HOTEL, NOW + 30, &format!("hunter2{}", code(NOW + 30)))
            .1
            .starts_with("throttled")
    );
    // After base_secs one more password is judged; then the wait doubles.
    assert_eq!(
        from(EVIL, NOW + 60, "guess4"),
        reject("wrong password or code")
    );
    assert!(from(EVIL, NOW + 61, "guess5").1.starts_with("throttled"));
    assert!(from(EVIL, NOW + 179, "guess5").1.starts_with("throttled"));
    assert_eq!(
        from(EVIL, NOW + 180, "guess5"),
        reject("wrong password or code")
    );
    // Alice at the hotel, once the gate admits her: in, and the hotel is trusted now.
    let t = NOW + 180 + 240;
    assert_eq!(
        from(HOTEL, t, &format!("hunter2{}", code(t))).0,
        Outcome::Accept
    );
    let user = s.store.find_user("alice").unwrap().unwrap();
    assert_eq!(user.guesses, 0, "the gate that admitted her starts again");
}

#[test]
fn a_burst_gets_no_more_judgements_than_the_gate_allows() {
    let s = setup_with(false, LOCKOUT);
    let auth = &s.auth;
    let judged = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for i in 0..32 {
            let judged = &judged;
            scope.spawn(move || {
                for j in 0..4 {
                    let input = SecretBytes::from(format!("guess-{i}-{j}").as_bytes());
                    let d = decide(auth, &request("alice", &input, Mode::Append, None), NOW);
                    if d.reason == Reason::WrongPasswordOrCode {
                        judged.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(
        judged.into_inner(),
        LOCKOUT.max_failures as usize,
        "of 128 at once"
    );
    assert_eq!(s.store.find_user("alice").unwrap().unwrap().guesses, 3);
}

#[test]
fn allowed_groups_refuse_outsiders_after_full_authentication() {
    let s = setup(false);
    let code = code_at(&s.seed.secret, s.seed.params, NOW);
    let input = SecretBytes::from(format!("hunter2{code}").as_bytes());
    let admins = vec!["vpn-admins".to_owned()];
    let restricted = Request {
        allowed_groups: Some(&admins),
        ..request("alice", &input, Mode::Append, None)
    };
    let before = s.auth.checks();
    assert_eq!(
        said(&decide(&s.auth, &restricted, NOW)),
        reject("not in allowed groups")
    );
    assert_eq!(s.auth.checks(), before + 1, "same cost as any reject");
    // The code was not consumed: a member could still use it.
    s.store.set_groups("alice", &admins).unwrap();
    assert_eq!(decide(&s.auth, &restricted, NOW).outcome, Outcome::Accept);
}

#[test]
fn a_commit_that_loses_its_race_is_a_replay() {
    let s = setup(false);
    let code = code_at(&s.seed.secret, s.seed.params, NOW);
    // Another node uses the step between this node's read and its commit.
    let input = SecretBytes::from(format!("hunter2{code}").as_bytes());
    let step = otp::step_at(NOW, 30);
    let auth = on_faulty_store(&s.store, Some(step), false);
    let decision = decide(&auth, &request("alice", &input, Mode::Append, None), NOW);
    assert_eq!(said(&decision), reject(HELD_USED));
    let user = s.store.find_user("alice").unwrap().unwrap();
    assert_eq!(user.failures, 1);
    // The password was right: its guess is given back, though no trust was written to reset
    // the gate (an accept leaves that to the trust).
    assert_eq!(user.guesses, 0);
}

#[test]
fn a_login_whose_trust_cannot_be_written_still_gives_its_guess_back() {
    let s = setup(false);
    let code = code_at(&s.seed.secret, s.seed.params, NOW);
    let input = SecretBytes::from(format!("hunter2{code}").as_bytes());
    let auth = on_faulty_store(&s.store, None, true);
    let decision = decide(&auth, &request("alice", &input, Mode::Append, None), NOW);
    assert_eq!(decision.outcome, Outcome::Accept, "the login stands");
    assert_eq!(s.store.find_user("alice").unwrap().unwrap().guesses, 0);
}

#[test]
fn a_password_source_that_cannot_answer_fails_the_request() {
    #[derive(Debug)]
    struct Down;
    impl PasswordCheck for Down {
        fn check(&self, _: Subject<'_>, _: &[u8]) -> Result<Answer, SourceError> {
            Err(SourceError(
                "ldaps://dc1.example.org: connection refused".into(),
            ))
        }
    }
    let s = setup(false);
    let policy = Policy {
        window: 1,
        hotp_window: 10,
        send_limits: None,
        lockout: RELAXED,
        authorization: Arc::default(),
    };
    let auth = Authenticator::new(s.store.clone(), Arc::new(Down), policy);
    let code = code_at(&s.seed.secret, s.seed.params, NOW);
    let input = SecretBytes::from(format!("hunter2{code}").as_bytes());
    let failed = auth.authenticate(&request("alice", &input, Mode::Append, None), NOW);
    assert!(matches!(failed, Err(AuthError::Source(_))), "{failed:?}");
    let user = s.store.find_user("alice").unwrap().unwrap();
    assert_eq!(
        (user.failures, user.tokens[0].last_used),
        (0, None),
        "nothing recorded"
    );
}

/// An authenticator (local hashes, window 1, relaxed lockout) on `store` failing where told.
fn on_faulty_store(
    store: &Arc<SqliteStore>,
    lose_step: Option<u64>,
    trust_fails: bool,
) -> Authenticator {
    let faulty = FaultyStore {
        inner: Arc::clone(store) as Arc<dyn Store>,
        lose_step,
        trust_fails,
    };
    let policy = Policy {
        window: 1,
        hotp_window: 10,
        send_limits: None,
        lockout: RELAXED,
        authorization: Arc::default(),
    };
    let dummy = DummyHash::new(password::TEST_COST).unwrap();
    Authenticator::new(Arc::new(faulty), Arc::new(LocalHashes::new(dummy)), policy)
}

/// A store that fails where told: its TOTP commit always finds `lose_step` used already, as
/// when another node wins; its station trust cannot be written.
struct FaultyStore {
    inner: Arc<dyn Store>,
    lose_step: Option<u64>,
    trust_fails: bool,
}

impl std::fmt::Debug for FaultyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaultyStore")
    }
}

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
            self.inner.$name($($arg),*)
        })*
    };
}

impl Store for FaultyStore {
    fn consume_token(
        &self,
        name: &str,
        id: u32,
        step: u64,
        drift: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        match self.lose_step {
            Some(taken) => {
                // The other node's commit.
                self.inner.consume_token(name, id, taken, 0, now)?;
                Ok(false)
            }
            None => self.inner.consume_token(name, id, step, drift, now),
        }
    }
    fn trust_station(
        &self,
        name: &str,
        station: &str,
        gate: Gate,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<(), StoreError> {
        match self.trust_fails {
            true => Err(StoreError::Database("the disk is full".into())),
            false => self.inner.trust_station(name, station, gate, now, policy),
        }
    }
    delegate! {
        find_user(name: &str) -> Option<UserRecord>;
        list_users() -> Vec<UserRecord>;
        add_users(users: &[NewUser<'_>]) -> ();
        set_password(name: &str, hash: &str, expires_at: Option<i64>) -> ();
        add_tokens(tokens: &[(&str, NewToken)], now: i64) -> Vec<u32>;
        replace_tokens(name: &str, token: &NewToken, now: i64) -> u32;
        remove_token(name: &str, id: u32) -> ();
        set_token_disabled(name: &str, id: u32, disabled: bool) -> ();
        set_disabled(name: &str, disabled: bool) -> ();
        unlock(name: &str) -> ();
        remove_user(name: &str) -> ();
        remove_users(names: &[&str]) -> u64;
        replace_recovery_codes(name: &str, codes: &[SecretBytes]) -> ();
        consume_recovery_code(name: &str, code: &SecretBytes, now: i64) -> Option<u32>;
        set_delivery(name: &str, delivery: Option<&Delivery>) -> ();
        recovery_code_state(name: &str, code: &SecretBytes) -> RecoveryCodeState;
        issue_code(name: &str, code: &SecretBytes, now: i64, limits: SendLimits) -> IssueOutcome;
        sent_code_exists(name: &str, code: &SecretBytes, now: i64) -> bool;
        consume_sent_code(name: &str, code: &SecretBytes, now: i64) -> bool;
        count_code_attempt(name: &str, now: i64) -> ();
        create_challenge(state: &[u8], name: &str, client: &str, groups: &[String], relay: Option<&crate::store::Relay>, expires_at: i64, now: i64) -> ();
        take_challenge(state: &[u8], client: &str, now: i64) -> Option<Challenge>;
        resync_token(name: &str, id: u32, drift: i64, last_used: u64) -> ();
        record_failure(name: &str, now: i64, policy: LockoutPolicy) -> Option<i64>;
        set_groups(name: &str, groups: &[String]) -> ();
        set_reply(name: &str, reply: &[String]) -> ();
        count_users() -> u64;
        probe(now: i64) -> ();
        claim_guess(name: &str, station: &str, now: i64, policy: LockoutPolicy) -> Claim;
        refund_guess(name: &str, station: &str, gate: Gate) -> ();
        record_session(change: crate::store::SessionChange<'_>, max_sessions: u64) -> ();
        list_sessions() -> Vec<crate::store::Session>;
        create_invitation(name: &str, secret: &SecretBytes, expires_at: i64, now: i64) -> ();
        invitation_for_user(name: &str) -> Option<crate::store::Invitation>;
        find_invitation(secret: &SecretBytes, now: i64) -> Option<crate::store::Invitation>;
        count_invitation_failure(secret: &SecretBytes, now: i64) -> Option<u32>;
        refund_invitation_try(secret: &SecretBytes) -> ();
        complete_invitation(secret: &SecretBytes, token: &NewToken, now: i64) -> (String, u32);
        create_api_token(name: &str, secret: &SecretBytes, now: i64) -> ();
        remove_api_token(name: &str) -> ();
        list_api_tokens() -> Vec<crate::store::ApiToken>;
        authenticate_api_token(secret: &SecretBytes, now: i64) -> Option<String>;
        eap_ticket_keys() -> Vec<crate::store::TicketKey>;
        rotate_eap_ticket_key(key: &crate::store::TicketKey, not_before: i64) -> Vec<crate::store::TicketKey>;
        remove_eap_ticket_keys(before: i64) -> u64;
        bind_eap_session(handle: &[u8], user: &str, created: i64) -> ();
        find_eap_session(handle: &[u8]) -> Option<crate::store::EapSession>;
        expire_eap_sessions(before: i64) -> u64;
        end_eap_sessions(user: &str) -> u64;
        put_eap_tls_session(id: &[u8], sealed: &[u8], created: i64) -> ();
        get_eap_tls_session(id: &[u8], since: i64) -> Option<Vec<u8>>;
    }
}
