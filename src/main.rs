//! The `radotp` binary: parse arguments, set up logging, run, report.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use cli::Cli;

fn main() -> ExitCode {
    set_signal_dispositions();
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
///
/// SIGXFSZ (a write past the file size limit, `ulimit -f` or systemd's `LimitFSIZE=`) would
/// kill the process without a word; ignored, the write fails with EFBIG ("File too large"),
/// which every command reports as the error it is, and `serve` also logs the signal itself.
#[allow(unsafe_code)] // the libc calls below, with their SAFETY note
fn set_signal_dispositions() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL and SIG_IGN are
    // always valid dispositions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
