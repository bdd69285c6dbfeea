//! `[[group]]` and `server.dictionary` → `authz::Authorization`: every group's reply attributes
//! encoded now, so that a mistake is found at load, not at someone's login.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use super::problems::Problems;
use crate::authz::{self, Authorization, REPLY_ROOM};
use crate::dictionary::{AttributeValue, Dictionary};

/// A group and the reply attributes its members get.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub name: String,
    #[serde(default)]
    pub reply: BTreeMap<String, RawValues>,
}

/// One value or several, as TOML writes them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawValues {
    One(AttributeValue),
    Many(Vec<AttributeValue>),
}

pub(super) fn authorization(
    groups: &[RawGroup],
    dictionary_file: Option<&str>,
    base_dir: &Path,
    problems: &mut Problems,
) -> Authorization {
    let dictionary = match dictionary_file {
        None => Dictionary::builtin(),
        Some(file) => Dictionary::load(&base_dir.join(file)).unwrap_or_else(|e| {
            problems.add("server.dictionary", e.to_string());
            Dictionary::builtin()
        }),
    };
    let mut encoded_groups = HashMap::new();
    for (i, group) in groups.iter().enumerate() {
        if group.name.trim().is_empty() {
            problems.add(format!("group[{i}].name"), "is required");
            continue;
        }
        let key = format!("group[{i}] ({}).reply", group.name);
        let mut encoded = Vec::new();
        for (name, values) in &group.reply {
            let values = match values {
                RawValues::One(v) => std::slice::from_ref(v),
                RawValues::Many(vs) => vs.as_slice(),
            };
            match authz::encode(&dictionary, name, values) {
                Ok(attributes) => encoded.extend(attributes),
                Err(e) => problems.add(key.clone(), e),
            }
        }
        let size = authz::wire_size(&encoded);
        if size > REPLY_ROOM {
            problems.add(
                key,
                format!("the attributes take {size} octets; at most {REPLY_ROOM} fit in a reply"),
            );
        }
        if encoded_groups.insert(group.name.clone(), encoded).is_some() {
            problems.add(
                format!("group[{i}].name"),
                format!("\"{}\" is declared twice", group.name),
            );
        }
    }
    Authorization::new(dictionary, encoded_groups)
}
