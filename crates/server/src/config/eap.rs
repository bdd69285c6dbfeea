//! `[eap]` → `eap::Settings`: the certificate the Wi-Fi clients see (read and checked here, so
//! `check-config` finds a wrong file), the tunnel methods, the fragment size, how long a login
//! may be resumed without a new code, and how many conversations may be in progress.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::problems::Problems;
use crate::eap::{self, Method, Settings, frames};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEap {
    pub certificate: Option<String>,
    pub private_key: Option<String>,
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    #[serde(default = "default_fragment_size")]
    pub fragment_size: usize,
    #[serde(default = "default_resumption_hours")]
    pub resumption_hours: u32,
    #[serde(default = "default_max_conversations")]
    pub max_conversations: usize,
}

fn default_methods() -> Vec<String> {
    vec!["ttls".into(), "peap".into()]
}

fn default_fragment_size() -> usize {
    1024
}

fn default_resumption_hours() -> u32 {
    8
}

fn default_max_conversations() -> usize {
    4096
}

pub(super) fn settings(
    raw: &RawEap,
    base_dir: &Path,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Option<Settings> {
    let mut methods = Vec::new();
    for (i, text) in raw.methods.iter().enumerate() {
        match Method::parse(text) {
            Some(method) if methods.contains(&method) => problems.add(
                format!("eap.methods[{i}]"),
                format!("\"{text}\" is listed twice"),
            ),
            Some(method) => methods.push(method),
            None => problems.add(
                format!("eap.methods[{i}]"),
                format!(
                    "\"{text}\" is not a method radotp serves; use \"ttls\" (EAP-TTLS with PAP \
                     inside) or \"peap\" (PEAPv0 with EAP-GTC inside)"
                ),
            ),
        }
    }
    if raw.methods.is_empty() {
        problems.add(
            "eap.methods",
            "lists no method; use [\"ttls\", \"peap\"], or remove [eap] to refuse EAP",
        );
    }
    let fragments = frames::MIN_FRAGMENT..=frames::MAX_FRAGMENT;
    if !fragments.contains(&raw.fragment_size) {
        problems.add(
            "eap.fragment_size",
            format!(
                "{} is out of bounds: {}..={} octets (1024 suits most NASes; lower it if a NAS \
                 or a path drops large RADIUS packets)",
                raw.fragment_size,
                fragments.start(),
                fragments.end()
            ),
        );
    }
    if raw.resumption_hours > eap::MAX_RESUMPTION_HOURS {
        problems.add(
            "eap.resumption_hours",
            format!(
                "{} is out of bounds: 0..={} (0: every connection asks for a code)",
                raw.resumption_hours,
                eap::MAX_RESUMPTION_HOURS
            ),
        );
    }
    if !eap::MAX_CONVERSATIONS.contains(&raw.max_conversations) {
        problems.add(
            "eap.max_conversations",
            format!(
                "{} is out of bounds: {}..={}",
                raw.max_conversations,
                eap::MAX_CONVERSATIONS.start(),
                eap::MAX_CONVERSATIONS.end()
            ),
        );
    }
    let (certificate, private_key) = match (&raw.certificate, &raw.private_key) {
        (Some(c), Some(k)) => (base_dir.join(c), base_dir.join(k)),
        (c, k) => {
            if c.is_none() {
                problems.add(
                    "eap.certificate",
                    "is required: the PEM file of the certificate chain Wi-Fi clients check \
                     (e.g. \"/etc/radotp/tls/radius.pem\")",
                );
            }
            if k.is_none() {
                problems.add(
                    "eap.private_key",
                    "is required: the PEM file of the certificate's key \
                     (e.g. \"/etc/radotp/tls/radius.key\")",
                );
            }
            return None;
        }
    };
    warnings.extend(super::readable_by_others(
        &private_key,
        "holds the EAP certificate's private key",
    ));
    let key = match crate::radsec::load_certified_key(&certificate, &private_key) {
        Ok(key) => Arc::new(key),
        Err(errors) => {
            for e in errors {
                problems.add(format!("eap.{}", e.field), e.message);
            }
            return None;
        }
    };
    if methods.is_empty() || !problems.list.is_empty() {
        return None;
    }
    Some(Settings {
        key,
        certificate,
        methods,
        fragment_size: raw.fragment_size,
        resumption_secs: i64::from(raw.resumption_hours) * 3600,
        max_conversations: raw.max_conversations,
    })
}
