//! The cheap part of a login with several tokens: how long the decision's plan — the input's
//! tails, then each candidate token checked (HMACs, one AES block) — takes per request, for a
//! user with 1 and with 10 tokens, before the one password check. Prints figures.
//!
//!     cargo run --release -p radotp-server --example token_checks
//!
//! For each set of tokens: the code of the first token, the code of the last one (every token
//! before it checked first), and a wrong code (every token checked, nothing matches).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use radotp_server::auth::decision::{self, Inputs, Policy, Request, Seen};
use radotp_server::auth::otp::{self, Algorithm, TotpParams};
use radotp_server::auth::{Mode, Unenrolled};
use radotp_server::secret::SecretBytes;
use radotp_server::store::{LockoutPolicy, Token, TokenSecret, TotpSeed, UserRecord};
use radotp_server::tokens::hotp::Hotp;

const NOW: u64 = 1_700_000_015;
/// Yubico OTP of the key below (python3-yubiotp, see `tokens::yubico`'s tests).
const OTP: &str = "vvccccrbjnktdvfjcdhlbevbrvrdukedelcenclnenhf";
/// Each measurement is the median of this many rounds.
const ROUNDS: usize = 15;
/// Requests per round (bounded in count, and the whole run takes a few seconds).
const PER_ROUND: u32 = 2_000;

fn secret(n: u8) -> SecretBytes {
    SecretBytes::new(vec![n; 20])
}

fn totp(n: u8) -> TokenSecret {
    TokenSecret::Totp(TotpSeed {
        secret: secret(n),
        params: TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        },
    })
}

fn hotp(n: u8) -> TokenSecret {
    TokenSecret::Hotp {
        secret: secret(n),
        digits: 6,
    }
}

fn yubikey(public_id: &str) -> TokenSecret {
    TokenSecret::Yubico {
        public_id: public_id.into(),
        private_id: SecretBytes::new(vec![0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6]),
        aes_key: SecretBytes::new((0..16).collect()),
    }
}

fn user(secrets: Vec<TokenSecret>) -> UserRecord {
    let tokens = secrets
        .into_iter()
        .zip(1..)
        .map(|(secret, id)| Token {
            id,
            label: String::new(),
            serial: None,
            secret,
            last_used: Some(100),
            drift: 0,
            disabled: false,
            created_at: 0,
            last_used_at: None,
        })
        .collect();
    UserRecord::new("alice", "", tokens)
}

/// The code the token of `secret` shows now (its next code, for HOTP).
fn code_of(secret: &TokenSecret) -> String {
    match secret {
        TokenSecret::Totp(seed) => otp::code_at(&seed.secret, seed.params, NOW),
        TokenSecret::Hotp { secret, digits } => Hotp::new(secret, *digits).unwrap().code(101),
        TokenSecret::Yubico { .. } => OTP.to_owned(),
    }
}

/// Median time of one plan for `input`.
fn per_request(user: &UserRecord, input: &str, policy: &Policy) -> Duration {
    let input = SecretBytes::from(format!("hunter2{input}").as_bytes());
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
    let seen = Seen::default();
    let mut rounds: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..PER_ROUND {
                let tails = decision::tails(&request, Some(user));
                let inputs = Inputs {
                    request: &request,
                    user: Some(user),
                    tails: &tails,
                    seen: &seen,
                    policy,
                    now: NOW,
                };
                black_box(decision::plan(black_box(&inputs)));
            }
            started.elapsed() / PER_ROUND
        })
        .collect();
    rounds.sort();
    rounds[ROUNDS / 2]
}

fn main() {
    let policy = Policy {
        window: 1,
        hotp_window: 10,
        send_limits: None,
        lockout: LockoutPolicy {
            max_failures: 5,
            base_secs: 60,
            max_secs: 3600,
            trusted_station_days: 90,
        },
        authorization: Arc::default(),
    };
    // 3 TOTP, 4 HOTP (the last token among them), 3 YubiKeys of other public ids.
    let mixed = |n: u8| match n % 3 {
        0 => totp(n),
        1 => hotp(n),
        _ => yubikey("vvccccrbjnkb"),
    };
    let sets: Vec<(&str, Vec<TokenSecret>)> = vec![
        ("1 TOTP", vec![totp(1)]),
        ("1 HOTP", vec![hotp(1)]),
        ("1 YubiKey", vec![yubikey("vvccccrbjnkt")]),
        ("10 TOTP", (1..=10).map(totp).collect()),
        ("10 HOTP", (1..=10).map(hotp).collect()),
        ("10 mixed", (1..=10).map(mixed).collect()),
        (
            "9 TOTP + YubiKey",
            (1..=9).map(totp).chain([yubikey("vvccccrbjnkt")]).collect(),
        ),
    ];
    println!(
        "token checks per request (median of {ROUNDS} rounds of {PER_ROUND}), before the password check:"
    );
    println!(
        "{:<18} {:>12} {:>12} {:>12}",
        "tokens", "first's code", "last's code", "wrong code"
    );
    for (name, secrets) in sets {
        let first = code_of(&secrets[0]);
        let last = code_of(&secrets[secrets.len() - 1]);
        let wrong = if matches!(secrets[secrets.len() - 1], TokenSecret::Yubico { .. }) {
            OTP.replace('d', "e")
        } else {
            "000000".to_owned()
        };
        let u = user(secrets);
        let us = |d: Duration| format!("{:.2} µs", d.as_secs_f64() * 1e6);
        println!(
            "{name:<18} {:>12} {:>12} {:>12}",
            us(per_request(&u, &first, &policy)),
            us(per_request(&u, &last, &policy)),
            us(per_request(&u, &wrong, &policy)),
        );
    }
}
