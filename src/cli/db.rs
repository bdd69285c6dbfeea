//! `radotp db`: schema migrations, and moving an SQLite installation to PostgreSQL.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Failure, load_config};
use radotp_server::store::postgres::SCHEMA_VERSION;
use radotp_server::store::postgres::copy::copy_from_sqlite;
use radotp_server::store::{Keys, PostgresStore, PostgresUrl, SqliteStore};

pub(super) const HELP: &str = "Examples:\n  \
    radotp --config /etc/radotp/radotp.toml db migrate\n  \
    radotp --config /etc/radotp/radotp.toml db copy --from /var/lib/radotp/radotp.db \\\n      \
    --to postgres://radotp@db.example.org/radotp";

#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Create or upgrade the configured database's schema (`serve` does it too on start).
    #[command(after_help = "Example:\n  radotp --config /etc/radotp/radotp.toml db migrate")]
    Migrate,
    /// Copy an SQLite database into an empty PostgreSQL database, all or nothing.
    ///
    /// Users are copied with everything that guards them: sealed seeds as they are, used TOTP
    /// steps, learned drift, failure counters and locks, recovery codes (used or not), groups,
    /// reply attributes and delivery addresses. Codes sent out of band and open challenges are
    /// not copied: they live minutes. The key file of `--config` must be the one the SQLite
    /// database was made with; every node on PostgreSQL then needs a copy of it.
    #[command(
        after_help = "Example:\n  radotp --config /etc/radotp/radotp.toml db copy \
        --from /var/lib/radotp/radotp.db --to postgres://radotp@db.example.org/radotp\n\n\
        Stop radotp first, so nothing changes in the SQLite file during the copy; then point \
        the nodes at the URL ([database] url = \"postgres://…\" instead of path)."
    )]
    Copy {
        /// The SQLite database to copy (left unchanged).
        #[arg(long, value_name = "SQLITE_PATH")]
        from: PathBuf,
        /// The PostgreSQL database to fill; it must hold no radotp data yet.
        #[arg(long, value_name = "POSTGRES_URL")]
        to: String,
    },
}

pub(super) fn run(config_path: &Path, command: DbCommand) -> Result<(), Failure> {
    match command {
        DbCommand::Migrate => migrate(config_path),
        DbCommand::Copy { from, to } => copy(config_path, &from, &to),
    }
}

fn runtime_error(e: impl std::fmt::Display) -> Failure {
    Failure::Runtime(e.to_string())
}

fn keys(path: &Path) -> Result<Keys, Failure> {
    Keys::load_or_create(path).map_err(runtime_error)
}

fn migrate(config_path: &Path) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let keys = keys(&config.database.key_file)?;
    match &config.database.url {
        Some(url) => {
            let store = PostgresStore::open(url, keys).map_err(runtime_error)?;
            let found = store.found_version();
            println!("{url}: schema version {SCHEMA_VERSION} (found {found})");
        }
        None => {
            SqliteStore::open(&config.database.path, keys).map_err(runtime_error)?;
            println!(
                "{}: schema version {SCHEMA_VERSION}",
                config.database.path.display()
            );
        }
    }
    Ok(())
}

fn copy(config_path: &Path, from: &Path, to: &str) -> Result<(), Failure> {
    let url = PostgresUrl::parse(to).map_err(|e| Failure::Usage(format!("--to {e}")))?;
    let config = load_config(config_path)?;
    if !config.database.key_file.exists() {
        return Err(Failure::Usage(format!(
            "the key file {} does not exist; db copy needs the key file the SQLite database \
             was made with",
            config.database.key_file.display()
        )));
    }
    let keys = keys(&config.database.key_file)?;
    let bar = progress();
    let summary = copy_from_sqlite(from, &keys, &url, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .map_err(runtime_error);
    bar.finish_and_clear();
    let summary = summary?;
    println!(
        "copied {} users, {} recovery codes, {} invitations and {} API tokens from {} to {url} \
         (sent codes and open challenges are not copied)",
        summary.users,
        summary.recovery_codes,
        summary.invitations,
        summary.api_tokens,
        from.display()
    );
    Ok(())
}

fn progress() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("copying users {bar:40} {pos}/{len} ({eta})") {
        bar.set_style(style);
    }
    bar
}
