//! Several tokens of one user: which token a tail belongs to, where the password ends, and
//! replays told apart from wrong codes, for TOTP, HOTP and Yubico OTP side by side.

use super::*;
use crate::auth::otp::{Algorithm, TotpParams, code_at};
use crate::store::TotpSeed;

const NOW: u64 = 1_700_000_015;
const WINDOWS: Windows = Windows { totp: 1, hotp: 10 };
/// Yubico OTPs made by python3-yubiotp (see `tokens::yubico`'s tests): AES key 00..0f,
/// private id a1b2c3d4e5f6, public id vvccccrbjnkt; (session counter, use counter) (1, 0),
/// (1, 255) and (2, 0).
const OTP_1_0: &str = "vvccccrbjnktggcbcbfukrrncnnbbjggdkkjkituhkun";
const OTP_1_255: &str = "vvccccrbjnktbkhgeckdcjhfhiifjvlfkefrclfgrntt";
const OTP_2_0: &str = "vvccccrbjnktdvfjcdhlbevbrvrdukedelcenclnenhf";

fn token(id: u32, secret: TokenSecret, last_used: Option<u64>) -> Token {
    Token {
        id,
        label: String::new(),
        serial: None,
        secret,
        last_used,
        drift: 0,
        disabled: false,
        created_at: 0,
        last_used_at: None,
    }
}

fn totp_seed() -> TotpSeed {
    TotpSeed {
        secret: SecretBytes::new(b"12345678901234567890".to_vec()),
        params: TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        },
    }
}

fn hotp_secret() -> SecretBytes {
    SecretBytes::new(b"hotp fob secret 0123".to_vec())
}

/// A phone app (6-digit TOTP, token 1), an 8-digit HOTP fob whose counter 1 was used (token
/// 2), and a YubiKey whose (1, 0) OTP was used (token 3).
fn user() -> UserRecord {
    let yubikey = TokenSecret::Yubico {
        public_id: "vvccccrbjnkt".into(),
        private_id: SecretBytes::new(vec![0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6]),
        aes_key: SecretBytes::new((0..16).collect()),
    };
    UserRecord::new(
        "alice",
        "",
        vec![
            token(1, TokenSecret::Totp(totp_seed()), None),
            token(
                2,
                TokenSecret::Hotp {
                    secret: hotp_secret(),
                    digits: 8,
                },
                Some(1),
            ),
            token(3, yubikey, Some(256)),
        ],
    )
}

fn hotp(counter: u64) -> String {
    Hotp::new(&hotp_secret(), 8).unwrap().code(counter)
}

fn classified(u: &UserRecord, input: &str) -> Option<(usize, Factor)> {
    let tails = Tails::of(u, input.as_bytes(), false);
    classify(u, &tails, false, RecoveryCodeState::NotFound, WINDOWS, NOW)
}

fn live(id: u32, kind: TokenKind, value: u64) -> Factor {
    Factor::Token {
        id,
        kind,
        value,
        drift: 0,
    }
}

#[test]
fn each_kind_of_token_is_found_by_the_shape_of_its_code() {
    let u = user();
    let totp = code_at(&totp_seed().secret, totp_seed().params, NOW);
    let step = otp::step_at(NOW, 30);
    assert_eq!(
        classified(&u, &format!("pw{totp}")),
        Some((2, live(1, TokenKind::Totp, step)))
    );
    // The fob's next press, and one a few presses ahead (within the look-ahead).
    assert_eq!(
        classified(&u, &format!("hunter2{}", hotp(2))),
        Some((7, live(2, TokenKind::Hotp, 2)))
    );
    assert_eq!(
        classified(&u, &format!("hunter2{}", hotp(11))),
        Some((7, live(2, TokenKind::Hotp, 11)))
    );
    // Past the look-ahead: no code (a resync brings the fob back).
    assert_eq!(classified(&u, &format!("hunter2{}", hotp(12))), None);
    // A YubiKey's OTP is newer when its (session, use) pair is: (1, 255), then (2, 0).
    assert_eq!(
        classified(&u, &format!("pässwörd{OTP_1_255}")),
        Some(("pässwörd".len(), live(3, TokenKind::Yubico, 511)))
    );
    assert_eq!(
        classified(&u, &format!("p{}", OTP_2_0.to_uppercase())),
        Some((1, live(3, TokenKind::Yubico, 512))),
        "caps lock on"
    );
}

#[test]
fn used_codes_are_replays_of_their_own_token() {
    let u = user();
    let used = |id, kind| Some(Factor::UsedToken { id, kind });
    assert_eq!(
        classified(&u, &format!("pw{OTP_1_0}")).map(|(_, f)| f),
        used(3, TokenKind::Yubico)
    );
    assert_eq!(
        classified(&u, &format!("pw{}", hotp(1))).map(|(_, f)| f),
        used(2, TokenKind::Hotp)
    );
    assert_eq!(
        classified(&u, &format!("pw{}", hotp(0))).map(|(_, f)| f),
        used(2, TokenKind::Hotp)
    );
}

#[test]
fn a_disabled_token_or_another_users_key_proves_nothing() {
    let mut u = user();
    u.tokens[1].disabled = true;
    assert_eq!(classified(&u, &format!("pw{}", hotp(2))), None);
    let mut other = user();
    if let TokenSecret::Yubico { public_id, .. } = &mut other.tokens[2].secret {
        *public_id = "vvccccrbjnkb".into();
    }
    assert_eq!(classified(&other, &format!("pw{OTP_2_0}")), None);
    // The right public id with a wrong key: the CRC fails.
    let mut wrong_key = user();
    if let TokenSecret::Yubico { aes_key, .. } = &mut wrong_key.tokens[2].secret {
        *aes_key = SecretBytes::new(vec![7; 16]);
    }
    assert_eq!(classified(&wrong_key, &format!("pw{OTP_2_0}")), None);
    // Without an active token nothing is a code.
    let mut none = user();
    none.tokens.iter_mut().for_each(|t| t.disabled = true);
    let tails = Tails::of(&none, format!("pw{OTP_2_0}").as_bytes(), false);
    assert!(tails.numeric.is_empty() && tails.yubico.is_none());
}

#[test]
fn numeric_tails_of_every_length_and_the_sent_code() {
    let u = user();
    let tails = Tails::of(&u, b"hunter212345678", false);
    let lengths: Vec<usize> = tails.numeric.iter().map(|(_, c)| c.len()).collect();
    assert_eq!(lengths, [6, 8]);
    // A code sent to the user has the digits of their first token.
    assert_eq!(u.code_digits(), 6);
    assert_eq!(
        tails.sent_code().map(|c| c.expose().to_vec()),
        Some(b"345678".to_vec())
    );
    // A challenge answer is the code alone.
    let whole = Tails::of(&u, OTP_2_0.as_bytes(), true);
    assert_eq!(whole.yubico.map(|t| t.at), Some(0));
    assert!(
        Tails::of(&u, format!("x{OTP_2_0}").as_bytes(), true)
            .yubico
            .is_none()
    );
}

#[test]
fn the_token_used_last_is_tried_first() {
    // Two fobs with the same secret: the code matches both; the one used last takes it.
    let mut u = user();
    u.tokens.push(token(
        4,
        TokenSecret::Hotp {
            secret: hotp_secret(),
            digits: 8,
        },
        Some(1),
    ));
    assert_eq!(
        classified(&u, &format!("pw{}", hotp(2))),
        Some((2, live(2, TokenKind::Hotp, 2))),
        "never used: by id"
    );
    u.tokens[3].last_used_at = Some(50);
    assert_eq!(
        classified(&u, &format!("pw{}", hotp(2))),
        Some((2, live(4, TokenKind::Hotp, 2)))
    );
}
