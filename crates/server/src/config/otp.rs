//! `[otp]` → `auth::otp::OtpPolicy` (the enrollment bounds are TOTP's).

use serde::Deserialize;

use super::problems::Problems;
use crate::auth::otp::{Algorithm, OtpPolicy, TotpParams};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOtp {
    #[serde(default = "default_issuer")]
    pub issuer: String,
    #[serde(default = "default_digits")]
    pub digits: u64,
    #[serde(default = "default_period")]
    pub period: u64,
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    #[serde(default = "default_window")]
    pub window: u64,
    #[serde(default = "default_hotp_window")]
    pub hotp_window: u64,
}

impl Default for RawOtp {
    fn default() -> Self {
        Self {
            issuer: default_issuer(),
            digits: default_digits(),
            period: default_period(),
            algorithm: default_algorithm(),
            window: default_window(),
            hotp_window: default_hotp_window(),
        }
    }
}

fn default_issuer() -> String {
    "radotp".to_owned()
}

fn default_digits() -> u64 {
    6
}

fn default_period() -> u64 {
    30
}

fn default_algorithm() -> String {
    "SHA1".to_owned()
}

fn default_window() -> u64 {
    1
}

/// Presses of an HOTP fob that were not used for a login (RFC 4226 §7.4's look-ahead).
fn default_hotp_window() -> u64 {
    10
}

pub(super) fn policy(raw: &RawOtp, problems: &mut Problems) -> Option<OtpPolicy> {
    let algorithm = raw
        .algorithm
        .parse::<Algorithm>()
        .map_err(|message| problems.add("otp.algorithm", message))
        .ok();
    // Any algorithm, to learn what else is wrong with the parameters.
    let params =
        TotpParams::for_enrollment(algorithm.unwrap_or(Algorithm::Sha1), raw.digits, raw.period)
            .map_err(|invalid| problems.extend("otp", vec![invalid]))
            .ok();
    let policy = OtpPolicy {
        issuer: raw.issuer.trim().to_owned(),
        defaults: params.unwrap_or(TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        }),
        window: u8::try_from(raw.window).unwrap_or(u8::MAX),
        hotp_window: u8::try_from(raw.hotp_window).unwrap_or(u8::MAX),
    };
    problems.extend("otp", policy.check());
    (algorithm.is_some() && params.is_some()).then_some(policy)
}
