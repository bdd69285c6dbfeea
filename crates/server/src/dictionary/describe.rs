//! Wire attributes → names and printable values, for a client printing replies: vendor
//! attributes unpacked (several sub-attributes in one Vendor-Specific too), tags shown as
//! `Name:tag`, `VALUE` names for numbers. What does not parse is shown as hex, never dropped.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Attribute, DataType, Dictionary, VENDOR_SPECIFIC, crypt, time};

/// One attribute as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub name: String,
    pub value: String,
}

impl fmt::Display for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", self.name, self.value)
    }
}

fn hex(octets: &[u8]) -> String {
    let digits: String = octets.iter().map(|b| format!("{b:02x}")).collect();
    format!("0x{digits}")
}

/// Keys to reveal hidden values: shared secret and Request Authenticator.
type Keys<'a> = Option<(&'a [u8], &'a [u8; 16])>;

impl Dictionary {
    /// Name and value of one attribute of a packet. A Vendor-Specific attribute may yield
    /// several. Hidden values (`encrypt=`) are shown as hex.
    pub fn describe(&self, attribute_type: u8, value: &[u8]) -> Vec<Described> {
        self.describe_keyed(attribute_type, value, None)
    }

    /// Like [`describe`](Self::describe), revealing hidden values with the shared secret and
    /// the Request Authenticator of the request the packet answers.
    pub fn describe_with_secret(
        &self,
        attribute_type: u8,
        value: &[u8],
        secret: &[u8],
        request_authenticator: &[u8; 16],
    ) -> Vec<Described> {
        self.describe_keyed(attribute_type, value, Some((secret, request_authenticator)))
    }

    fn describe_keyed(&self, attribute_type: u8, value: &[u8], keys: Keys<'_>) -> Vec<Described> {
        if attribute_type == VENDOR_SPECIFIC
            && let Some(described) = self.describe_vendor(value, keys)
        {
            return described;
        }
        vec![
            match self.attribute_by_number(0, u32::from(attribute_type)) {
                Some(attribute) => typed(attribute, value, keys),
                None => Described {
                    name: format!("Attr-{attribute_type}"),
                    value: hex(value),
                },
            },
        ]
    }

    /// `None` when the value does not split into the vendor's sub-attributes.
    fn describe_vendor(&self, value: &[u8], keys: Keys<'_>) -> Option<Vec<Described>> {
        let (id, mut rest) = value.split_first_chunk::<4>()?;
        let id = u32::from_be_bytes(*id);
        let Some(vendor) = self.vendor_by_id(id) else {
            return Some(vec![Described {
                name: format!("Attr-26.{id}"),
                value: hex(rest),
            }]);
        };
        let format = vendor.format();
        let (type_octets, length_octets) = (
            usize::from(format.type_octets),
            usize::from(format.length_octets),
        );
        let mut described = Vec::new();
        while !rest.is_empty() {
            let header = type_octets + length_octets;
            if rest.len() < header {
                return None;
            }
            let number = rest[..type_octets]
                .iter()
                .fold(0u32, |n, &b| n << 8 | u32::from(b));
            let len = match length_octets {
                // No length field: the sub-attribute runs to the end.
                0 => rest.len(),
                _ => rest[type_octets..header]
                    .iter()
                    .fold(0usize, |n, &b| n << 8 | usize::from(b)),
            };
            if len < header || len > rest.len() {
                return None;
            }
            let data = &rest[header..len];
            described.push(match self.attribute_by_number(id, number) {
                Some(attribute) => typed(attribute, data, keys),
                None => Described {
                    name: format!("Attr-26.{id}.{number}"),
                    value: hex(data),
                },
            });
            rest = &rest[len..];
        }
        Some(described)
    }
}

/// Split off the tag (RFC 2868 §3), reveal a hidden value, then print by type.
fn typed(attribute: &Attribute, value: &[u8], keys: Keys<'_>) -> Described {
    let mut data = value;
    let mut tag = 0;
    if attribute.has_tag {
        let always = attribute.data_type == DataType::Integer || attribute.encrypt.is_some();
        if let Some((&first, rest)) = data.split_first()
            && (always || first <= 0x1f)
        {
            tag = first;
            data = rest;
        }
    }
    let name = match tag {
        0 => attribute.name.clone(),
        tag => format!("{}:{tag}", attribute.name),
    };
    let revealed;
    if let Some(method) = attribute.encrypt {
        let plain =
            keys.map(|(secret, authenticator)| crypt::reveal(method, data, secret, authenticator));
        match plain {
            Some(Ok(plain)) => {
                revealed = plain;
                data = &revealed;
            }
            _ => {
                return Described {
                    name,
                    value: hex(data),
                };
            }
        }
    }
    let tagged_integer = attribute.has_tag && attribute.data_type == DataType::Integer;
    let value = display(attribute, data, tagged_integer).unwrap_or_else(|| hex(data));
    Described { name, value }
}

fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// The value by type; `None` when its length does not fit the type.
fn display(attribute: &Attribute, data: &[u8], tagged_integer: bool) -> Option<String> {
    let number = |width: usize| -> Option<u64> {
        (data.len() == width).then(|| data.iter().fold(0u64, |n, &b| n << 8 | u64::from(b)))
    };
    Some(match attribute.data_type {
        DataType::String => match std::str::from_utf8(data) {
            Ok(text) => quoted(text),
            Err(_) => hex(data),
        },
        DataType::Octets => hex(data),
        DataType::Integer | DataType::Byte | DataType::Short | DataType::Integer64 => {
            let width = match attribute.data_type.integer_width()? {
                4 if tagged_integer => 3,
                width => width,
            };
            let n = number(width)?;
            attribute
                .value_name(n)
                .map_or_else(|| n.to_string(), str::to_string)
        }
        DataType::Date => time::format_rfc3339(number(4)? as i64),
        DataType::IpAddr => Ipv4Addr::from(<[u8; 4]>::try_from(data).ok()?).to_string(),
        DataType::Ipv6Addr => Ipv6Addr::from(<[u8; 16]>::try_from(data).ok()?).to_string(),
        DataType::Ipv6Prefix => {
            let (&[_reserved, length], prefix) = data.split_first_chunk::<2>()?;
            if length > 128 || prefix.len() > 16 {
                return None;
            }
            let mut octets = [0u8; 16];
            octets[..prefix.len()].copy_from_slice(prefix);
            format!("{}/{length}", Ipv6Addr::from(octets))
        }
        DataType::Ifid => {
            let groups: Vec<String> = <[u8; 8]>::try_from(data)
                .ok()?
                .chunks(2)
                .map(|pair| format!("{:02x}{:02x}", pair[0], pair[1]))
                .collect();
            groups.join(":")
        }
        DataType::Ether => {
            let octets: Vec<String> = <[u8; 6]>::try_from(data)
                .ok()?
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            octets.join(":")
        }
    })
}
