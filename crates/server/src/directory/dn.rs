//! Distinguished names compared as LDAP compares them (RFC 4514): attribute types and values
//! case-insensitively, spaces around `,`, `+` and `=` ignored, escapes decoded. Directories
//! return `memberOf` in their own case and spacing; the administrator's `[[directory.group]]`
//! DN must match it all the same.

use std::fmt;

/// A DN in one canonical form: two DNs are the same entry exactly when these are equal.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NormalDn(String);

impl fmt::Debug for NormalDn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl NormalDn {
    /// The canonical form of `dn`, or why it is not a DN.
    pub fn parse(dn: &str) -> Result<NormalDn, String> {
        let mut rdns = Vec::new();
        for rdn in split_unescaped(dn, b',')? {
            let mut parts = Vec::new();
            for ava in split_unescaped(&rdn, b'+')? {
                let Some((kind, value)) = ava.split_once('=') else {
                    return Err(format!("\"{}\" has no \"=\"", ava.trim()));
                };
                let kind = kind.trim();
                if kind.is_empty()
                    || !kind
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                {
                    return Err(format!("\"{kind}\" is not an attribute type"));
                }
                let value = unescape(value.trim())?;
                parts.push(format!(
                    "{}={}",
                    kind.to_ascii_lowercase(),
                    escape(&value.to_lowercase())
                ));
            }
            // Multi-valued RDNs are unordered.
            parts.sort();
            rdns.push(parts.join("+"));
        }
        if rdns.is_empty() {
            return Err("is empty".into());
        }
        Ok(NormalDn(rdns.join(",")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `text` split at each `sep` that is not escaped with a backslash; escapes are kept.
fn split_unescaped(text: &str, sep: u8) -> Result<Vec<String>, String> {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == sep => {
                parts.push(text[start..i].to_owned());
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    if i > bytes.len() {
        return Err("ends in a lone backslash".into());
    }
    let last = &text[start..];
    if !(parts.is_empty() && last.trim().is_empty()) {
        parts.push(last.to_owned());
    }
    if parts.iter().any(|p| p.trim().is_empty()) {
        return Err("has an empty component".into());
    }
    Ok(parts)
}

/// An attribute value with its RFC 4514 escapes (`\,` and `\2C`) decoded.
fn unescape(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (hex, bytes.get(i + 1)) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, Some(&c)) => {
                out.push(c);
                i += 2;
            }
            (None, None) => return Err("ends in a lone backslash".into()),
        }
    }
    String::from_utf8(out).map_err(|_| "has an escape that is not UTF-8".to_owned())
}

/// The value with the characters RFC 4514 reserves escaped, one way only.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' | '#') || c == '\0' {
            out.push_str(&format!("\\{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::NormalDn;

    fn n(dn: &str) -> String {
        NormalDn::parse(dn).unwrap().as_str().to_owned()
    }

    #[test]
    fn case_spacing_and_escapes_do_not_matter() {
        let a = n("CN=VPN-Admins,OU=Groups,DC=example,DC=org");
        assert_eq!(a, n("cn=vpn-admins, ou=groups, dc=Example, dc=ORG"));
        assert_eq!(a, n(" cn = VPN-Admins ,ou=Groups,dc=example,dc=org"));
        assert_eq!(n("cn=Smith\\, John,dc=x"), n("CN=smith\\2C john,DC=X"));
        assert_eq!(n("cn=a+sn=b,dc=x"), n("SN=B+CN=A,dc=x"));
    }

    #[test]
    fn different_entries_stay_different() {
        assert_ne!(n("cn=VPN-Admins,dc=x"), n("cn=VPN-Users,dc=x"));
        assert_ne!(n("cn=a\\,b,dc=x"), n("cn=a,cn=b,dc=x"));
        assert_ne!(n("cn=a,dc=x"), n("cn=a,dc=x,dc=y"));
    }

    #[test]
    fn what_is_not_a_dn_is_refused() {
        for bad in ["", "  ", "cn", "cn=a,,dc=x", "=a", "cn=a\\", "c n=a"] {
            assert!(NormalDn::parse(bad).is_err(), "{bad:?}");
        }
    }
}
