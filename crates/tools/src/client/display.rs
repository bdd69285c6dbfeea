//! Reply attributes for people: a name and a readable value for the RFC 2865 and RFC 3579
//! attributes, number and hex for the rest. A stop-gap until the dictionary module replaces the
//! table; the test below keeps it in step with the shipped dictionary files meanwhile.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Attribute;

/// How an attribute's value is encoded (the dictionary's data types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Text,
    Integer,
    Ipv4,
    Ipv6,
    Octets,
}

use ValueType::{Integer, Ipv4, Ipv6, Octets, Text};

const TABLE: &[(u8, &str, ValueType)] = &[
    (1, "User-Name", Text),
    (2, "User-Password", Octets),
    (3, "CHAP-Password", Octets),
    (4, "NAS-IP-Address", Ipv4),
    (5, "NAS-Port", Integer),
    (6, "Service-Type", Integer),
    (7, "Framed-Protocol", Integer),
    (8, "Framed-IP-Address", Ipv4),
    (9, "Framed-IP-Netmask", Ipv4),
    (10, "Framed-Routing", Integer),
    (11, "Filter-Id", Text),
    (12, "Framed-MTU", Integer),
    (13, "Framed-Compression", Integer),
    (14, "Login-IP-Host", Ipv4),
    (15, "Login-Service", Integer),
    (16, "Login-TCP-Port", Integer),
    (18, "Reply-Message", Text),
    (19, "Callback-Number", Text),
    (20, "Callback-Id", Text),
    (22, "Framed-Route", Text),
    (23, "Framed-IPX-Network", Ipv4),
    (24, "State", Octets),
    (25, "Class", Octets),
    (26, "Vendor-Specific", Octets),
    (27, "Session-Timeout", Integer),
    (28, "Idle-Timeout", Integer),
    (29, "Termination-Action", Integer),
    (30, "Called-Station-Id", Text),
    (31, "Calling-Station-Id", Text),
    (32, "NAS-Identifier", Text),
    (33, "Proxy-State", Octets),
    (34, "Login-LAT-Service", Text),
    (35, "Login-LAT-Node", Text),
    (36, "Login-LAT-Group", Octets),
    (37, "Framed-AppleTalk-Link", Integer),
    (38, "Framed-AppleTalk-Network", Integer),
    (39, "Framed-AppleTalk-Zone", Text),
    (60, "CHAP-Challenge", Octets),
    (61, "NAS-Port-Type", Integer),
    (62, "Port-Limit", Integer),
    (63, "Login-LAT-Port", Text),
    (79, "EAP-Message", Octets),
    (80, "Message-Authenticator", Octets),
    (95, "NAS-IPv6-Address", Ipv6),
];

/// Name and value type of a known attribute.
pub fn lookup(kind: u8) -> Option<(&'static str, ValueType)> {
    TABLE
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(_, name, value_type)| (*name, *value_type))
}

/// A decoded value. Values that do not fit their type (a 3-octet integer, text that is not
/// UTF-8 or holds control characters) fall back to octets rather than being misread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Integer(u32),
    Address(IpAddr),
    Octets(Vec<u8>),
}

pub fn decode(attribute: &Attribute) -> Value {
    let value = attribute.value.as_slice();
    let value_type = lookup(attribute.kind).map_or(Octets, |(_, t)| t);
    match value_type {
        Text => match std::str::from_utf8(value) {
            Ok(text) if !text.chars().any(char::is_control) => Value::Text(text.to_owned()),
            _ => Value::Octets(value.to_vec()),
        },
        Integer => match <[u8; 4]>::try_from(value) {
            Ok(bytes) => Value::Integer(u32::from_be_bytes(bytes)),
            Err(_) => Value::Octets(value.to_vec()),
        },
        Ipv4 => match <[u8; 4]>::try_from(value) {
            Ok(bytes) => Value::Address(Ipv4Addr::from(bytes).into()),
            Err(_) => Value::Octets(value.to_vec()),
        },
        Ipv6 => match <[u8; 16]>::try_from(value) {
            Ok(bytes) => Value::Address(Ipv6Addr::from(bytes).into()),
            Err(_) => Value::Octets(value.to_vec()),
        },
        Octets => Value::Octets(value.to_vec()),
    }
}

/// `0x` and lowercase hex digits (`0x` alone for an empty value).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + 2 * bytes.len());
    out.push_str("0x");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// One line for people: `Reply-Message (18) = "Welcome"`, `Attr-200 (200) = 0x0102`.
pub fn line(attribute: &Attribute) -> String {
    let name = lookup(attribute.kind)
        .map_or_else(|| format!("Attr-{}", attribute.kind), |(n, _)| n.to_owned());
    let value = match decode(attribute) {
        Value::Text(text) => format!("{text:?}"),
        Value::Integer(n) => n.to_string(),
        Value::Address(ip) => ip.to_string(),
        Value::Octets(bytes) => hex(&bytes),
    };
    format!("{name} ({}) = {value}", attribute.kind)
}

/// The JSON form: `{"type", "name" (null when unknown), "value" (a number for integers, a
/// string otherwise, octets in hex), "hex" (the raw value, always)}`.
pub fn json(attribute: &Attribute) -> serde_json::Value {
    let value = match decode(attribute) {
        Value::Text(text) => serde_json::Value::from(text),
        Value::Integer(n) => serde_json::Value::from(n),
        Value::Address(ip) => serde_json::Value::from(ip.to_string()),
        Value::Octets(bytes) => serde_json::Value::from(hex(&bytes)),
    };
    serde_json::json!({
        "type": attribute.kind,
        "name": lookup(attribute.kind).map(|(name, _)| name),
        "value": value,
        "hex": hex(&attribute.value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(kind: u8, value: &[u8]) -> Attribute {
        Attribute {
            kind,
            value: value.to_vec(),
        }
    }

    #[test]
    fn renders_each_type_and_falls_back_to_hex() {
        let cases: Vec<(Attribute, &str)> = vec![
            (
                attribute(18, b"Welcome"),
                "Reply-Message (18) = \"Welcome\"",
            ),
            (
                attribute(18, b"bell\x07"),
                "Reply-Message (18) = 0x62656c6c07",
            ),
            (
                attribute(27, &[0, 0, 0x0e, 0x10]),
                "Session-Timeout (27) = 3600",
            ),
            (attribute(27, &[1, 2, 3]), "Session-Timeout (27) = 0x010203"),
            (
                attribute(8, &[192, 0, 2, 1]),
                "Framed-IP-Address (8) = 192.0.2.1",
            ),
            (
                attribute(95, &Ipv6Addr::LOCALHOST.octets()),
                "NAS-IPv6-Address (95) = ::1",
            ),
            (attribute(25, b"\x00\xff"), "Class (25) = 0x00ff"),
            (attribute(200, b"ab"), "Attr-200 (200) = 0x6162"),
            (attribute(24, b""), "State (24) = 0x"),
        ];
        for (attr, expected) in cases {
            assert_eq!(line(&attr), expected);
        }
    }

    #[test]
    fn json_is_typed_and_lossless() {
        assert_eq!(
            json(&attribute(18, b"hi")),
            serde_json::json!({"type": 18, "name": "Reply-Message", "value": "hi", "hex": "0x6869"})
        );
        assert_eq!(
            json(&attribute(27, &[0, 0, 0, 60]))["value"],
            serde_json::json!(60)
        );
        assert_eq!(
            json(&attribute(201, b"\x01"))["name"],
            serde_json::Value::Null
        );
    }

    /// Names, numbers and types agree with the dictionary files shipped in `dictionary/`.
    #[test]
    fn table_matches_the_dictionary() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/dictionary");
        let mut checked = 0;
        for file in ["dictionary.rfc2865", "dictionary.rfc3579"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            for line in text.lines() {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let ["ATTRIBUTE", name, number, data_type, ..] = fields.as_slice() else {
                    continue;
                };
                let number: u8 = number.parse().unwrap();
                let Some((ours, value_type)) = lookup(number) else {
                    continue;
                };
                assert_eq!(ours, *name, "attribute {number}");
                let expected = match *data_type {
                    "string" if number == 2 => Octets, // hidden: never readable text
                    "string" => Text,
                    "integer" => Integer,
                    "ipaddr" => Ipv4,
                    "ipv6addr" => Ipv6,
                    _ => Octets,
                };
                assert_eq!(value_type, expected, "{name}");
                checked += 1;
            }
        }
        assert!(checked >= 40, "only {checked} attributes checked");
    }
}
