//! Typed values → attributes for a reply, in two phases. [`Dictionary::encode`] checks the
//! value and lays out everything that does not depend on the request: the tag, the
//! Vendor-Specific header (RFC 2865 §5.26) with its lengths. [`EncodedAttribute::to_wire`]
//! then hides the value where the dictionary says `encrypt=`, with the shared secret and the
//! Request Authenticator of the request being answered.

use super::error::EncodeError;
use super::value::{self, AttributeValue};
use super::{DataType, Dictionary, Encrypt, VENDOR_SPECIFIC, crypt, suggest};
use crate::secret::{SecretBytes, random_bytes};

/// RFC 2865 §5: the length octet counts the 2-octet header, so a value holds at most 253.
const MAX_VALUE_LEN: usize = 253;

/// RFC 2868 §3: tags run from 0 (none) to 0x1F.
const MAX_TAG: u8 = 0x1f;

/// A checked attribute, ready to be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedAttribute {
    name: String,
    attribute_type: u8,
    /// Octets before the value: Vendor-Id, vendor type and length, then the tag.
    header: Vec<u8>,
    body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    Plain(Vec<u8>),
    /// Kept until a request supplies the authenticator; redacted in `Debug`.
    Hidden {
        method: Encrypt,
        plain: SecretBytes,
    },
}

/// One attribute of a packet: type and value (the length octet is the packet builder's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireAttribute {
    pub attribute_type: u8,
    pub value: Vec<u8>,
}

impl WireAttribute {
    /// The shape `protocol::reply::build` takes.
    pub fn as_pair(&self) -> (u8, &[u8]) {
        (self.attribute_type, &self.value)
    }

    /// Type, length, value.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.attribute_type, (2 + self.value.len()) as u8];
        out.extend_from_slice(&self.value);
        out
    }
}

impl EncodedAttribute {
    /// The attribute's name as the dictionary spells it, with `:tag` if one was given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The top-level type: the attribute's own, or 26 for a vendor attribute.
    pub fn attribute_type(&self) -> u8 {
        self.attribute_type
    }

    /// Octets it takes in a packet, header included (known before hiding).
    pub fn wire_len(&self) -> usize {
        2 + self.header.len() + self.body_len()
    }

    /// What a reply may hold only one source of: the attribute type, and for a vendor
    /// attribute its Vendor-Id and vendor type (one-octet types, RFC 2865 §5.26's layout).
    pub fn key(&self) -> (u8, u32, u8) {
        if self.attribute_type != VENDOR_SPECIFIC {
            return (self.attribute_type, 0, 0);
        }
        let head: Vec<u8> = match &self.body {
            Body::Plain(octets) => self.header.iter().chain(octets).take(5).copied().collect(),
            Body::Hidden { .. } => self.header.iter().take(5).copied().collect(),
        };
        match head.as_slice() {
            [a, b, c, d, kind, ..] => {
                (VENDOR_SPECIFIC, u32::from_be_bytes([*a, *b, *c, *d]), *kind)
            }
            _ => (VENDOR_SPECIFIC, 0, 0),
        }
    }

    /// Whether [`to_wire`](Self::to_wire) needs the real secret and authenticator.
    pub fn is_hidden(&self) -> bool {
        matches!(self.body, Body::Hidden { .. })
    }

    fn body_len(&self) -> usize {
        match &self.body {
            Body::Plain(octets) => octets.len(),
            Body::Hidden { method, plain } => crypt::hidden_len(*method, plain.len()),
        }
    }

    /// The attribute for a reply to the request with this authenticator. A salted value gets
    /// a fresh random salt; use [`to_wire_all`] to keep salts unique within a packet.
    pub fn to_wire(&self, secret: &[u8], request_authenticator: &[u8; 16]) -> WireAttribute {
        self.to_wire_with_salt(secret, request_authenticator, random_salt())
    }

    pub(super) fn to_wire_with_salt(
        &self,
        secret: &[u8],
        request_authenticator: &[u8; 16],
        salt: [u8; 2],
    ) -> WireAttribute {
        let mut value = self.header.clone();
        match &self.body {
            Body::Plain(octets) => value.extend_from_slice(octets),
            Body::Hidden { method, plain } => value.extend(crypt::hide(
                *method,
                plain.expose(),
                secret,
                request_authenticator,
                salt,
            )),
        }
        WireAttribute {
            attribute_type: self.attribute_type,
            value,
        }
    }
}

/// RFC 2868 §3.5: the salt's most significant bit is set.
fn random_salt() -> [u8; 2] {
    let mut salt = random_bytes::<2>();
    salt[0] |= 0x80;
    salt
}

/// Every attribute of one reply, salts unique within it (RFC 2868 §3.5).
pub fn to_wire_all(
    attributes: &[EncodedAttribute],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Vec<WireAttribute> {
    let mut used: Vec<[u8; 2]> = Vec::new();
    attributes
        .iter()
        .map(|attribute| {
            let salted = matches!(
                attribute.body,
                Body::Hidden {
                    method: Encrypt::TunnelPassword,
                    ..
                }
            );
            let mut salt = random_salt();
            // 2^15 salts exist; far more than a 4096-octet packet can hold.
            while salted && used.len() < 1 << 15 && used.contains(&salt) {
                salt = random_salt();
            }
            if salted {
                used.push(salt);
            }
            attribute.to_wire_with_salt(secret, request_authenticator, salt)
        })
        .collect()
}

/// `Tunnel-Type:1` → (`Tunnel-Type`, Some(1)).
fn split_tag(name: &str) -> Result<(&str, Option<u8>), EncodeError> {
    let Some((base, tag)) = name.split_once(':') else {
        return Ok((name, None));
    };
    match tag.parse::<u8>() {
        Ok(number) if number <= MAX_TAG && tag.bytes().all(|b| b.is_ascii_digit()) => {
            Ok((base, Some(number)))
        }
        _ => Err(EncodeError::BadTag {
            attribute: base.to_string(),
            tag: tag.to_string(),
            reason: "is not a number from 0 to 31",
        }),
    }
}

impl Dictionary {
    /// Check `value` against the attribute `name` (`Name` or `Name:tag`) and lay it out.
    pub fn encode(
        &self,
        name: &str,
        value: &AttributeValue,
    ) -> Result<EncodedAttribute, EncodeError> {
        let (base, tag) = split_tag(name)?;
        let attribute = self
            .attribute(base)
            .ok_or_else(|| EncodeError::UnknownAttribute {
                name: base.to_string(),
                suggestions: suggest::close_names(self, base),
            })?;
        let shown = match tag {
            Some(tag) => format!("{}:{tag}", attribute.name),
            None => attribute.name.clone(),
        };
        if let (Some(tag), false) = (tag, attribute.has_tag) {
            return Err(EncodeError::BadTag {
                attribute: attribute.name.clone(),
                tag: tag.to_string(),
                reason: "cannot be used: the dictionary does not mark this attribute has_tag",
            });
        }
        let octets = value::to_octets(attribute, &shown, value)?;
        if octets.is_empty() {
            return Err(EncodeError::Empty { attribute: shown });
        }
        // RFC 2868 §3: integers and Tunnel-Password always carry the tag octet; a string
        // only when tagged, or when its first octet would otherwise read as a tag.
        let tag_octet = match (attribute.has_tag, tag) {
            (false, _) => None,
            (true, Some(tag)) => Some(tag),
            (true, None) => {
                let always =
                    attribute.data_type == DataType::Integer || attribute.encrypt.is_some();
                (always || octets[0] <= MAX_TAG).then_some(0)
            }
        };
        let format = attribute.vendor_format;
        let vendor_overhead = match attribute.vendor {
            0 => 0,
            _ => 4 + format.header_len(),
        };
        let space = MAX_VALUE_LEN - vendor_overhead - usize::from(tag_octet.is_some());
        let (body, body_len) = match attribute.encrypt {
            None => (octets.len() <= space).then(|| {
                let len = octets.len();
                (Body::Plain(octets.clone()), len)
            }),
            Some(method) => (octets.len() <= crypt::max_plain_len(method, space)).then(|| {
                let len = crypt::hidden_len(method, octets.len());
                let plain = SecretBytes::new(octets.clone());
                (Body::Hidden { method, plain }, len)
            }),
        }
        .ok_or_else(|| EncodeError::TooLong {
            attribute: shown.clone(),
            len: octets.len(),
            max: attribute
                .encrypt
                .map_or(space, |method| crypt::max_plain_len(method, space)),
        })?;

        let mut header = Vec::new();
        let attribute_type = if attribute.vendor == 0 {
            attribute.number as u8
        } else {
            // RFC 2865 §5.26: Vendor-Id, then the vendor's own type and length fields.
            header.extend_from_slice(&attribute.vendor.to_be_bytes());
            let type_octets = usize::from(format.type_octets);
            header.extend_from_slice(&attribute.number.to_be_bytes()[4 - type_octets..]);
            let sub_len = format.header_len() + usize::from(tag_octet.is_some()) + body_len;
            let length_octets = usize::from(format.length_octets);
            header.extend_from_slice(&(sub_len as u16).to_be_bytes()[2 - length_octets..]);
            VENDOR_SPECIFIC
        };
        header.extend(tag_octet);
        Ok(EncodedAttribute {
            name: shown,
            attribute_type,
            header,
            body,
        })
    }

    /// An attribute of another RADIUS server's reply, to pass on in ours. A hidden value
    /// (`encrypt=`, e.g. Tunnel-Password) is revealed with that server's secret and the
    /// authenticator of our request to it, then hidden again for our reply. `None` for what
    /// cannot be passed on: a Vendor-Specific holding a hidden value (keys of that server's own
    /// session, such as MS-MPPE-Send-Key), or a hidden value that does not reveal.
    pub fn relay(
        &self,
        attribute_type: u8,
        value: &[u8],
        secret: &[u8],
        request_authenticator: &[u8; 16],
    ) -> Option<EncodedAttribute> {
        let plain = |name: String| EncodedAttribute {
            name,
            attribute_type,
            header: Vec::new(),
            body: Body::Plain(value.to_vec()),
        };
        if attribute_type == VENDOR_SPECIFIC {
            let (id, rest) = value.split_first_chunk::<4>()?;
            let id = u32::from_be_bytes(*id);
            let Some(vendor) = self.vendor_by_id(id) else {
                return Some(plain(format!("Attr-26.{id}")));
            };
            let format = vendor.format();
            let (type_octets, length_octets) = (
                usize::from(format.type_octets),
                usize::from(format.length_octets),
            );
            let mut first = None;
            let mut rest = rest;
            while !rest.is_empty() {
                let kind = rest
                    .get(..type_octets)?
                    .iter()
                    .fold(0u32, |n, &b| n << 8 | u32::from(b));
                let len = match length_octets {
                    0 => rest.len(),
                    _ => rest
                        .get(type_octets..type_octets + length_octets)?
                        .iter()
                        .fold(0usize, |n, &b| n << 8 | usize::from(b)),
                };
                if len < type_octets + length_octets || len > rest.len() {
                    return None;
                }
                let attribute = self.attribute_by_number(id, kind);
                if attribute.is_some_and(|a| a.encrypt.is_some()) {
                    return None;
                }
                first.get_or_insert_with(|| {
                    attribute.map_or_else(|| format!("Attr-26.{id}.{kind}"), |a| a.name.clone())
                });
                rest = &rest[len..];
            }
            return Some(plain(first.unwrap_or_else(|| format!("Attr-26.{id}"))));
        }
        let Some(attribute) = self.attribute_by_number(0, u32::from(attribute_type)) else {
            return Some(plain(format!("Attr-{attribute_type}")));
        };
        let Some(method) = attribute.encrypt else {
            return Some(plain(attribute.name.clone()));
        };
        // RFC 2868 §3.5: a hidden tagged value always carries its tag octet.
        let (header, hidden) = match attribute.has_tag {
            true => {
                let (tag, hidden) = value.split_first()?;
                (vec![*tag], hidden)
            }
            false => (Vec::new(), value),
        };
        let revealed = crypt::reveal(method, hidden, secret, request_authenticator).ok()?;
        Some(EncodedAttribute {
            name: attribute.name.clone(),
            attribute_type,
            header,
            body: Body::Hidden {
                method,
                plain: SecretBytes::new(revealed),
            },
        })
    }

    /// [`encode`](Self::encode) each value of a multi-valued setting, in order.
    pub fn encode_all(
        &self,
        name: &str,
        values: &[AttributeValue],
    ) -> Result<Vec<EncodedAttribute>, EncodeError> {
        values
            .iter()
            .map(|value| self.encode(name, value))
            .collect()
    }
}
