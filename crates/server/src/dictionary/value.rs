//! What an administrator writes (a TOML string or integer) → the octets of one attribute
//! value, checked against the attribute's type: ranges, `VALUE` names, address syntax.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::de::{self, Deserialize, Deserializer, Visitor};

use super::error::EncodeError;
use super::{Attribute, DataType, time};

/// A value as configuration gives it: TOML has strings and integers, a command line text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    Text(String),
    Integer(i64),
}

impl From<&str> for AttributeValue {
    fn from(text: &str) -> Self {
        AttributeValue::Text(text.to_string())
    }
}

impl From<String> for AttributeValue {
    fn from(text: String) -> Self {
        AttributeValue::Text(text)
    }
}

impl From<i64> for AttributeValue {
    fn from(number: i64) -> Self {
        AttributeValue::Integer(number)
    }
}

impl fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeValue::Text(text) => write!(f, "{text:?}"),
            AttributeValue::Integer(number) => write!(f, "{number}"),
        }
    }
}

/// Deserializes from a string or an integer, so a config struct can hold it directly.
impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl Visitor<'_> for ValueVisitor {
            type Value = AttributeValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Text(text.to_string()))
            }
            fn visit_i64<E: de::Error>(self, number: i64) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Integer(number))
            }
            fn visit_u64<E: de::Error>(self, number: u64) -> Result<AttributeValue, E> {
                // Above i64::MAX only an integer64 can take it; keep the digits.
                Ok(i64::try_from(number)
                    .map(AttributeValue::Integer)
                    .unwrap_or_else(|_| AttributeValue::Text(number.to_string())))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// The largest number an integer attribute holds. A tagged integer keeps three octets for
/// its value (RFC 2868 §3.1).
pub(super) fn integer_max(attribute: &Attribute) -> u64 {
    if attribute.has_tag {
        return 0x00ff_ffff;
    }
    match attribute.data_type.integer_width() {
        Some(1) => 0xff,
        Some(2) => 0xffff,
        Some(4) => u64::from(u32::MAX),
        _ => u64::MAX,
    }
}

/// Decimal or `0x` hex.
fn parse_unsigned(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u64::from_str_radix(hex, 16).ok()
        }
        Some(_) => None,
        None if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        None => None,
    }
}

/// `0x…` with an even number of hex digits.
pub(super) fn parse_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// Groups of hex digits between separators, each 1..=`max_digits` long.
fn hex_groups(
    text: &str,
    separators: &[char],
    count: usize,
    max_digits: usize,
) -> Option<Vec<u16>> {
    let groups: Vec<&str> = text.split(separators).collect();
    if groups.len() != count {
        return None;
    }
    groups
        .iter()
        .map(|g| {
            let ok =
                (1..=max_digits).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_hexdigit());
            ok.then(|| u16::from_str_radix(g, 16).ok()).flatten()
        })
        .collect()
}

/// The value octets of `attribute`, before any tag, hiding or vendor wrapping. `shown` is the
/// name as written (with its tag), for messages.
pub(super) fn to_octets(
    attribute: &Attribute,
    shown: &str,
    value: &AttributeValue,
) -> Result<Vec<u8>, EncodeError> {
    let wrong = |expected: &'static str| EncodeError::WrongType {
        attribute: shown.to_string(),
        expected,
        got: value.to_string(),
    };
    let text = match value {
        AttributeValue::Text(text) => Some(text.as_str()),
        AttributeValue::Integer(_) => None,
    };
    match attribute.data_type {
        DataType::String => text
            .map(|t| t.as_bytes().to_vec())
            .ok_or_else(|| wrong(TEXT)),
        DataType::Octets => match text {
            Some(t) => match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(hex) => parse_hex(hex).ok_or_else(|| wrong(OCTETS)),
                None => Ok(t.as_bytes().to_vec()),
            },
            None => Err(wrong(OCTETS)),
        },
        DataType::Integer | DataType::Byte | DataType::Short | DataType::Integer64 => {
            let number = integer(attribute, shown, value)?;
            let width = match attribute.data_type.integer_width() {
                Some(4) if attribute.has_tag => 3,
                Some(width) => width,
                None => 8,
            };
            Ok(number.to_be_bytes()[8 - width..].to_vec())
        }
        DataType::Date => {
            let seconds = match value {
                AttributeValue::Integer(n) => *n,
                AttributeValue::Text(t) => match parse_unsigned(t) {
                    Some(n) => i64::try_from(n).unwrap_or(i64::MAX),
                    None => time::parse_rfc3339(t).ok_or_else(|| wrong(DATE))?,
                },
            };
            let seconds = u32::try_from(seconds).map_err(|_| EncodeError::OutOfRange {
                attribute: shown.to_string(),
                value: value.to_string(),
                data_type: "date (seconds since 1970)",
                max: u64::from(u32::MAX),
            })?;
            Ok(seconds.to_be_bytes().to_vec())
        }
        DataType::IpAddr => text
            .and_then(|t| t.parse::<Ipv4Addr>().ok())
            .map(|a| a.octets().to_vec())
            .ok_or_else(|| wrong(IPV4)),
        DataType::Ipv6Addr => text
            .and_then(|t| t.parse::<Ipv6Addr>().ok())
            .map(|a| a.octets().to_vec())
            .ok_or_else(|| wrong(IPV6)),
        DataType::Ipv6Prefix => {
            ipv6_prefix(text.ok_or_else(|| wrong(PREFIX))?, shown).ok_or_else(|| wrong(PREFIX))?
        }
        DataType::Ifid => text
            .and_then(|t| hex_groups(t, &[':'], 4, 4))
            .map(|groups| groups.iter().flat_map(|g| g.to_be_bytes()).collect())
            .ok_or_else(|| wrong(IFID)),
        DataType::Ether => text
            .and_then(|t| hex_groups(t, &[':', '-'], 6, 2))
            .map(|groups| groups.iter().map(|&g| g as u8).collect())
            .ok_or_else(|| wrong(ETHER)),
    }
}

const TEXT: &str = "text (a quoted TOML string)";
const OCTETS: &str = "octets: plain text, or hex after 0x with an even number of digits";
const NUMBER: &str = "a whole number";
const DATE: &str = "a date: Unix seconds or RFC 3339 such as 2030-01-01T00:00:00Z";
const IPV4: &str = "an IPv4 address such as 192.0.2.10";
const IPV6: &str = "an IPv6 address such as 2001:db8::10";
const PREFIX: &str = "an IPv6 prefix such as 2001:db8::/32";
const IFID: &str = "an interface id such as 0011:2233:4455:6677";
const ETHER: &str = "a MAC address such as 00:11:22:33:44:55";

/// A number, a `VALUE` name, or numeric text, within the attribute's range.
fn integer(attribute: &Attribute, shown: &str, value: &AttributeValue) -> Result<u64, EncodeError> {
    let number = match value {
        AttributeValue::Integer(n) => u64::try_from(*n).ok(),
        AttributeValue::Text(text) => match attribute.value_number(text) {
            Some(n) => Some(n),
            None => Some(parse_unsigned(text).ok_or_else(|| unknown(attribute, shown, text))?),
        },
    };
    let max = integer_max(attribute);
    number
        .filter(|&n| n <= max)
        .ok_or_else(|| EncodeError::OutOfRange {
            attribute: shown.to_string(),
            value: value.to_string(),
            data_type: if attribute.has_tag {
                "tagged integer"
            } else {
                attribute.data_type.name()
            },
            max,
        })
}

fn unknown(attribute: &Attribute, shown: &str, text: &str) -> EncodeError {
    const SHOWN: usize = 10;
    let names: Vec<&str> = attribute.values().map(|(name, _)| name).collect();
    if names.is_empty() {
        return EncodeError::WrongType {
            attribute: shown.to_string(),
            expected: NUMBER,
            got: format!("{text:?}"),
        };
    }
    let mut known = names[..names.len().min(SHOWN)].join(", ");
    if names.len() > SHOWN {
        known.push_str(", …");
    }
    EncodeError::UnknownValue {
        attribute: shown.to_string(),
        value: text.to_string(),
        known,
    }
}

/// RFC 3162 §2.3: reserved octet, prefix length, then the prefix (sent as all 16 octets).
/// `None` for bad syntax; `Some(Err)` for bits set past the length.
fn ipv6_prefix(text: &str, shown: &str) -> Option<Result<Vec<u8>, EncodeError>> {
    let (address, length) = match text.split_once('/') {
        Some((address, length)) => (address, length.parse::<u8>().ok()?),
        None => (text, 128),
    };
    let address: Ipv6Addr = address.parse().ok()?;
    if length > 128 {
        return None;
    }
    let mask = u128::MAX.checked_shl(128 - u32::from(length)).unwrap_or(0);
    let bits = u128::from(address);
    if bits & !mask != 0 {
        return Some(Err(EncodeError::HostBits {
            attribute: shown.to_string(),
            value: text.to_string(),
            length,
            suggestion: format!("{}/{length}", Ipv6Addr::from(bits & mask)),
        }));
    }
    let mut octets = vec![0, length];
    octets.extend_from_slice(&address.octets());
    Some(Ok(octets))
}
