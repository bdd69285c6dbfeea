//! TOTP codes (RFC 6238, SHA1, 6 digits, 30 s) for test users, computed with `totp-rs`, and
//! the time they are computed at.
//!
//! Every radotp these tests start reads its clock from the test (`RADOTP_TEST_CLOCK`, honoured
//! by debug builds only): it starts at `T0`, in the middle of a 30 s step, and moves only when
//! a test moves it (`Server::advance`). So a code computed here is the code the server expects,
//! with no step edge to wait for. A release build (the timing measurement) runs on the real
//! clock instead, and `settle` waits out a step edge there.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use totp_rs::{Algorithm, Builder, Secret};

/// The time every test server starts at: 15 s into a 30 s (and a 60 s) step.
pub const T0: u64 = 1_800_000_015;

/// The clock of a server that nobody advanced.
pub fn now() -> u64 {
    if cfg!(debug_assertions) {
        T0
    } else {
        wall_clock()
    }
}

pub fn wall_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// On the real clock (release builds), wait until at least `margin` seconds remain in the
/// current 30 s step; on the test clock there is nothing to wait for.
pub fn settle(margin: u64) {
    if cfg!(debug_assertions) {
        return;
    }
    let left = 30 - wall_clock() % 30;
    if left < margin {
        std::thread::sleep(Duration::from_secs(left + 1));
    }
}

fn totp(secret_b32: &str) -> totp_rs::Totp {
    let secret = Secret::try_from_base32(secret_b32).expect("base32 secret");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(secret)
        .build_noncompliant()
}

/// The 6-digit SHA1/30 s code at `unix` seconds.
pub fn code_at(secret_b32: &str, unix: u64) -> String {
    totp(secret_b32).generate(unix).to_string()
}

/// The code valid now.
pub fn code_now(secret_b32: &str) -> String {
    code_at(secret_b32, now())
}

/// A 6-digit code that is none of the codes valid within ±2 steps of now.
pub fn wrong_code(secret_b32: &str) -> String {
    let t = now();
    let valid: Vec<String> = (0..5)
        .map(|i| code_at(secret_b32, t + i * 30 - 60))
        .collect();
    (0..1000u32)
        .map(|n| format!("{:06}", (n * 7919 + 123_457) % 1_000_000))
        .find(|c| !valid.contains(c))
        .unwrap()
}
