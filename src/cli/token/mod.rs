//! `radotp token …`: a user's tokens — an authenticator app, HOTP or TOTP key fobs, YubiKeys —
//! added, listed, disabled, resynchronised and removed one by one, or imported from the files
//! vendors ship (`import.rs`). Secrets are shown only when radotp makes one (a TOTP secret, once).

mod import;

use std::path::Path;

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::cli::user::enroll::{TotpArgs, enroll_totp};
use crate::cli::user::format::{self, token_details, token_json};
use crate::cli::user::{now, print_json, store_failure};
use crate::cli::{Failure, load_config, open_store};
use radotp_server::auth::otp;
use radotp_server::secret::SecretBytes;
use radotp_server::store::{NewToken, Store, StoreError, Token, TokenSecret, UserRecord};
use radotp_server::tokens::hotp::{Hotp, RESYNC_RANGE};
use radotp_server::tokens::yubico;

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Give a user one more token: an authenticator app (totp), an OATH key fob (hotp), or a
    /// YubiKey in Yubico OTP mode (yubico).
    #[command(after_help = "Examples:\n  \
        radotp token add alice --type totp --verify\n  \
        radotp token add alice --type hotp --secret GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ --counter 0\n  \
        radotp token add alice --type yubico --public-id ccccccbchvth \\\n      \
        --private-id 8792ebfe26cc --aes-key ecde18dbe76fbd0c33330f1c354871db")]
    Add(Box<AddArgs>),
    /// List tokens (each with its id and type, never a secret): one user's, or everyone's.
    #[command(after_help = "Examples:\n  radotp token list alice\n  radotp token list --json")]
    List(ListArgs),
    /// Delete one token: its codes stop working at once.
    #[command(after_help = "Example:\n  radotp token remove alice 2")]
    Remove(NameId),
    /// Bring a fob whose counter ran ahead (HOTP, within 1,000 presses), or a TOTP token whose
    /// clock drifted (within ±24 h), back in step from two consecutive codes.
    #[command(after_help = "Example:\n  radotp token resync alice 2 123456 654321")]
    Resync(ResyncArgs),
    /// Refuse the token's codes until `token enable`.
    #[command(after_help = "Example:\n  radotp token disable alice 2")]
    Disable(NameId),
    /// Accept the token's codes again.
    #[command(after_help = "Example:\n  radotp token enable alice 2")]
    Enable(NameId),
    /// Import YubiKeys from the CSV that `ykman otp yubiotp … --config-output FILE` writes.
    #[command(after_help = import::YUBICO_HELP)]
    ImportYubico(import::YubicoArgs),
    /// Import HOTP and TOTP fobs from a vendor's PSKC file (RFC 6030), all or nothing.
    #[command(after_help = import::PSKC_HELP)]
    ImportPskc(import::PskcArgs),
}

#[derive(Debug, Args)]
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

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this user's tokens.
    pub name: Option<String>,
    /// One JSON array of {user, id, type, label, serial, enabled, created, last_used, …}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NameId {
    pub name: String,
    /// The token's id, as `radotp token list NAME` shows it.
    pub id: u32,
}

#[derive(Debug, Args)]
pub(crate) struct ResyncArgs {
    pub name: String,
    pub id: u32,
    /// A code of the token…
    pub code1: String,
    /// …and the one right after it.
    pub code2: String,
}

pub(crate) fn run(config_path: &Path, command: TokenCommand) -> Result<(), Failure> {
    match command {
        TokenCommand::Add(args) => add(config_path, *args),
        TokenCommand::List(args) => list(config_path, args),
        TokenCommand::Remove(args) => {
            let store = open_store(&load_config(config_path)?)?;
            store
                .remove_token(&args.name, args.id)
                .map_err(store_failure)?;
            println!(
                "Removed token {} of {}; its codes no longer work.",
                args.id, args.name
            );
            Ok(())
        }
        TokenCommand::Disable(args) => set_disabled(config_path, args, true),
        TokenCommand::Enable(args) => set_disabled(config_path, args, false),
        TokenCommand::Resync(args) => {
            let store = open_store(&load_config(config_path)?)?;
            let user = find(store.as_ref(), &args.name)?;
            let token = user.token(args.id).ok_or_else(|| {
                store_failure(StoreError::TokenNotFound {
                    user: args.name.clone(),
                    id: args.id,
                })
            })?;
            let message = resync(store.as_ref(), &user, token, &args.code1, &args.code2)?;
            println!("{message}");
            Ok(())
        }
        TokenCommand::ImportYubico(args) => import::yubico(config_path, args),
        TokenCommand::ImportPskc(args) => import::pskc(config_path, args),
    }
}

pub(crate) fn find(store: &dyn Store, name: &str) -> Result<UserRecord, Failure> {
    store
        .find_user(name)
        .map_err(store_failure)?
        .ok_or_else(|| store_failure(StoreError::UserNotFound(name.to_owned())))
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

fn add(config_path: &Path, args: AddArgs) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    find(store.as_ref(), &args.name)?;
    let token = new_token(&config, &args)?;
    let id = store
        .add_tokens(&[(args.name.as_str(), token)], now())
        .map_err(|e| match e {
            StoreError::YubikeyTaken { .. } => Failure::Usage(e.to_string()),
            other => store_failure(other),
        })?[0];
    let user = find(store.as_ref(), &args.name)?;
    let added = user
        .token(id)
        .ok_or_else(|| Failure::Runtime(format!("token {id} of {} vanished", args.name)))?;
    if args.totp.json {
        // TOTP's --json already printed the secret; other kinds print the token.
        if added.kind() != radotp_server::store::TokenKind::Totp {
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
    if added.kind() == radotp_server::store::TokenKind::Yubico {
        println!(
            "The YubiKey types 44 characters after the password: RADIUS carries 128 bytes, so \
             {}'s password may be at most 84 bytes.",
            args.name
        );
    }
    Ok(())
}

fn with_user(name: &str, token: &Token) -> Value {
    let mut value = token_json(token);
    if let Value::Object(map) = &mut value {
        map.insert("user".into(), Value::String(name.to_owned()));
    }
    value
}

fn list(config_path: &Path, args: ListArgs) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    let users = match &args.name {
        Some(name) => vec![find(store.as_ref(), name)?],
        None => store.list_users().map_err(store_failure)?,
    };
    let tokens: Vec<(&str, &Token)> = users
        .iter()
        .flat_map(|u| u.tokens.iter().map(move |t| (u.name.as_str(), t)))
        .collect();
    if args.json {
        let all: Vec<Value> = tokens.iter().map(|(name, t)| with_user(name, t)).collect();
        print_json(&Value::Array(all));
        return Ok(());
    }
    if tokens.is_empty() {
        println!("No tokens. Add one with: radotp token add NAME --type totp");
        return Ok(());
    }
    let rows: Vec<[String; 8]> = tokens
        .iter()
        .map(|(name, t)| {
            [
                (*name).to_owned(),
                t.id.to_string(),
                t.kind().to_string(),
                t.label.clone(),
                t.serial.clone().unwrap_or_else(|| "-".into()),
                if t.disabled { "disabled" } else { "enabled" }.to_owned(),
                format::time(t.last_used_at),
                token_details(t),
            ]
        })
        .collect();
    crate::cli::table::print(
        [
            "USER",
            "ID",
            "TYPE",
            "LABEL",
            "SERIAL",
            "STATE",
            "LAST USED",
            "DETAILS",
        ],
        &rows,
    );
    Ok(())
}

fn set_disabled(config_path: &Path, args: NameId, disabled: bool) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    store
        .set_token_disabled(&args.name, args.id, disabled)
        .map_err(store_failure)?;
    match disabled {
        true => println!(
            "Token {} of {} disabled: its codes are refused.",
            args.id, args.name
        ),
        false => println!("Token {} of {} enabled.", args.id, args.name),
    }
    Ok(())
}

/// Seconds either way that a TOTP resync searches.
const RESYNC_RANGE_SECS: u64 = 24 * 3600;

/// Bring `token` back in step from two consecutive codes; what happened, in a sentence.
pub(crate) fn resync(
    store: &dyn Store,
    user: &UserRecord,
    token: &Token,
    code1: &str,
    code2: &str,
) -> Result<String, Failure> {
    let (code1, code2) = (code1.trim(), code2.trim());
    let name = &user.name;
    match &token.secret {
        TokenSecret::Totp(seed) => {
            let now = u64::try_from(now()).unwrap_or(0);
            let range = RESYNC_RANGE_SECS / seed.params.period;
            let step = otp::consecutive_steps(&seed.secret, seed.params, code1, code2, now, range)
                .ok_or_else(|| {
                    Failure::Runtime(format!(
                        "no two consecutive codes of {name}'s {} match within ±24 h; check the \
                         order and take two codes in a row",
                        token.name()
                    ))
                })?;
            let drift = step as i64 - otp::step_at(now, seed.params.period) as i64;
            store
                .resync_token(name, token.id, drift, step)
                .map_err(store_failure)?;
            let seconds = drift * seed.params.period as i64;
            Ok(format!(
                "{name}'s {} is {} s {} (drift {drift:+} steps); codes are checked around that \
                 from now on.",
                token.name(),
                seconds.abs(),
                if seconds < 0 { "behind" } else { "ahead" }
            ))
        }
        TokenSecret::Hotp { secret, digits } => {
            let hotp = Hotp::new(secret, *digits).ok_or_else(|| {
                Failure::Runtime(format!("{}'s secret is unusable", token.name()))
            })?;
            let next = token.last_used.map_or(0, |c| c + 1);
            let counter = hotp
                .consecutive(code1, code2, next, RESYNC_RANGE)
                .ok_or_else(|| {
                    Failure::Runtime(format!(
                        "no two consecutive codes of {name}'s {} match within the next \
                         {RESYNC_RANGE} presses; press the button twice and give both codes in order",
                        token.name()
                    ))
                })?;
            store
                .resync_token(name, token.id, 0, counter)
                .map_err(store_failure)?;
            Ok(format!(
                "{name}'s {} was {} presses ahead; its next code is counter {}.",
                token.name(),
                counter - next - 1,
                counter + 1
            ))
        }
        TokenSecret::Yubico { .. } => Err(Failure::Usage(format!(
            "{} is a YubiKey: its counters only go up and it needs no resync",
            token.name()
        ))),
    }
}
