//! A TOML syntax error as an administrator can act on it: the key and the position, but never
//! the quoted source line, which may be `secret = "…"`.

/// The parser's message with the key and position, but without the quoted source line: that
/// line may be `secret = "…"`, and a shared secret must not reach an error message.
pub(super) fn message(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
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
