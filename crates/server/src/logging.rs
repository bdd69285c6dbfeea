//! The process's log: which events are kept (level, plus the HTTP client's cap) and the one
//! line shape both formats share (see [`line`]). The binary calls [`init`] once; tests build a
//! [`subscriber`] over their own writer.

mod line;
#[cfg(test)]
mod tests;

use tracing::Subscriber;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::delivery::webhook::LOG_DIRECTIVES;

/// How each line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// logfmt: `key=value` pairs, values quoted only where needed.
    Text,
    /// One JSON object per line, numbers and bools typed.
    Json,
}

/// The least important level kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    /// The level's name, as lines and `--log-level` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }

    fn filter(self) -> LevelFilter {
        match self {
            Level::Error => LevelFilter::ERROR,
            Level::Warn => LevelFilter::WARN,
            Level::Info => LevelFilter::INFO,
            Level::Debug => LevelFilter::DEBUG,
            Level::Trace => LevelFilter::TRACE,
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Install the process-wide subscriber: `format` lines at `level` and above on standard error,
/// and `log` records (ureq's, tokio-postgres's) forwarded into it. Fails if one is installed.
pub fn init(format: Format, level: Level) -> Result<(), String> {
    subscriber(format, level, std::io::stderr)?
        .try_init()
        .map_err(|e| format!("cannot set up logging: {e}"))
}

/// The subscriber [`init`] installs, writing to `writer` instead of standard error.
pub fn subscriber<W>(
    format: Format,
    level: Level,
    writer: W,
) -> Result<impl Subscriber + Send + Sync + 'static, String>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // The HTTP client dumps whole requests (a sent code among them) at trace level: its
    // directives cap it at debug. An EnvFilter directive also *raises* its target above the
    // global level, so the plain level filter beside it keeps ureq's debug lines out of an
    // `info` log: an event must pass both.
    let caps = EnvFilter::try_new(format!("{level},{LOG_DIRECTIVES}"))
        .map_err(|e| format!("bad log filter: {e}"))?;
    let lines = tracing_subscriber::fmt::layer()
        .event_format(line::LineFormat::new(format))
        .with_ansi(false)
        .with_writer(writer);
    Ok(tracing_subscriber::registry()
        .with(level.filter())
        .with(caps)
        .with(lines))
}
