//! The command line: global options, one file per subcommand group, and the exit-code
//! convention (0 success, 1 runtime failure, 2 usage or configuration mistake; `test` adds 3
//! for no valid answer from the server).

mod api_token;
mod bench;
mod check_config;
mod db;
mod serve;
mod sessions;
mod table;
mod test;
mod token;
mod user;

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use radotp_server::config::{Config, ConfigError};
use radotp_server::logging;
use radotp_server::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "radotp",
    version,
    about = "RADIUS server for two-step login on devices with one password field",
    long_about = "RADIUS server for two-step login on devices with one password field.\n\n\
        Users type their password with their current one-time code appended \
        (password \"abcdef\" + code \"123456\" → \"abcdef123456\").",
    after_help = "Examples:\n  radotp --config config/radotp.toml check-config\n  \
        radotp --config config/radotp.toml serve\n  \
        echo 'their password' | radotp user add alice --password-stdin"
)]
pub(crate) struct Cli {
    /// Configuration file; relative paths inside it resolve against its folder.
    #[arg(
        long,
        global = true,
        default_value = "config/radotp.toml",
        value_name = "PATH"
    )]
    pub config: PathBuf,

    /// Log line format (logs go to standard error).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Least important log level shown.
    // A closed list so that clap refuses a typo (exit 2, naming the levels) instead of the
    // filter taking it for a target name and logging nothing.
    #[arg(
        long,
        global = true,
        value_enum,
        ignore_case = true,
        default_value_t = LogLevel::Info,
        value_name = "LEVEL"
    )]
    pub log_level: LogLevel,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// logfmt: key=value pairs.
    Text,
    /// One JSON object per line.
    Json,
}

impl From<LogFormat> for logging::Format {
    fn from(format: LogFormat) -> Self {
        match format {
            LogFormat::Text => logging::Format::Text,
            LogFormat::Json => logging::Format::Json,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl From<LogLevel> for logging::Level {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Error => logging::Level::Error,
            LogLevel::Warn => logging::Level::Warn,
            LogLevel::Info => logging::Level::Info,
            LogLevel::Debug => logging::Level::Debug,
            LogLevel::Trace => logging::Level::Trace,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Answer RADIUS requests until SIGINT or SIGTERM.
    #[command(after_help = "Example:\n  radotp --config /etc/radotp/radotp.toml serve")]
    Serve,
    /// Check the configuration file and print every problem found.
    #[command(after_help = "Example:\n  radotp --config /etc/radotp/radotp.toml check-config")]
    CheckConfig,
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Bearer tokens of the admin HTTP API ([web]): create (shown once), list, remove.
    #[command(subcommand, after_help = api_token::HELP)]
    ApiToken(api_token::ApiTokenCommand),
    /// Manage users' tokens: apps, HOTP/TOTP fobs, YubiKeys; PSKC and YubiKey Manager imports.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Send a test Access-Request or Status-Server to a RADIUS server and check the answer.
    Test(test::TestArgs),
    /// Load a RADIUS server with signed requests and report throughput and latency; create
    /// benchmark users; measure the argon2 ceiling.
    #[command(after_help = bench::HELP)]
    Bench(bench::BenchArgs),
    /// List the open accounting sessions (Start or Interim-Update, no Stop yet).
    #[command(after_help = "Examples:\n  radotp sessions\n  radotp sessions --json")]
    Sessions {
        /// One JSON document: an array of {user, nas, session_id, address, since, updated}.
        #[arg(long)]
        json: bool,
    },
    /// Create or upgrade the database schema; copy an SQLite installation to PostgreSQL.
    #[command(subcommand, after_help = db::HELP)]
    Db(db::DbCommand),
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  radotp completions bash > /etc/bash_completion.d/radotp")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    #[command(after_help = "Example:\n  radotp man > /usr/local/share/man/man1/radotp.1")]
    Man,
}

/// How a command failed, which decides the exit code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// A mistake in how the command was called (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The configuration file is unusable (exit 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Something went wrong while doing the work (exit 1).
    #[error("{0}")]
    Runtime(String),
    /// No valid answer from a RADIUS server: a timeout, or only replies that failed their
    /// checks (exit 3, `radotp test`).
    #[error("{0}")]
    NoAnswer(String),
}

impl From<radotp_server::admin::AdminError> for Failure {
    /// The caller's mistake (a wrong value, a name that does not exist, an operation a rule
    /// refuses, each said with what to type instead) is a usage error; the rest happened while
    /// doing the work.
    fn from(e: radotp_server::admin::AdminError) -> Self {
        use radotp_server::admin::{AdminError, Kind};
        match (&e, e.kind()) {
            (AdminError::Refused(_), _) | (_, Kind::Invalid | Kind::NotFound) => {
                Failure::Usage(e.to_string())
            }
            (_, Kind::Conflict | Kind::Unavailable) => Failure::Runtime(e.to_string()),
        }
    }
}

impl Failure {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) | Failure::Config(_) => 2,
            Failure::Runtime(_) => 1,
            Failure::NoAnswer(_) => 3,
        }
    }
}

/// Run the parsed command.
pub(crate) fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve => serve::run(&cli.config),
        Command::CheckConfig => check_config::run(&cli.config),
        Command::User(command) => user::run(&cli.config, command),
        Command::Token(command) => token::run(&cli.config, command),
        Command::ApiToken(command) => api_token::run(&cli.config, command),
        Command::Test(args) => test::run(args),
        Command::Bench(args) => bench::run(&cli.config, args),
        Command::Db(command) => db::run(&cli.config, command),
        Command::Sessions { json } => sessions::run(&cli.config, json),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "radotp", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(|e| Failure::Runtime(format!("cannot write the manual page: {e}"))),
    }
}

/// Open the configured store (SQLite file or PostgreSQL URL) with its key file.
fn open_store(config: &Config) -> Result<std::sync::Arc<dyn Store>, Failure> {
    radotp_server::store::open(&config.database).map_err(|e| Failure::Runtime(e.to_string()))
}

/// A server that could not be built: a configuration mistake (exit 2, with the file's name,
/// as `check-config` says it) or a failure at run time (exit 1).
fn build_failure(path: &std::path::Path, e: radotp_server::server::BuildError) -> Failure {
    match e {
        radotp_server::server::BuildError::Config(problems) => {
            Failure::Config(ConfigError::Invalid {
                path: path.to_owned(),
                problems,
            })
        }
        other => Failure::Runtime(other.to_string()),
    }
}

/// Load the configuration (warnings are for `serve` and `check-config` to report).
fn load_config(path: &std::path::Path) -> Result<Config, Failure> {
    Ok(Config::load(path)?)
}
