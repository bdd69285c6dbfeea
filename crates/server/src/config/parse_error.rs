//! A TOML syntax error as an administrator can act on it: the key and the position, but never
//! the quoted source line, which may be `secret = "…"`, nor the value the parser found, which
//! may be `secret = 8675309112233445566`.

/// The parser's message with the key and position, but without the quoted source line: that
/// line may be `secret = "…"`, and a shared secret must not reach an error message. Nor the
/// value itself, whatever its type: "invalid type: integer, expected a string".
pub(super) fn message(text: &str, error: &toml::de::Error) -> String {
    let message = without_value(error.message().trim_end());
    let message = message.as_str();
    match error.span() {
        Some(span) => {
            let offset = floor_char_boundary(text, span.start);
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let line_end = text[offset..].find('\n').map_or(text.len(), |n| offset + n);
            match key_at(&text[..line_end]) {
                Some(key) => format!("{key}: {message} (line {line}, column {column})"),
                None => format!("line {line}, column {column}: {message}"),
            }
        }
        None => message.to_owned(),
    }
}

/// Serde's "invalid type: integer `8675309`, expected a string" (and "invalid value: …") quote
/// the value found. Which keys hold secrets cannot be told reliably from a file that does not
/// parse (an inline table puts `secret` on the line of its array), so the value is left out
/// for every key: the kind is kept, and the position points at the value.
fn without_value(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let Some((found, expected)) = rest.split_once(", expected ") else {
                return format!("{prefix}{}", kind(rest));
            };
            return format!("{prefix}{}, expected {expected}", kind(found));
        }
    }
    message.to_owned()
}

/// "integer `5`" → "integer"; "string \"abc\"" → "string"; "sequence" stays.
fn kind(found: &str) -> &str {
    found
        .split_once(['`', '"', '\''])
        .map_or(found, |(kind, _)| kind)
        .trim_end()
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The key defined on the last line of `upto`, as the validation messages name keys:
/// `server.listen`, `client[1].secret` (array tables counted from 0). Read from the lines only
/// (the last `key =` at the start of a line, under the last table header), so it also works when
/// the text does not parse. `None` when no key can be told.
fn key_at(upto: &str) -> Option<String> {
    let mut table: Option<String> = None;
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut key: Option<String> = None;
    for line in upto.split('\n') {
        let line = line.trim_start();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.split_once("]]")) {
            let name = name.0.trim().to_owned();
            let index = counts.entry(name.clone()).or_insert(0);
            table = Some(format!("{name}[{index}]"));
            *index += 1;
            key = None;
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.split_once(']')) {
            table = Some(name.0.trim().to_owned());
            key = None;
        } else if let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            let bare = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"');
            if !name.is_empty() && name.chars().all(bare) {
                key = Some(name.replace('"', ""));
            }
        }
    }
    match (table, key) {
        (Some(table), Some(key)) => Some(format!("{table}.{key}")),
        (None, Some(key)) => Some(key),
        (Some(table), None) => Some(table),
        (None, None) => None,
    }
}
