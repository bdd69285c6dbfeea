//! The `radotp` binary: parse arguments, set up logging, run, report.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use cli::Cli;

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    if let Err(message) = radotp_server::logging::init(cli.log_format.into(), cli.log_level.into())
    {
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
