//! `user add`, `user reset-otp` and `token add --type totp`: a TOTP secret, shown once as a QR
//! code, URI and base32.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use super::{Failure, now, print_json, read_new_password, store_failure};
use crate::cli::{load_config, open_store};
use radotp_server::admin::{AdminError, users};
use radotp_server::auth::otp::{self, Algorithm, TotpParams};
use radotp_server::config::Config;
use radotp_server::store::{NewToken, PasswordSource, StoreError, TotpSeed};

/// `Debug` (the parsed command line's) never shows `--totp-secret`.
#[derive(Args)]
pub(crate) struct TotpArgs {
    /// Import an existing TOTP secret (base32; case, spaces, dashes and padding are ignored)
    /// instead of generating one.
    #[arg(long, value_name = "BASE32")]
    pub totp_secret: Option<String>,
    /// Code length (default: [otp] digits).
    #[arg(long, value_parser = ["6", "8"])]
    pub digits: Option<String>,
    /// Seconds per code (default: [otp] period).
    #[arg(long, value_parser = ["30", "60"])]
    pub period: Option<String>,
    /// HMAC algorithm (default: [otp] algorithm); most apps only support SHA1.
    #[arg(long, value_parser = ["SHA1", "SHA256", "SHA512"], ignore_case = true)]
    pub algorithm: Option<String>,
    /// Also write the QR code as a PNG image to FILE.
    #[arg(long, value_name = "FILE")]
    pub qr_png: Option<PathBuf>,
    /// Ask for the first code from the app before saving, and mark it used, so the enrollment
    /// code cannot be replayed as a first login (read from the terminal, or the next line of
    /// standard input).
    #[arg(long)]
    pub verify: bool,
    /// Print one JSON object {"name", "secret", "otpauth_uri"} and nothing else on stdout.
    #[arg(long)]
    pub json: bool,
}

impl std::fmt::Debug for TotpArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpArgs")
            .field(
                "totp_secret",
                &self.totp_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("digits", &self.digits)
            .field("period", &self.period)
            .field("algorithm", &self.algorithm)
            .field("qr_png", &self.qr_png)
            .field("verify", &self.verify)
            .field("json", &self.json)
            .finish()
    }
}

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

fn params(config: &Config, args: &TotpArgs) -> TotpParams {
    let defaults = config.otp.defaults;
    // clap's value parsers have already restricted these to valid values.
    TotpParams {
        digits: args
            .digits
            .as_deref()
            .map_or(defaults.digits, |d| d.parse().unwrap_or(6)),
        period: args
            .period
            .as_deref()
            .map_or(defaults.period, |p| p.parse().unwrap_or(30)),
        algorithm: args
            .algorithm
            .as_deref()
            .map_or(Ok(defaults.algorithm), str::parse::<Algorithm>)
            .unwrap_or(defaults.algorithm),
    }
}

pub(crate) fn seed(config: &Config, args: &TotpArgs) -> Result<TotpSeed, Failure> {
    let secret = match &args.totp_secret {
        Some(text) => otp::parse_base32_secret(text).map_err(Failure::Usage)?,
        None => otp::generate_secret(),
    };
    Ok(TotpSeed {
        secret,
        params: params(config, args),
    })
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
        Some(seed) => {
            show_enrollment(&config, &args.name, &seed, &args.totp)?;
            let verified_step = match args.totp.verify {
                true => Some(verify_first_code(&config, &seed)?),
                false => None,
            };
            Some(NewToken {
                last_used: verified_step,
                ..NewToken::app(seed)
            })
        }
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

/// A new TOTP app token: the secret shown (and, with `--verify`, its first code checked and
/// marked used).
pub(crate) fn enroll_totp(
    config: &Config,
    name: &str,
    args: &TotpArgs,
) -> Result<NewToken, Failure> {
    let seed = seed(config, args)?;
    show_enrollment(config, name, &seed, args)?;
    let verified_step = if args.verify {
        Some(verify_first_code(config, &seed)?)
    } else {
        None
    };
    Ok(NewToken {
        last_used: verified_step,
        ..NewToken::app(seed)
    })
}

/// Print what the user needs to set up their app: QR code, secret, URI; or the JSON object.
fn show_enrollment(
    config: &Config,
    name: &str,
    seed: &TotpSeed,
    args: &TotpArgs,
) -> Result<(), Failure> {
    let uri = otp::otpauth_uri(&config.otp.issuer, name, &seed.secret, seed.params)
        .map_err(Failure::Usage)?;
    let base32 = otp::to_base32(&seed.secret);
    if let Some(path) = &args.qr_png {
        write_qr_png(&uri, path)?;
    }
    if args.json {
        print_json(&serde_json::json!({ "name": name, "secret": base32, "otpauth_uri": uri }));
        return Ok(());
    }
    let p = seed.params;
    println!("Scan this QR code with an authenticator app (or type the secret in by hand):");
    println!("{}", qr_text(&uri));
    println!("Secret:      {base32}");
    println!(
        "Parameters:  {} digits, every {} s, {}",
        p.digits, p.period, p.algorithm
    );
    println!("URI:         {uri}");
    if let Some(path) = &args.qr_png {
        println!("QR image:    {}", path.display());
    }
    println!();
    println!(
        "To log in, {name} types the password followed immediately by the current {}-digit \
         code (password \"abcdef\" and code \"123456\" → \"abcdef123456\").",
        p.digits
    );
    Ok(())
}

/// Ask for the app's current code until it matches (three tries on a terminal, one otherwise).
/// Returns the step, which the caller marks used.
fn verify_first_code(config: &Config, seed: &TotpSeed) -> Result<u64, Failure> {
    let tries = if std::io::stdin().is_terminal() { 3 } else { 1 };
    for _ in 0..tries {
        eprint!(
            "Enter the {}-digit code the app shows now: ",
            seed.params.digits
        );
        let code = super::read_stdin_line()?;
        let code = String::from_utf8_lossy(code.expose()).trim().to_owned();
        let now = u64::try_from(now()).unwrap_or(0);
        if let Some(step) =
            otp::matching_step(&seed.secret, seed.params, &code, now, config.otp.window)
        {
            return Ok(step);
        }
        eprintln!(
            "That code does not match. Check the phone's clock and that the right entry is used."
        );
    }
    Err(Failure::Runtime(
        "the app's code did not match; nothing was saved. Scan the QR code again and retry".into(),
    ))
}

/// The URI as a QR code in half-height blocks, with the quiet zone scanners need.
fn qr_text(uri: &str) -> String {
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

/// Write the QR code as a black-on-white grayscale PNG, 8 pixels a module, 4-module margin.
fn write_qr_png(uri: &str, path: &Path) -> Result<(), Failure> {
    const SCALE: usize = 8;
    const MARGIN: usize = 4;
    let code = QrCode::new(uri.as_bytes())
        .map_err(|e| Failure::Runtime(format!("cannot make a QR code: {e}")))?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * MARGIN) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (mx, my) = (i % modules + MARGIN, i / modules + MARGIN);
            for y in my * SCALE..(my + 1) * SCALE {
                pixels[y * side + mx * SCALE..y * side + (mx + 1) * SCALE].fill(0);
            }
        }
    }
    let write = || -> Result<(), String> {
        let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
        let mut encoder =
            png::Encoder::new(std::io::BufWriter::new(file), side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())
    };
    write().map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", path.display())))?;
    restrict(path);
    Ok(())
}

/// The PNG holds the seed: readable by its owner only.
fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}
