//! `user add` (with a TOTP app, or `--no-token` for an invitation) and `user reset-otp`; the
//! app's secret is shown by `totp`.

use std::path::Path;

use clap::Args;

use super::totp::{TotpArgs, enroll_totp, seed, token_for};
use super::{Failure, now, print_json, read_new_password, store_failure};
use crate::cli::{load_config, open_store};
use radotp_server::admin::{AdminError, users};
use radotp_server::store::{PasswordSource, StoreError};

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// User name, as the NAS sends it in User-Name.
    pub name: String,
    /// Read the password from the first line of standard input (else: asked on the terminal).
    #[arg(long)]
    pub password_stdin: bool,
    /// Where the password is checked (default: [password] source): "local" (a hash radotp
    /// keeps, asked for now), "directory" (a bind to [directory]; no password is asked, and
    /// the name must exist there) or "upstream" (an Access-Request to [upstream]; no password
    /// is asked).
    #[arg(long, value_parser = ["local", "directory", "upstream"])]
    pub password_source: Option<String>,
    #[command(flatten)]
    pub delivery: super::settings::DeliveryArgs,
    #[command(flatten)]
    pub authz: super::settings::AuthzArgs,
    #[command(flatten)]
    pub totp: TotpArgs,
    /// Enroll no app now: the user gets a link to enroll their own phone (radotp user
    /// invite NAME, with [web]); until then they cannot log in.
    #[arg(long)]
    pub no_token: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ResetOtpArgs {
    pub name: String,
    #[command(flatten)]
    pub totp: TotpArgs,
}

pub(super) fn add(config_path: &Path, args: AddArgs) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let delivery = args.delivery.delivery()?;
    let source = args
        .password_source
        .as_deref()
        .and_then(PasswordSource::parse)
        .unwrap_or(config.password_source);
    if args.no_token {
        no_app_options(&args)?;
    }
    let (groups, reply) = (&args.authz.groups, &args.authz.reply);
    users::check_new(&config, store.as_ref(), &args.name, source, groups, reply)
        .map_err(|e| added_failure(&args.name, e))?;
    let seed = match args.no_token {
        true => None,
        false => Some(seed(&config, &args.totp)?),
    };
    let digits = seed
        .as_ref()
        .map_or(config.otp.defaults.digits, |s| s.params.digits);
    let password = match source {
        PasswordSource::Local => {
            let example = format!("radotp user add {}", args.name);
            Some(read_new_password(args.password_stdin, digits, &example)?)
        }
        PasswordSource::Directory | PasswordSource::Upstream => {
            if args.password_stdin {
                let source = source.as_str();
                return Err(Failure::Usage(format!(
                    "--password-stdin: radotp keeps no password for a {source} user; run \
                     without it: radotp user add {} --password-source {source}",
                    args.name
                )));
            }
            None
        }
    };
    let token = match seed {
        None => None,
        Some(seed) => Some(token_for(&config, &args.name, seed, &args.totp)?),
    };
    let account = users::NewAccount {
        name: &args.name,
        source,
        password: password.as_ref(),
        token,
        delivery,
        groups,
        reply,
    };
    users::add(&config, store.as_ref(), account, now())
        .map_err(|e| added_failure(&args.name, e))?;
    if args.no_token && args.totp.json {
        print_json(&serde_json::json!({ "name": args.name, "secret": null, "otpauth_uri": null }));
    } else if args.no_token {
        println!(
            "Added user {name} without a token. Let them enroll their phone with a link: \
             radotp user invite {name} (add --send to e-mail or text it).",
            name = args.name
        );
    } else if !args.totp.json {
        println!("Added user {}.", args.name);
    }
    Ok(())
}

/// `--no-token` enrolls nothing: the options of the app it would enroll make no sense.
fn no_app_options(args: &AddArgs) -> Result<(), Failure> {
    let t = &args.totp;
    let given = [
        ("--totp-secret", t.totp_secret.is_some()),
        ("--digits", t.digits.is_some()),
        ("--period", t.period.is_some()),
        ("--algorithm", t.algorithm.is_some()),
        ("--qr-png", t.qr_png.is_some()),
        ("--verify", t.verify),
    ];
    match given.iter().find(|(_, on)| *on) {
        Some((flag, _)) => Err(Failure::Usage(format!(
            "{flag} describes the app `user add` would enroll, and --no-token enrolls none; \
             leave out one of them"
        ))),
        None => Ok(()),
    }
}

/// `user add`'s failures: a taken name says what to do instead.
fn added_failure(name: &str, e: AdminError) -> Failure {
    match e {
        AdminError::Store(StoreError::UserExists(_)) => exists(name),
        other => other.into(),
    }
}

fn exists(name: &str) -> Failure {
    Failure::Runtime(format!(
        "user \"{name}\" already exists; choose another name, or give them a new secret with: \
         radotp user reset-otp {name}"
    ))
}

pub(super) fn reset_otp(config_path: &Path, args: ResetOtpArgs) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    if store
        .find_user(&args.name)
        .map_err(store_failure)?
        .is_none()
    {
        return Err(store_failure(StoreError::UserNotFound(args.name)));
    }
    let token = enroll_totp(&config, &args.name, &args.totp)?;
    let id = store
        .replace_tokens(&args.name, &token, now())
        .map_err(store_failure)?;
    if !args.totp.json {
        println!(
            "New TOTP secret saved for {} as token {id}; codes from their earlier tokens no \
             longer work.",
            args.name
        );
    }
    Ok(())
}
