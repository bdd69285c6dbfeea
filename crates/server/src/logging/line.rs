//! One event → one line, the same keys in the same order in both formats: `timestamp`,
//! `level`, `message`, the event's fields as declared, `target`. A field the event declares but
//! does not record is written `-` (logfmt) or `null` (JSON), so every line from one call site
//! has the same keys whatever was known when it was logged.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::Format;

/// Fields the `log` bridge adds to a forwarded record: `log.target` is the record's real target
/// (the event's own is just "log"); file, line and module path are noise in an operator's log.
const LOG_PREFIX: &str = "log.";
const LOG_TARGET: &str = "log.target";

/// The [`FormatEvent`] behind both formats.
#[derive(Debug, Clone, Copy)]
pub(super) struct LineFormat {
    format: Format,
}

impl LineFormat {
    pub(super) fn new(format: Format) -> Self {
        Self { format }
    }
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut fields = Recorded::new(meta.fields().len());
        event.record(&mut fields);
        let timestamp = Value::Str(crate::timefmt::rfc3339_millis(std::time::SystemTime::now()));
        let level = Value::Str(level_name(meta.level()).to_owned());
        let field = |f: &Field| fields.values.get(f.index()).and_then(Option::as_ref);
        let message = meta.fields().field("message");
        let target = Value::Str(
            fields
                .log_target
                .clone()
                .unwrap_or_else(|| meta.target().to_owned()),
        );

        let mut line = Line::new(&mut writer, self.format)?;
        line.pair("timestamp", Some(&timestamp))?;
        line.pair("level", Some(&level))?;
        line.pair("message", message.as_ref().and_then(field))?;
        for f in meta.fields() {
            if f.name() != "message" && !f.name().starts_with(LOG_PREFIX) {
                line.pair(f.name(), field(&f))?;
            }
        }
        line.pair("target", Some(&target))?;
        line.end()
    }
}

fn level_name(level: &tracing::Level) -> &'static str {
    match *level {
        tracing::Level::ERROR => "error",
        tracing::Level::WARN => "warn",
        tracing::Level::INFO => "info",
        tracing::Level::DEBUG => "debug",
        tracing::Level::TRACE => "trace",
    }
}

/// One recorded value, kept typed until it is written.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Str(String),
    /// An integer, as its decimal digits (the same text in both formats).
    Int(String),
    Float(f64),
    Bool(bool),
}

/// What the event recorded, by the field's index in its declaration.
struct Recorded {
    values: Vec<Option<Value>>,
    log_target: Option<String>,
}

impl Recorded {
    fn new(len: usize) -> Self {
        Self {
            values: vec![None; len],
            log_target: None,
        }
    }

    fn set(&mut self, field: &Field, value: Value) {
        if field.name() == LOG_TARGET {
            if let Value::Str(target) = value {
                self.log_target = Some(target);
            }
        } else if let Some(slot) = self.values.get_mut(field.index()) {
            *slot = Some(value);
        }
    }
}

impl Visit for Recorded {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field, Value::Float(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field, Value::Int(value.to_string()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field, Value::Int(value.to_string()));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.set(field, Value::Int(value.to_string()));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.set(field, Value::Int(value.to_string()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, Value::Str(value.to_owned()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.set(field, Value::Str(value.to_string()));
    }
    // `%display`, `?debug` and the message (format_args!) all arrive here: text.
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field, Value::Str(format!("{value:?}")));
    }
}

/// A line being written: separators, the chosen syntax, the closing brace and newline.
pub(super) struct Line<'w, W: Write> {
    out: &'w mut W,
    format: Format,
    first: bool,
}

impl<'w, W: Write> Line<'w, W> {
    pub(super) fn new(out: &'w mut W, format: Format) -> Result<Self, fmt::Error> {
        if format == Format::Json {
            out.write_char('{')?;
        }
        Ok(Self {
            out,
            format,
            first: true,
        })
    }

    /// `key=value` or `"key":value`; `None` is the absent value.
    pub(super) fn pair(&mut self, key: &str, value: Option<&Value>) -> fmt::Result {
        let first = std::mem::replace(&mut self.first, false);
        match self.format {
            Format::Text => {
                if !first {
                    self.out.write_char(' ')?;
                }
                logfmt_key(self.out, key)?;
                self.out.write_char('=')?;
                logfmt_value(self.out, value)
            }
            Format::Json => {
                if !first {
                    self.out.write_char(',')?;
                }
                json_string(self.out, key)?;
                self.out.write_char(':')?;
                json_value(self.out, value)
            }
        }
    }

    pub(super) fn end(self) -> fmt::Result {
        if self.format == Format::Json {
            self.out.write_char('}')?;
        }
        self.out.write_char('\n')
    }
}

/// Keys come from code, but a string-literal field name could hold anything: anything that
/// would break the `key=value` split becomes `_`.
fn logfmt_key(out: &mut impl Write, key: &str) -> fmt::Result {
    for c in key.chars() {
        out.write_char(if needs_quotes(c) { '_' } else { c })?;
    }
    Ok(())
}

fn logfmt_value(out: &mut impl Write, value: Option<&Value>) -> fmt::Result {
    match value {
        None => out.write_char('-'),
        Some(Value::Str(s)) => logfmt_string(out, s),
        Some(Value::Int(digits)) => out.write_str(digits),
        // Finite floats as JSON writes them (`3.0`, `1e300`); NaN and infinities as Rust does.
        Some(Value::Float(f)) => match serde_json::Number::from_f64(*f) {
            Some(n) => write!(out, "{n}"),
            None => write!(out, "{f}"),
        },
        Some(Value::Bool(b)) => write!(out, "{b}"),
    }
}

/// Bare when that is unambiguous; quoted when empty, `-` (the absent marker), or holding a
/// character that would split, fake or break the line.
fn logfmt_string(out: &mut impl Write, s: &str) -> fmt::Result {
    if !s.is_empty() && s != "-" && !s.chars().any(needs_quotes) {
        return out.write_str(s);
    }
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if is_unprintable(c) => write!(out, "\\u{{{:x}}}", u32::from(c))?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

fn needs_quotes(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '=' | '\\') || is_unprintable(c)
}

/// Control characters, and the Unicode line and paragraph separators some viewers break on:
/// escaped so that one event stays one line.
fn is_unprintable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

fn json_value(out: &mut impl Write, value: Option<&Value>) -> fmt::Result {
    match value {
        None => out.write_str("null"),
        Some(Value::Str(s)) => json_string(out, s),
        Some(Value::Int(digits)) => out.write_str(digits),
        // JSON has no NaN or infinity: null rather than a string, so the key keeps one type.
        Some(Value::Float(f)) => match serde_json::Number::from_f64(*f) {
            Some(n) => write!(out, "{n}"),
            None => out.write_str("null"),
        },
        Some(Value::Bool(b)) => write!(out, "{b}"),
    }
}

/// A JSON string literal (RFC 8259: `"`, `\` and U+0000–U+001F must be escaped).
fn json_string(out: &mut impl Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if is_unprintable(c) => write!(out, "\\u{:04x}", u32::from(c))?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}
