//! The `radotp` binary: parse arguments, set up logging, run, report.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    if let Err(message) = init_logging(cli.log_format, &cli.log_level) {
        eprintln!("Error: {message}");
        return ExitCode::from(2);
    }
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("Error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

fn init_logging(format: LogFormat, level: &str) -> Result<(), String> {
    EnvFilter::try_new(level).map_err(|_| {
        format!("--log-level {level:?} is not a level; use error, warn, info, debug or trace")
    })?;
    // The HTTP client dumps whole requests (a sent code among them) at trace level: cap it.
    let filter = EnvFilter::new(format!(
        "{level},{}",
        radotp_server::delivery::webhook::LOG_DIRECTIVES
    ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    Ok(())
}

/// Rust ignores SIGPIPE, which turns `radotp user list | head` into a panic on the next write.
/// A command-line tool should just stop, as every other one in the pipeline does.
#[allow(unsafe_code)] // the one libc call below, with its SAFETY note
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
