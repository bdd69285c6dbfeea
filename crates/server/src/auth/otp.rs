//! TOTP (RFC 6238): parameters, secrets, code checks and enrollment URIs.
//!
//! Codes are checked with `totp-rs`, one step at a time, so the caller learns exactly which
//! step matched and can refuse a step that was already used (RFC 6238 §5.2).

use std::fmt;
use std::str::FromStr;

use totp_rs::{Builder, Totp};

use crate::invalid::Invalid;
use crate::secret::{SecretBytes, random_bytes};

/// HMAC function of a TOTP token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    fn to_totp_rs(self) -> totp_rs::Algorithm {
        match self {
            Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
            Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
            Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
        }
    }
}

impl FromStr for Algorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().replace('-', "").as_str() {
            "SHA1" => Ok(Algorithm::Sha1),
            "SHA256" => Ok(Algorithm::Sha256),
            "SHA512" => Ok(Algorithm::Sha512),
            _ => Err(format!(
                "\"{s}\" is not a TOTP algorithm; use SHA1, SHA256 or SHA512"
            )),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One user's token parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TotpParams {
    pub algorithm: Algorithm,
    /// 6 or 8.
    pub digits: u8,
    /// Seconds per step (30 for phone apps, 60 for some hardware tokens).
    pub period: u64,
}

/// Code lengths a new enrollment may have.
pub const ENROLLMENT_DIGITS: [u8; 2] = [6, 8];
/// Periods a new enrollment may have: 30 s for phone apps, 60 s for some hardware tokens.
pub const ENROLLMENT_PERIODS: [u64; 2] = [30, 60];
/// Steps either side of now: more is too lax.
pub const MAX_WINDOW: u8 = 10;

impl TotpParams {
    /// The parameters of a new enrollment (`[otp]` defaults, `user add`, `user import`).
    pub fn for_enrollment(algorithm: Algorithm, digits: u64, period: u64) -> Result<Self, Invalid> {
        let digits = match u8::try_from(digits) {
            Ok(d) if ENROLLMENT_DIGITS.contains(&d) => d,
            _ => {
                return Err(Invalid::new(
                    "digits",
                    format!("{digits} is not allowed; use 6 or 8"),
                ));
            }
        };
        if !ENROLLMENT_PERIODS.contains(&period) {
            return Err(Invalid::new(
                "period",
                format!("{period} is not allowed; use 30 (apps) or 60 (some hardware tokens)"),
            ));
        }
        Ok(TotpParams {
            algorithm,
            digits,
            period,
        })
    }
}

/// `[otp]`: what new enrollments get, and how far from now a code may be.
#[derive(Debug, Clone)]
pub struct OtpPolicy {
    /// Shown in authenticator apps next to the user name.
    pub issuer: String,
    pub defaults: TotpParams,
    /// Steps accepted either side of now.
    pub window: u8,
    /// HOTP counters looked at ahead of a token's last used one.
    pub hotp_window: u8,
}

impl OtpPolicy {
    pub fn check(&self) -> Vec<Invalid> {
        let mut problems = Vec::new();
        if self.issuer.trim().is_empty() || self.issuer.contains(':') {
            problems.push(Invalid::new(
                "issuer",
                "must be a non-empty name without ':' (it is shown in authenticator apps)",
            ));
        }
        if self.window > MAX_WINDOW {
            problems.push(Invalid::new(
                "window",
                format!(
                    "{} steps either side is too lax; use 0 to {MAX_WINDOW} (1 is usual)",
                    self.window
                ),
            ));
        }
        let hotp_max = crate::tokens::hotp::MAX_WINDOW;
        if !(1..=hotp_max).contains(&self.hotp_window) {
            problems.push(Invalid::new(
                "hotp_window",
                format!(
                    "{} counters ahead is out of bounds; use 1 to {hotp_max} (10 is usual)",
                    self.hotp_window
                ),
            ));
        }
        problems
    }
}

/// Shortest imported seed we accept: 80 bits, what google-authenticator-libpam issued.
pub const MIN_SECRET_BYTES: usize = 10;
/// Length of the seeds we generate: 160 bits (RFC 4226 §4 recommends it).
pub const GENERATED_SECRET_BYTES: usize = 20;

/// A fresh random 160-bit seed.
pub fn generate_secret() -> SecretBytes {
    SecretBytes::new(random_bytes::<GENERATED_SECRET_BYTES>().to_vec())
}

/// Parse a base32 seed as people paste it: any case, spaces or dashes between groups, `=`
/// padding or none.
pub fn parse_base32_secret(input: &str) -> Result<SecretBytes, String> {
    let cleaned: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if cleaned.is_empty() {
        return Err("the TOTP secret is empty".to_owned());
    }
    if let Some(bad) = cleaned
        .chars()
        .find(|c| !matches!(c, 'A'..='Z' | '2'..='7'))
    {
        return Err(format!(
            "the TOTP secret is not base32: '{bad}' is not one of A-Z and 2-7"
        ));
    }
    let bytes = totp_rs::Secret::try_from_base32(&cleaned)
        .map_err(|_| "the TOTP secret is not valid base32".to_owned())?
        .as_bytes()
        .to_vec();
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "the TOTP secret is {} bits long; at least {} bits are required",
            bytes.len() * 8,
            MIN_SECRET_BYTES * 8
        ));
    }
    Ok(SecretBytes::new(bytes))
}

/// Canonical base32 (RFC 4648, upper case, no padding), as authenticator apps expect.
pub fn to_base32(secret: &SecretBytes) -> String {
    totp_rs::Secret::from(secret.expose().to_vec()).to_base32()
}

fn builder(secret: &SecretBytes, params: TotpParams) -> Builder {
    Builder::new()
        .with_algorithm(params.algorithm.to_totp_rs())
        .with_digits(params.digits)
        .with_skew(0)
        .with_step_duration(params.period)
        .with_secret(secret.expose().to_vec())
}

fn totp(secret: &SecretBytes, params: TotpParams) -> Totp {
    // Parameters are validated where they enter (config, CLI, store), so the non-compliant
    // build is only what lets 80-bit legacy seeds through.
    builder(secret, params).build_noncompliant()
}

/// The time step that `unix_time` falls in.
pub fn step_at(unix_time: u64, period: u64) -> u64 {
    unix_time / period
}

/// The newest step within `window` steps of `now` whose code equals `code`, if any.
///
/// Newest first, so that in the (one in a million) case where two steps in the window share a
/// code, the step recorded as used is the one furthest ahead.
pub fn matching_step(
    secret: &SecretBytes,
    params: TotpParams,
    code: &str,
    now: u64,
    window: u8,
) -> Option<u64> {
    matching_step_around(secret, params, code, now, 0, window)
}

/// Like `matching_step`, but also around `now` shifted by `drift` steps: the learned offset of
/// a token whose clock runs ahead (positive) or behind (negative). The unshifted window stays
/// open too, so a drift learned from one late login cannot lock out a token that is on time.
pub fn matching_step_around(
    secret: &SecretBytes,
    params: TotpParams,
    code: &str,
    now: u64,
    drift: i64,
    window: u8,
) -> Option<u64> {
    if code.len() != usize::from(params.digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, params);
    let now_step = step_at(now, params.period);
    let window = u64::from(window);
    let mut steps: Vec<u64> = [now_step, now_step.saturating_add_signed(drift)]
        .iter()
        .flat_map(|&center| center.saturating_sub(window)..=center.saturating_add(window))
        .collect();
    steps.sort_unstable_by(|a, b| b.cmp(a));
    steps.dedup();
    steps
        .into_iter()
        .find(|&step| totp.check(code, step.saturating_mul(params.period)) == Some(step))
}

/// Resynchronisation: the step of `second` where `first` and `second` are the codes of two
/// consecutive steps within `range` steps of now. Newest match wins.
pub fn consecutive_steps(
    secret: &SecretBytes,
    params: TotpParams,
    first: &str,
    second: &str,
    now: u64,
    range: u64,
) -> Option<u64> {
    let digits = usize::from(params.digits);
    if first.len() != digits || second.len() != digits {
        return None;
    }
    let totp = totp(secret, params);
    let current = step_at(now, params.period);
    let matches = |code: &str, step: u64| totp.check(code, step * params.period) == Some(step);
    (current.saturating_sub(range)..=current + range)
        .rev()
        .find(|&step| step > 0 && matches(second, step) && matches(first, step - 1))
}

/// The code for the step containing `unix_time` (enrollment checks and tests).
pub fn code_at(secret: &SecretBytes, params: TotpParams, unix_time: u64) -> String {
    totp(secret, params).generate(unix_time).to_string()
}

/// The `otpauth://` URI that authenticator apps read from a QR code.
pub fn otpauth_uri(
    issuer: &str,
    account: &str,
    secret: &SecretBytes,
    params: TotpParams,
) -> Result<String, String> {
    builder(secret, params)
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build_noncompliant()
        .to_url()
        .map_err(|e| format!("cannot build the otpauth URI: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 Appendix B seed for SHA1.
    fn rfc_secret() -> SecretBytes {
        SecretBytes::new(b"12345678901234567890".to_vec())
    }

    const SHA1_8: TotpParams = TotpParams {
        algorithm: Algorithm::Sha1,
        digits: 8,
        period: 30,
    };

    #[test]
    fn rfc6238_vectors() {
        for (time, code) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            assert_eq!(code_at(&rfc_secret(), SHA1_8, time), code, "t={time}");
        }
        let sha256 = SecretBytes::new(b"12345678901234567890123456789012".to_vec());
        let params = TotpParams {
            algorithm: Algorithm::Sha256,
            ..SHA1_8
        };
        assert_eq!(code_at(&sha256, params, 59), "46119246");
    }

    #[test]
    fn window_edges() {
        let s = rfc_secret();
        let p = TotpParams {
            digits: 6,
            ..SHA1_8
        };
        let now = 1_000_000_020; // inside step 33_333_334
        let cur = step_at(now, 30);
        let code = |step: u64| code_at(&s, p, step * 30);
        // window 1: previous, current and next are accepted, each reporting its own step.
        assert_eq!(matching_step(&s, p, &code(cur - 1), now, 1), Some(cur - 1));
        assert_eq!(matching_step(&s, p, &code(cur), now, 1), Some(cur));
        assert_eq!(matching_step(&s, p, &code(cur + 1), now, 1), Some(cur + 1));
        // two steps away is outside window 1 but inside window 2.
        assert_eq!(matching_step(&s, p, &code(cur - 2), now, 1), None);
        assert_eq!(matching_step(&s, p, &code(cur + 2), now, 1), None);
        assert_eq!(matching_step(&s, p, &code(cur - 2), now, 2), Some(cur - 2));
        // window 0: only now.
        assert_eq!(matching_step(&s, p, &code(cur - 1), now, 0), None);
        // The very first and last second of a step.
        let start = cur * 30;
        assert_eq!(matching_step(&s, p, &code(cur), start, 0), Some(cur));
        assert_eq!(matching_step(&s, p, &code(cur), start + 29, 0), Some(cur));
    }

    #[test]
    fn drift_window_and_resync() {
        let s = rfc_secret();
        let p = TotpParams {
            digits: 6,
            ..SHA1_8
        };
        let now = 1_000_000_020;
        let cur = step_at(now, 30);
        let code = |step: u64| code_at(&s, p, step * 30);
        // A token 5 steps behind: found around the learned drift, and not without it.
        assert_eq!(
            matching_step_around(&s, p, &code(cur - 5), now, -5, 1),
            Some(cur - 5)
        );
        assert_eq!(matching_step_around(&s, p, &code(cur - 5), now, 0, 1), None);
        // The unshifted window stays open when a drift is learned.
        assert_eq!(
            matching_step_around(&s, p, &code(cur), now, -5, 1),
            Some(cur)
        );
        // Two consecutive codes from an hour ago find their step; out of order they do not.
        let (a, b) = (code(cur - 120), code(cur - 119));
        assert_eq!(consecutive_steps(&s, p, &a, &b, now, 2880), Some(cur - 119));
        assert_eq!(consecutive_steps(&s, p, &b, &a, now, 2880), None);
        assert_eq!(
            consecutive_steps(&s, p, &a, &b, now, 100),
            None,
            "outside the range"
        );
    }

    #[test]
    fn rejects_malformed_codes() {
        let s = rfc_secret();
        let p = TotpParams {
            digits: 6,
            ..SHA1_8
        };
        let good = code_at(&s, p, 100);
        assert!(matching_step(&s, p, &good, 100, 1).is_some());
        assert_eq!(
            matching_step(&s, p, &format!("+{}", &good[1..]), 100, 1),
            None
        );
        assert_eq!(matching_step(&s, p, &good[1..], 100, 1), None);
        assert_eq!(matching_step(&s, p, &format!("{good}0"), 100, 1), None);
        assert_eq!(matching_step(&s, p, "", 100, 1), None);
    }

    #[test]
    fn base32_is_normalised() {
        let canonical = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let s = parse_base32_secret(canonical).unwrap();
        for messy in [
            "jbswy3dpehpk3pxpjbswy3dpehpk3pxp",
            "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP",
            "jbsw-y3dp-ehpk-3pxp-jbsw-y3dp-ehpk-3pxp",
        ] {
            assert_eq!(parse_base32_secret(messy).unwrap(), s, "{messy}");
        }
        assert_eq!(to_base32(&s), canonical);
        // Padding is accepted and dropped.
        let padded = parse_base32_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY======").unwrap();
        assert_eq!(padded.expose(), b"1234567890123456");
        assert!(parse_base32_secret("ABC1").unwrap_err().contains("'1'"));
        assert!(
            parse_base32_secret("JBSWY3DP")
                .unwrap_err()
                .contains("40 bits")
        );
        assert!(parse_base32_secret("  ").is_err());
    }

    #[test]
    fn otpauth_uri_carries_parameters() {
        let s = parse_base32_secret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
        let uri = otpauth_uri(
            "Example VPN",
            "alice",
            &s,
            TotpParams {
                algorithm: Algorithm::Sha256,
                digits: 8,
                period: 60,
            },
        )
        .unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Example%20VPN:alice?"),
            "{uri}"
        );
        for part in [
            "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
            "digits=8",
            "algorithm=SHA256",
            "period=60",
            "issuer=Example%20VPN",
        ] {
            assert!(uri.contains(part), "{uri} lacks {part}");
        }
        assert_eq!(generate_secret().len(), GENERATED_SECRET_BYTES);
    }
}
