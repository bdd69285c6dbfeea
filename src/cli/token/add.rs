//! `token add`: one more token for a user, from the flags of its `--type`.

use std::path::Path;

use clap::Args;

use super::manage::with_user;
use crate::cli::user::totp::{TotpArgs, enroll_totp};
use crate::cli::user::{find_user, now, print_json, store_failure};
use crate::cli::{Failure, load_config, open_store};
use radotp_server::auth::otp;
use radotp_server::secret::SecretBytes;
use radotp_server::store::{NewToken, StoreError, TokenKind, TokenSecret};
use radotp_server::tokens::yubico;

/// `Debug` (the parsed command line's) never shows `--secret`, `--private-id` or `--aes-key`.
#[derive(Args)]
pub(crate) struct AddArgs {
    pub name: String,
    #[arg(long = "type", value_parser = ["totp", "hotp", "yubico"])]
    pub kind: String,
    /// A name for the token, shown by `token list` (default: app, fob or yubikey).
    #[arg(long)]
    pub label: Option<String>,
    /// The device's serial number, if it has one.
    #[arg(long)]
    pub serial: Option<String>,
    /// HOTP: the fob's secret (base32).
    #[arg(long, value_name = "BASE32")]
    pub secret: Option<String>,
    /// HOTP: the counter of the fob's next code (default 0).
    #[arg(long, value_name = "N")]
    pub counter: Option<u64>,
    /// Yubico: the public id, 12 modhex characters (the start of every OTP the key types).
    #[arg(long, value_name = "MODHEX")]
    pub public_id: Option<String>,
    /// Yubico: the private id, 12 hex digits.
    #[arg(long, value_name = "HEX")]
    pub private_id: Option<String>,
    /// Yubico: the AES-128 key, 32 hex digits.
    #[arg(long, value_name = "HEX")]
    pub aes_key: Option<String>,
    #[command(flatten)]
    pub totp: TotpArgs,
}

impl std::fmt::Debug for AddArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "[redacted]");
        f.debug_struct("AddArgs")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("label", &self.label)
            .field("serial", &self.serial)
            .field("secret", &redacted(&self.secret))
            .field("counter", &self.counter)
            .field("public_id", &self.public_id)
            .field("private_id", &redacted(&self.private_id))
            .field("aes_key", &redacted(&self.aes_key))
            .field("totp", &self.totp)
            .finish()
    }
}

/// A flag that does not go with `--type`, named with what to do instead.
fn not_for(kind: &str, flag: &str, given: bool) -> Result<(), Failure> {
    match given {
        true => Err(Failure::Usage(format!(
            "{flag} is not for --type {kind}; see: radotp token add --help"
        ))),
        false => Ok(()),
    }
}

fn required<'a>(kind: &str, flag: &str, value: &'a Option<String>) -> Result<&'a str, Failure> {
    value.as_deref().ok_or_else(|| {
        Failure::Usage(format!(
            "--type {kind} needs {flag}; e.g.: radotp token add alice --type {kind} {flag} …"
        ))
    })
}

/// The token `token add` describes, checked (a TOTP token's secret is shown here, once).
fn new_token(config: &radotp_server::config::Config, args: &AddArgs) -> Result<NewToken, Failure> {
    let kind = args.kind.as_str();
    let t = &args.totp;
    let yubico_flags =
        args.public_id.is_some() || args.private_id.is_some() || args.aes_key.is_some();
    let mut token = match kind {
        "totp" => {
            not_for(
                kind,
                "--secret (TOTP: --totp-secret)",
                args.secret.is_some(),
            )?;
            not_for(kind, "--counter", args.counter.is_some())?;
            not_for(kind, "--public-id/--private-id/--aes-key", yubico_flags)?;
            enroll_totp(config, &args.name, t)?
        }
        "hotp" => {
            not_for(
                kind,
                "--totp-secret (HOTP: --secret)",
                t.totp_secret.is_some(),
            )?;
            not_for(kind, "--period", t.period.is_some())?;
            not_for(kind, "--algorithm (HOTP is SHA1)", t.algorithm.is_some())?;
            not_for(kind, "--qr-png", t.qr_png.is_some())?;
            not_for(kind, "--verify", t.verify)?;
            not_for(kind, "--public-id/--private-id/--aes-key", yubico_flags)?;
            let secret = otp::parse_base32_secret(required(kind, "--secret", &args.secret)?)
                .map_err(|e| Failure::Usage(format!("--secret: {}", e.replace("TOTP ", ""))))?;
            let digits = t.digits.as_deref().map_or(6, |d| d.parse().unwrap_or(6));
            NewToken {
                label: "fob".to_owned(),
                serial: None,
                secret: TokenSecret::Hotp { secret, digits },
                last_used: args.counter.and_then(|c| c.checked_sub(1)),
            }
        }
        _ => {
            not_for(kind, "--secret", args.secret.is_some())?;
            not_for(kind, "--counter", args.counter.is_some())?;
            not_for(kind, "--totp-secret", t.totp_secret.is_some())?;
            not_for(kind, "--digits", t.digits.is_some())?;
            not_for(kind, "--period", t.period.is_some())?;
            not_for(kind, "--algorithm", t.algorithm.is_some())?;
            not_for(kind, "--qr-png", t.qr_png.is_some())?;
            not_for(kind, "--verify", t.verify)?;
            let public_id = required(kind, "--public-id", &args.public_id)?.to_ascii_lowercase();
            if public_id.len() != yubico::PUBLIC_ID_LEN
                || yubico::modhex_decode(&public_id).is_none()
            {
                return Err(Failure::Usage(
                    "--public-id must be 12 modhex characters (cbdefghijklnrtuv), e.g. ccccccbchvth: \
                     the first 12 characters the YubiKey types"
                        .into(),
                ));
            }
            let private_id = hex_secret(required(kind, "--private-id", &args.private_id)?, 6)
                .ok_or_else(|| {
                    Failure::Usage("--private-id must be 12 hex digits (6 bytes)".into())
                })?;
            let aes_key =
                hex_secret(required(kind, "--aes-key", &args.aes_key)?, 16).ok_or_else(|| {
                    Failure::Usage("--aes-key must be 32 hex digits (16 bytes)".into())
                })?;
            NewToken {
                label: "yubikey".to_owned(),
                serial: None,
                secret: TokenSecret::Yubico {
                    public_id,
                    private_id,
                    aes_key,
                },
                last_used: None,
            }
        }
    };
    if let Some(label) = &args.label {
        token.label = label.trim().to_owned();
    }
    token.serial = args.serial.clone();
    Ok(token)
}

/// `len` bytes of hex (either case), or `None`.
pub(crate) fn hex_secret(text: &str, len: usize) -> Option<SecretBytes> {
    radotp_server::secret::from_hex(text.trim()).filter(|s| s.len() == len)
}

pub(super) fn add(config_path: &Path, args: AddArgs) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    find_user(store.as_ref(), &args.name)?;
    let token = new_token(&config, &args)?;
    let id = store
        .add_tokens(&[(args.name.as_str(), token)], now())
        .map_err(|e| match e {
            StoreError::YubikeyTaken { .. } => Failure::Usage(e.to_string()),
            other => store_failure(other),
        })?[0];
    let user = find_user(store.as_ref(), &args.name)?;
    let added = user
        .token(id)
        .ok_or_else(|| Failure::Runtime(format!("token {id} of {} vanished", args.name)))?;
    if args.totp.json {
        // TOTP's --json already printed the secret; other kinds print the token.
        if added.kind() != TokenKind::Totp {
            print_json(&with_user(&args.name, added));
        }
        return Ok(());
    }
    println!(
        "Added {} \"{}\" to {}.",
        added.name(),
        added.label,
        args.name
    );
    if added.kind() == TokenKind::Yubico {
        println!(
            "The YubiKey types 44 characters after the password: RADIUS carries 128 bytes, so \
             {}'s password may be at most 84 bytes.",
            args.name
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::Cli;

    #[test]
    fn the_parsed_command_line_never_shows_a_token_secret() {
        let cli = Cli::parse_from([
            "radotp",
            "token",
            "add",
            "alice",
            "--type",
            "yubico",
            "--public-id",
            "vvccccrbjnkt",
            "--private-id",
            "a1b2c3d4e5f6",
            "--aes-key",
            "000102030405060708090a0b0c0d0e0f",
        ]);
        let hotp = Cli::parse_from([
            "radotp",
            "token",
            "add",
            "bob",
            "--type",
            "hotp",
            "--secret",
            "GEZDGNBVGY3TQOJQ",
        ]);
        let totp = Cli::parse_from([
            "radotp",
            "user",
            "add",
            "carol",
            "--totp-secret",
            "JBSWY3DPEHPK3PXP",
        ]);
        let shown = format!("{cli:?} {hotp:?} {totp:?}");
        for secret in [
            "a1b2c3d4e5f6",
            "000102030405",
            "GEZDGNBVGY3TQOJQ",
            "JBSWY3DPEHPK3PXP",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains("vvccccrbjnkt"),
            "the public id is not a secret: {shown}"
        );
    }
}
