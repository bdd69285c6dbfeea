//! `radotp user …`: enrollment. Changes go straight to the database, so a running server sees
//! them on its next request.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use clap::{Args, Subcommand};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use super::{Failure, load_config};
use crate::auth::otp::{self, TotpParams};
use crate::auth::password;
use crate::protocol::password::MAX_LEN as MAX_USER_PASSWORD_LEN;
use crate::secret::SecretBytes;
use crate::store::{NewUser, SqliteStore, Store, StoreError, TotpSeed};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user with a password and a TOTP secret; prints the enrollment QR code.
    #[command(after_help = "Examples:\n  \
        echo 'their password' | radotp user add alice --password-stdin\n  \
        echo 'their password' | radotp user add bob --password-stdin --totp-secret 'JBSW Y3DP EHPK 3PXP' --json")]
    Add(AddArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// User name, as the NAS sends it in User-Name.
    pub name: String,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Import an existing TOTP secret (base32; case, spaces, dashes and padding are ignored)
    /// instead of generating one.
    #[arg(long, value_name = "BASE32")]
    pub totp_secret: Option<String>,
    /// Print one JSON object {"name", "secret", "otpauth_uri"} and nothing else on stdout.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn run(config_path: &Path, command: UserCommand) -> Result<(), Failure> {
    match command {
        UserCommand::Add(args) => add(config_path, args),
    }
}

/// A name NASes can send and authenticator apps can show.
fn validate_name(name: &str) -> Result<(), Failure> {
    let problem = if name.is_empty() {
        Some("is empty")
    } else if name.len() > 253 {
        Some("is longer than 253 octets, the most a User-Name can carry")
    } else if name.trim() != name {
        Some("starts or ends with white space")
    } else if name.chars().any(char::is_control) {
        Some("contains control characters")
    } else if name.contains(':') {
        Some("contains ':', which authenticator apps cannot show")
    } else {
        None
    };
    match problem {
        Some(p) => Err(Failure::Usage(format!("the user name {name:?} {p}"))),
        None => Ok(()),
    }
}

fn read_password(args: &AddArgs, digits: u8) -> Result<SecretBytes, Failure> {
    if !args.password_stdin {
        let hint = if std::io::stdin().is_terminal() {
            "pass the password on standard input"
        } else {
            "add --password-stdin to read the password from standard input"
        };
        return Err(Failure::Usage(format!(
            "{hint}, e.g.: echo 'their password' | radotp user add {} --password-stdin",
            args.name
        )));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        Failure::Runtime(format!("cannot read the password from standard input: {e}"))
    })?;
    let password = SecretBytes::new(line.trim_end_matches(['\n', '\r']).as_bytes().to_vec());
    line.clear();
    let max = MAX_USER_PASSWORD_LEN - usize::from(digits);
    if password.is_empty() {
        return Err(Failure::Usage(
            "the password is empty: give it as the first line of standard input".into(),
        ));
    }
    if password.len() > max {
        return Err(Failure::Usage(format!(
            "the password is {} bytes; with the {digits}-digit code appended it must fit in {} \
             bytes of User-Password, so it may be at most {max} bytes",
            password.len(),
            MAX_USER_PASSWORD_LEN
        )));
    }
    Ok(password)
}

fn add(config_path: &Path, args: AddArgs) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    validate_name(&args.name)?;
    let params: TotpParams = config.otp.defaults;
    let password = read_password(&args, params.digits)?;
    let secret = match &args.totp_secret {
        Some(text) => otp::parse_base32_secret(text).map_err(Failure::Usage)?,
        None => otp::generate_secret(),
    };
    let uri = otp::otpauth_uri(&config.otp.issuer, &args.name, &secret, params)
        .map_err(Failure::Usage)?;
    let hash = password::hash(config.password, password.expose())
        .map_err(|e| Failure::Runtime(format!("cannot hash the password: {e}")))?;
    let store =
        SqliteStore::open(&config.database.path).map_err(|e| Failure::Runtime(e.to_string()))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let seed = TotpSeed { secret, params };
    store
        .add_user(&NewUser {
            name: &args.name,
            password_hash: &hash,
            totp: &seed,
            now,
        })
        .map_err(|e| match e {
            StoreError::UserExists(_) => Failure::Runtime(format!(
                "{e}; choose another name (changing an existing user's secret comes with `user reset-otp`)"
            )),
            other => Failure::Runtime(other.to_string()),
        })?;
    let base32 = otp::to_base32(&seed.secret);
    if args.json {
        let doc = serde_json::json!({ "name": args.name, "secret": base32, "otpauth_uri": uri });
        println!("{doc}");
        return Ok(());
    }
    println!("Added user {}.", args.name);
    println!();
    println!("Scan this QR code with an authenticator app (or enter the secret by hand):");
    println!("{}", qr(&uri));
    println!("Secret:      {base32}");
    println!(
        "Parameters:  {} digits, every {} s, {}",
        params.digits, params.period, params.algorithm
    );
    println!("URI:         {uri}");
    println!();
    println!(
        "To log in, {} types the password followed immediately by the current {}-digit code \
         (password \"abcdef\" and code \"123456\" → \"abcdef123456\").",
        args.name, params.digits
    );
    Ok(())
}

/// The URI as a QR code in half-height blocks, with the quiet zone scanners need.
fn qr(uri: &str) -> String {
    match QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
        Err(e) => format!("(no QR code: {e})"),
    }
}
