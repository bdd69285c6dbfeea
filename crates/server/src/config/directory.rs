//! `[directory]` and `[[directory.group]]` → `directory::Settings`: the servers and how each is
//! protected, the service account (its password read from its file), where and how users are
//! found, and which directory groups grant which radotp groups.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::problems::Problems;
use crate::directory::{self, NormalDn, ServerUrl, Settings};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDirectory {
    #[serde(default)]
    pub urls: Vec<String>,
    #[serde(default)]
    pub start_tls: bool,
    pub ca_file: Option<String>,
    pub bind_dn: Option<String>,
    pub bind_password_file: Option<String>,
    pub base_dn: Option<String>,
    #[serde(default = "default_user_filter")]
    pub user_filter: String,
    #[serde(default = "default_group_attribute")]
    pub group_attribute: String,
    #[serde(default)]
    pub nested_groups: bool,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub allow_plaintext: bool,
    #[serde(default, rename = "group")]
    pub groups: Vec<RawDirectoryGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDirectoryGroup {
    pub dn: Option<String>,
    pub group: Option<String>,
}

fn default_user_filter() -> String {
    "(&(objectClass=user)(sAMAccountName={user}))".into()
}

fn default_group_attribute() -> String {
    "memberOf".into()
}

fn default_timeout_ms() -> u64 {
    3000
}

/// `[directory]` checked; `None` with the problems recorded. `declared` says whether a radotp
/// group exists (`[[group]]`).
pub(super) fn settings(
    raw: &RawDirectory,
    base_dir: &Path,
    declared: &dyn Fn(&str) -> bool,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Option<Settings> {
    let before = problems.len();
    if raw.urls.is_empty() {
        problems.add(
            "directory.urls",
            "is required: [\"ldaps://dc1.example.org\", …], tried in order",
        );
    }
    let mut urls = Vec::new();
    for (i, text) in raw.urls.iter().enumerate() {
        match ServerUrl::parse(text, raw.start_tls, raw.allow_plaintext) {
            Ok(url) => {
                if url.security == directory::Security::Plain {
                    warnings.push(format!(
                        "directory.urls[{i}]: {} is plaintext LDAP (allow_plaintext = true): \
                         users' passwords cross the network in the clear",
                        url.url
                    ));
                }
                urls.push(url);
            }
            Err(message) => problems.add(format!("directory.urls[{i}]"), message),
        }
    }
    let ca_file = raw.ca_file.as_ref().map(|f| base_dir.join(f));
    if let Some(path) = &ca_file
        && let Err(message) = directory::read_pem_certs(path)
    {
        problems.add("directory.ca_file", message);
    }
    let bind_dn = required_dn(raw.bind_dn.as_deref(), "directory.bind_dn", problems);
    let base_dn = required_dn(raw.base_dn.as_deref(), "directory.base_dn", problems);
    let bind_password = super::required_secret_file(
        raw.bind_password_file.as_deref(),
        "directory.bind_password_file",
        "the directory service account's password",
        base_dir,
        |secret| match std::str::from_utf8(secret.expose()) {
            Ok(_) => Ok(()),
            Err(_) => Err("the password is not UTF-8".into()),
        },
        problems,
        warnings,
    );
    check_filter(&raw.user_filter, problems);
    let attribute = raw.group_attribute.trim();
    if attribute.is_empty()
        || !attribute
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b';')
    {
        problems.add(
            "directory.group_attribute",
            "must be an attribute name, such as memberOf",
        );
    }
    let timeout = Duration::from_millis(raw.timeout_ms);
    if !(directory::MIN_TIMEOUT..=directory::MAX_TIMEOUT).contains(&timeout) {
        problems.add(
            "directory.timeout_ms",
            format!(
                "must be between {} and {}",
                directory::MIN_TIMEOUT.as_millis(),
                directory::MAX_TIMEOUT.as_millis()
            ),
        );
    }
    let mut groups = Vec::new();
    for (i, g) in raw.groups.iter().enumerate() {
        let key = |field: &str| format!("directory.group[{i}].{field}");
        let dn = match g.dn.as_deref() {
            None => {
                problems.add(key("dn"), "is required: the directory group's DN");
                None
            }
            Some(text) => match NormalDn::parse(text) {
                Ok(dn) => Some(dn),
                Err(why) => {
                    problems.add(key("dn"), format!("is not a DN: it {why}"));
                    None
                }
            },
        };
        let group = match g.group.as_deref() {
            None => {
                problems.add(key("group"), "is required: the radotp group it grants");
                None
            }
            Some(name) if !declared(name) => {
                problems.add(
                    key("group"),
                    format!("group \"{name}\" is not declared; add [[group]] name = \"{name}\""),
                );
                None
            }
            Some(name) => Some(name.to_owned()),
        };
        if let (Some(dn), Some(group)) = (dn, group) {
            groups.push((dn, group));
        }
    }
    if problems.len() > before {
        return None;
    }
    Some(Settings {
        urls,
        ca_file,
        bind_dn: bind_dn?,
        bind_password: bind_password?,
        base_dn: base_dn?,
        user_filter: raw.user_filter.clone(),
        group_attribute: attribute.to_owned(),
        nested_groups: raw.nested_groups,
        timeout,
        groups,
    })
}

fn required_dn(text: Option<&str>, key: &str, problems: &mut Problems) -> Option<String> {
    match text.map(str::trim) {
        None | Some("") => {
            problems.add(key, "is required: a DN such as \"DC=example,DC=org\"");
            None
        }
        Some(dn) => match NormalDn::parse(dn) {
            Ok(_) => Some(dn.to_owned()),
            Err(why) => {
                problems.add(key, format!("is not a DN: it {why}"));
                None
            }
        },
    }
}

/// The filter must hold `{user}` once and parse once a name is put in (RFC 4515).
fn check_filter(filter: &str, problems: &mut Problems) {
    let key = "directory.user_filter";
    match filter.matches("{user}").count() {
        0 => problems.add(
            key,
            "must contain {user} where the user name goes, e.g. (&(objectClass=user)(sAMAccountName={user}))",
        ),
        _ if ldap3::parse_filter(filter.replace("{user}", "x")).is_err() => problems.add(
            key,
            "is not an LDAP filter (RFC 4515): check its parentheses, e.g. (&(objectClass=user)(sAMAccountName={user}))",
        ),
        _ => {}
    }
}
