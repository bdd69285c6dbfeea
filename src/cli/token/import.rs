//! `token import-yubico` and `token import-pskc`: tokens from the files that program or ship
//! them, given to users by a map of serial numbers, all or nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::cli::user::{now, read_stdin_line, store_failure};
use crate::cli::{Failure, load_config, open_store};
use radotp_server::auth::otp::{Algorithm, TotpParams};
use radotp_server::store::{HOTP_DIGITS, NewToken, Store, StoreError, TokenSecret, TotpSeed};
use radotp_server::tokens::pskc::{self, Decryption, PskcAlgorithm, PskcKind};
use radotp_server::tokens::yubico;

pub(super) const YUBICO_HELP: &str = "\
The CSV is what YubiKey Manager appends when it programs a slot:
  ykman otp yubiotp 1 --serial-public-id --generate-private-id --generate-key \\
      --config-output yubikeys.csv
--user-map names whose key each line is: a CSV with the header serial,user.
All or nothing: a line without a user, a user radotp does not know, or a key already
enrolled refuses the whole file, naming the line.

Example:
  radotp token import-yubico yubikeys.csv --user-map owners.csv";

pub(super) const PSKC_HELP: &str = "\
Imports the HOTP and TOTP key packages of a PSKC file (RFC 6030) as vendors ship them with
key fobs: plaintext, or encrypted with a pre-shared AES key (--key-file: a file holding the
key in hex) or a password (--password-stdin: PBKDF2), with their MACs checked.
--user-map names whose fob each serial number is: a CSV with the header serial,user.
All or nothing: a bad key package is named by its id.

Examples:
  radotp token import-pskc fobs.pskc --user-map owners.csv
  radotp token import-pskc fobs.pskc --user-map owners.csv --key-file transport.hex
  echo 'transport password' | radotp token import-pskc fobs.pskc --user-map owners.csv --password-stdin";

#[derive(Debug, Args)]
pub(crate) struct YubicoArgs {
    /// The CSV YubiKey Manager wrote (`--config-output`).
    pub file: PathBuf,
    /// CSV with the header `serial,user`: whose key each serial number is.
    #[arg(long, value_name = "CSV")]
    pub user_map: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct PskcArgs {
    /// The PSKC file (XML).
    pub file: PathBuf,
    /// CSV with the header `serial,user`: whose fob each serial number is.
    #[arg(long, value_name = "CSV")]
    pub user_map: PathBuf,
    /// A file holding the pre-shared AES key that encrypts the secrets, in hex.
    #[arg(long, value_name = "FILE", conflicts_with = "password_stdin")]
    pub key_file: Option<PathBuf>,
    /// Read the password the secrets are encrypted with (PBKDF2) from standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

fn read(path: &Path, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read the {what} {}: {e}", path.display())))
}

/// Serial → user name, from a CSV with the header `serial,user`.
fn user_map(path: &Path) -> Result<HashMap<String, String>, Failure> {
    let text = read(path, "user map")?;
    let bad =
        |line: u64, what: String| Failure::Usage(format!("{} line {line}: {what}", path.display()));
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(serial), Some(user)) = (column("serial"), column("user")) else {
        return Err(bad(
            1,
            "the header must name the columns serial and user, e.g.: serial,user".into(),
        ));
    };
    let mut map = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| bad(0, e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let (Some(s), Some(u)) = (record.get(serial), record.get(user)) else {
            return Err(bad(line, "needs a serial and a user".into()));
        };
        if s.is_empty() || u.is_empty() {
            return Err(bad(line, "needs a serial and a user".into()));
        }
        if map.insert(s.to_owned(), u.to_owned()).is_some() {
            return Err(bad(line, format!("serial {s} is mapped twice")));
        }
    }
    Ok(map)
}

/// Every token's user exists, or the first that does not, named by where its token came from.
fn check_users(store: &dyn Store, tokens: &[(String, NewToken, String)]) -> Result<(), Failure> {
    for (user, _, origin) in tokens {
        if store.find_user(user).map_err(store_failure)?.is_none() {
            return Err(Failure::Usage(format!(
                "{origin}: user \"{user}\" does not exist (add them first: radotp user add \
                 {user}); nothing was imported"
            )));
        }
    }
    Ok(())
}

/// Store them all, or none; one line per token.
fn store_all(store: &dyn Store, tokens: Vec<(String, NewToken, String)>) -> Result<(), Failure> {
    check_users(store, &tokens)?;
    let pairs: Vec<(&str, NewToken)> = tokens
        .iter()
        .map(|(user, token, _)| (user.as_str(), token.clone()))
        .collect();
    let ids = store.add_tokens(&pairs, now()).map_err(|e| match e {
        StoreError::YubikeyTaken { .. } => Failure::Usage(format!("{e}; nothing was imported")),
        other => store_failure(other),
    })?;
    for ((user, token, origin), id) in tokens.iter().zip(ids) {
        println!(
            "{origin}: token {id} ({}) of {user}",
            token.secret.kind().device()
        );
    }
    println!("Imported {} tokens.", tokens.len());
    Ok(())
}

fn owner(
    map: &HashMap<String, String>,
    serial: &str,
    origin: &str,
    map_path: &Path,
) -> Result<String, Failure> {
    map.get(serial).cloned().ok_or_else(|| {
        Failure::Usage(format!(
            "{origin}: serial {serial} is not in {}; add a line `{serial},USER` there; nothing \
             was imported",
            map_path.display()
        ))
    })
}

pub(super) fn yubico(config_path: &Path, args: YubicoArgs) -> Result<(), Failure> {
    let keys = yubico::parse_ykman_csv(&read(&args.file, "YubiKey CSV")?)
        .map_err(|e| Failure::Usage(format!("{}: {e}", args.file.display())))?;
    if keys.is_empty() {
        return Err(Failure::Usage(format!(
            "{} holds no YubiKey",
            args.file.display()
        )));
    }
    let map = user_map(&args.user_map)?;
    let mut tokens = Vec::new();
    for key in keys {
        let origin = format!("{} line {}", args.file.display(), key.line);
        let user = owner(&map, &key.serial, &origin, &args.user_map)?;
        let token = NewToken {
            label: "yubikey".to_owned(),
            serial: Some(key.serial.clone()),
            secret: TokenSecret::Yubico {
                public_id: key.public_id.clone(),
                private_id: key.private_id.clone(),
                aes_key: key.aes_key.clone(),
            },
            last_used: None,
        };
        tokens.push((user, token, origin));
    }
    let store = open_store(&load_config(config_path)?)?;
    store_all(store.as_ref(), tokens)
}

fn decryption(args: &PskcArgs) -> Result<Decryption, Failure> {
    if let Some(path) = &args.key_file {
        let text = read(path, "key file")?;
        let key = super::hex_secret(&text, text.trim().len() / 2)
            .filter(|k| matches!(k.len(), 16 | 24 | 32))
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "{} must hold an AES key in hex: 32, 48 or 64 hex digits",
                    path.display()
                ))
            })?;
        return Ok(Decryption::PreSharedKey(key));
    }
    if args.password_stdin {
        return Ok(Decryption::Password(read_stdin_line()?));
    }
    Ok(Decryption::None)
}

pub(super) fn pskc(config_path: &Path, args: PskcArgs) -> Result<(), Failure> {
    let decryption = decryption(&args)?;
    let packages = pskc::parse(&read(&args.file, "PSKC file")?, &decryption).map_err(|e| {
        Failure::Usage(format!(
            "{}: {e}; nothing was imported",
            args.file.display()
        ))
    })?;
    if packages.is_empty() {
        return Err(Failure::Usage(format!(
            "{} holds no key package",
            args.file.display()
        )));
    }
    let map = user_map(&args.user_map)?;
    let mut tokens = Vec::new();
    for package in packages {
        let origin = format!("key package {}", package.id);
        let serial = package.serial.clone().ok_or_else(|| {
            Failure::Usage(format!(
                "{origin} has no serial number (DeviceInfo/SerialNo), so it cannot be matched \
                 to a user; nothing was imported"
            ))
        })?;
        let user = owner(&map, &serial, &origin, &args.user_map)?;
        let unsupported =
            |what: String| Failure::Usage(format!("{origin}: {what}; nothing was imported"));
        let (secret, last_used) = match package.kind {
            PskcKind::Hotp { counter } => {
                if !HOTP_DIGITS.contains(&package.digits) {
                    return Err(unsupported(format!(
                        "HOTP with {} digits (radotp checks 6 or 8)",
                        package.digits
                    )));
                }
                (
                    TokenSecret::Hotp {
                        secret: package.secret.clone(),
                        digits: package.digits,
                    },
                    counter.checked_sub(1),
                )
            }
            PskcKind::Totp { period, algorithm } => {
                if !matches!(package.digits, 6 | 8) || !(1..=300).contains(&period) {
                    return Err(unsupported(format!(
                        "TOTP with {} digits every {period} s (radotp checks 6 or 8 digits, \
                         1 to 300 s)",
                        package.digits
                    )));
                }
                let algorithm = match algorithm {
                    PskcAlgorithm::Sha1 => Algorithm::Sha1,
                    PskcAlgorithm::Sha256 => Algorithm::Sha256,
                    PskcAlgorithm::Sha512 => Algorithm::Sha512,
                };
                let params = TotpParams {
                    algorithm,
                    digits: package.digits,
                    period,
                };
                (
                    TokenSecret::Totp(TotpSeed {
                        secret: package.secret.clone(),
                        params,
                    }),
                    None,
                )
            }
        };
        let token = NewToken {
            label: "fob".to_owned(),
            serial: Some(serial),
            secret,
            last_used,
        };
        tokens.push((user, token, origin));
    }
    let store = open_store(&load_config(config_path)?)?;
    store_all(store.as_ref(), tokens)
}
