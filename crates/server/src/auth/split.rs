//! Where the password ends and the code begins: the last `digits` characters, when they are
//! all ASCII digits and something is left in front of them.
//!
//! Works on bytes: an ASCII digit is never part of a multi-byte UTF-8 sequence, so cutting
//! before the trailing digits always lands on a character boundary.

/// Split `input` into `(password, code)` when it can be `password + code`.
pub fn split(input: &[u8], digits: u8) -> Option<(&[u8], &str)> {
    let digits = usize::from(digits);
    if digits == 0 || input.len() <= digits {
        return None;
    }
    let (password, code) = input.split_at(input.len() - digits);
    if !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // All ASCII digits, hence valid UTF-8.
    std::str::from_utf8(code).ok().map(|code| (password, code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let long_password = "p".repeat(122);
        let max = format!("{long_password}123456");
        type Case<'a> = (&'a [u8], u8, Option<(&'a [u8], &'a str)>);
        let cases: &[Case] = &[
            (b"secret123456", 6, Some((b"secret", "123456"))),
            // Passwords may end in digits: the code is always the last six.
            (b"hunter2123456", 6, Some((b"hunter2", "123456"))),
            (b"2024654321", 6, Some((b"2024", "654321"))),
            // 8-digit codes.
            (b"secret12345678", 8, Some((b"secret", "12345678"))),
            (b"secret123456", 8, None),
            // Too short: nothing would be left for the password.
            (b"123456", 6, None),
            (b"12345", 6, None),
            (b"", 6, None),
            // Non-digit tails.
            (b"secret12345x", 6, None),
            (b"secret 23456", 6, None),
            (b"secret\xd9\xa3\xd9\xa4\xd9\xa5", 6, None), // Arabic-Indic digits are not codes
            // UTF-8 password, ASCII code.
            (
                "pässwörd123456".as_bytes(),
                6,
                Some(("pässwörd".as_bytes(), "123456")),
            ),
            // The 128-octet limit of User-Password.
            (
                max.as_bytes(),
                6,
                Some((long_password.as_bytes(), "123456")),
            ),
        ];
        for (input, digits, expected) in cases {
            assert_eq!(
                split(input, *digits),
                *expected,
                "{:?} / {digits}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
