//! RADIUS dictionaries: attribute names ↔ numbers, types and flags, read from files in the
//! FreeRADIUS format, and the typed encoding of reply attributes that uses them.
//!
//! The built-in dictionary (`dictionary/` in the repository) is compiled into the binary and
//! parsed through the same code as an administrator's file, so the server needs no files at
//! run time. An extra file may `$INCLUDE` its own files and refer to built-in vendors.
//!
//! # Layout
//!
//! - `parse`: the file format (`ATTRIBUTE`, `VALUE`, `VENDOR`, `BEGIN-VENDOR`/`END-VENDOR`,
//!   `$INCLUDE`); `define`: field syntax and duplicate rules; `source`: reading files, from
//!   disk or from the embedded ones in `builtin`.
//! - `value`: what TOML gives ([`AttributeValue`]) → the octets of one attribute type.
//! - `encode`: those octets → wire attributes: tags, Vendor-Specific wrapping (RFC 2865
//!   §5.26), and hiding (`encrypt=`), done last with the secret and Request Authenticator.
//! - `crypt`: the three hiding methods (RFC 2865 §5.2, RFC 2868 §3.5, Ascend's).
//! - `describe`: wire attributes → names and printable values, for printing replies.
//! - `error`, `suggest`, `time`: error types, "did you mean", RFC 3339 dates.
//!
//! # Tags
//!
//! An attribute with `has_tag` (RFC 2868 §3) takes its tag after a colon in its name, as in
//! FreeRADIUS: `"Tunnel-Type:1" = "VLAN"`. The tag is 0 to 31; without one an integer gets
//! tag 0, a string gets no tag octet (unless its first octet could be mistaken for one), and
//! Tunnel-Password gets tag 0.
//!
//! # Use
//!
//! ```
//! use radotp::dictionary::{AttributeValue, Dictionary};
//!
//! // At configuration load: every name and value checked, the layout fixed.
//! let dictionary = Dictionary::builtin();
//! let avpair = AttributeValue::from("shell:priv-lvl=15");
//! let encoded = dictionary.encode("Cisco-AVPair", &avpair).unwrap();
//! assert_eq!(encoded.wire_len(), 25);
//! // Per reply: hidden values need the secret and the request's authenticator.
//! let wire = encoded.to_wire(b"secret", &[0; 16]);
//! assert_eq!(wire.attribute_type, 26);
//! // Printing a reply.
//! let printed = dictionary.describe(wire.attribute_type, &wire.value);
//! assert_eq!(printed[0].to_string(), "Cisco-AVPair = \"shell:priv-lvl=15\"");
//! ```

mod builtin;
mod crypt;
mod define;
mod describe;
mod encode;
mod error;
mod parse;
mod source;
mod suggest;
mod time;
mod value;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

pub use describe::Described;
pub use encode::{EncodedAttribute, WireAttribute, to_wire_all};
pub use error::{DictionaryError, EncodeError, LineError, Location};
pub use value::AttributeValue;

/// RFC 2865 §5.26: the attribute that carries vendor attributes.
pub const VENDOR_SPECIFIC: u8 = 26;

/// The value types this parser understands (FreeRADIUS names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    String,
    Octets,
    Integer,
    Byte,
    Short,
    Integer64,
    Date,
    IpAddr,
    Ipv6Addr,
    Ipv6Prefix,
    Ifid,
    Ether,
}

impl DataType {
    pub const ALL: [DataType; 12] = [
        DataType::String,
        DataType::Octets,
        DataType::Integer,
        DataType::Byte,
        DataType::Short,
        DataType::Integer64,
        DataType::Date,
        DataType::IpAddr,
        DataType::Ipv6Addr,
        DataType::Ipv6Prefix,
        DataType::Ifid,
        DataType::Ether,
    ];

    /// The name used in dictionary files.
    pub fn name(self) -> &'static str {
        match self {
            DataType::String => "string",
            DataType::Octets => "octets",
            DataType::Integer => "integer",
            DataType::Byte => "byte",
            DataType::Short => "short",
            DataType::Integer64 => "integer64",
            DataType::Date => "date",
            DataType::IpAddr => "ipaddr",
            DataType::Ipv6Addr => "ipv6addr",
            DataType::Ipv6Prefix => "ipv6prefix",
            DataType::Ifid => "ifid",
            DataType::Ether => "ether",
        }
    }

    /// Case-insensitive, as vendors' own files write `String` or `Integer`.
    pub fn from_name(name: &str) -> Option<DataType> {
        DataType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// Types that `VALUE` lines may name numbers of.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            DataType::Integer | DataType::Byte | DataType::Short | DataType::Integer64
        )
    }

    /// Octets on the wire for the fixed-size integer types.
    fn integer_width(self) -> Option<usize> {
        match self {
            DataType::Byte => Some(1),
            DataType::Short => Some(2),
            DataType::Integer | DataType::Date => Some(4),
            DataType::Integer64 => Some(8),
            _ => None,
        }
    }
}

impl std::fmt::Display for DataType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The `encrypt=` flag: how an attribute is hidden on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encrypt {
    /// `encrypt=1`: like User-Password (RFC 2865 §5.2).
    UserPassword,
    /// `encrypt=2`: salted, like Tunnel-Password (RFC 2868 §3.5) and MS-MPPE keys.
    TunnelPassword,
    /// `encrypt=3`: Ascend's secret: one block XORed with MD5(authenticator + secret).
    AscendSecret,
}

/// A vendor's sub-attribute header: octets of type and of length (`format=T,L`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorFormat {
    pub type_octets: u8,
    pub length_octets: u8,
}

impl Default for VendorFormat {
    /// RFC 2865 §5.26's suggested layout: one octet each.
    fn default() -> Self {
        VendorFormat {
            type_octets: 1,
            length_octets: 1,
        }
    }
}

impl VendorFormat {
    fn max_type(self) -> u64 {
        match self.type_octets {
            1 => 0xff,
            2 => 0xffff,
            _ => 0xffff_ffff,
        }
    }

    fn header_len(self) -> usize {
        usize::from(self.type_octets) + usize::from(self.length_octets)
    }
}

/// A `VENDOR` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vendor {
    name: String,
    id: u32,
    format: VendorFormat,
    defined_at: Location,
}

impl Vendor {
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The SMI Private Enterprise Number.
    pub fn id(&self) -> u32 {
        self.id
    }
    pub fn format(&self) -> VendorFormat {
        self.format
    }
    pub fn defined_at(&self) -> &Location {
        &self.defined_at
    }
}

/// An `ATTRIBUTE` line with the `VALUE` names given for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    name: String,
    vendor: u32,
    number: u32,
    data_type: DataType,
    has_tag: bool,
    encrypt: Option<Encrypt>,
    /// The sub-attribute layout of its vendor (unused for standard attributes).
    vendor_format: VendorFormat,
    values: Vec<(String, u64)>,
    defined_at: Location,
}

impl Attribute {
    pub fn name(&self) -> &str {
        &self.name
    }
    /// 0 for a standard attribute, else the vendor's Private Enterprise Number.
    pub fn vendor(&self) -> u32 {
        self.vendor
    }
    pub fn number(&self) -> u32 {
        self.number
    }
    pub fn data_type(&self) -> DataType {
        self.data_type
    }
    pub fn has_tag(&self) -> bool {
        self.has_tag
    }
    pub fn encrypt(&self) -> Option<Encrypt> {
        self.encrypt
    }
    pub fn defined_at(&self) -> &Location {
        &self.defined_at
    }
    /// The number a `VALUE` name stands for (case-insensitive).
    pub fn value_number(&self, name: &str) -> Option<u64> {
        self.values
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }
    /// The first `VALUE` name given for a number.
    pub fn value_name(&self, number: u64) -> Option<&str> {
        self.values
            .iter()
            .find(|&&(_, v)| v == number)
            .map(|(n, _)| n.as_str())
    }
    /// `VALUE` names in the order they were defined.
    pub fn values(&self) -> impl Iterator<Item = (&str, u64)> {
        self.values.iter().map(|(n, v)| (n.as_str(), *v))
    }
}

/// A set of vendors and attributes, looked up by name or by number.
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    vendors: Vec<Vendor>,
    vendor_by_name: HashMap<String, usize>,
    vendor_by_id: HashMap<u32, usize>,
    attributes: Vec<Attribute>,
    by_name: HashMap<String, usize>,
    /// (vendor, number) → the first attribute defined with it; later ones are aliases.
    by_number: HashMap<(u32, u32), usize>,
}

impl Dictionary {
    /// A dictionary with nothing in it.
    pub fn empty() -> Dictionary {
        Dictionary::default()
    }

    /// The dictionary compiled into the binary (`dictionary/` in the repository).
    pub fn builtin() -> Dictionary {
        static BUILTIN: OnceLock<Dictionary> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let mut dictionary = Dictionary::empty();
                parse::load(
                    &mut dictionary,
                    &builtin::source(),
                    Path::new(builtin::ROOT),
                )
                // The embedded files are fixed at build time and parsed by a unit test.
                .expect("the built-in dictionary parses");
                dictionary
            })
            .clone()
    }

    /// The built-in dictionary plus an administrator's file (and what it includes).
    pub fn load(path: &Path) -> Result<Dictionary, DictionaryError> {
        let mut dictionary = Dictionary::builtin();
        dictionary.extend_from_file(path)?;
        Ok(dictionary)
    }

    /// Add a file's definitions. On error nothing is added.
    pub fn extend_from_file(&mut self, path: &Path) -> Result<(), DictionaryError> {
        let mut extended = self.clone();
        parse::load(&mut extended, &source::Source::Disk, path)?;
        *self = extended;
        Ok(())
    }

    /// An attribute by name, case-insensitive like FreeRADIUS.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.by_name
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.attributes[i])
    }

    /// An attribute by vendor (0 for standard attributes) and number.
    pub fn attribute_by_number(&self, vendor: u32, number: u32) -> Option<&Attribute> {
        self.by_number
            .get(&(vendor, number))
            .map(|&i| &self.attributes[i])
    }

    /// A vendor by name, case-insensitive.
    pub fn vendor(&self, name: &str) -> Option<&Vendor> {
        self.vendor_by_name
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.vendors[i])
    }

    /// A vendor by Private Enterprise Number (the first name defined for it).
    pub fn vendor_by_id(&self, id: u32) -> Option<&Vendor> {
        self.vendor_by_id.get(&id).map(|&i| &self.vendors[i])
    }

    /// Every attribute, in definition order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.attributes.iter()
    }

    /// Every vendor, in definition order.
    pub fn vendors(&self) -> impl Iterator<Item = &Vendor> {
        self.vendors.iter()
    }
}
