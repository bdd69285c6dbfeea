//! Account care: list, show, passwd, temp-password, recovery-codes, invite, disable/enable,
//! unlock, remove — each the `admin` operation the HTTP API calls too, printed.

use std::path::Path;

use clap::Args;

use super::format::{self, parse_duration};
use super::{Failure, find_user, now, print_json, read_new_password, store_failure};
use crate::cli::{load_config, open_store};
use radotp_server::admin::{invitations, users, view};
use radotp_server::auth::password;
use radotp_server::secret::SecretBytes;

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

#[derive(Debug, Args)]
pub(crate) struct InviteArgs {
    pub name: String,
    /// Send the link through [delivery] to the user's e-mail or phone (else it is printed).
    #[arg(long)]
    pub send: bool,
    /// Print one JSON object {"name", "url" (unless sent), "sent_to", "expires_at"} on stdout.
    #[arg(long)]
    pub json: bool,
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
                .map(|u| view::user(u, config.lockout, None, now))
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
    let invitation = store
        .invitation_for_user(&args.name)
        .map_err(store_failure)?;
    let now = now();
    if args.json {
        print_json(&view::user(&user, config.lockout, invitation.as_ref(), now));
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
        (
            "Invitation",
            invitation.as_ref().map_or_else(
                || "-".to_owned(),
                |i| match view::invitation_state(i, now) {
                    "pending" => format!("pending, until {}", format::time(Some(i.expires_at))),
                    "expired" => format!("expired {}", format::time(Some(i.expires_at))),
                    _ => "closed after too many wrong tries".to_owned(),
                },
            ),
        ),
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
    users::keeps_password(&user, "user passwd")?;
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
    let made = users::temporary_password(&config, store.as_ref(), &args.name, ttl, now()).map_err(
        |e| match e.field() {
            Some("ttl") => Failure::Usage(format!("--ttl: {e}")),
            _ => e.into(),
        },
    )?;
    let shown = String::from_utf8_lossy(made.password.expose()).into_owned();
    if args.json {
        print_json(&view::temporary_password(&args.name, &made));
    } else {
        println!("Temporary password for {}: {shown}", args.name);
        println!(
            "It replaces the password until {}.",
            format::time(Some(made.expires_at))
        );
        println!("Log in with it followed by the current code, as with any password.");
    }
    Ok(())
}

pub(super) fn recovery_codes(config_path: &Path, args: NameJson) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    let codes = users::recovery_codes(store.as_ref(), &args.name)?;
    if args.json {
        print_json(&view::recovery_codes(&args.name, &codes));
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

pub(super) fn invite(config_path: &Path, args: InviteArgs) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let now = now();
    let link = invitations::invite(&config, store.as_ref(), &args.name, now)?;
    let expires = format::time(Some(link.expires_at));
    let sent_to = match args.send {
        true => Some(invitations::send(&config, store.as_ref(), &link, now)?),
        false => None,
    };
    if args.json {
        print_json(&view::invitation_link(&link, sent_to.as_deref()));
        return Ok(());
    }
    match sent_to {
        Some(to) => println!(
            "Invitation for {} sent to {to}; valid until {expires}.",
            args.name
        ),
        None => {
            println!(
                "Invitation link for {} (works once, until {expires}):",
                args.name
            );
            println!("  {}", link.url);
            println!("Pass it to them privately: whoever opens it can enroll with their password.");
        }
    }
    println!("Any earlier invitation of {} no longer works.", args.name);
    Ok(())
}

pub(super) fn set_disabled(config_path: &Path, args: Name, disabled: bool) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    users::set_disabled(store.as_ref(), &args.name, disabled)?;
    let state = if disabled { "disabled" } else { "enabled" };
    println!("User {} {state}.", args.name);
    Ok(())
}

pub(super) fn unlock(config_path: &Path, args: Name) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    users::unlock(store.as_ref(), &args.name)?;
    println!("User {} unlocked; failure count cleared.", args.name);
    Ok(())
}

pub(super) fn remove(config_path: &Path, args: Name) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    users::remove(store.as_ref(), &args.name)?;
    println!("User {} removed.", args.name);
    Ok(())
}
