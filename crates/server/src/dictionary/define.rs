//! The fields of a dictionary line (names, numbers, vendor formats, flags) and the rules for
//! adding a definition: the same definition twice is harmless, a different one under a taken
//! name is an error, a second name for a number is an alias.

use std::collections::hash_map::Entry;

use super::error::LineError;
use super::{Attribute, DataType, Dictionary, Encrypt, Vendor, VendorFormat};

/// Attribute and vendor names: no `:` (the tag separator), `=` or quotes.
pub(super) fn check_name(what: &'static str, name: &str) -> Result<(), LineError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_./+".contains(c);
    if name.chars().all(allowed) {
        Ok(())
    } else {
        Err(LineError::BadName {
            what,
            name: name.to_string(),
        })
    }
}

/// Decimal or `0x` hex, within `min..=max`.
pub(super) fn parse_number(
    what: &'static str,
    text: &str,
    min: u64,
    max: u64,
) -> Result<u64, LineError> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse::<u64>().ok(),
    };
    parsed
        .filter(|n| (min..=max).contains(n))
        .ok_or(LineError::BadNumber {
            what,
            text: text.to_string(),
            min,
            max,
        })
}

/// `format=T,L` with T in {1, 2, 4} and L in {0, 1, 2}.
pub(super) fn parse_format(text: &str) -> Result<VendorFormat, LineError> {
    let bad = || LineError::VendorFormat(text.to_string());
    let value = text.strip_prefix("format=").ok_or_else(bad)?;
    let (type_octets, length_octets) = value.split_once(',').ok_or_else(bad)?;
    let type_octets: u8 = type_octets.parse().map_err(|_| bad())?;
    let length_octets: u8 = length_octets.parse().map_err(|_| bad())?;
    if ![1, 2, 4].contains(&type_octets) || length_octets > 2 {
        return Err(bad());
    }
    Ok(VendorFormat {
        type_octets,
        length_octets,
    })
}

/// `has_tag`, `encrypt=N`, comma-separated.
pub(super) fn parse_flags(
    flags: Option<&str>,
    data_type: DataType,
) -> Result<(bool, Option<Encrypt>), LineError> {
    let mut has_tag = false;
    let mut encrypt = None;
    for flag in flags.into_iter().flat_map(|f| f.split(',')) {
        match flag {
            "has_tag" => has_tag = true,
            "encrypt=1" => encrypt = Some(Encrypt::UserPassword),
            "encrypt=2" => encrypt = Some(Encrypt::TunnelPassword),
            "encrypt=3" => encrypt = Some(Encrypt::AscendSecret),
            other => return Err(LineError::UnknownFlag(other.to_string())),
        }
    }
    let not_allowed = |flag: &str, reason| LineError::FlagNotAllowed {
        flag: flag.to_string(),
        reason,
    };
    let text_like = matches!(data_type, DataType::String | DataType::Octets);
    if has_tag && !text_like && data_type != DataType::Integer {
        return Err(not_allowed(
            "has_tag",
            "applies only to integer, string and octets attributes",
        ));
    }
    if let Some(method) = encrypt {
        let flag = match method {
            Encrypt::UserPassword => "encrypt=1",
            Encrypt::TunnelPassword => "encrypt=2",
            Encrypt::AscendSecret => "encrypt=3",
        };
        if !text_like {
            return Err(not_allowed(
                flag,
                "applies only to string and octets attributes",
            ));
        }
        if has_tag && method != Encrypt::TunnelPassword {
            return Err(not_allowed(
                flag,
                "cannot go with has_tag: only encrypt=2 leaves room for a tag",
            ));
        }
    }
    Ok((has_tag, encrypt))
}

impl Dictionary {
    pub(super) fn insert_vendor(&mut self, vendor: Vendor) -> Result<(), LineError> {
        if let Some(&existing) = self.vendor_by_name.get(&vendor.name.to_ascii_lowercase()) {
            let existing = &self.vendors[existing];
            if existing.id == vendor.id && existing.format == vendor.format {
                return Ok(());
            }
            return Err(LineError::DuplicateVendor {
                name: vendor.name,
                previous: existing.defined_at.clone(),
            });
        }
        // Another name for a known number is an alias; it must agree on the layout.
        if let Some(&existing) = self.vendor_by_id.get(&vendor.id) {
            let existing = &self.vendors[existing];
            if existing.format != vendor.format {
                return Err(LineError::VendorFormatConflict {
                    id: vendor.id,
                    name: existing.name.clone(),
                    previous: existing.defined_at.clone(),
                });
            }
        }
        let index = self.vendors.len();
        self.vendor_by_name
            .insert(vendor.name.to_ascii_lowercase(), index);
        self.vendor_by_id.entry(vendor.id).or_insert(index);
        self.vendors.push(vendor);
        Ok(())
    }

    pub(super) fn insert_attribute(&mut self, attribute: Attribute) -> Result<(), LineError> {
        let index = self.attributes.len();
        match self.by_name.entry(attribute.name.to_ascii_lowercase()) {
            Entry::Occupied(existing) => {
                let existing = &self.attributes[*existing.get()];
                let same = existing.vendor == attribute.vendor
                    && existing.number == attribute.number
                    && existing.data_type == attribute.data_type
                    && existing.has_tag == attribute.has_tag
                    && existing.encrypt == attribute.encrypt;
                if same {
                    return Ok(()); // the same definition again, e.g. a file included twice
                }
                return Err(LineError::DuplicateAttribute {
                    name: attribute.name,
                    previous: existing.defined_at.clone(),
                });
            }
            Entry::Vacant(slot) => {
                slot.insert(index);
            }
        }
        // A second name for a number is an alias: names resolve to it, printing uses the first.
        self.by_number
            .entry((attribute.vendor, attribute.number))
            .or_insert(index);
        self.attributes.push(attribute);
        Ok(())
    }
}
