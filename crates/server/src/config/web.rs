//! `[web]` → `web::Settings`: the enrollment page's and the admin API's listener, its TLS
//! identity (read and checked here, so `check-config` finds a wrong file), the public URL the
//! invitation links carry and how long they live.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::problems::Problems;
use crate::web::{self, Settings};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWeb {
    #[serde(default = "default_listen")]
    pub listen: String,
    pub certificate: Option<String>,
    pub private_key: Option<String>,
    pub public_url: Option<String>,
    #[serde(default = "default_invitation_ttl_hours")]
    pub invitation_ttl_hours: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the browser's address.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

fn default_listen() -> String {
    "127.0.0.1:8443".to_owned()
}

fn default_invitation_ttl_hours() -> u32 {
    72
}

pub(super) fn settings(
    raw: &RawWeb,
    base_dir: &Path,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Option<Settings> {
    let listen = match raw.listen.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            problems.add(
                "web.listen",
                format!(
                    "\"{}\" is not an ip:port address (examples: \"127.0.0.1:8443\", \"[::]:8443\")",
                    raw.listen
                ),
            );
            None
        }
    };
    let public_url = match &raw.public_url {
        None => {
            problems.add(
                "web.public_url",
                "is required: the address people open invitation links at, e.g. \
                 \"https://otp.example.org\"",
            );
            None
        }
        Some(text) => match web::PublicUrl::parse(text) {
            Ok(url) => Some(url),
            Err(message) => {
                problems.add("web.public_url", message);
                None
            }
        },
    };
    problems.extend("web", web::check(raw.invitation_ttl_hours));
    let mut trusted_proxies = Vec::new();
    for (i, text) in raw.trusted_proxies.iter().enumerate() {
        match web::parse_network(text) {
            Some(network) => trusted_proxies.push(network),
            None => problems.add(
                format!("web.trusted_proxies[{i}]"),
                format!(
                    "\"{text}\" is not an IP address or CIDR prefix (examples: \"127.0.0.1\", \
                     \"10.0.0.0/8\", \"::1\")"
                ),
            ),
        }
    }
    let tls = match (&raw.certificate, &raw.private_key) {
        (Some(certificate), Some(private_key)) => {
            let (certificate, private_key) =
                (base_dir.join(certificate), base_dir.join(private_key));
            warnings.extend(super::readable_by_others(
                &private_key,
                "holds the web page's private key",
            ));
            match crate::radsec::load_certified_key(&certificate, &private_key) {
                Ok(key) => Some(Arc::new(key)),
                Err(errors) => {
                    for e in errors {
                        problems.add(format!("web.{}", e.field), e.message);
                    }
                    return None;
                }
            }
        }
        (None, None) => None,
        (Some(_), None) => {
            problems.add(
                "web.private_key",
                "is required with web.certificate: the PEM file of the certificate's key",
            );
            return None;
        }
        (None, Some(_)) => {
            problems.add(
                "web.certificate",
                "is required with web.private_key: the PEM file of the server's certificate chain",
            );
            return None;
        }
    };
    let listen = listen?;
    if tls.is_none() {
        if !listen.ip().is_loopback() {
            problems.add(
                "web.certificate",
                format!(
                    "is required on {listen}: plain HTTP is served only on a loopback address \
                     (behind a reverse proxy that speaks HTTPS); set certificate and private_key, \
                     or listen on 127.0.0.1"
                ),
            );
            return None;
        }
        warnings.push(format!(
            "[web] serves plain HTTP on {listen}: only a reverse proxy on this machine should \
             reach it, and it must speak HTTPS to browsers"
        ));
    }
    Some(Settings {
        listen,
        tls,
        public_url: public_url?,
        invitation_ttl: i64::from(raw.invitation_ttl_hours) * 3600,
        trusted_proxies,
    })
}
