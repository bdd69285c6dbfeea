//! A TOTP app's secret for `user add`, `user reset-otp` and `token add --type totp`: its
//! options, shown once as a QR code (terminal or PNG), URI and base32, and with `--verify`
//! its first code checked and marked used.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use super::{Failure, now, print_json};
use radotp_server::auth::otp::{self, Algorithm, TotpParams};
use radotp_server::config::Config;
use radotp_server::store::{NewToken, TotpSeed};

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

/// A new TOTP app token: the secret shown (and, with `--verify`, its first code checked and
/// marked used).
pub(crate) fn enroll_totp(
    config: &Config,
    name: &str,
    args: &TotpArgs,
) -> Result<NewToken, Failure> {
    token_for(config, name, seed(config, args)?, args)
}

/// `seed` as a new app token: shown, and with `--verify` its first code checked and marked used.
pub(crate) fn token_for(
    config: &Config,
    name: &str,
    seed: TotpSeed,
    args: &TotpArgs,
) -> Result<NewToken, Failure> {
    show_enrollment(config, name, &seed, args)?;
    let verified_step = match args.verify {
        true => Some(verify_first_code(config, &seed)?),
        false => None,
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
