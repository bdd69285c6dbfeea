//! `radotp user …`: enrollment and account care. Changes go straight to the database, so a
//! running server sees them on its next request.

pub(crate) mod enroll;
pub(crate) mod format;
mod import;
mod manage;
mod settings;

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use clap::Subcommand;

use super::Failure;
use radotp_server::config::Config;
use radotp_server::directory::{Directory, Entries};
use radotp_server::protocol::password::MAX_LEN as MAX_USER_PASSWORD_LEN;
use radotp_server::secret::SecretBytes;
use radotp_server::store::{Store, StoreError, UserRecord};

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user with a password and a TOTP secret; prints the enrollment QR code.
    #[command(after_help = "Examples:\n  \
        radotp user add alice                       (asks for the password twice)\n  \
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

/// The directory, as the configuration describes it; an error if there is none.
fn directory(config: &Config) -> Result<Directory, Failure> {
    let settings = config.directory.clone().ok_or_else(|| {
        Failure::Usage(
            "there is no [directory] section in the configuration: add one (see the README, \
             \"Passwords from LDAP / Active Directory\"), or use --password-source local"
                .into(),
        )
    })?;
    Directory::new(settings).map_err(|e| Failure::Runtime(format!("directory: {e}")))
}

/// Succeeds if the configuration has `[upstream]`: an upstream user's password is checked there
/// (radotp cannot ask whether a name exists without a password).
fn has_upstream(config: &Config) -> Result<(), Failure> {
    match config.upstream {
        Some(_) => Ok(()),
        None => Err(Failure::Usage(
            "there is no [upstream] section in the configuration: add one (see the README, \
             \"Passwords from another RADIUS server\"), or use --password-source local"
                .into(),
        )),
    }
}

/// Succeeds if the directory has exactly one entry for `name`, found with the service account.
fn in_directory(config: &Config, name: &str) -> Result<(), Failure> {
    let directory = directory(config)?;
    match directory.entries(name) {
        Ok(Entries::One) => Ok(()),
        Ok(Entries::None) => Err(Failure::Usage(format!(
            "the directory has no entry for {name:?} (searched {} for {}); nothing was changed",
            directory.settings().base_dn,
            directory.settings().filter_for(name)
        ))),
        Ok(Entries::Several) => Err(Failure::Usage(format!(
            "the directory has several entries for {name:?}: make [directory] user_filter match \
             one; nothing was changed"
        ))),
        Err(e) => Err(Failure::Runtime(format!(
            "cannot ask the directory whether {name:?} exists: {e}; nothing was changed"
        ))),
    }
}

pub(crate) fn now() -> i64 {
    radotp_server::clock::unix_now_signed()
}

/// A name NASes can send and authenticator apps can show.
fn validate_name(name: &str) -> Result<(), String> {
    let problem = if name.is_empty() {
        "is empty"
    } else if name.len() > 253 {
        "is longer than 253 octets, the most a User-Name can carry"
    } else if name.trim() != name {
        "starts or ends with white space"
    } else if name.chars().any(char::is_control) {
        "contains control characters"
    } else if name.contains(':') {
        "contains ':', which authenticator apps cannot show"
    } else {
        return Ok(());
    };
    Err(format!("the user name {name:?} {problem}"))
}

/// The longest password that still fits in User-Password with a `digits`-long code appended.
fn check_password(password: &[u8], digits: u8) -> Result<(), String> {
    let max = MAX_USER_PASSWORD_LEN - usize::from(digits);
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    if password.contains(&0) {
        return Err("the password contains a NUL character, which RADIUS cannot carry".into());
    }
    if password.len() > max {
        return Err(format!(
            "the password is {} bytes; with the {digits}-digit code appended it must fit in {} \
             bytes of User-Password, so it may be at most {max} bytes",
            password.len(),
            MAX_USER_PASSWORD_LEN
        ));
    }
    Ok(())
}

/// Passwords above this length get a warning: some NAS clients cut User-Password at 64 bytes.
const SHORT_CLIENT_LIMIT: usize = 64;

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
    if password.len() + usize::from(digits) > SHORT_CLIENT_LIMIT {
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
