//! Raw configuration → `Config`, collecting every problem with the key it belongs to.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

use super::raw::{self, RawClient, RawConfig};
use super::{
    ClientConfig, Config, DatabaseConfig, DeliveryConfig, DeliveryMethod, OtpPolicy, PasswordCost,
    Problem, ServerConfig,
};
use std::sync::Arc;

use crate::auth::Mode;
use crate::auth::otp::{Algorithm, TotpParams};
use crate::authz::{self, Authorization, REPLY_ROOM};
use crate::dictionary::Dictionary;
use crate::secret::SecretBytes;
use crate::store::{LockoutPolicy, PostgresUrl, SendLimits};

/// Longer than this and NASes give up before the reject arrives.
pub const MAX_REJECT_DELAY_MS: u64 = 10_000;
/// Where the key file lives unless `database.key_file` says otherwise: beside the config.
const DEFAULT_KEY_FILE: &str = "radotp.key";
/// RFC 2865 §3 recommends shared secrets of at least 16 octets.
const RECOMMENDED_SECRET_LEN: usize = 16;

#[derive(Default)]
struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.list.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }
}

pub(super) fn validate(raw: RawConfig, base_dir: &Path) -> Result<Config, Vec<Problem>> {
    let mut problems = Problems::default();
    let mut warnings = Vec::new();

    let mut server = server(&raw.server, &mut problems);
    if let (Some(server), Some(metrics)) = (server.as_mut(), &raw.metrics) {
        match metrics.listen.parse::<SocketAddr>() {
            Ok(addr) => server.metrics_listen = Some(addr),
            Err(_) => problems.add(
                "metrics.listen",
                format!(
                    "\"{}\" is not an ip:port address, e.g. \"127.0.0.1:9812\"",
                    metrics.listen
                ),
            ),
        }
    }
    let database = raw
        .database
        .as_ref()
        .and_then(|db| database(db, base_dir, &mut problems));
    if raw.database.is_none() {
        problems.add(
            "database",
            "the [database] section is missing; add one with path = \"radotp.db\" (SQLite) \
             or url = \"postgres://…\" (PostgreSQL, shared by several nodes)",
        );
    }
    let otp = otp(&raw.otp, &mut problems);
    let password = password(&raw.password, &mut problems, &mut warnings);
    let clients = clients(&raw.clients, base_dir, &mut problems, &mut warnings);
    let lockout = lockout(&raw.lockout, &mut problems);
    let authorization = authorization(&raw, base_dir, &mut problems);
    for (i, client) in raw.clients.iter().enumerate() {
        for group in client.allowed_groups.iter().flatten() {
            if !authorization.has_group(group) {
                problems.add(
                    format!("client[{i}].allowed_groups"),
                    format!("group \"{group}\" is not declared; add [[group]] name = \"{group}\""),
                );
            }
        }
    }
    let delivery = raw
        .delivery
        .as_ref()
        .and_then(|d| delivery(d, base_dir, &mut problems));

    match (server, database, otp, password) {
        (Some(server), Some(database), Some(otp), Some(password)) if problems.list.is_empty() => {
            Ok(Config {
                server,
                database,
                otp,
                password,
                clients,
                delivery,
                lockout,
                authorization: Arc::new(authorization),
                warnings,
            })
        }
        _ => Err(problems.list),
    }
}

/// `path` (SQLite) or `url` (PostgreSQL), exactly one; and the key file.
fn database(
    db: &raw::RawDatabase,
    base_dir: &Path,
    problems: &mut Problems,
) -> Option<DatabaseConfig> {
    if db.key_file.as_deref().is_some_and(|k| k.trim().is_empty()) {
        problems.add(
            "database.key_file",
            "must not be empty (leave it out for radotp.key)",
        );
        return None;
    }
    let key_file = base_dir.join(db.key_file.as_deref().unwrap_or(DEFAULT_KEY_FILE));
    match (&db.path, &db.url) {
        (Some(_), Some(_)) => {
            problems.add(
                "database.url",
                "set either path (SQLite, one node) or url (PostgreSQL, several nodes), not both",
            );
            None
        }
        (None, None) => {
            problems.add(
                "database.path",
                "is required: path = \"radotp.db\" (SQLite), or instead url = \"postgres://…\" \
                 (PostgreSQL)",
            );
            None
        }
        (Some(path), None) if path.trim().is_empty() => {
            problems.add("database.path", "must not be empty");
            None
        }
        (Some(path), None) => Some(DatabaseConfig {
            path: base_dir.join(path),
            url: None,
            key_file,
        }),
        (None, Some(url)) => match PostgresUrl::parse(url) {
            Ok(url) => Some(DatabaseConfig {
                path: PathBuf::new(),
                url: Some(url),
                key_file,
            }),
            Err(message) => {
                problems.add("database.url", message);
                None
            }
        },
    }
}

fn server(raw: &raw::RawServer, problems: &mut Problems) -> Option<ServerConfig> {
    let mut listen: Vec<SocketAddr> = Vec::new();
    if raw.listen.is_empty() {
        problems.add(
            "server.listen",
            "at least one address is required, e.g. [\"127.0.0.1:1812\"]",
        );
    }
    for (i, text) in raw.listen.iter().enumerate() {
        match text.parse::<SocketAddr>() {
            Ok(addr) if listen.contains(&addr) => {
                problems.add(format!("server.listen[{i}]"), format!("{addr} is listed twice"))
            }
            Ok(addr) => listen.push(addr),
            Err(_) => problems.add(
                format!("server.listen[{i}]"),
                format!(
                    "\"{text}\" is not an ip:port address (examples: \"0.0.0.0:1812\", \"[::1]:1812\")"
                ),
            ),
        }
    }
    if raw.reject_delay_ms > MAX_REJECT_DELAY_MS {
        problems.add(
            "server.reject_delay_ms",
            format!(
                "{} is too long: NASes time out first; use 0 to {MAX_REJECT_DELAY_MS}",
                raw.reject_delay_ms
            ),
        );
    }
    if raw.workers > 1024 {
        problems.add(
            "server.workers",
            format!(
                "{} threads is too many; use 0 for one per core",
                raw.workers
            ),
        );
    }
    if raw.max_pending > 1_000_000 {
        problems.add(
            "server.max_pending",
            "must be at most 1000000 (0 = 64 per worker)",
        );
    }
    if !(100..=60_000).contains(&raw.max_queue_wait_ms) {
        problems.add(
            "server.max_queue_wait_ms",
            "must be between 100 and 60000; keep it under the NAS's timeout (2000 suits most)",
        );
    }
    Some(ServerConfig {
        listen,
        reject_delay: Duration::from_millis(raw.reject_delay_ms),
        workers: raw.workers,
        max_pending: raw.max_pending,
        max_queue_wait: Duration::from_millis(raw.max_queue_wait_ms),
        metrics_listen: None,
    })
}

fn otp(raw: &raw::RawOtp, problems: &mut Problems) -> Option<OtpPolicy> {
    if raw.issuer.trim().is_empty() || raw.issuer.contains(':') {
        problems.add(
            "otp.issuer",
            "must be a non-empty name without ':' (it is shown in authenticator apps)",
        );
    }
    if raw.digits != 6 && raw.digits != 8 {
        problems.add(
            "otp.digits",
            format!("{} is not allowed; use 6 or 8", raw.digits),
        );
    }
    if raw.period != 30 && raw.period != 60 {
        problems.add(
            "otp.period",
            format!(
                "{} is not allowed; use 30 (apps) or 60 (some hardware tokens)",
                raw.period
            ),
        );
    }
    let algorithm = raw.algorithm.parse::<Algorithm>();
    if let Err(message) = &algorithm {
        problems.add("otp.algorithm", message.clone());
    }
    if raw.window > 10 {
        problems.add(
            "otp.window",
            format!(
                "{} steps either side is too lax; use 0 to 10 (1 is usual)",
                raw.window
            ),
        );
    }
    Some(OtpPolicy {
        issuer: raw.issuer.trim().to_owned(),
        defaults: TotpParams {
            algorithm: algorithm.ok()?,
            digits: u8::try_from(raw.digits).ok()?,
            period: raw.period,
        },
        window: u8::try_from(raw.window).ok()?,
    })
}

fn password(
    raw: &raw::RawPassword,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Option<PasswordCost> {
    let cost = PasswordCost {
        memory_kib: raw.memory_kib,
        iterations: raw.iterations,
        parallelism: raw.parallelism,
    };
    if !(1..=16).contains(&raw.parallelism) {
        problems.add("password.parallelism", "must be between 1 and 16");
    }
    if raw.memory_kib < 8 * raw.parallelism.max(1) || raw.memory_kib > 4 * 1024 * 1024 {
        problems.add(
            "password.memory_kib",
            "must be between 8 × parallelism and 4194304 (4 GiB); 19456 is recommended",
        );
    }
    if !(1..=64).contains(&raw.iterations) {
        problems.add(
            "password.iterations",
            "must be between 1 and 64; 2 is recommended",
        );
    }
    if raw.memory_kib < raw::default_memory_kib() || raw.iterations < raw::default_iterations() {
        warnings.push(format!(
            "password: memory_kib = {}, iterations = {} is below the recommended 19456 KiB and 2 \
             iterations; new password hashes will be easier to crack",
            raw.memory_kib, raw.iterations
        ));
    }
    Some(cost)
}

fn clients(
    raw: &[RawClient],
    base_dir: &Path,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Vec<ClientConfig> {
    if raw.is_empty() {
        problems.add(
            "client",
            "no [[client]] is configured, so every request would be dropped; add one per NAS",
        );
    }
    let mut out = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut networks: HashMap<IpNet, usize> = HashMap::new();
    for (i, c) in raw.iter().enumerate() {
        let key = |field: &str| format!("client[{i}].{field}");
        let name = c
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        if name.is_empty() {
            problems.add(key("name"), "is required (it names the NAS in logs)");
        } else if let Some(first) = names.insert(name.clone(), i) {
            problems.add(
                key("name"),
                format!("\"{name}\" is already used by client[{first}]"),
            );
        }
        let network = match c.address.as_deref() {
            None => {
                problems.add(
                    key("address"),
                    "is required: an IP address or a CIDR prefix",
                );
                None
            }
            Some(text) => match parse_network(text) {
                Ok(net) => {
                    if let Some(first) = networks.insert(net, i) {
                        problems.add(
                            key("address"),
                            format!("{net} is the same prefix as client[{first}]; merge them or make one more specific"),
                        );
                    }
                    Some(net)
                }
                Err(message) => {
                    problems.add(key("address"), message);
                    None
                }
            },
        };
        let mode = match c.mode.as_deref() {
            None | Some("append") => Mode::Append,
            Some("challenge") => Mode::Challenge,
            Some(other) => {
                problems.add(
                    key("mode"),
                    format!("\"{other}\" is not a mode; use \"append\" or \"challenge\""),
                );
                Mode::Append
            }
        };
        // A flood from one NAS must not starve the others; a local test client is trusted.
        const DEFAULT_RATE_LIMIT: u32 = 1000;
        let rate_limit = match (c.rate_limit, &network) {
            (Some(0), _) => None,
            (Some(n), _) => Some(n),
            (None, Some(net)) if net.addr().is_loopback() => None,
            (None, _) => Some(DEFAULT_RATE_LIMIT),
        };
        let secret = client_secret(c, base_dir, &key, problems, warnings);
        if let Some(secret) = &secret
            && secret.len() < RECOMMENDED_SECRET_LEN
        {
            warnings.push(format!(
                "{}: the shared secret is {} bytes; use at least {RECOMMENDED_SECRET_LEN} random characters",
                key("secret"),
                secret.len()
            ));
        }
        if let (Some(network), Some(secret)) = (network, secret) {
            out.push(ClientConfig {
                name,
                network,
                secret,
                require_message_authenticator: c.require_message_authenticator,
                mode,
                rate_limit,
                limit_proxy_state: c.limit_proxy_state,
                allowed_groups: c.allowed_groups.clone(),
            });
        }
    }
    out
}

fn client_secret(
    c: &RawClient,
    base_dir: &Path,
    key: &dyn Fn(&str) -> String,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Option<SecretBytes> {
    let secret = match (&c.secret, &c.secret_file) {
        (Some(_), Some(_)) => {
            problems.add(key("secret"), "set either secret or secret_file, not both");
            return None;
        }
        (None, None) => {
            problems.add(key("secret"), "is required (or secret_file = \"path\")");
            return None;
        }
        (Some(s), None) => SecretBytes::from(s.as_bytes()),
        (None, Some(file)) => {
            let path = base_dir.join(file);
            warnings.extend(super::readable_by_others(&path, "holds a shared secret"));
            match std::fs::read(&path) {
                // One trailing newline is how editors save files; it is not part of the secret.
                Ok(mut bytes) => {
                    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                        bytes.pop();
                    }
                    SecretBytes::new(bytes)
                }
                Err(e) => {
                    problems.add(
                        key("secret_file"),
                        format!("cannot read {}: {e}", path.display()),
                    );
                    return None;
                }
            }
        }
    };
    if secret.is_empty() {
        let field = if c.secret.is_some() {
            "secret"
        } else {
            "secret_file"
        };
        problems.add(key(field), "the shared secret is empty");
        return None;
    }
    Some(secret)
}

/// `10.0.0.1` (a host) or `10.0.0.0/8`; host bits set in a prefix are a typo we point out.
fn parse_network(text: &str) -> Result<IpNet, String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    match text.parse::<IpNet>() {
        Ok(net) if net.trunc() != net => Err(format!(
            "\"{text}\" has host bits set; did you mean \"{}\"?",
            net.trunc()
        )),
        Ok(net) => Ok(net),
        Err(_) => Err(format!(
            "\"{text}\" is not an IP address or prefix (examples: \"192.0.2.10\", \"10.0.0.0/8\", \"2001:db8::/32\")"
        )),
    }
}

fn delivery(
    raw: &raw::RawDelivery,
    base_dir: &Path,
    problems: &mut Problems,
) -> Option<DeliveryConfig> {
    let before = problems.list.len();
    if !(30..=3600).contains(&raw.code_ttl_secs) {
        problems.add(
            "delivery.code_ttl_secs",
            "must be between 30 and 3600 seconds",
        );
    }
    if !(0..=3600).contains(&raw.resend_cooldown_secs) {
        problems.add(
            "delivery.resend_cooldown_secs",
            "must be between 0 and 3600 seconds",
        );
    }
    if !(1..=100).contains(&raw.max_per_hour) {
        problems.add("delivery.max_per_hour", "must be between 1 and 100");
    }
    let method = match (&raw.command, &raw.webhook) {
        (Some(_), Some(_)) => {
            problems.add("delivery", "set either command or webhook, not both");
            None
        }
        (None, None) => {
            problems.add(
                "delivery",
                "set command = [\"/path/to/program\"] or webhook = \"https://…\"",
            );
            None
        }
        (Some(argv), None) => {
            let program = argv.first().map(String::as_str).unwrap_or_default();
            if program.is_empty() {
                problems.add("delivery.command", "needs at least the program to run");
            } else if !base_dir.join(program).exists() {
                problems.add(
                    "delivery.command",
                    format!("{program} does not exist (relative paths start at the configuration's folder)"),
                );
            }
            if !(100..=60_000).contains(&raw.command_timeout_ms) {
                problems.add(
                    "delivery.command_timeout_ms",
                    "must be between 100 and 60000",
                );
            }
            let mut argv = argv.clone();
            if let Some(first) = argv.first_mut()
                && !first.is_empty()
            {
                *first = base_dir.join(&*first).to_string_lossy().into_owned();
            }
            Some(DeliveryMethod::Command {
                argv,
                dir: base_dir.to_owned(),
                timeout: Duration::from_millis(raw.command_timeout_ms),
            })
        }
        (None, Some(url)) => {
            let loopback = ["http://127.", "http://localhost", "http://[::1]"];
            if !url.starts_with("https://") && !loopback.iter().any(|p| url.starts_with(p)) {
                problems.add(
                    "delivery.webhook",
                    "must be an https:// URL (plain http only to this machine)",
                );
            }
            if !(100..=60_000).contains(&raw.webhook_timeout_ms) {
                problems.add(
                    "delivery.webhook_timeout_ms",
                    "must be between 100 and 60000",
                );
            }
            if raw.webhook_retries > 5 {
                problems.add("delivery.webhook_retries", "must be between 0 and 5");
            }
            Some(DeliveryMethod::Webhook {
                url: url.clone(),
                ca_file: raw.webhook_ca_file.as_ref().map(|f| base_dir.join(f)),
                timeout: Duration::from_millis(raw.webhook_timeout_ms),
                retries: raw.webhook_retries,
            })
        }
    };
    if problems.list.len() > before {
        return None;
    }
    Some(DeliveryConfig {
        method: method?,
        limits: SendLimits {
            ttl: raw.code_ttl_secs,
            cooldown: raw.resend_cooldown_secs,
            per_hour: raw.max_per_hour,
        },
    })
}

fn lockout(raw: &raw::RawLockout, problems: &mut Problems) -> LockoutPolicy {
    if !(1..=100).contains(&raw.max_failures) {
        problems.add("lockout.max_failures", "must be between 1 and 100");
    }
    if !(1..=86_400).contains(&raw.base_secs) {
        problems.add("lockout.base_secs", "must be between 1 and 86400 seconds");
    }
    if raw.max_secs < raw.base_secs || raw.max_secs > 7 * 86_400 {
        problems.add(
            "lockout.max_secs",
            "must be at least lockout.base_secs and at most 604800 (a week)",
        );
    }
    LockoutPolicy {
        max_failures: raw.max_failures,
        base_secs: raw.base_secs,
        max_secs: raw.max_secs,
    }
}

/// The dictionary (built-in, plus `server.dictionary`) and every group's reply attributes,
/// encoded now so that a mistake is found at load, not at someone's login.
fn authorization(raw: &RawConfig, base_dir: &Path, problems: &mut Problems) -> Authorization {
    let dictionary = match &raw.server.dictionary {
        None => Dictionary::builtin(),
        Some(file) => Dictionary::load(&base_dir.join(file)).unwrap_or_else(|e| {
            problems.add("server.dictionary", e.to_string());
            Dictionary::builtin()
        }),
    };
    let mut groups = HashMap::new();
    for (i, group) in raw.groups.iter().enumerate() {
        let key = |field: &str| format!("group[{i}].{field}");
        if group.name.trim().is_empty() {
            problems.add(key("name"), "is required");
            continue;
        }
        let mut encoded = Vec::new();
        for (name, values) in &group.reply {
            let values = match values {
                raw::RawValues::One(v) => std::slice::from_ref(v),
                raw::RawValues::Many(vs) => vs.as_slice(),
            };
            match authz::encode(&dictionary, name, values) {
                Ok(attributes) => encoded.extend(attributes),
                Err(e) => problems.add(format!("group[{i}] ({}).reply", group.name), e),
            }
        }
        let size = authz::wire_size(&encoded);
        if size > REPLY_ROOM {
            problems.add(
                format!("group[{i}] ({}).reply", group.name),
                format!("the attributes take {size} octets; at most {REPLY_ROOM} fit in a reply"),
            );
        }
        if groups.insert(group.name.clone(), encoded).is_some() {
            problems.add(key("name"), format!("\"{}\" is declared twice", group.name));
        }
    }
    Authorization::new(dictionary, groups)
}
