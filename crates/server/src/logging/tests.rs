//! The line shape, captured through the real subscriber: quoting and escaping, typed JSON,
//! absent fields, field order, filtering, and that every line parses back.

use std::io;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tracing::field::Empty;
use tracing_subscriber::fmt::MakeWriter;

use super::{Format, Level, subscriber};
use logfmt::{Text, logfmt};

mod logfmt;

/// A shared buffer the subscriber writes into.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// The lines written while `emit` runs under a subscriber of `format` at `level`.
fn capture(format: Format, level: Level, emit: impl FnOnce()) -> Vec<String> {
    let buffer = Buffer::default();
    let subscriber = subscriber(format, level, buffer.clone()).unwrap();
    tracing::subscriber::with_default(subscriber, emit);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "unterminated: {text:?}"
    );
    text.split_terminator('\n').map(str::to_owned).collect()
}

/// The one line `emit` writes.
fn one(format: Format, emit: impl FnOnce()) -> String {
    let mut lines = capture(format, Level::Trace, emit);
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.remove(0)
}

fn json(line: &str) -> Value {
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert!(v.is_object(), "{line}");
    v
}

fn keys<T>(pairs: &[(String, T)]) -> Vec<&str> {
    pairs.iter().map(|(k, _)| k.as_str()).collect()
}

fn value<'a>(pairs: &'a [(String, Text)], key: &str) -> &'a Text {
    &pairs.iter().find(|(k, _)| k == key).unwrap().1
}

fn bare(text: &str) -> Text {
    Text {
        text: text.into(),
        quoted: false,
    }
}

fn quoted(text: &str) -> Text {
    Text {
        text: text.into(),
        quoted: true,
    }
}

/// Strings that must survive both formats intact.
const AWKWARD: [(&str, &str); 8] = [
    ("space", "wrong password"),
    ("quote", "say \"hi\""),
    ("equals", "a=b"),
    ("newline", "one\ntwo\r\n\tthree"),
    ("empty", ""),
    ("dash", "-"),
    ("backslash", "c:\\dir"),
    ("escape", "\u{1b}[31mred\u{7f}\u{2028}"),
];

fn emit_awkward() {
    let [a, b, c, d, e, f, g, h] = AWKWARD.map(|(_, v)| v);
    tracing::info!(
        plain = "alice",
        space = a,
        quote = b,
        equals = c,
        newline = d,
        empty = e,
        dash = f,
        backslash = g,
        escape = h,
        "request"
    );
}

#[test]
fn text_quotes_only_what_needs_it_and_round_trips() {
    let line = one(Format::Text, emit_awkward);
    assert!(line.contains(" plain=alice "), "{line}");
    assert!(line.contains(r#" space="wrong password" "#), "{line}");
    assert!(line.contains(r#" quote="say \"hi\"" "#), "{line}");
    assert!(line.contains(r#" equals="a=b" "#), "{line}");
    assert!(
        line.contains(r#" newline="one\ntwo\r\n\tthree" "#),
        "{line}"
    );
    assert!(line.contains(r#" empty="" "#), "{line}");
    assert!(line.contains(r#" dash="-" "#), "{line}");
    assert!(line.contains(r#" backslash="c:\\dir" "#), "{line}");
    assert!(
        line.contains(r#" escape="\u{1b}[31mred\u{7f}\u{2028}" "#),
        "{line}"
    );
    let pairs = logfmt(&line);
    assert_eq!(*value(&pairs, "plain"), bare("alice"));
    for (key, text) in AWKWARD {
        assert_eq!(*value(&pairs, key), quoted(text), "{key}");
    }
}

#[test]
fn json_strings_round_trip() {
    let v = json(&one(Format::Json, emit_awkward));
    assert_eq!(v["plain"], "alice");
    for (key, text) in AWKWARD {
        assert_eq!(v[key], text, "{key}");
    }
}

fn emit_typed() {
    let addr: std::net::SocketAddr = "127.0.0.1:1812".parse().unwrap();
    tracing::info!(
        big = u64::MAX,
        negative = i64::MIN,
        small = 5_u8,
        ratio = 1.5_f64,
        whole = 3.0_f64,
        nan = f64::NAN,
        yes = true,
        no = false,
        text = "5",
        address = %addr,
        list = ?[1, 2],
        "typed"
    );
}

#[test]
fn json_values_are_typed() {
    let v = json(&one(Format::Json, emit_typed));
    assert_eq!(v["big"].as_u64(), Some(u64::MAX));
    assert_eq!(v["negative"].as_i64(), Some(i64::MIN));
    assert_eq!(v["small"].as_u64(), Some(5));
    assert_eq!(v["ratio"].as_f64(), Some(1.5));
    assert_eq!(v["whole"].as_f64(), Some(3.0));
    assert!(v["whole"].is_f64(), "a float stays a float: {v}");
    assert!(v["nan"].is_null(), "JSON has no NaN: {v}");
    assert_eq!(v["yes"], true);
    assert_eq!(v["no"], false);
    assert_eq!(v["text"], "5", "a string stays a string");
    assert_eq!(v["address"], "127.0.0.1:1812", "%display is a string");
    assert_eq!(v["list"], "[1, 2]", "?debug is a string");
}

#[test]
fn text_values_are_bare() {
    let line = one(Format::Text, emit_typed);
    let pairs = logfmt(&line);
    for (key, text) in [
        ("big", "18446744073709551615"),
        ("negative", "-9223372036854775808"),
        ("small", "5"),
        ("ratio", "1.5"),
        ("whole", "3.0"),
        ("nan", "NaN"),
        ("yes", "true"),
        ("no", "false"),
        ("text", "5"),
        ("address", "127.0.0.1:1812"),
    ] {
        assert_eq!(*value(&pairs, key), bare(text), "{key} in {line}");
    }
    assert_eq!(*value(&pairs, "list"), quoted("[1, 2]"));
}

fn emit_absent() {
    let id: Option<u8> = None;
    let code: Option<u8> = Some(1);
    tracing::info!(client = Empty, id, code, user = "-", "request");
}

#[test]
fn absent_fields_are_a_dash_or_null() {
    let line = one(Format::Text, emit_absent);
    let pairs = logfmt(&line);
    assert_eq!(*value(&pairs, "client"), bare("-"), "{line}");
    assert_eq!(*value(&pairs, "id"), bare("-"), "{line}");
    assert_eq!(*value(&pairs, "code"), bare("1"), "{line}");
    assert_eq!(
        *value(&pairs, "user"),
        quoted("-"),
        "a real \"-\" is quoted: {line}"
    );

    let v = json(&one(Format::Json, emit_absent));
    assert!(v["client"].is_null() && v["id"].is_null(), "{v}");
    assert_eq!(v["code"], 1);
    assert_eq!(v["user"], "-");
}

#[test]
fn an_event_without_a_message_still_has_the_key() {
    let line = one(Format::Text, || tracing::info!(n = 1));
    assert!(line.contains(" message=- "), "{line}");
    let v = json(&one(Format::Json, || tracing::info!(n = 1)));
    assert!(v["message"].is_null(), "{v}");
}

fn emit_ordered() {
    tracing::warn!(zeta = 1, alpha = 2, mid = "x", "order");
}

#[test]
fn keys_come_in_one_order() {
    let want = [
        "timestamp",
        "level",
        "message",
        "zeta",
        "alpha",
        "mid",
        "target",
    ];
    let pairs = logfmt(&one(Format::Text, emit_ordered));
    assert_eq!(keys(&pairs), want);
    assert_eq!(*value(&pairs, "message"), bare("order"));
    assert_eq!(*value(&pairs, "level"), bare("warn"));
    assert_eq!(
        *value(&pairs, "target"),
        bare("radotp_server::logging::tests")
    );

    // serde_json's map does not keep order: find each key in the text instead.
    let line = one(Format::Json, emit_ordered);
    let at: Vec<usize> = want
        .iter()
        .map(|k| line.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(at.is_sorted(), "{line}");
    assert_eq!(json(&line).as_object().unwrap().len(), want.len());
}

#[test]
fn timestamps_are_utc_with_milliseconds() {
    let line = one(Format::Json, || tracing::info!("now"));
    let ts = json(&line)["timestamp"].as_str().unwrap().to_owned();
    // 2026-12-01T21:35:20.123Z
    assert_eq!(ts.len(), 24, "{ts}");
    for (i, c) in ts.char_indices() {
        let want = match i {
            4 | 7 => '-',
            10 => 'T',
            13 | 16 => ':',
            19 => '.',
            23 => 'Z',
            _ => '0',
        };
        assert!(c == want || (want == '0' && c.is_ascii_digit()), "{ts}");
    }
}

#[test]
fn every_level_is_lower_case_and_the_level_filters() {
    let emit = || {
        tracing::error!("e");
        tracing::warn!("w");
        tracing::info!("i");
        tracing::debug!("d");
        tracing::trace!("t");
    };
    let levels = |lines: Vec<String>| -> Vec<String> {
        lines
            .iter()
            .map(|l| json(l)["level"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = levels(capture(Format::Json, Level::Trace, emit));
    assert_eq!(all, ["error", "warn", "info", "debug", "trace"]);
    let some = levels(capture(Format::Json, Level::Warn, emit));
    assert_eq!(some, ["error", "warn"]);
}

#[test]
fn the_http_client_is_capped_at_debug_and_never_raised() {
    let emit = || {
        tracing::debug!(target: "ureq::unit", "ureq debug");
        tracing::trace!(target: "ureq::unit", "ureq trace");
    };
    let at_trace = capture(Format::Text, Level::Trace, emit);
    assert_eq!(at_trace.len(), 1, "{at_trace:?}");
    assert!(
        at_trace[0].contains("message=\"ureq debug\""),
        "{at_trace:?}"
    );
    let at_info = capture(Format::Text, Level::Info, emit);
    assert!(at_info.is_empty(), "{at_info:?}");
}

#[test]
fn log_records_keep_their_target_and_drop_the_bridge_fields() {
    use tracing_log::log;
    let line = one(Format::Text, || {
        tracing_log::format_trace(
            &log::Record::builder()
                .args(format_args!("pool opened"))
                .level(log::Level::Info)
                .target("some_crate::pool")
                .module_path(Some("some_crate::pool"))
                .file(Some("pool.rs"))
                .line(Some(7))
                .build(),
        )
        .unwrap();
    });
    let pairs = logfmt(&line);
    assert_eq!(keys(&pairs), ["timestamp", "level", "message", "target"]);
    assert_eq!(*value(&pairs, "message"), quoted("pool opened"));
    assert_eq!(*value(&pairs, "target"), bare("some_crate::pool"));
}
