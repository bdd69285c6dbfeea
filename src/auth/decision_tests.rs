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
        locked_until: None,
        recovery_codes_left: 0,
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

#[test]
fn table() {
    let cur = step_at(NOW, 30);
    let fresh = user(6, None);
    let used_now = user(6, Some(cur));
    let eight = user(8, None);
    let disabled = UserRecord {
        disabled: true,
        ..user(6, None)
    };
    let expired = UserRecord {
        password_expires_at: Some(NOW as i64),
        ..user(6, None)
    };
    let not_yet_expired = UserRecord {
        password_expires_at: Some(NOW as i64 + 1),
        ..user(6, None)
    };
    let no_totp = UserRecord {
        totp: None,
        ..user(6, None)
    };

    struct Case<'a> {
        name: &'a str,
        user: Option<&'a UserRecord>,
        input: Vec<u8>,
        // What the core should ask to verify…
        password_len: usize,
        against: Against,
        // …and what it concludes when verification says yes / no.
        if_right: Verdict,
        if_wrong: Verdict,
    }
    use RejectReason::*;
    use Verdict::*;
    let cases = vec![
        Case {
            name: "current code",
            user: Some(&fresh),
            input: input("hunter", &code(&fresh, 0)),
            password_len: 6,
            against: Against::User,
            if_right: Accept { step: cur },
            if_wrong: Reject(WrongPassword),
        },
        Case {
            name: "previous step inside the window",
            user: Some(&fresh),
            input: input("hunter", &code(&fresh, -1)),
            password_len: 6,
            against: Against::User,
            if_right: Accept { step: cur - 1 },
            if_wrong: Reject(WrongPassword),
        },
        Case {
            name: "next step inside the window",
            user: Some(&fresh),
            input: input("hunter", &code(&fresh, 1)),
            password_len: 6,
            against: Against::User,
            if_right: Accept { step: cur + 1 },
            if_wrong: Reject(WrongPassword),
        },
        Case {
            name: "two steps old: outside the window, whole input is the password",
            user: Some(&fresh),
            input: input("hunter", &code(&fresh, -2)),
            password_len: 12,
            against: Against::User,
            if_right: Reject(CodeMissing),
            if_wrong: Reject(WrongPasswordOrCode),
        },
        Case {
            name: "password ending in digits",
            user: Some(&fresh),
            input: input("hunter2024", &code(&fresh, 0)),
            password_len: 10,
            against: Against::User,
            if_right: Accept { step: cur },
            if_wrong: Reject(WrongPassword),
        },
        Case {
            name: "password alone",
            user: Some(&fresh),
            input: input("hunter", ""),
            password_len: 6,
            against: Against::User,
            if_right: Reject(CodeMissing),
            if_wrong: Reject(WrongPasswordOrCode),
        },
        Case {
            name: "replay of the used step",
            user: Some(&used_now),
            input: input("hunter", &code(&used_now, 0)),
            password_len: 6,
            against: Against::User,
            if_right: Reject(CodeAlreadyUsed),
            if_wrong: Reject(WrongPassword),
        },
        Case {
            name: "older step than the used one",
            user: Some(&used_now),
            input: input("hunter", &code(&used_now, -1)),
            password_len: 6,
            against: Against::User,
            if_right: Reject(CodeAlreadyUsed),
            if_wrong: Reject(WrongPassword),
        },
        Case {
            name: "newer step than the used one",
            user: Some(&used_now),
            input: input("hunter", &code(&used_now, 1)),
            password_len: 6,
            against: Against::User,
            if_right: Accept { step: cur + 1 },
            if_wrong: Reject(WrongPassword),
        },
        Case {
            name: "8-digit token",
            user: Some(&eight),
            input: input("pässwörd", &code(&eight, 0)),
            password_len: "pässwörd".len(),
            against: Against::User,
            if_right: Accept { step: cur },
            if_wrong: Reject(WrongPassword),
        },
        Case {
            name: "8-digit user typing a 6-digit-looking tail",
            user: Some(&eight),
            input: input("hunter", "123456"),
            password_len: 12,
            against: Against::User,
            if_right: Reject(CodeMissing),
            if_wrong: Reject(WrongPasswordOrCode),
        },
        Case {
            name: "unknown user costs a dummy verification",
            user: None,
            input: input("hunter", "123456"),
            password_len: 12,
            against: Against::Dummy,
            if_right: Reject(UnknownUser),
            if_wrong: Reject(UnknownUser),
        },
        Case {
            name: "disabled user",
            user: Some(&disabled),
            input: input("hunter", &code(&disabled, 0)),
            password_len: 6,
            against: Against::User,
            if_right: Reject(Disabled),
            if_wrong: Reject(Disabled),
        },
        Case {
            name: "temporary password past its expiry",
            user: Some(&expired),
            input: input("hunter", &code(&expired, 0)),
            password_len: 6,
            against: Against::User,
            if_right: Reject(PasswordExpired),
            if_wrong: Reject(WrongPassword),
        },
        Case {
            name: "temporary password a second before its expiry",
            user: Some(&not_yet_expired),
            input: input("hunter", &code(&not_yet_expired, 0)),
            password_len: 6,
            against: Against::User,
            if_right: Accept { step: cur },
            if_wrong: Reject(WrongPassword),
        },
        Case {
            name: "user without a seed",
            user: Some(&no_totp),
            input: input("hunter", "123456"),
            password_len: 12,
            against: Against::User,
            if_right: Reject(NoTotpEnrolled),
            if_wrong: Reject(NoTotpEnrolled),
        },
    ];
    for case in cases {
        let plan = plan(case.user, &case.input, WINDOW, NOW);
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

#[test]
fn unusable_hash_is_a_reject() {
    let u = user(6, None);
    let plan = plan(Some(&u), b"whatever", WINDOW, NOW);
    assert_eq!(
        verdict(Some(&u), &plan, None, NOW),
        Verdict::Reject(RejectReason::UnusableHash)
    );
}
