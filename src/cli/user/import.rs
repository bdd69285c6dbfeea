//! `user import FILE`: many users from CSV or JSON lines, validated in full before anything is
//! written, then stored in one transaction.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Deserialize;
use serde_json::json;

use super::{Failure, check_password, now, print_json, store_failure, validate_name};
use crate::cli::{load_config, open_store};
use radotp_server::auth::otp::{self, Algorithm, TotpParams};
use radotp_server::auth::password;
use radotp_server::config::Config;
use radotp_server::secret::SecretBytes;
use radotp_server::store::{NewToken, NewUser, PasswordSource, StoreError, TotpSeed};

pub(super) const HELP: &str = "Examples:\n  \
    radotp user import staff.csv\n  \
    radotp user import staff.jsonl --json\n\n\
    Columns (a CSV header row, or the keys of one JSON object per line): name, and either\n\
    password or password_hash (an argon2 PHC string, quoted or not); optional password_source\n\
    (local|directory, default [password] source; a directory user has no password column),\n\
    totp_secret (base32), digits (6|8), period (30|60), algorithm (SHA1|SHA256|SHA512). Users without\n\
    totp_secret get a new one, printed once. All or nothing: every bad row is named by its\n\
    line and nothing is written.";

/// How many row errors are printed before the rest are only counted.
const MAX_ERRORS_SHOWN: usize = 20;

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// CSV (.csv) or JSON lines (.jsonl, .ndjson); other names are recognised by content.
    pub file: PathBuf,
    /// Print one JSON object {"imported", "users": [{"name", "secret", "otpauth_uri"}]} listing
    /// the users whose TOTP secret was generated.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    name: String,
    password: Option<String>,
    password_hash: Option<String>,
    password_source: Option<String>,
    totp_secret: Option<String>,
    digits: Option<u8>,
    period: Option<u64>,
    algorithm: Option<String>,
}

enum Credential {
    Hash(String),
    Password(SecretBytes),
    /// The directory or the upstream server checks the password: radotp stores none.
    Elsewhere(PasswordSource),
}

struct Prepared {
    line: u64,
    name: String,
    credential: Credential,
    seed: TotpSeed,
    generated: bool,
}

pub(super) fn run(config_path: &Path, args: ImportArgs) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", args.file.display())))?;
    let rows = parse(&args.file, &text)?;
    let prepared = validate(&config, &args.file, rows)?;
    let store = open_store(&config)?;

    let hashes = hash_all(&config, &prepared)?;
    let now = now();
    let tokens: Vec<NewToken> = prepared
        .iter()
        .map(|p| NewToken::app(p.seed.clone()))
        .collect();
    let users: Vec<NewUser> = prepared
        .iter()
        .zip(hashes.iter().zip(&tokens))
        .map(|(p, (hash, token))| NewUser {
            name: &p.name,
            password_hash: hash,
            password_source: match p.credential {
                Credential::Elsewhere(source) => source,
                _ => PasswordSource::Local,
            },
            token: Some(token),
            now,
        })
        .collect();
    store.add_users(&users).map_err(|e| match e {
        StoreError::UserExists(name) => {
            let line = prepared
                .iter()
                .find(|p| p.name == name)
                .map_or(0, |p| p.line);
            Failure::Usage(format!(
                "{} line {line}: user \"{name}\" already exists; nothing was imported",
                args.file.display()
            ))
        }
        other => store_failure(other),
    })?;
    report(&config, &prepared, args.json)
}

/// A row as read, with the line it starts on.
type ParsedRow = (u64, Result<Row, String>);

fn parse(file: &Path, text: &str) -> Result<Vec<ParsedRow>, Failure> {
    let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    let json_lines = match extension {
        "jsonl" | "ndjson" | "json" => true,
        "csv" => false,
        _ => text.trim_start().starts_with('{'),
    };
    if json_lines {
        return Ok(text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                let row = serde_json::from_str::<Row>(line).map_err(|e| e.to_string());
                (i as u64 + 1, row)
            })
            .collect());
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        // Rows of another length are told apart below: a PHC string's commas, or a clear error.
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Failure::Usage(format!("{}: no CSV header row: {e}", file.display())))?
        .clone();
    let hash_column = headers.iter().position(|h| h == "password_hash");
    let mut rows = Vec::new();
    for record in reader.records() {
        let row = match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                let row = fitted(record, &headers, hash_column).and_then(|record| {
                    record
                        .deserialize::<Row>(Some(&headers))
                        .map_err(csv_message)
                });
                (line, row)
            }
            Err(e) => (e.position().map_or(0, |p| p.line()), Err(csv_message(e))),
        };
        rows.push(row);
    }
    Ok(rows)
}

/// The record with as many fields as the header. An argon2 PHC string holds commas
/// (`$argon2id$v=19$m=19456,t=2,p=1$…`), so a `password_hash` written without quotes spans
/// three fields: they are joined back when that makes a PHC string and the row fits (the hash
/// is validated after). Any other length is an error that says how many fields and why.
fn fitted(
    record: csv::StringRecord,
    headers: &csv::StringRecord,
    hash_column: Option<usize>,
) -> Result<csv::StringRecord, String> {
    let (found, expected) = (record.len(), headers.len());
    if found == expected {
        return Ok(record);
    }
    let unequal = format!("{found} fields where the header has {expected}");
    let (Some(column), true) = (hash_column, found > expected) else {
        return Err(format!("{unequal}; quote a field that holds a comma"));
    };
    let extra = found - expected;
    let joined = (column..=column + extra)
        .map(|i| &record[i])
        .collect::<Vec<_>>()
        .join(",");
    if !joined.starts_with("$argon2") {
        return Err(format!(
            "{unequal}, and password_hash does not take the extra ones; quote a field that \
             holds a comma"
        ));
    }
    let mut fields: Vec<&str> = record.iter().take(column).collect();
    fields.push(&joined);
    fields.extend(record.iter().skip(column + extra + 1));
    Ok(csv::StringRecord::from(fields))
}

/// The serde part of a CSV error, without the crate's own position prefix.
fn csv_message(e: csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
        _ => e.to_string(),
    }
}

fn validate(config: &Config, file: &Path, rows: Vec<ParsedRow>) -> Result<Vec<Prepared>, Failure> {
    let mut errors = Vec::new();
    let mut prepared = Vec::with_capacity(rows.len());
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (line, row) in rows {
        let result = row.and_then(|row| prepare(config, line, row));
        match result {
            Ok(p) => match seen.insert(p.name.clone(), line) {
                Some(first) => errors.push(format!(
                    "line {line}: user \"{}\" is also on line {first}",
                    p.name
                )),
                None => prepared.push(p),
            },
            Err(e) => errors.push(format!("line {line}: {e}")),
        }
    }
    if prepared.is_empty() && errors.is_empty() {
        return Err(Failure::Usage(format!("{} holds no users", file.display())));
    }
    if errors.is_empty() {
        return Ok(prepared);
    }
    let mut message = format!(
        "{}: {} bad row(s); nothing was imported:",
        file.display(),
        errors.len()
    );
    for e in errors.iter().take(MAX_ERRORS_SHOWN) {
        message.push_str("\n  ");
        message.push_str(e);
    }
    if errors.len() > MAX_ERRORS_SHOWN {
        message.push_str(&format!(
            "\n  … and {} more",
            errors.len() - MAX_ERRORS_SHOWN
        ));
    }
    Err(Failure::Usage(message))
}

fn prepare(config: &Config, line: u64, row: Row) -> Result<Prepared, String> {
    validate_name(&row.name)?;
    let defaults = config.otp.defaults;
    let params = TotpParams {
        digits: match row.digits {
            None => defaults.digits,
            Some(d @ (6 | 8)) => d,
            Some(d) => return Err(format!("digits {d}: use 6 or 8")),
        },
        period: match row.period {
            None => defaults.period,
            Some(p @ (30 | 60)) => p,
            Some(p) => return Err(format!("period {p}: use 30 or 60")),
        },
        algorithm: match row.algorithm.as_deref().filter(|a| !a.is_empty()) {
            None => defaults.algorithm,
            Some(a) => a.parse::<Algorithm>()?,
        },
    };
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let source = match nonempty(row.password_source) {
        None => config.password_source,
        Some(text) => PasswordSource::parse(&text).ok_or_else(|| {
            format!("password_source \"{text}\": use \"local\", \"directory\" or \"upstream\"")
        })?,
    };
    if source == PasswordSource::Directory && config.directory.is_none() {
        return Err(
            "password_source directory: the configuration has no [directory] section".into(),
        );
    }
    if source == PasswordSource::Upstream && config.upstream.is_none() {
        return Err("password_source upstream: the configuration has no [upstream] section".into());
    }
    let credential = match (nonempty(row.password), nonempty(row.password_hash)) {
        (None, None) if source != PasswordSource::Local => Credential::Elsewhere(source),
        _ if source != PasswordSource::Local => {
            let whose = match source {
                PasswordSource::Directory => "a directory user's password is the directory's",
                _ => "an upstream user's password is the upstream server's",
            };
            return Err(format!("{whose}: leave password and password_hash empty"));
        }
        (Some(_), Some(_)) => return Err("give password or password_hash, not both".into()),
        (None, None) => return Err("password or password_hash is required".into()),
        (Some(pw), None) => {
            check_password(pw.as_bytes(), params.digits)?;
            Credential::Password(SecretBytes::new(pw.into_bytes()))
        }
        (None, Some(hash)) => {
            password::validate(&hash).map_err(|e| format!("password_hash: {e}"))?;
            Credential::Hash(hash)
        }
    };
    let (secret, generated) = match nonempty(row.totp_secret) {
        Some(text) => (otp::parse_base32_secret(&text)?, false),
        None => (otp::generate_secret(), true),
    };
    Ok(Prepared {
        line,
        name: row.name,
        credential,
        seed: TotpSeed { secret, params },
        generated,
    })
}

/// Hash plain passwords on every core (pre-hashed rows cost nothing), with a progress bar on a
/// terminal.
fn hash_all(config: &Config, prepared: &[Prepared]) -> Result<Vec<String>, Failure> {
    let to_hash = prepared
        .iter()
        .filter(|p| matches!(p.credential, Credential::Password(_)))
        .count();
    let bar = progress(to_hash as u64);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = prepared.len().div_ceil(threads).max(1);
    let results: Vec<Result<Vec<String>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = prepared
            .chunks(chunk)
            .map(|part| {
                let bar = bar.clone();
                scope.spawn(move || {
                    part.iter()
                        .map(|p| match &p.credential {
                            Credential::Hash(h) => Ok(h.clone()),
                            Credential::Elsewhere(_) => Ok(String::new()),
                            Credential::Password(pw) => {
                                let hash = password::hash(config.password, pw.expose());
                                bar.inc(1);
                                hash.map_err(|e| e.to_string())
                            }
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a hashing thread failed".into()))
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut hashes = Vec::with_capacity(prepared.len());
    for part in results {
        hashes.extend(part.map_err(|e| Failure::Runtime(format!("cannot hash a password: {e}")))?);
    }
    Ok(hashes)
}

fn progress(len: u64) -> ProgressBar {
    if len == 0 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("hashing passwords {bar:40} {pos}/{len} ({eta})")
    {
        bar.set_style(style);
    }
    bar
}

fn report(config: &Config, prepared: &[Prepared], as_json: bool) -> Result<(), Failure> {
    let mut generated = Vec::new();
    for p in prepared.iter().filter(|p| p.generated) {
        let uri = otp::otpauth_uri(&config.otp.issuer, &p.name, &p.seed.secret, p.seed.params)
            .map_err(Failure::Runtime)?;
        generated.push((p.name.as_str(), otp::to_base32(&p.seed.secret), uri));
    }
    if as_json {
        let users: Vec<_> = generated
            .iter()
            .map(
                |(name, secret, uri)| json!({ "name": name, "secret": secret, "otpauth_uri": uri }),
            )
            .collect();
        print_json(&json!({ "imported": prepared.len(), "users": users }));
        return Ok(());
    }
    println!("Imported {} user(s).", prepared.len());
    if !generated.is_empty() {
        println!("New TOTP secrets (shown once; give each user their URI or QR code):");
        for (name, _, uri) in &generated {
            println!("  {name}  {uri}");
        }
    }
    Ok(())
}
