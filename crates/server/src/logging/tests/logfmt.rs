//! A test-only logfmt reader, strict enough that a line the formatter gets wrong fails to parse.

/// One logfmt value: its text (unescaped) and whether it was quoted.
#[derive(Debug, PartialEq)]
pub(super) struct Text {
    pub(super) text: String,
    pub(super) quoted: bool,
}

/// Test-only logfmt parser: `key=value` pairs separated by one space, a value bare or quoted
/// with `\"`, `\\`, `\n`, `\r`, `\t` and `\u{..}` escapes. Panics on anything else.
pub(super) fn logfmt(line: &str) -> Vec<(String, Text)> {
    let mut pairs = Vec::new();
    let mut chars = line.chars().peekable();
    while chars.peek().is_some() {
        let mut key = String::new();
        loop {
            match chars.next() {
                Some('=') => break,
                Some(c) if !matches!(c, ' ' | '"' | '\\') && !c.is_control() => key.push(c),
                other => panic!("{other:?} in the key {key:?} of {line}"),
            }
        }
        assert!(!key.is_empty(), "empty key in {line}");
        let mut text = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars
                    .next()
                    .unwrap_or_else(|| panic!("unclosed quote in {line}"))
                {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('"') => text.push('"'),
                        Some('\\') => text.push('\\'),
                        Some('n') => text.push('\n'),
                        Some('r') => text.push('\r'),
                        Some('t') => text.push('\t'),
                        Some('u') => {
                            assert_eq!(chars.next(), Some('{'), "{line}");
                            let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                            let c = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                            text.push(c.unwrap_or_else(|| panic!("bad \\u{{{hex}}} in {line}")));
                        }
                        other => panic!("bad escape {other:?} in {line}"),
                    },
                    c => {
                        assert!(!c.is_control(), "raw control character in {line:?}");
                        text.push(c);
                    }
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                assert!(
                    !matches!(c, '"' | '=' | '\\') && !c.is_control(),
                    "{line:?}"
                );
                text.push(c);
                chars.next();
            }
        }
        match chars.next() {
            None | Some(' ') => {}
            Some(c) => panic!("{c:?} after a value in {line}"),
        }
        pairs.push((key, Text { text, quoted }));
    }
    pairs
}
