//! Table tests of the decision core, with time passed in and no store: the check each input
//! costs, and the answer, reason and effects for a right and for a wrong password.

use std::collections::HashMap;

use super::*;
use crate::auth::otp::{Algorithm, TotpParams, code_at, step_at};
use crate::auth::reason::{AcceptedBy, StateProblem};
use crate::auth::tails::Factor;
use crate::authz;
use crate::dictionary::{AttributeValue, Dictionary};
use crate::store::{Channel, Delivery, Gate, Token, TokenKind, TokenSecret, TotpSeed};

const NOW: u64 = 1_700_000_015;
const WINDOW: u8 = 1;

fn user(digits: u8, last_step: Option<u64>) -> UserRecord {
    UserRecord::new(
        "alice",
        "unused by the core",
        vec![Token {
            id: 1,
            label: "app".into(),
            serial: None,
            secret: TokenSecret::Totp(TotpSeed {
                secret: SecretBytes::new(b"12345678901234567890".to_vec()),
                params: TotpParams {
                    algorithm: Algorithm::Sha1,
                    digits,
                    period: 30,
                },
            }),
            last_used: last_step,
            drift: 0,
            disabled: false,
            created_at: 0,
            last_used_at: None,
        }],
    )
}

/// The user's TOTP token's seed.
fn seed(u: &UserRecord) -> &TotpSeed {
    match &u.tokens[0].secret {
        TokenSecret::Totp(seed) => seed,
        _ => unreachable!("the fixture's first token is TOTP"),
    }
}

/// A user whose TOTP token has this drift.
fn drifted(drift: i64) -> UserRecord {
    let mut u = user(6, None);
    u.tokens[0].drift = drift;
    u
}

/// How the fixture's TOTP token names an Accept.
const BY_TOTP: AcceptedBy = AcceptedBy::Token {
    id: 1,
    kind: TokenKind::Totp,
    drift: 0,
};

fn code(u: &UserRecord, offset_steps: i64) -> String {
    let seed = seed(u);
    code_at(
        &seed.secret,
        seed.params,
        (NOW as i64 + offset_steps * 30) as u64,
    )
}

fn policy(send: bool) -> Policy {
    let dictionary = Dictionary::builtin();
    let vpn = authz::encode(&dictionary, "Class", &[AttributeValue::from("vpn")]).unwrap();
    Policy {
        window: WINDOW,
        hotp_window: 10,
        send_limits: send.then_some(SendLimits {
            ttl: 300,
            cooldown: 60,
            per_hour: 5,
        }),
        lockout: LockoutPolicy {
            max_failures: 5,
            base_secs: 60,
            max_secs: 3600,
            trusted_station_days: 90,
        },
        authorization: Arc::new(Authorization::new(
            dictionary,
            HashMap::from([("vpn".to_owned(), vpn)]),
        )),
    }
}

/// How one request is sent.
#[derive(Clone, Default)]
struct Via {
    challenge_mode: bool,
    state: Option<Vec<u8>>,
    allowed: Option<Vec<String>>,
    send: bool,
}

struct Decided {
    plan: Plan,
    right: Verdict,
    wrong: Verdict,
}

fn decide(user: Option<&UserRecord>, input: &str, seen: Seen, via: &Via) -> Decided {
    let input = SecretBytes::from(input.as_bytes());
    let request = Request {
        user_name: "alice",
        input: &input,
        client: "nas",
        mode: if via.challenge_mode {
            Mode::Challenge
        } else {
            Mode::Append
        },
        state: via.state.as_deref(),
        allowed_groups: via.allowed.as_deref(),
        station: "id:aa-bb-cc-dd-ee-ff",
        unenrolled: Unenrolled::Reject,
    };
    let tails = tails(&request, user);
    let policy = policy(via.send);
    let inputs = Inputs {
        request: &request,
        user,
        tails: &tails,
        seen: &seen,
        policy: &policy,
        now: NOW,
    };
    let plan = plan(&inputs);
    let checked = |c: Checked| (plan.check != Check::None).then(|| Answer::from(c));
    Decided {
        plan,
        right: verdict(&inputs, &plan, checked(Checked::Right).as_ref()),
        wrong: verdict(&inputs, &plan, checked(Checked::Wrong).as_ref()),
    }
}

/// Outcome, reason label and effects, compactly.
fn summary(v: &Verdict) -> (Outcome, &'static str, Vec<&'static str>) {
    let effects = v
        .effects
        .iter()
        .map(|e| match e {
            Effect::Consume(Consume::Token { .. }) => "consume step",
            Effect::Consume(Consume::SentCode(_)) => "consume sent code",
            Effect::Consume(Consume::RecoveryCode(_)) => "consume recovery code",
            Effect::RecordFailure => "record failure",
            Effect::Refund(_) => "refund",
            Effect::Trust { .. } => "trust",
            Effect::CountCodeAttempt => "count code attempt",
            Effect::IssueCode { .. } => "issue code",
            Effect::OpenChallenge { .. } => "open challenge",
        })
        .collect();
    (v.outcome, v.reason.label(), effects)
}

use Outcome::{Accept, Challenge, Reject};

type Expect = (Outcome, &'static str, &'static [&'static str]);

struct Row<'a> {
    name: &'a str,
    user: Option<&'a UserRecord>,
    input: String,
    seen: Seen,
    via: Via,
    check: Check,
    if_right: Expect,
    if_wrong: Expect,
}

fn run(rows: Vec<Row<'_>>) {
    for row in rows {
        let d = decide(row.user, &row.input, row.seen, &row.via);
        assert_eq!(d.plan.check, row.check, "{}: check", row.name);
        for (verdict, want, which) in [
            (&d.right, row.if_right, "right"),
            (&d.wrong, row.if_wrong, "wrong"),
        ] {
            let (outcome, label, effects) = summary(verdict);
            assert_eq!(
                (outcome, label, effects.as_slice()),
                (want.0, want.1, want.2),
                "{}: {which} password",
                row.name
            );
        }
    }
}

/// A wrong code after a right password: towards the account's lock.
const FAILED: &[&str] = &["record failure"];
const CODE_FAILED: &[&str] = &["count code attempt", "record failure"];
/// A wrong password: counted at its gate before it was judged, nothing after.
const NOTHING: &[&str] = &[];
const WRONG_CODE: &[&str] = &["count code attempt"];

fn row<'a>(name: &'a str, user: &'a UserRecord, input: String, check: Check) -> Row<'a> {
    Row {
        name,
        user: Some(user),
        input,
        seen: Seen::default(),
        via: Via::default(),
        check,
        if_right: (Reject, "", &[]),
        if_wrong: (Reject, "", &[]),
    }
}

fn expect<'a>(mut r: Row<'a>, if_right: Expect, if_wrong: Expect) -> Row<'a> {
    r.if_right = if_right;
    r.if_wrong = if_wrong;
    r
}

#[test]
fn totp_table() {
    let fresh = user(6, None);
    let used = user(6, Some(step_at(NOW, 30)));
    let eight = user(8, None);
    let totp = (Accept, "TOTP code", &["consume step", "trust"][..]);
    let wrong_pw = (Reject, "wrong password", NOTHING);
    let missing = (Reject, "password without code", &[][..]);
    let no_code = (Reject, "wrong password or code", WRONG_CODE);
    let user_check = |len| Check::User { len };
    run(vec![
        expect(
            row(
                "current code",
                &fresh,
                format!("hunter{}", code(&fresh, 0)),
                user_check(6),
            ),
            totp,
            wrong_pw,
        ),
        expect(
            row(
                "previous step",
                &fresh,
                format!("hunter{}", code(&fresh, -1)),
                user_check(6),
            ),
            totp,
            wrong_pw,
        ),
        expect(
            row(
                "next step",
                &fresh,
                format!("hunter{}", code(&fresh, 1)),
                user_check(6),
            ),
            totp,
            wrong_pw,
        ),
        expect(
            row(
                "two steps old: outside the window, the whole input is the password",
                &fresh,
                format!("hunter{}", code(&fresh, -2)),
                user_check(12),
            ),
            missing,
            no_code,
        ),
        expect(
            row(
                "a password ending in digits",
                &fresh,
                format!("hunter2024{}", code(&fresh, 0)),
                user_check(10),
            ),
            totp,
            wrong_pw,
        ),
        expect(
            row("password alone", &fresh, "hunter".into(), user_check(6)),
            missing,
            (Reject, "wrong password or code", NOTHING),
        ),
        expect(
            row(
                "replay of the used step",
                &used,
                format!("hunter{}", code(&used, 0)),
                user_check(6),
            ),
            (Reject, "code already used", FAILED),
            wrong_pw,
        ),
        expect(
            row(
                "older than the used step",
                &used,
                format!("hunter{}", code(&used, -1)),
                user_check(6),
            ),
            (Reject, "code already used", FAILED),
            wrong_pw,
        ),
        expect(
            row(
                "newer than the used step",
                &used,
                format!("hunter{}", code(&used, 1)),
                user_check(6),
            ),
            totp,
            wrong_pw,
        ),
        expect(
            row(
                "8-digit token",
                &eight,
                format!("pässwörd{}", code(&eight, 0)),
                user_check("pässwörd".len()),
            ),
            totp,
            wrong_pw,
        ),
        expect(
            row(
                "8-digit user, 6-digit tail",
                &eight,
                "hunter123456".into(),
                user_check(12),
            ),
            missing,
            (Reject, "wrong password or code", NOTHING),
        ),
    ]);
}

#[test]
fn accounts_table() {
    let disabled = UserRecord {
        disabled: true,
        ..user(6, None)
    };
    let expired = UserRecord {
        password_expires_at: Some(NOW as i64),
        ..user(6, None)
    };
    let not_yet = UserRecord {
        password_expires_at: Some(NOW as i64 + 1),
        ..user(6, None)
    };
    let no_totp = UserRecord {
        tokens: Vec::new(),
        ..user(6, None)
    };
    let locked = UserRecord {
        locked_until: Some(NOW as i64 + 1),
        failures: 5,
        ..user(6, None)
    };
    let lock_over = UserRecord {
        locked_until: Some(NOW as i64),
        ..user(6, None)
    };
    let good = |u: &UserRecord| format!("hunter{}", code(u, 0));
    let totp = (Accept, "TOTP code", &["consume step", "trust"][..]);
    let wrong_pw = (Reject, "wrong password", NOTHING);
    let unknown = Row {
        name: "unknown user: a dummy check of the whole input, the same cost",
        user: None,
        input: "hunter123456".into(),
        seen: Seen::default(),
        via: Via::default(),
        check: Check::Dummy { len: 12 },
        if_right: (Reject, "unknown user", &[]),
        if_wrong: (Reject, "unknown user", &[]),
    };
    run(vec![
        unknown,
        expect(
            row(
                "locked: a dummy check, nothing judged, nothing counted",
                &locked,
                good(&locked),
                Check::Dummy { len: 6 },
            ),
            (Reject, "locked", &[]),
            (Reject, "locked", &[]),
        ),
        expect(
            row(
                "a lock that just ran out",
                &lock_over,
                good(&lock_over),
                Check::User { len: 6 },
            ),
            totp,
            wrong_pw,
        ),
        expect(
            row(
                "disabled, whatever was typed",
                &disabled,
                good(&disabled),
                Check::User { len: 6 },
            ),
            (Reject, "disabled", &[]),
            (Reject, "disabled", &[]),
        ),
        expect(
            row(
                "temporary password expired",
                &expired,
                good(&expired),
                Check::User { len: 6 },
            ),
            (Reject, "password expired", &[]),
            wrong_pw,
        ),
        expect(
            row(
                "a second before expiry",
                &not_yet,
                good(&not_yet),
                Check::User { len: 6 },
            ),
            totp,
            wrong_pw,
        ),
        expect(
            row(
                "no seed",
                &no_totp,
                "hunter123456".into(),
                Check::User { len: 12 },
            ),
            (Reject, "no active token", &[]),
            (Reject, "wrong password or code", NOTHING),
        ),
    ]);
    // The temporary password is named on the Accept.
    let d = decide(
        Some(&not_yet),
        &good(&not_yet),
        Seen::default(),
        &Via::default(),
    );
    assert_eq!(
        d.right.reason,
        Reason::Accepted {
            by: BY_TOTP,
            temporary_until: Some(NOW as i64 + 1)
        }
    );
    // An unusable hash is a reject of its own, not a failure.
    let input = SecretBytes::from(good(&not_yet).as_bytes());
    let request = Request {
        user_name: "alice",
        input: &input,
        client: "nas",
        mode: Mode::Append,
        state: None,
        allowed_groups: None,
        station: "nas:nas",
        unenrolled: Unenrolled::Reject,
    };
    let u = user(6, None);
    let (t, p) = (tails(&request, Some(&u)), policy(false));
    let inputs = Inputs {
        request: &request,
        user: Some(&u),
        tails: &t,
        seen: &Seen::default(),
        policy: &p,
        now: NOW,
    };
    let v = verdict(&inputs, &plan(&inputs), Some(&Checked::Unusable.into()));
    assert_eq!(summary(&v), (Reject, "unusable password hash", vec![]));
}

#[test]
fn recovery_and_sent_codes() {
    let u = user(6, None);
    let live_sent = Seen {
        sent: true,
        ..Seen::default()
    };
    let recovery = |state| Seen {
        recovery: state,
        ..Seen::default()
    };
    let wrong_pw = (Reject, "wrong password", NOTHING);
    let mut sent = row(
        "a live sent code",
        &u,
        "hunter424242".into(),
        Check::User { len: 6 },
    );
    sent.seen = live_sent;
    let mut unused = row(
        "an unused recovery code (any case)",
        &u,
        "hunterABCDE-fghjk".into(),
        Check::User { len: 6 },
    );
    unused.seen = recovery(RecoveryCodeState::Unused);
    let mut reused = row(
        "a recovery code already used",
        &u,
        "hunterabcde-fghjk".into(),
        Check::User { len: 6 },
    );
    reused.seen = recovery(RecoveryCodeState::Used);
    run(vec![
        expect(
            sent,
            (Accept, "sent code", &["consume sent code", "trust"]),
            wrong_pw,
        ),
        expect(
            unused,
            (Accept, "recovery code", &["consume recovery code", "trust"]),
            wrong_pw,
        ),
        expect(
            reused,
            (Reject, "recovery code already used", FAILED),
            wrong_pw,
        ),
        expect(
            row(
                "recovery-shaped but not one of the user's",
                &u,
                "hunterabcde-fghjk".into(),
                Check::User { len: 17 },
            ),
            (Reject, "password without code", &[]),
            (Reject, "wrong password or code", NOTHING),
        ),
    ]);
    let t = Tails::of(&u, b"hunter2abcde-fghjk", false);
    assert_eq!(
        t.recovery
            .as_ref()
            .map(|(at, c)| (*at, c.expose().to_vec())),
        Some((7, b"abcdefghjk".to_vec()))
    );
    assert!(t.numeric.is_empty());
}

#[test]
fn password_only_sends_codes_and_challenges() {
    let mut with_address = user(8, None);
    with_address.delivery = Some(Delivery {
        channel: Channel::Sms,
        destination: "+41790000000".into(),
    });
    let append_send = Via {
        send: true,
        ..Via::default()
    };
    let challenge = Via {
        challenge_mode: true,
        ..Via::default()
    };
    let challenge_send = Via {
        challenge_mode: true,
        send: true,
        ..Via::default()
    };
    let wrong = (Reject, "wrong password or code", NOTHING);
    let cases = [
        (
            "append, an address, delivery configured",
            &append_send,
            (Reject, "password without code", &["issue code"][..]),
        ),
        (
            "append, no delivery configured",
            &Via::default(),
            (Reject, "password without code", &[][..]),
        ),
        (
            "challenge mode",
            &challenge,
            (Challenge, "code requested", &["open challenge"][..]),
        ),
        (
            "challenge mode and a code sent",
            &challenge_send,
            (
                Challenge,
                "code requested",
                &["issue code", "open challenge"][..],
            ),
        ),
    ];
    for (name, via, if_right) in cases {
        let mut r = row(name, &with_address, "hunter".into(), Check::User { len: 6 });
        r.via = via.clone();
        run(vec![expect(r, if_right, wrong)]);
    }
    let d = decide(Some(&with_address), "hunter", Seen::default(), &append_send);
    assert_eq!(
        d.right.effects,
        [Effect::IssueCode { digits: 8 }],
        "the user's code length"
    );
}

#[test]
fn allowed_groups_are_checked_after_full_authentication() {
    let outsider = user(6, None);
    let member = UserRecord {
        groups: vec!["vpn".into()],
        ..user(6, None)
    };
    let admins_only = Via {
        allowed: Some(vec!["vpn".into()]),
        ..Via::default()
    };
    let refused = (Reject, "not in allowed groups", &[][..]);
    let wrong_pw = (Reject, "wrong password", NOTHING);
    let mut accepted = row(
        "a member",
        &member,
        format!("hunter{}", code(&member, 0)),
        Check::User { len: 6 },
    );
    accepted.via = admins_only.clone();
    let mut outside = row(
        "an outsider: the same check, no code consumed",
        &outsider,
        format!("hunter{}", code(&outsider, 0)),
        Check::User { len: 6 },
    );
    outside.via = admins_only.clone();
    let mut no_code = row(
        "an outsider without a code: no code sent, no challenge",
        &outsider,
        "hunter".into(),
        Check::User { len: 6 },
    );
    no_code.via = Via {
        challenge_mode: true,
        send: true,
        ..admins_only
    };
    run(vec![
        expect(
            accepted,
            (Accept, "TOTP code", &["consume step", "trust"]),
            wrong_pw,
        ),
        expect(outside, refused, wrong_pw),
        expect(
            no_code,
            refused,
            (Reject, "wrong password or code", NOTHING),
        ),
    ]);
    // Every Accept carries the groups' reply attributes.
    let d = decide(
        Some(&member),
        &format!("hunter{}", code(&member, 0)),
        Seen::default(),
        &Via::default(),
    );
    let names: Vec<&str> = d.right.attributes.iter().map(|a| a.name()).collect();
    assert_eq!(names, ["Class"]);
    // Reply attributes that cannot be built refuse the Accept, and consume nothing.
    let broken = UserRecord {
        reply: vec!["Framed-IP-Address=not an address".into()],
        ..user(6, None)
    };
    let d = decide(
        Some(&broken),
        &format!("hunter{}", code(&broken, 0)),
        Seen::default(),
        &Via::default(),
    );
    assert_eq!(
        summary(&d.right),
        (Reject, "invalid reply attributes", vec![])
    );
}

#[test]
fn challenge_answers() {
    let u = user(6, None);
    let used = user(6, Some(step_at(NOW, 30)));
    let owned = |owner: &str| Seen {
        challenge_owner: Some(owner.to_owned()),
        ..Seen::default()
    };
    let answering = Via {
        state: Some(vec![7; 32]),
        ..Via::default()
    };
    let answer = |user: &UserRecord, input: &str, seen: Seen| {
        let d = decide(Some(user), input, seen, &answering);
        assert_eq!(
            d.plan.check,
            Check::None,
            "a challenge answer costs no password check"
        );
        assert_eq!(d.right, d.wrong, "no password in it");
        d.right
    };
    assert_eq!(
        summary(&answer(&u, &code(&u, 0), owned("alice"))),
        (Accept, "TOTP code", vec!["consume step", "trust"])
    );
    let sent = Seen {
        sent: true,
        ..owned("alice")
    };
    assert_eq!(
        summary(&answer(&u, "000000", sent)),
        (Accept, "sent code", vec!["consume sent code", "trust"])
    );
    let recovery = Seen {
        recovery: RecoveryCodeState::Unused,
        ..owned("alice")
    };
    assert_eq!(
        summary(&answer(&u, "abcde-fghjk", recovery)),
        (
            Accept,
            "recovery code",
            vec!["consume recovery code", "trust"]
        )
    );
    assert_eq!(
        summary(&answer(&u, "000000", owned("alice"))),
        (Reject, "wrong code", CODE_FAILED.to_vec())
    );
    assert_eq!(
        summary(&answer(&u, &format!("x{}", code(&u, 0)), owned("alice"))),
        (Reject, "wrong code", FAILED.to_vec())
    );
    assert_eq!(
        summary(&answer(&used, &code(&used, 0), owned("alice"))),
        (Reject, "code already used", FAILED.to_vec())
    );
    assert_eq!(
        answer(&u, &code(&u, 0), Seen::default()).reason,
        Reason::UnknownState(StateProblem::UnknownOrUsed)
    );
    assert_eq!(
        answer(&u, &code(&u, 0), owned("bob")).reason,
        Reason::UnknownState(StateProblem::OtherUser)
    );
    let locked = UserRecord {
        locked_until: Some(NOW as i64 + 60),
        ..user(6, None)
    };
    assert_eq!(
        summary(&answer(&locked, &code(&locked, 0), owned("alice"))),
        (Reject, "locked", vec![])
    );
}

#[test]
fn drift_is_learned_and_bounded() {
    let cur = step_at(NOW, 30);
    let factor = |u: &UserRecord, input: String| {
        let tails = Tails::of(u, input.as_bytes(), false);
        let windows = Windows {
            totp: WINDOW,
            hotp: 10,
        };
        classify(u, &tails, false, RecoveryCodeState::NotFound, windows, NOW).map(|(_, f)| f)
    };
    // A token 3 steps behind, after a resync stored drift -3: its code is found around -3.
    let behind = drifted(-3);
    assert_eq!(
        factor(&behind, format!("pw{}", code(&behind, -3))),
        Some(Factor::Token {
            id: 1,
            kind: TokenKind::Totp,
            value: cur - 3,
            drift: -3
        })
    );
    // Without the learned drift the same code is outside the window.
    let fresh = user(6, None);
    assert_eq!(factor(&fresh, format!("pw{}", code(&fresh, -3))), None);
    // A drift set by resync far beyond the automatic bound is kept, not clamped back.
    let far = drifted(40);
    assert_eq!(
        factor(&far, format!("pw{}", code(&far, 41))),
        Some(Factor::Token {
            id: 1,
            kind: TokenKind::Totp,
            value: cur + 41,
            drift: 41
        })
    );
}

#[test]
fn a_lost_race_is_a_replay_or_a_lock() {
    assert_eq!(
        summary(&lost_race(
            &Consume::Token {
                id: 1,
                value: 1,
                drift: 0
            },
            None,
            NOW
        )),
        (Reject, "code already used", FAILED.to_vec())
    );
    let recovery = Consume::RecoveryCode(SecretBytes::default());
    assert_eq!(
        summary(&lost_race(&recovery, Some(&user(6, None)), NOW)),
        (Reject, "recovery code already used", FAILED.to_vec())
    );
    // Locked at the moment of the commit: no Accept, and nothing more counted.
    let locked = UserRecord {
        locked_until: Some(NOW as i64 + 60),
        ..user(6, None)
    };
    assert_eq!(
        summary(&lost_race(&recovery, Some(&locked), NOW)),
        (Reject, "locked", vec![])
    );
}

#[test]
fn a_guess_is_counted_before_it_is_judged_and_refunded_if_right() {
    let u = user(6, None);
    let input = format!("hunter{}", code(&u, 0));
    let claimed = |claim| Seen {
        claim: Some(claim),
        ..Seen::default()
    };
    for gate in [Gate::User, Gate::Station] {
        let d = decide(
            Some(&u),
            &input,
            claimed(Claim::Granted(gate)),
            &Via::default(),
        );
        assert_eq!(d.plan.check, Check::User { len: 6 });
        assert_eq!(
            d.right.effects.first(),
            Some(&Effect::Refund(gate)),
            "a right password was no wrong guess"
        );
        assert_eq!(
            d.right.effects.last(),
            Some(&Effect::Trust { reset: Some(gate) }),
            "the gate that let it through starts again"
        );
        assert_eq!(
            summary(&d.wrong),
            (Reject, "wrong password", vec![]),
            "stays counted"
        );
        // A right password with a wrong code: refunded, and counted towards the lock instead.
        let d = decide(
            Some(&u),
            "hunter000000",
            claimed(Claim::Granted(gate)),
            &Via::default(),
        );
        assert_eq!(d.right.effects[0], Effect::Refund(gate));
    }
    // Throttled: a dummy check of the same cost, nothing judged, nothing counted.
    let throttled = Claim::Throttled {
        gate: Gate::User,
        until: NOW as i64 + 60,
    };
    let d = decide(Some(&u), &input, claimed(throttled), &Via::default());
    assert_eq!(d.plan.check, Check::Dummy { len: 6 });
    assert_eq!(d.right, d.wrong);
    assert_eq!(summary(&d.right), (Reject, "throttled", vec![]));
    // Who needs a claim: a known user, not locked, not answering a challenge.
    let request = |state: Option<&'static [u8]>| (state, SecretBytes::from(b"x".as_slice()));
    for (state, expected_for_alice) in [(None, true), (Some(&[1u8; 4][..]), false)] {
        let (state, input) = request(state);
        let r = Request {
            user_name: "alice",
            input: &input,
            client: "nas",
            mode: Mode::Append,
            state,
            allowed_groups: None,
            station: "nas:nas",
            unenrolled: Unenrolled::Reject,
        };
        assert_eq!(needs_claim(&r, Some(&u), NOW), expected_for_alice);
        assert!(!needs_claim(&r, None, NOW), "unknown users have no gate");
        let locked = UserRecord {
            locked_until: Some(NOW as i64 + 1),
            ..user(6, None)
        };
        assert!(!needs_claim(&r, Some(&locked), NOW));
    }
}

#[test]
fn stations_are_keyed_by_calling_station_id_else_by_nas() {
    assert_eq!(
        station(Some(" AA-BB-CC-00-11-22 "), "ap1"),
        "id:aa-bb-cc-00-11-22"
    );
    assert_eq!(station(Some(""), "ap1"), "nas:ap1");
    assert_eq!(station(None, "vpn"), "nas:vpn");
}

/// One request through plan and verdict, with what the password source answered.
fn judged(
    user: Option<&UserRecord>,
    input: &str,
    unenrolled: Unenrolled,
    allowed: Option<&[String]>,
    answer: Answer,
) -> (Plan, Verdict) {
    let input = SecretBytes::from(input.as_bytes());
    let request = Request {
        user_name: "alice",
        input: &input,
        client: "nas",
        mode: Mode::Append,
        state: None,
        allowed_groups: allowed,
        station: "nas:nas",
        unenrolled,
    };
    let (t, p) = (tails(&request, user), policy(false));
    let seen = Seen::default();
    let inputs = Inputs {
        request: &request,
        user,
        tails: &t,
        seen: &seen,
        policy: &p,
        now: NOW,
    };
    let plan = plan(&inputs);
    let verdict = verdict(&inputs, &plan, Some(&answer));
    (plan, verdict)
}

fn granted(checked: Checked, groups: &[&str]) -> Answer {
    Answer {
        checked,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Answer::default()
    }
}

/// What, which NAS, its allowed groups, the source's answer, the check planned, the answer.
type UnenrolledCase<'a> = (
    &'a str,
    Unenrolled,
    Option<&'a [String]>,
    Answer,
    Check,
    Outcome,
    &'a str,
);

#[test]
fn an_unenrolled_name_is_checked_only_where_the_nas_allows_it() {
    let only_vpn = ["vpn".to_owned()];
    let cases: &[UnenrolledCase<'_>] = &[
        (
            "a NAS that rejects the unenrolled: a dummy check",
            Unenrolled::Reject,
            None,
            granted(Checked::Wrong, &[]),
            Check::Dummy { len: 12 },
            Reject,
            "unknown user",
        ),
        (
            "roll-out NAS, right directory password",
            Unenrolled::PasswordOnly,
            None,
            granted(Checked::Right, &["vpn"]),
            Check::Unenrolled { len: 12 },
            Accept,
            "accepted without a second factor (not enrolled)",
        ),
        (
            "roll-out NAS, wrong directory password",
            Unenrolled::PasswordOnly,
            None,
            granted(Checked::Wrong, &[]),
            Check::Unenrolled { len: 12 },
            Reject,
            "wrong password",
        ),
        (
            "roll-out NAS, a name the directory does not know",
            Unenrolled::PasswordOnly,
            None,
            granted(Checked::Unknown, &[]),
            Check::Unenrolled { len: 12 },
            Reject,
            "unknown user",
        ),
        (
            "roll-out NAS for a group the directory does not grant",
            Unenrolled::PasswordOnly,
            Some(&only_vpn),
            granted(Checked::Right, &["other"]),
            Check::Unenrolled { len: 12 },
            Reject,
            "not in allowed groups",
        ),
        (
            "roll-out NAS for a group the directory grants",
            Unenrolled::PasswordOnly,
            Some(&only_vpn),
            granted(Checked::Right, &["vpn"]),
            Check::Unenrolled { len: 12 },
            Accept,
            "accepted without a second factor (not enrolled)",
        ),
    ];
    for (what, unenrolled, allowed, answer, check, outcome, reason) in cases {
        let (plan, v) = judged(None, "dir-password", *unenrolled, *allowed, answer.clone());
        assert_eq!(plan.check, *check, "{what}");
        assert_eq!((v.outcome, v.reason.label()), (*outcome, *reason), "{what}");
        assert!(
            v.effects.is_empty(),
            "{what}: nothing to record without a user"
        );
        if v.outcome == Accept {
            // The groups the directory granted bring their reply attributes.
            assert!(!v.attributes.is_empty(), "{what}");
        }
    }
}

#[test]
fn groups_the_source_grants_count_like_radotp_groups() {
    let u = user(6, None);
    let input = format!("hunter{}", code(&u, 0));
    let only_vpn = ["vpn".to_owned()];
    let (_, v) = judged(
        Some(&u),
        &input,
        Unenrolled::Reject,
        Some(&only_vpn),
        granted(Checked::Right, &["vpn"]),
    );
    assert_eq!(v.outcome, Accept, "{:?}", v.reason);
    assert!(
        !v.attributes.is_empty(),
        "the granted group's reply attributes"
    );
    let (_, v) = judged(
        Some(&u),
        &input,
        Unenrolled::Reject,
        Some(&only_vpn),
        granted(Checked::Right, &[]),
    );
    assert_eq!(v.reason, Reason::NotInAllowedGroups);
    // A name the source does not know, for a user radotp knows, is a wrong password.
    let (_, v) = judged(
        Some(&u),
        &input,
        Unenrolled::PasswordOnly,
        None,
        granted(Checked::Unknown, &[]),
    );
    assert_eq!(v.reason, Reason::WrongPassword);
}

/// One request of an upstream user through plan and verdict: `seen` says what the store
/// found (a claim, a relayed challenge), `answer` what the upstream server answered.
fn upstream_judged(
    u: &UserRecord,
    input: &str,
    state: Option<&[u8]>,
    seen: Seen,
    mode: Mode,
    answer: Answer,
) -> (Plan, Verdict) {
    let input = SecretBytes::from(input.as_bytes());
    let request = Request {
        user_name: "alice",
        input: &input,
        client: "nas",
        mode,
        state,
        allowed_groups: None,
        station: "nas:nas",
        unenrolled: Unenrolled::Reject,
    };
    let (t, p) = (tails(&request, Some(u)), policy(false));
    let inputs = Inputs {
        request: &request,
        user: Some(u),
        tails: &t,
        seen: &seen,
        policy: &p,
        now: NOW,
    };
    let plan = plan(&inputs);
    let verdict = verdict(&inputs, &plan, Some(&answer));
    (plan, verdict)
}

fn upstream_user() -> UserRecord {
    UserRecord {
        password_source: crate::store::PasswordSource::Upstream,
        groups: vec!["vpn".into()],
        ..user(6, None)
    }
}

fn upstream_attribute(name: &str, value: &str) -> EncodedAttribute {
    Dictionary::builtin()
        .encode(name, &AttributeValue::from(value))
        .unwrap()
}

#[test]
fn an_upstream_reject_after_a_live_code_is_a_wrong_password_upstream() {
    let u = upstream_user();
    let input = format!("secret{}", code(&u, 0));
    let seen = Seen {
        claim: Some(Claim::Granted(Gate::User)),
        ..Seen::default()
    };
    let rejected = Answer {
        checked: Checked::Rejected,
        ..Answer::default()
    };
    let (plan, verdict) = upstream_judged(&u, &input, None, seen.clone(), Mode::Append, rejected);
    assert_eq!(plan.check, Check::User { len: 6 }, "the code is not sent");
    assert_eq!(verdict.reason, Reason::UpstreamRejected);
    assert_eq!(verdict.reason.label(), "wrong password (upstream)");
    assert!(
        verdict.effects.is_empty(),
        "the guess stays counted, nothing locks"
    );
    // Without a live code the whole input was the password: wrong password or code.
    let rejected = Answer {
        checked: Checked::Rejected,
        ..Answer::default()
    };
    let (plan, verdict) = upstream_judged(&u, "secret000000", None, seen, Mode::Append, rejected);
    assert_eq!(plan.check, Check::User { len: 12 });
    assert_eq!(verdict.reason, Reason::WrongPasswordOrCode);
}

#[test]
fn the_upstream_accept_carries_its_attributes_where_radotp_sets_none() {
    let u = upstream_user();
    let input = format!("secret{}", code(&u, 0));
    let accepted = Answer {
        checked: Checked::Right,
        attributes: vec![
            upstream_attribute("Class", "from-upstream"),
            upstream_attribute("Filter-Id", "staff-acl"),
        ],
        ..Answer::default()
    };
    let (_, verdict) = upstream_judged(&u, &input, None, Seen::default(), Mode::Append, accepted);
    assert_eq!(verdict.outcome, Accept);
    let names: Vec<&str> = verdict.attributes.iter().map(|a| a.name()).collect();
    // The group's Class wins over the upstream's; its Filter-Id passes.
    assert_eq!(names, ["Class", "Filter-Id"]);
    assert_eq!(verdict.attributes[0], authz_class("vpn"));
}

fn authz_class(value: &str) -> EncodedAttribute {
    upstream_attribute("Class", value)
}

#[test]
fn an_upstream_challenge_uses_the_code_now_and_relays_the_question() {
    let u = upstream_user();
    let input = format!("secret{}", code(&u, 0));
    let seen = Seen {
        claim: Some(Claim::Granted(Gate::Station)),
        ..Seen::default()
    };
    let prompt = vec![upstream_attribute("Reply-Message", "Your PIN?")];
    let challenged = Answer {
        checked: Checked::Challenged,
        attributes: prompt.clone(),
        turn: Some((1, b"up-state".to_vec())),
        ..Answer::default()
    };
    let (_, verdict) = upstream_judged(&u, &input, None, seen, Mode::Append, challenged);
    assert_eq!(verdict.outcome, Challenge);
    assert_eq!(verdict.reason, Reason::UpstreamChallenge);
    assert_eq!(verdict.attributes, prompt);
    assert!(matches!(
        verdict.effects[0],
        Effect::Consume(Consume::Token { .. })
    ));
    assert_eq!(
        verdict.effects[1],
        Effect::OpenChallenge {
            groups: Vec::new(),
            relay: Some(Relay {
                server: 1,
                state: b"up-state".to_vec(),
                proven: Some(Proven::Token {
                    id: 1,
                    kind: TokenKind::Totp,
                    drift: 0
                }),
                gate: Some(Gate::Station),
            }),
        }
    );
    assert_eq!(
        verdict.effects.len(),
        2,
        "no refund: the answer is judged later"
    );
}

#[test]
fn the_answer_to_a_relayed_question_goes_upstream_and_its_accept_stands() {
    let u = upstream_user();
    let relay = Relay {
        server: 0,
        state: b"up".to_vec(),
        proven: Some(Proven::SentCode),
        gate: Some(Gate::User),
    };
    let seen = Seen {
        challenge_owner: Some("alice".into()),
        relay: Some(relay.clone()),
        ..Seen::default()
    };
    let accepted = Answer {
        checked: Checked::Right,
        ..Answer::default()
    };
    let (plan, verdict) = upstream_judged(
        &u,
        "4321",
        Some(b"ours"),
        seen.clone(),
        Mode::Append,
        accepted,
    );
    assert_eq!(plan.check, Check::Relay { len: 4 });
    assert_eq!(verdict.outcome, Accept);
    assert_eq!(
        verdict.reason,
        Reason::Accepted {
            by: AcceptedBy::SentCode,
            temporary_until: None
        }
    );
    assert_eq!(
        verdict.effects,
        [Effect::Trust {
            reset: Some(Gate::User)
        }],
        "the code was used at the first request"
    );
    // The upstream refuses the answer: a wrong password (upstream).
    let rejected = Answer {
        checked: Checked::Rejected,
        ..Answer::default()
    };
    let (_, verdict) = upstream_judged(
        &u,
        "4321",
        Some(b"ours"),
        seen.clone(),
        Mode::Append,
        rejected,
    );
    assert_eq!(verdict.reason, Reason::UpstreamRejected);
    // Without a code proven first, the upstream's Accept is only the password.
    let seen = Seen {
        relay: Some(Relay {
            proven: None,
            ..relay
        }),
        ..seen
    };
    let accepted = Answer {
        checked: Checked::Right,
        ..Answer::default()
    };
    let (_, verdict) = upstream_judged(
        &u,
        "4321",
        Some(b"ours"),
        seen.clone(),
        Mode::Challenge,
        accepted,
    );
    assert_eq!(verdict.outcome, Challenge);
    assert_eq!(verdict.reason, Reason::CodeRequested);
    // Someone else's State is refused without asking the upstream.
    let other = Seen {
        challenge_owner: Some("mallory".into()),
        ..seen
    };
    let (plan, verdict) = upstream_judged(
        &u,
        "4321",
        Some(b"ours"),
        other,
        Mode::Append,
        Answer::default(),
    );
    assert_eq!(plan.check, Check::None);
    assert_eq!(
        verdict.reason,
        Reason::UnknownState(StateProblem::OtherUser)
    );
}
