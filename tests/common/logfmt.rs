//! A strict logfmt reader, written from the format's rules rather than from radotp's writer, to
//! check that every text log line is valid logfmt: `key=value` pairs separated by one space,
//! values bare or double-quoted with `\"`, `\\`, `\n`, `\r`, `\t` and `\u{..}` escapes, and
//! `-` for a value that is absent.

use serde_json::{Map, Value};

/// One line as key → value (`-` → null, everything else a string); `None` if it is not valid.
pub fn parse(line: &str) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut rest = line;
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let (value, used) = unquote(quoted)?;
            (Value::String(value), &quoted[used..])
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            let bare = &after[..end];
            if bare.is_empty() || bare.contains(['"', '=', '\\']) {
                return None;
            }
            let value = if bare == "-" {
                Value::Null
            } else {
                Value::String(bare.to_owned())
            };
            (value, &after[end..])
        };
        if out.insert(key.to_owned(), value).is_some() {
            return None;
        }
        rest = match after.strip_prefix(' ') {
            Some(next) if !next.is_empty() && !next.starts_with(' ') => next,
            Some(_) => return None,
            None if after.is_empty() => after,
            None => return None,
        };
    }
    Some(out)
}

/// The content of a quoted value (after its opening quote), and the octets it used, closing
/// quote included.
fn unquote(text: &str) -> Option<(String, usize)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, i + 1)),
            '\\' => match chars.next()?.1 {
                '"' => value.push('"'),
                '\\' => value.push('\\'),
                'n' => value.push('\n'),
                'r' => value.push('\r'),
                't' => value.push('\t'),
                'u' => {
                    if chars.next()?.1 != '{' {
                        return None;
                    }
                    let mut hex = String::new();
                    loop {
                        match chars.next()?.1 {
                            '}' => break,
                            h => hex.push(h),
                        }
                    }
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                _ => return None,
            },
            c if c.is_control() => return None,
            c => value.push(c),
        }
    }
    None
}
