//! Account care: list, show, passwd, temp-password, recovery-codes, disable/enable, unlock,
//! remove.

use std::path::Path;

use clap::Args;
use serde_json::json;

use super::format::{self, parse_duration};
use super::{Failure, find_user, now, print_json, read_new_password, store_failure};
use crate::cli::{load_config, open_store};
use radotp_server::auth::codes;
use radotp_server::auth::password;
use radotp_server::secret::SecretBytes;
use radotp_server::store::{PasswordSource, UserRecord};

#[derive(Debug, Args)]
pub(crate) struct Name {
    pub name: String,
}

#[derive(Debug, Args)]
pub(crate) struct NameJson {
    pub name: String,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print one JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PasswdArgs {
    pub name: String,
    /// Read the password from the first line of standard input (else: asked on the terminal).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TempPasswordArgs {
    pub name: String,
    /// How long it works: e.g. 30m, 8h, 2d.
    #[arg(long, default_value = "24h")]
    pub ttl: String,
    /// Print one JSON object {"name", "password", "expires_at"} on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Refuses to set a password radotp does not check.
fn not_in_directory(user: &UserRecord, command: &str) -> Result<(), Failure> {
    let elsewhere = match user.password_source {
        PasswordSource::Local => return Ok(()),
        PasswordSource::Directory => "the directory",
        PasswordSource::Upstream => "the upstream RADIUS server",
    };
    Err(Failure::Usage(format!(
        "{}'s password is checked by {elsewhere}: change it there (user {command} sets \
         passwords radotp keeps); nothing was changed",
        user.name
    )))
}

pub(super) fn list(config_path: &Path, args: ListArgs) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let users = store.list_users().map_err(store_failure)?;
    let now = now();
    if args.json {
        print_json(
            &users
                .iter()
                .map(|u| format::user_json(u, config.lockout, now))
                .collect(),
        );
        return Ok(());
    }
    if users.is_empty() {
        println!("No users yet. Add one with: radotp user add NAME");
        return Ok(());
    }
    let rows: Vec<[String; 7]> = users
        .iter()
        .map(|u| {
            [
                u.name.clone(),
                format::state(u).to_owned(),
                u.password_source.as_str().to_owned(),
                format::time(format::locked(u, now)),
                format::time(u.last_login_at),
                format::token_kinds(u),
                u.groups.join(","),
            ]
        })
        .collect();
    crate::cli::table::print(
        [
            "NAME",
            "STATE",
            "PASSWORD",
            "LOCKED UNTIL",
            "LAST LOGIN",
            "TOKENS",
            "GROUPS",
        ],
        &rows,
    );
    Ok(())
}

pub(super) fn show(config_path: &Path, args: NameJson) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let user = find_user(store.as_ref(), &args.name)?;
    let now = now();
    if args.json {
        print_json(&format::user_json(&user, config.lockout, now));
        return Ok(());
    }
    let expires = match user.password_expires_at {
        None => "-".to_owned(),
        Some(at) if at <= now => format!("{} (expired)", format::time(Some(at))),
        Some(at) => format!("{} (temporary password)", format::time(Some(at))),
    };
    for (label, value) in [
        ("Name", user.name.clone()),
        ("State", format::state(&user).to_owned()),
        ("Password", format::source(&user).to_owned()),
        ("Locked until", format::time(format::locked(&user, now))),
        ("Wrong codes", user.failures.to_string()),
        (
            "Wrong passwords",
            format::wrong_passwords(&user, config.lockout, now),
        ),
        ("Last login", format::time(user.last_login_at)),
        ("Created", format::time(Some(user.created_at))),
        ("Password expires", expires),
        ("Tokens", format::tokens(&user)),
        ("Recovery codes left", user.recovery_codes_left.to_string()),
        (
            "Codes sent to",
            user.delivery.as_ref().map_or_else(
                || "-".to_owned(),
                |d| format!("{} {}", d.channel.as_str(), d.destination),
            ),
        ),
        (
            "Groups",
            if user.groups.is_empty() {
                "-".into()
            } else {
                user.groups.join(", ")
            },
        ),
        (
            "Reply attributes",
            if user.reply.is_empty() {
                "-".into()
            } else {
                user.reply.join(", ")
            },
        ),
    ] {
        println!("{label:<20} {value}");
    }
    Ok(())
}

pub(super) fn passwd(config_path: &Path, args: PasswdArgs) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let user = find_user(store.as_ref(), &args.name)?;
    not_in_directory(&user, "passwd")?;
    let digits = super::longest_code(&user).unwrap_or(config.otp.defaults.digits);
    let example = format!("radotp user passwd {}", args.name);
    let password = read_new_password(args.password_stdin, digits, &example)?;
    let hash = hash(&config, &password)?;
    store
        .set_password(&args.name, &hash, None)
        .map_err(store_failure)?;
    println!("Password of {} changed.", args.name);
    Ok(())
}

fn hash(config: &radotp_server::config::Config, password: &SecretBytes) -> Result<String, Failure> {
    password::hash(config.password, password.expose())
        .map_err(|e| Failure::Runtime(format!("cannot hash the password: {e}")))
}

pub(super) fn temp_password(config_path: &Path, args: TempPasswordArgs) -> Result<(), Failure> {
    let ttl = parse_duration(&args.ttl).map_err(|e| Failure::Usage(format!("--ttl: {e}")))?;
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    not_in_directory(&find_user(store.as_ref(), &args.name)?, "temp-password")?;
    let password = codes::generate_temporary_password();
    let expires_at = now().saturating_add(ttl);
    let hash = hash(&config, &password)?;
    store
        .set_password(&args.name, &hash, Some(expires_at))
        .map_err(store_failure)?;
    let shown = String::from_utf8_lossy(password.expose()).into_owned();
    if args.json {
        print_json(&json!({
            "name": args.name,
            "password": shown,
            "expires_at": format::rfc3339(Some(expires_at)),
        }));
    } else {
        println!("Temporary password for {}: {shown}", args.name);
        println!(
            "It replaces the password until {}.",
            format::time(Some(expires_at))
        );
        println!("Log in with it followed by the current code, as with any password.");
    }
    Ok(())
}

pub(super) fn recovery_codes(config_path: &Path, args: NameJson) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    let codes = codes::generate_recovery_codes();
    let stored: Vec<SecretBytes> = codes
        .iter()
        .filter_map(|c| codes::normalize_recovery_code(c.as_bytes()))
        .collect();
    store
        .replace_recovery_codes(&args.name, &stored)
        .map_err(store_failure)?;
    if args.json {
        print_json(&json!({ "name": args.name, "codes": codes }));
        return Ok(());
    }
    println!(
        "Recovery codes for {} (each works once; any earlier set no longer works):",
        args.name
    );
    for code in &codes {
        println!("  {code}");
    }
    println!("Log in with the password followed by one code instead of the app's code.");
    Ok(())
}

pub(super) fn set_disabled(config_path: &Path, args: Name, disabled: bool) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    store
        .set_disabled(&args.name, disabled)
        .map_err(store_failure)?;
    let state = if disabled { "disabled" } else { "enabled" };
    println!("User {} {state}.", args.name);
    Ok(())
}

pub(super) fn unlock(config_path: &Path, args: Name) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    store.unlock(&args.name).map_err(store_failure)?;
    println!("User {} unlocked; failure count cleared.", args.name);
    Ok(())
}

pub(super) fn remove(config_path: &Path, args: Name) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    store.remove_user(&args.name).map_err(store_failure)?;
    println!("User {} removed.", args.name);
    Ok(())
}
