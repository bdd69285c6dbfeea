//! `radotp user …`: enrollment and account care. Changes go straight to the database, so a
//! running server sees them on its next request.

mod enroll;
pub(crate) mod format;
mod import;
mod manage;
mod settings;
pub(crate) mod totp;

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use clap::Subcommand;

use super::Failure;
use radotp_server::admin::users;
use radotp_server::secret::SecretBytes;
use radotp_server::store::{Store, StoreError, UserRecord};

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user with a password and a TOTP secret; prints the enrollment QR code (or,
    /// with --no-token, none: invite them to enroll on the web page).
    #[command(after_help = "Examples:\n  \
        radotp user add alice                       (asks for the password twice)\n  \
        radotp user add bob --no-token --email bob@example.org && radotp user invite bob --send\n  \
        echo 'their password' | radotp user add bob --password-stdin --json\n  \
        radotp user add carol --totp-secret 'JBSW Y3DP EHPK 3PXP' --digits 8 --verify")]
    Add(enroll::AddArgs),
    /// List users: state, lock, last login and TOTP parameters (never secrets).
    #[command(after_help = "Example:\n  radotp user list --json")]
    List(manage::ListArgs),
    /// Show one user in full (never secrets).
    #[command(after_help = "Example:\n  radotp user show alice")]
    Show(manage::NameJson),
    /// Set a new password; clears any expiry of a temporary one.
    #[command(
        after_help = "Example:\n  echo 'new password' | radotp user passwd alice --password-stdin"
    )]
    Passwd(manage::PasswdArgs),
    /// Issue a strong temporary password that replaces the password until it expires.
    #[command(after_help = "Example:\n  radotp user temp-password alice --ttl 8h")]
    TempPassword(manage::TempPasswordArgs),
    /// Start over with a new TOTP secret: it replaces all the user's tokens, whose codes stop
    /// working at once (to replace one token of several: radotp token remove / token add).
    #[command(after_help = "Example:\n  radotp user reset-otp alice")]
    ResetOtp(enroll::ResetOtpArgs),
    /// Make a single-use enrollment link for a user without an active token (a new one
    /// replaces the previous); printed, or sent with --send. Needs [web].
    #[command(
        after_help = "Examples:\n  radotp user add bob --no-token && radotp user invite bob\n  \
        radotp user invite bob --send\n  radotp user invite bob --json"
    )]
    Invite(manage::InviteArgs),
    /// Generate 10 single-use recovery codes, replacing any earlier set. Shown once.
    #[command(after_help = "Example:\n  radotp user recovery-codes alice")]
    RecoveryCodes(manage::NameJson),
    /// Refuse all logins of the user (the log says `disabled`).
    #[command(after_help = "Example:\n  radotp user disable alice")]
    Disable(manage::Name),
    /// Allow logins again after `disable`.
    #[command(after_help = "Example:\n  radotp user enable alice")]
    Enable(manage::Name),
    /// Clear failure counters and any lock.
    #[command(after_help = "Example:\n  radotp user unlock alice")]
    Unlock(manage::Name),
    /// Delete the user and everything that belongs to them.
    #[command(after_help = "Example:\n  radotp user remove alice")]
    Remove(manage::Name),
    /// Change where sent codes go.
    #[command(
        after_help = "Examples:\n  radotp user set alice --sms +41791234567\n  radotp user set alice --no-delivery"
    )]
    Set(settings::SetArgs),
    /// Fix a drifted token from two consecutive codes (a user with one TOTP or HOTP token; else
    /// radotp token resync NAME ID CODE1 CODE2).
    #[command(after_help = "Example:\n  radotp user resync alice 123456 654321")]
    Resync(settings::ResyncArgs),
    /// Create many users from CSV or JSON lines, all or nothing.
    #[command(after_help = import::HELP)]
    Import(import::ImportArgs),
}

pub(super) fn run(config_path: &Path, command: UserCommand) -> Result<(), Failure> {
    match command {
        UserCommand::Add(args) => enroll::add(config_path, args),
        UserCommand::ResetOtp(args) => enroll::reset_otp(config_path, args),
        UserCommand::List(args) => manage::list(config_path, args),
        UserCommand::Show(args) => manage::show(config_path, args),
        UserCommand::Passwd(args) => manage::passwd(config_path, args),
        UserCommand::TempPassword(args) => manage::temp_password(config_path, args),
        UserCommand::RecoveryCodes(args) => manage::recovery_codes(config_path, args),
        UserCommand::Invite(args) => manage::invite(config_path, args),
        UserCommand::Disable(args) => manage::set_disabled(config_path, args, true),
        UserCommand::Enable(args) => manage::set_disabled(config_path, args, false),
        UserCommand::Unlock(args) => manage::unlock(config_path, args),
        UserCommand::Remove(args) => manage::remove(config_path, args),
        UserCommand::Import(args) => import::run(config_path, args),
        UserCommand::Set(args) => settings::set(config_path, args),
        UserCommand::Resync(args) => settings::resync(config_path, args),
    }
}

/// Store errors as the administrator should read them: a missing user is their mistake.
pub(crate) fn store_failure(e: StoreError) -> Failure {
    match e {
        StoreError::UserNotFound(_) | StoreError::TokenNotFound { .. } => {
            Failure::Usage(e.to_string())
        }
        other => Failure::Runtime(other.to_string()),
    }
}

/// The user named, or what to type to see who exists.
pub(crate) fn find_user(store: &dyn Store, name: &str) -> Result<UserRecord, Failure> {
    store
        .find_user(name)
        .map_err(store_failure)?
        .ok_or_else(|| store_failure(StoreError::UserNotFound(name.to_owned())))
}

pub(crate) fn now() -> i64 {
    radotp_server::clock::unix_now_signed()
}

/// A name NASes can send and authenticator apps can show.
fn validate_name(name: &str) -> Result<(), String> {
    users::validate_name(name).map_err(|e| e.to_string())
}

/// The longest password that still fits in User-Password with a `digits`-long code appended.
fn check_password(password: &[u8], digits: u8) -> Result<(), String> {
    users::check_password(password, digits).map_err(|e| e.to_string())
}

/// Read a new password: the first line of stdin with `--password-stdin`, else asked twice on
/// the terminal without echo.
fn read_new_password(from_stdin: bool, digits: u8, example: &str) -> Result<SecretBytes, Failure> {
    let password = if from_stdin {
        read_stdin_line()?
    } else if std::io::stdin().is_terminal() {
        let first = prompt_hidden("New password: ")?;
        let second = prompt_hidden("Repeat it: ")?;
        if first != second {
            return Err(Failure::Usage(
                "the two passwords differ; nothing was changed".into(),
            ));
        }
        first
    } else {
        return Err(Failure::Usage(format!(
            "standard input is not a terminal: add --password-stdin to read the password from it, \
             e.g.: echo 'their password' | {example} --password-stdin"
        )));
    };
    check_password(password.expose(), digits).map_err(Failure::Usage)?;
    if password.len() + usize::from(digits) > users::SHORT_CLIENT_LIMIT {
        eprintln!(
            "warning: password + code is {} bytes; some VPN clients cut passwords at 48 or 64 bytes",
            password.len() + usize::from(digits)
        );
    }
    Ok(password)
}

pub(crate) fn read_stdin_line() -> Result<SecretBytes, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::Runtime(format!("cannot read standard input: {e}")))?;
    let value = SecretBytes::new(line.trim_end_matches(['\n', '\r']).as_bytes().to_vec());
    zeroize::Zeroize::zeroize(&mut line);
    Ok(value)
}

fn prompt_hidden(prompt: &str) -> Result<SecretBytes, Failure> {
    rpassword::prompt_password(prompt)
        .map(|mut text| {
            let value = SecretBytes::new(text.as_bytes().to_vec());
            zeroize::Zeroize::zeroize(&mut text);
            value
        })
        .map_err(|e| Failure::Runtime(format!("cannot read the password: {e}")))
}

/// The longest code the user's tokens type (a YubiKey's OTP is 44 characters): a password
/// must leave room for it in User-Password.
pub(crate) fn longest_code(user: &UserRecord) -> Option<u8> {
    user.tokens
        .iter()
        .map(|t| {
            t.secret
                .digits()
                .unwrap_or(radotp_server::tokens::yubico::OTP_LEN as u8)
        })
        .max()
}

/// Print one JSON document on stdout.
pub(crate) fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
