//! Table tests of the decision core, with time passed in.

use super::*;
use crate::auth::otp::{Algorithm, TotpParams, code_at, step_at};
use crate::secret::SecretBytes;
use crate::store::{TotpSeed, UserRecord};

const NOW: u64 = 1_700_000_015;
const WINDOW: u8 = 1;

fn user(digits: u8, last_step: Option<u64>) -> UserRecord {
    UserRecord {
        name: "alice".into(),
        password_hash: "unused by the core".into(),
        totp: Some(TotpSeed {
            secret: SecretBytes::new(b"12345678901234567890".to_vec()),
            params: TotpParams {
                algorithm: Algorithm::Sha1,
                digits,
                period: 30,
            },
        }),
        last_step,
        disabled: false,
        created_at: 0,
        last_login_at: None,
        password_expires_at: None,
        failures: 0,
        locks: 0,
        locked_until: None,
        recovery_codes_left: 0,
        delivery: None,
        drift: 0,
        groups: Vec::new(),
        reply: Vec::new(),
    }
}

fn code(u: &UserRecord, offset_steps: i64) -> String {
    let seed = u.totp.as_ref().unwrap();
    code_at(
        &seed.secret,
        seed.params,
        (NOW as i64 + offset_steps * 30) as u64,
    )
}

fn input(password: &str, code: &str) -> Vec<u8> {
    format!("{password}{code}").into_bytes()
}

struct Case<'a> {
    name: &'a str,
    user: Option<&'a UserRecord>,
    input: Vec<u8>,
    found: Found,
    // What the core should ask to verify…
    password_len: usize,
    against: Against,
    // …and what it concludes when verification says yes / no.
    if_right: Verdict,
    if_wrong: Verdict,
}

fn run(cases: Vec<Case>) {
    for case in cases {
        let tails = case
            .user
            .map(|u| Tails::of(u, &case.input, false))
            .unwrap_or_default();
        let plan = plan(case.user, &case.input, &tails, case.found, WINDOW, NOW);
        assert_eq!(plan.password_len, case.password_len, "{}", case.name);
        assert_eq!(plan.against, case.against, "{}", case.name);
        assert_eq!(
            verdict(case.user, &plan, Some(true), NOW),
            case.if_right,
            "{}",
            case.name
        );
        assert_eq!(
            verdict(case.user, &plan, Some(false), NOW),
            case.if_wrong,
            "{}",
            case.name
        );
    }
}

const NONE: Found = Found {
    sent: false,
    recovery: false,
};

#[test]
fn totp_table() {
    use RejectReason::*;
    use Verdict::*;
    let cur = step_at(NOW, 30);
    let fresh = user(6, None);
    let used_now = user(6, Some(cur));
    let eight = user(8, None);
    let totp = |step: u64, drift: i64| Accept(Factor::Totp { step, drift });
    let case = |name, user, input, password_len, if_right, if_wrong| Case {
        name,
        user,
        input,
        found: NONE,
        password_len,
        against: Against::User,
        if_right,
        if_wrong,
    };
    run(vec![
        case(
            "current code",
            Some(&fresh),
            input("hunter", &code(&fresh, 0)),
            6,
            totp(cur, 0),
            Reject(WrongPassword),
        ),
        case(
            "previous step",
            Some(&fresh),
            input("hunter", &code(&fresh, -1)),
            6,
            totp(cur - 1, -1),
            Reject(WrongPassword),
        ),
        case(
            "next step",
            Some(&fresh),
            input("hunter", &code(&fresh, 1)),
            6,
            totp(cur + 1, 1),
            Reject(WrongPassword),
        ),
        case(
            "two steps old: outside the window",
            Some(&fresh),
            input("hunter", &code(&fresh, -2)),
            12,
            Reject(CodeMissing),
            Reject(WrongPasswordOrCode),
        ),
        case(
            "password ending in digits",
            Some(&fresh),
            input("hunter2024", &code(&fresh, 0)),
            10,
            totp(cur, 0),
            Reject(WrongPassword),
        ),
        case(
            "password alone",
            Some(&fresh),
            input("hunter", ""),
            6,
            Reject(CodeMissing),
            Reject(WrongPasswordOrCode),
        ),
        case(
            "replay of the used step",
            Some(&used_now),
            input("hunter", &code(&used_now, 0)),
            6,
            Reject(CodeAlreadyUsed),
            Reject(WrongPassword),
        ),
        case(
            "older than the used step",
            Some(&used_now),
            input("hunter", &code(&used_now, -1)),
            6,
            Reject(CodeAlreadyUsed),
            Reject(WrongPassword),
        ),
        case(
            "newer than the used step",
            Some(&used_now),
            input("hunter", &code(&used_now, 1)),
            6,
            totp(cur + 1, 1),
            Reject(WrongPassword),
        ),
        case(
            "8-digit token",
            Some(&eight),
            input("pässwörd", &code(&eight, 0)),
            "pässwörd".len(),
            totp(cur, 0),
            Reject(WrongPassword),
        ),
        case(
            "8-digit user, 6-digit tail",
            Some(&eight),
            input("hunter", "123456"),
            12,
            Reject(CodeMissing),
            Reject(WrongPasswordOrCode),
        ),
    ]);
}

#[test]
fn accounts_table() {
    use RejectReason::*;
    use Verdict::*;
    let cur = step_at(NOW, 30);
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
        totp: None,
        ..user(6, None)
    };
    let case = |name, user: &'static UserRecord, if_right, if_wrong| Case {
        name,
        user: Some(user),
        input: input("hunter", &code(&user6(), 0)),
        found: NONE,
        password_len: if user.totp.is_some() { 6 } else { 12 },
        against: Against::User,
        if_right,
        if_wrong,
    };
    let leak = |u: UserRecord| -> &'static UserRecord { Box::leak(Box::new(u)) };
    run(vec![
        Case {
            name: "unknown user costs a dummy verification",
            user: None,
            input: input("hunter", "123456"),
            found: NONE,
            password_len: 12,
            against: Against::Dummy,
            if_right: Reject(UnknownUser),
            if_wrong: Reject(UnknownUser),
        },
        case(
            "disabled",
            leak(disabled),
            Reject(Disabled),
            Reject(Disabled),
        ),
        case(
            "temporary password expired",
            leak(expired),
            Reject(PasswordExpired),
            Reject(WrongPassword),
        ),
        case(
            "a second before expiry",
            leak(not_yet),
            Accept(Factor::Totp {
                step: cur,
                drift: 0,
            }),
            Reject(WrongPassword),
        ),
        case(
            "no seed",
            leak(no_totp),
            Reject(NoTotpEnrolled),
            Reject(WrongPasswordOrCode),
        ),
    ]);
}

fn user6() -> UserRecord {
    user(6, None)
}

#[test]
fn recovery_and_sent_codes() {
    use RejectReason::*;
    use Verdict::*;
    let u = user(6, None);
    run(vec![
        Case {
            name: "a live sent code",
            user: Some(&u),
            input: input("hunter", "424242"),
            found: Found {
                sent: true,
                recovery: false,
            },
            password_len: 6,
            against: Against::User,
            if_right: Accept(Factor::Sent),
            if_wrong: Reject(WrongPassword),
        },
        Case {
            name: "an unused recovery code (any case)",
            user: Some(&u),
            input: input("hunter", "ABCDE-fghjk"),
            found: Found {
                sent: false,
                recovery: true,
            },
            password_len: 6,
            against: Against::User,
            if_right: Accept(Factor::Recovery),
            if_wrong: Reject(WrongPassword),
        },
        Case {
            name: "recovery-shaped but not one of the user's",
            user: Some(&u),
            input: input("hunter", "abcde-fghjk"),
            found: NONE,
            password_len: 17,
            against: Against::User,
            if_right: Reject(CodeMissing),
            if_wrong: Reject(WrongPasswordOrCode),
        },
    ]);
    let tails = Tails::of(&u, b"hunter2abcde-fghjk", false);
    assert_eq!(
        tails
            .recovery
            .as_ref()
            .map(|(at, c)| (*at, c.expose().to_vec())),
        Some((7, b"abcdefghjk".to_vec()))
    );
    assert!(tails.numeric.is_none());
}

#[test]
fn drift_is_learned_and_bounded() {
    let cur = step_at(NOW, 30);
    // A token 3 steps behind, after a resync stored drift -3: its code is found around -3.
    let behind = UserRecord {
        drift: -3,
        ..user(6, None)
    };
    let tails = Tails::of(&behind, &input("pw", &code(&behind, -3)), false);
    let plan = plan(
        Some(&behind),
        &input("pw", &code(&behind, -3)),
        &tails,
        NONE,
        WINDOW,
        NOW,
    );
    assert_eq!(
        plan.factor,
        Factor::Totp {
            step: cur - 3,
            drift: -3
        }
    );
    // Without the learned drift the same code is outside the window.
    let fresh = user(6, None);
    let tails = Tails::of(&fresh, &input("pw", &code(&fresh, -3)), false);
    assert_eq!(plan_factor(&fresh, &tails), Factor::None);
    // A drift set by resync far beyond the automatic bound is kept, not clamped back.
    let far = UserRecord {
        drift: 40,
        ..user(6, None)
    };
    let tails = Tails::of(&far, &input("pw", &code(&far, 41)), false);
    assert_eq!(
        plan_factor(&far, &tails),
        Factor::Totp {
            step: cur + 41,
            drift: 41
        }
    );
}

fn plan_factor(u: &UserRecord, tails: &Tails) -> Factor {
    plan(Some(u), b"ignored", tails, NONE, WINDOW, NOW).factor
}

#[test]
fn challenge_answers() {
    let cur = step_at(NOW, 30);
    let u = user(6, None);
    let answer = |text: &str, found| {
        let tails = Tails::of(&u, text.as_bytes(), true);
        respond(&u, &tails, found, WINDOW, NOW)
    };
    assert_eq!(
        answer(&code(&u, 0), NONE),
        Verdict::Accept(Factor::Totp {
            step: cur,
            drift: 0
        })
    );
    assert_eq!(
        answer(
            "000000",
            Found {
                sent: true,
                recovery: false
            }
        ),
        Verdict::Accept(Factor::Sent)
    );
    assert_eq!(
        answer(
            "abcde-fghjk",
            Found {
                sent: false,
                recovery: true
            }
        ),
        Verdict::Accept(Factor::Recovery)
    );
    assert_eq!(
        answer("000000", NONE),
        Verdict::Reject(RejectReason::WrongCode)
    );
    assert_eq!(
        answer(&format!("x{}", code(&u, 0)), NONE),
        Verdict::Reject(RejectReason::WrongCode)
    );
    let used = user(6, Some(cur));
    let tails = Tails::of(&used, code(&used, 0).as_bytes(), true);
    assert_eq!(
        respond(&used, &tails, NONE, WINDOW, NOW),
        Verdict::Reject(RejectReason::CodeAlreadyUsed)
    );
}

#[test]
fn unusable_hash_is_a_reject() {
    let u = user(6, None);
    let tails = Tails::of(&u, b"whatever", false);
    let plan = plan(Some(&u), b"whatever", &tails, NONE, WINDOW, NOW);
    assert_eq!(
        verdict(Some(&u), &plan, None, NOW),
        Verdict::Reject(RejectReason::UnusableHash)
    );
}
