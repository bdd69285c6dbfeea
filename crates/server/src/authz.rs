//! Authorization: which reply attributes an accepted user gets. Groups carry attributes from
//! the configuration; a user's own attributes (stored with the user) replace the groups' values
//! of the same attribute. Everything is checked against the dictionary when it enters — the
//! configuration at load, a user's attributes at `user set` — and again when used, failing
//! closed: an Accept never goes out without the policy the administrator wrote.

use std::collections::HashMap;
use std::fmt;

use crate::dictionary::{AttributeValue, Dictionary, EncodedAttribute};
use crate::protocol::{HEADER_LEN, MAX_PACKET_LEN, attr, message_authenticator};

/// Attributes the protocol owns: an administrator cannot set them as reply attributes.
const RESERVED: &[(u8, &str)] = &[
    (attr::USER_NAME, "User-Name"),
    (attr::USER_PASSWORD, "User-Password"),
    (attr::CHAP_PASSWORD, "CHAP-Password"),
    (attr::STATE, "State"),
    (
        attr::VENDOR_SPECIFIC,
        "Vendor-Specific (write the vendor attribute by name instead)",
    ),
    (attr::PROXY_STATE, "Proxy-State"),
    (attr::EAP_MESSAGE, "EAP-Message"),
    (attr::MESSAGE_AUTHENTICATOR, "Message-Authenticator"),
];

/// Room left in a reply for attributes, after header and Message-Authenticator.
pub const REPLY_ROOM: usize = MAX_PACKET_LEN - HEADER_LEN - message_authenticator::ATTRIBUTE_LEN;

/// The dictionary and the groups' encoded reply attributes.
#[derive(Clone, Default)]
pub struct Authorization {
    dictionary: Dictionary,
    groups: HashMap<String, Vec<EncodedAttribute>>,
}

impl Authorization {
    /// The groups added, removed or whose reply attributes differ in `other`, by name (for the
    /// reload's log line: names only, never a value).
    pub fn changed_groups(&self, other: &Authorization) -> Vec<String> {
        let mut names: Vec<&String> = self.groups.keys().chain(other.groups.keys()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter(|name| self.groups.get(*name) != other.groups.get(*name))
            .cloned()
            .collect()
    }
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.groups.keys().collect();
        names.sort();
        f.debug_struct("Authorization")
            .field("groups", &names)
            .finish_non_exhaustive()
    }
}

/// Encode one attribute's values, refusing the ones the protocol owns.
pub fn encode(
    dictionary: &Dictionary,
    name: &str,
    values: &[AttributeValue],
) -> Result<Vec<EncodedAttribute>, String> {
    let base = name.split(':').next().unwrap_or(name);
    if let Some(def) = dictionary.attribute(base)
        && def.vendor() == 0
        && let Some((_, what)) = RESERVED
            .iter()
            .find(|(kind, _)| u32::from(*kind) == def.number())
    {
        return Err(format!(
            "{what} is set by radotp itself and cannot be a reply attribute"
        ));
    }
    dictionary
        .encode_all(name, values)
        .map_err(|e| e.to_string())
}

/// `Name=value` (a user's reply attribute as typed) → name and value.
pub fn parse_assignment(text: &str) -> Result<(String, AttributeValue), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not Name=value, e.g. 'Framed-IP-Address=10.8.0.5'"))?;
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    Ok((
        name.trim().to_owned(),
        AttributeValue::Text(value.to_owned()),
    ))
}

/// An Accept's attributes: radotp's own (`own`), then the upstream server's that radotp does
/// not set itself — radotp's policy wins wherever both set an attribute.
pub fn with_upstream(
    mut own: Vec<EncodedAttribute>,
    upstream: &[EncodedAttribute],
) -> Vec<EncodedAttribute> {
    let ours: Vec<(u8, u32, u8)> = own.iter().map(EncodedAttribute::key).collect();
    own.extend(
        upstream
            .iter()
            .filter(|a| !ours.contains(&a.key()))
            .cloned(),
    );
    own
}

/// The wire size of some attributes.
pub fn wire_size(attributes: &[EncodedAttribute]) -> usize {
    attributes.iter().map(EncodedAttribute::wire_len).sum()
}

impl Authorization {
    pub fn new(dictionary: Dictionary, groups: HashMap<String, Vec<EncodedAttribute>>) -> Self {
        Self { dictionary, groups }
    }

    pub fn dictionary(&self) -> &Dictionary {
        &self.dictionary
    }

    pub fn has_group(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }

    /// Check a user's own attributes (as `user set --reply` stores them), together with their
    /// groups' attributes, so the Accept is known to fit.
    pub fn check_user(&self, groups: &[String], reply: &[String]) -> Result<(), String> {
        for group in groups {
            if !self.has_group(group) {
                return Err(format!(
                    "group \"{group}\" is not in the configuration; add [[group]] name = \"{group}\""
                ));
            }
        }
        let attributes = self.reply_for(groups, reply)?;
        let size = wire_size(&attributes);
        if size > REPLY_ROOM {
            return Err(format!(
                "the reply attributes take {size} octets; at most {REPLY_ROOM} fit in a reply"
            ));
        }
        Ok(())
    }

    /// The attributes for an Accept: each group's in order, then the user's own, which replace
    /// every group value of the same attribute.
    pub fn reply_for(
        &self,
        groups: &[String],
        reply: &[String],
    ) -> Result<Vec<EncodedAttribute>, String> {
        let mut own: Vec<EncodedAttribute> = Vec::new();
        for text in reply {
            let (name, value) = parse_assignment(text)?;
            own.extend(encode(&self.dictionary, &name, &[value])?);
        }
        let overridden =
            |a: &EncodedAttribute| own.iter().any(|o| o.name().eq_ignore_ascii_case(a.name()));
        let mut out: Vec<EncodedAttribute> = Vec::new();
        for group in groups {
            // A group removed from the configuration no longer grants anything.
            if let Some(attributes) = self.groups.get(group) {
                out.extend(attributes.iter().filter(|a| !overridden(a)).cloned());
            }
        }
        out.extend(own);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authz() -> Authorization {
        let dictionary = Dictionary::builtin();
        let mut groups = HashMap::new();
        let admins = [
            encode(&dictionary, "Class", &["admins".into()]).unwrap(),
            encode(&dictionary, "Session-Timeout", &[28800.into()]).unwrap(),
            encode(
                &dictionary,
                "Cisco-AVPair",
                &[
                    "shell:priv-lvl=15".into(),
                    "ip:inacl#1=permit ip any any".into(),
                ],
            )
            .unwrap(),
        ]
        .concat();
        groups.insert("vpn-admins".to_owned(), admins);
        groups.insert("vpn-users".to_owned(), Vec::new());
        Authorization::new(dictionary, groups)
    }

    #[test]
    fn users_override_group_values_by_attribute() {
        let a = authz();
        let groups = vec!["vpn-admins".to_owned()];
        let reply = a
            .reply_for(
                &groups,
                &[
                    "Session-Timeout=3600".into(),
                    "Framed-IP-Address=10.8.0.5".into(),
                ],
            )
            .unwrap();
        let names: Vec<&str> = reply.iter().map(EncodedAttribute::name).collect();
        assert_eq!(
            names,
            [
                "Class",
                "Cisco-AVPair",
                "Cisco-AVPair",
                "Session-Timeout",
                "Framed-IP-Address"
            ]
        );
        assert!(
            a.check_user(&groups, &["Framed-IP-Address=10.8.0.5".into()])
                .is_ok()
        );
    }

    #[test]
    fn bad_input_is_named() {
        let a = authz();
        let err = a.check_user(&["nobody".into()], &[]).unwrap_err();
        assert!(err.contains("group \"nobody\""), "{err}");
        let err = a
            .check_user(&[], &["Framed-IP-Address=10.8.0".into()])
            .unwrap_err();
        assert!(err.contains("Framed-IP-Address"), "{err}");
        let err = a.check_user(&[], &["Session-Timeout".into()]).unwrap_err();
        assert!(err.contains("Name=value"), "{err}");
        for reserved in [
            "Message-Authenticator=0x00",
            "State=abc",
            "User-Password=x",
            "Proxy-State=1",
        ] {
            let err = a.check_user(&[], &[reserved.into()]).unwrap_err();
            assert!(err.contains("set by radotp itself"), "{reserved}: {err}");
        }
        let many: Vec<String> = (0..20)
            .map(|_| format!("Reply-Message={}", "x".repeat(250)))
            .collect();
        assert!(a.check_user(&[], &many).unwrap_err().contains("at most"));
    }
}
