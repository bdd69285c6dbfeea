//! Reload (SIGHUP): the configuration file read again and checked whole, exactly as `serve`
//! checks it; if it is valid, everything a running server can change is swapped in at once —
//! clients and their secrets, groups and reply attributes (and the dictionary they are encoded
//! with), delivery, lockout, the OTP window, rate limits, the reject delay and queue wait,
//! `accounting.max_sessions`, and
//! RadSec's certificate, key, CA, `tls_name`s and idle timeout. A request keeps the
//! configuration it arrived under; the reply cache is kept. An invalid file changes nothing.
//! What needs a restart (listen addresses, the database, workers, the password sources, argon2
//! cost, turning RadSec, accounting or metrics on or off) is named in the log, and the running server
//! keeps the old value.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::build::{accepting, snapshot};
use super::pipeline::Pipeline;
use super::radsec::Radsec;
use crate::clients::Client;
use crate::config::{Config, ConfigError};

/// Swaps a new configuration into a running server.
#[derive(Debug)]
pub struct Reloader {
    pipeline: Arc<Pipeline>,
    radsec: Option<Arc<Radsec>>,
    /// What the web page and the admin API read the configuration from.
    web: Arc<crate::web::WebConfig>,
    /// What the server started with: what a restart-only setting is compared with.
    started: Config,
    /// The configuration in force: what a reload's changes are listed against.
    current: Mutex<Config>,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// Swapped in. `changes` says what changed (never a secret); `restart` names the settings
    /// that changed but wait for a restart.
    Applied {
        changes: Vec<String>,
        restart: Vec<String>,
    },
    /// Nothing changed: the file is invalid, or cannot be built; why, with each key.
    Refused(String),
}

impl Reloader {
    pub(super) fn new(
        pipeline: Arc<Pipeline>,
        radsec: Option<Arc<Radsec>>,
        web: Arc<crate::web::WebConfig>,
        config: Config,
    ) -> Self {
        Self {
            pipeline,
            radsec,
            web,
            current: Mutex::new(config.clone()),
            started: config,
        }
    }

    /// Apply `loaded` (the file as `Config::load` read it), logging the outcome: one line of
    /// changes, one warning per setting that needs a restart, or every problem of a refused
    /// file. Blocking (delivery and TLS are built from files): call it off the runtime.
    pub fn reload(&self, loaded: Result<Config, ConfigError>) -> Reloaded {
        let outcome = self.apply(loaded);
        match &outcome {
            Reloaded::Refused(why) => tracing::error!(
                "reload refused, still running on the previous configuration: {why}"
            ),
            Reloaded::Applied { changes, restart } => {
                for setting in restart {
                    tracing::warn!(
                        setting = setting.as_str(),
                        "reload: {setting} changed, which needs a restart; still running with \
                         the value radotp started with"
                    );
                }
                let said = match changes.is_empty() {
                    true => "nothing".to_owned(),
                    false => changes.join("; "),
                };
                tracing::info!(changes = said.as_str(), "configuration reloaded");
            }
        }
        outcome
    }

    fn apply(&self, loaded: Result<Config, ConfigError>) -> Reloaded {
        let config = match loaded {
            Ok(config) => config,
            Err(e) => return Reloaded::Refused(e.to_string()),
        };
        let snapshot = match snapshot(&config) {
            Ok(snapshot) => snapshot,
            Err(e) => return Reloaded::Refused(e.to_string()),
        };
        let accepting = match self.radsec {
            Some(_) => match accepting(&config, &snapshot.clients) {
                Ok(accepting) => accepting,
                Err(e) => return Reloaded::Refused(e.to_string()),
            },
            None => None,
        };
        for warning in &config.warnings {
            tracing::warn!("{warning}");
        }
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let mut changes = changes(&current, &config);
        if let (Some(radsec), Some(accepting)) = (&self.radsec, accepting) {
            radsec.replace(accepting);
            changes.push("RadSec certificate, key and CA read again".into());
        }
        self.pipeline.replace(snapshot);
        self.web.replace(config.clone());
        let restart = needs_restart(&self.started, &config);
        *current = config;
        Reloaded::Applied { changes, restart }
    }
}

/// The settings of a client as a comparable text, without its secret.
fn settings_of(client: &Client) -> String {
    format!(
        "{} {:?} {:?} {:?} {} {:?} {:?} {:?} {}",
        client.network,
        client.mode,
        client.rate_limit,
        client.require_message_authenticator,
        client.limit_proxy_state,
        client.allowed_groups,
        client.unenrolled,
        client.transport,
        client.eap,
    )
}

/// What differs between `old` and `new` among the settings a reload applies, in words; names
/// and keys only, never a value that could be secret.
pub(super) fn changes(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let by_name = |config: &Config| -> BTreeMap<String, Client> {
        config
            .clients
            .iter()
            .map(|c| (c.name.clone(), c.clone()))
            .collect()
    };
    let (before, after) = (by_name(old), by_name(new));
    for (name, client) in &after {
        match before.get(name) {
            None => out.push(format!("client {name} added")),
            Some(was) => {
                if was.secret.expose() != client.secret.expose() {
                    out.push(format!("secret of client {name} changed"));
                }
                if settings_of(was) != settings_of(client) {
                    out.push(format!("settings of client {name} changed"));
                }
            }
        }
    }
    for name in before.keys().filter(|name| !after.contains_key(*name)) {
        out.push(format!("client {name} removed"));
    }
    for group in old.authorization.changed_groups(&new.authorization) {
        out.push(format!("group {group} changed"));
    }
    // Debug output redacts secrets (a webhook's credentials): compared, never printed.
    if format!("{:?}", old.delivery) != format!("{:?}", new.delivery) {
        out.push("[delivery] changed".into());
    }
    if old.lockout != new.lockout {
        out.push("[lockout] changed".into());
    }
    if old.otp.window != new.otp.window {
        out.push(format!(
            "otp.window {} → {}",
            old.otp.window, new.otp.window
        ));
    }
    if old.otp.hotp_window != new.otp.hotp_window {
        out.push(format!(
            "otp.hotp_window {} → {}",
            old.otp.hotp_window, new.otp.hotp_window
        ));
    }
    if old.server.reject_delay != new.server.reject_delay {
        out.push(format!(
            "server.reject_delay_ms {} → {}",
            old.server.reject_delay.as_millis(),
            new.server.reject_delay.as_millis()
        ));
    }
    if old.server.max_queue_wait != new.server.max_queue_wait {
        out.push("server.max_queue_wait_ms changed".into());
    }
    if let (Some(a), Some(b)) = (&old.accounting, &new.accounting)
        && a.max_sessions != b.max_sessions
    {
        out.push(format!(
            "accounting.max_sessions {} → {}",
            a.max_sessions, b.max_sessions
        ));
    }
    if let (Some(a), Some(b)) = (&old.radsec, &new.radsec)
        && a.idle_timeout != b.idle_timeout
    {
        out.push("radsec.idle_timeout_secs changed".into());
    }
    // The certificate and key are read again on every reload (a renewal at the same path is
    // picked up without being named); conversations in progress finish on what they began.
    match (&old.eap, &new.eap) {
        (None, Some(_)) => out.push("[eap] on".into()),
        (Some(_), None) => out.push("[eap] off".into()),
        (Some(a), Some(b)) if format!("{a:?}") != format!("{b:?}") => {
            out.push("[eap] changed".into())
        }
        _ => {}
    }
    out
}

/// The settings that differ from what the server started with and cannot change while it runs.
pub(super) fn needs_restart(started: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |key: &str, a: String, b: String| {
        if a != b {
            out.push(key.to_owned());
        }
    };
    let s = (&started.server, &new.server);
    check(
        "server.listen",
        format!("{:?}", s.0.listen),
        format!("{:?}", s.1.listen),
    );
    check(
        "server.workers",
        s.0.workers.to_string(),
        s.1.workers.to_string(),
    );
    check(
        "server.max_pending",
        s.0.max_pending.to_string(),
        s.1.max_pending.to_string(),
    );
    check(
        "metrics.listen",
        format!("{:?}", s.0.metrics_listen),
        format!("{:?}", s.1.metrics_listen),
    );
    check(
        "database",
        format!("{:?}", started.database),
        format!("{:?}", new.database),
    );
    check(
        "password",
        format!("{:?} {:?}", started.password, started.password_source),
        format!("{:?} {:?}", new.password, new.password_source),
    );
    check(
        "directory",
        format!("{:?}", started.directory),
        format!("{:?}", new.directory),
    );
    check(
        "upstream",
        format!("{:?}", started.upstream),
        format!("{:?}", new.upstream),
    );
    check(
        "accounting.listen",
        format!("{:?}", started.accounting.as_ref().map(|a| &a.listen)),
        format!("{:?}", new.accounting.as_ref().map(|a| &a.listen)),
    );
    // The page's listener and certificate are set up once; its public URL and the invitations'
    // lifetime follow the reloaded file.
    // (The certificate by its bytes: one renewed at the same path is named too.)
    let web = |c: &Config| {
        c.web.as_ref().map(|w| {
            let chain: Vec<Vec<u8>> = w
                .tls
                .iter()
                .flat_map(|k| &k.cert)
                .map(|c| c.as_ref().to_vec())
                .collect();
            (w.listen, chain, w.trusted_proxies.clone())
        })
    };
    check(
        "web.listen, web.certificate, web.private_key and web.trusted_proxies",
        format!("{:?}", web(started)),
        format!("{:?}", web(new)),
    );
    let radsec = |c: &Config| {
        c.radsec
            .as_ref()
            .map(|r| format!("{:?} {}", r.listen, r.max_connections))
    };
    match (radsec(started), radsec(new)) {
        (None, Some(_)) | (Some(_), None) => check("radsec", "on".into(), "off".into()),
        (a, b) => check(
            "radsec.listen and radsec.max_connections",
            a.unwrap_or_default(),
            b.unwrap_or_default(),
        ),
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            "[server]\nlisten = [\"127.0.0.1:1812\"]\n[database]\npath = \"x.db\"\n\
             [[client]]\nname = \"vpn\"\naddress = \"192.0.2.1\"\nsecret = \"vpn-secret-0123456789\"\n{extra}"
        );
        Config::from_toml(&text, Path::new("/tmp")).unwrap()
    }

    #[test]
    fn changes_name_what_changed_and_never_a_secret() {
        let old = config(
            "[[client]]\nname = \"gone\"\naddress = \"192.0.2.9\"\nsecret = \"gone-secret-0123456789\"\n",
        );
        let new = config(
            "[[client]]\nname = \"new\"\naddress = \"192.0.2.7\"\nsecret = \"new-secret-0123456789\"\n\
             [lockout]\nmax_failures = 7\n[otp]\nwindow = 2\n",
        );
        let said = changes(&old, &new).join("; ");
        assert_eq!(
            said,
            "client new added; client gone removed; [lockout] changed; otp.window 1 → 2"
        );
        let mut secret = new.clone();
        secret.clients[0].secret =
            crate::secret::SecretBytes::from(b"another-secret-0123".as_slice());
        secret.clients[0].mode = crate::auth::Mode::Challenge;
        let said = changes(&new, &secret).join("; ");
        assert_eq!(
            said,
            "secret of client vpn changed; settings of client vpn changed"
        );
        assert!(!said.contains("another-secret"));
        assert!(changes(&new, &new).is_empty());
    }

    #[test]
    fn settings_that_need_a_restart_are_named() {
        let started = config("");
        let mut moved = config("");
        moved.server.listen = vec!["127.0.0.1:1645".parse().unwrap()];
        moved.server.workers = 4;
        assert_eq!(
            needs_restart(&started, &moved),
            ["server.listen", "server.workers"]
        );
        assert!(needs_restart(&started, &config("")).is_empty());
        let web = config("[web]\npublic_url = \"https://otp.example.org\"\n");
        assert_eq!(
            needs_restart(&started, &web),
            ["web.listen, web.certificate, web.private_key and web.trusted_proxies"]
        );
        // The public URL and the links' lifetime follow the file.
        let renamed = config("[web]\npublic_url = \"https://otp2.example.org\"\n");
        assert!(needs_restart(&web, &renamed).is_empty());
    }
}
