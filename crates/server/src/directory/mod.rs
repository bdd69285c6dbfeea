//! Passwords checked by an LDAP directory (Active Directory, OpenLDAP), codes by radotp.
//!
//! One login costs one search with the service account (pooled: one bound connection per
//! server, its operations multiplexed) and one bind as the user's DN on a connection of its own
//! (kept for the next user's bind; it never searches). The password goes to the directory and
//! nowhere else: not to a log, the store or a cache.
//!
//! Servers are tried in order. A server that cannot answer within `timeout_ms` is passed over
//! for a while and the next is tried; when none answers, the request is dropped (the NAS fails
//! over) — never accepted. Outages are logged once when they begin and once when they end, and
//! service resumes by itself.
//!
//! - `dn`: distinguished names compared as LDAP compares them.
//! - `refusal`: why a bind was refused (Active Directory's sub-codes).

mod dn;
mod refusal;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry, SearchOptions};
use rustls::ClientConfig;

pub use dn::NormalDn;
pub use refusal::Refusal;

use crate::failover::{Latency, Servers};
use crate::io_runtime::IoRuntime;
use crate::secret::SecretBytes;

/// Bounds of `timeout_ms`.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(100);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// Idle bind connections kept per server.
const IDLE_BINDERS: usize = 16;

/// AD's `LDAP_MATCHING_RULE_IN_CHAIN`: every group the user is in, directly or through others.
pub const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// How a server's connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// `ldaps://`: TLS from the first byte.
    Ldaps,
    /// `ldap://` upgraded by StartTLS before anything is sent.
    StartTls,
    /// `ldap://` in the clear (only with `allow_plaintext`).
    Plain,
}

/// One directory server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl {
    pub url: String,
    pub security: Security,
}

impl ServerUrl {
    /// `text` as a server URL, with how `start_tls` and `allow_plaintext` say to protect it.
    pub fn parse(text: &str, start_tls: bool, allow_plaintext: bool) -> Result<ServerUrl, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| "must be ldaps://HOST[:PORT] or ldap://HOST[:PORT]".to_owned())?;
        let host = rest.trim_end_matches('/');
        if host.is_empty() || host.contains(['/', '?', '@', ' ']) {
            return Err("must be ldaps://HOST[:PORT] or ldap://HOST[:PORT], without a path".into());
        }
        let security = match (scheme.to_ascii_lowercase().as_str(), start_tls) {
            ("ldaps", false) => Security::Ldaps,
            ("ldaps", true) => {
                return Err(
                    "is ldaps:// (TLS already); start_tls = true is for ldap:// URLs".into(),
                );
            }
            ("ldap", true) => Security::StartTls,
            ("ldap", false) if allow_plaintext => Security::Plain,
            ("ldap", false) => {
                return Err(
                    "ldap:// without StartTLS sends passwords in the clear; use \
                            ldaps://, or set start_tls = true, or (on a network you trust) \
                            allow_plaintext = true"
                        .into(),
                );
            }
            _ => return Err("must start with ldaps:// or ldap://".into()),
        };
        Ok(ServerUrl {
            url: format!("{}://{host}", scheme.to_ascii_lowercase()),
            security,
        })
    }
}

/// `[directory]`, checked.
#[derive(Clone)]
pub struct Settings {
    pub urls: Vec<ServerUrl>,
    /// Trust for ldaps/StartTLS; the system's trust store when `None`.
    pub ca_file: Option<PathBuf>,
    pub bind_dn: String,
    /// Read from `bind_password_file`.
    pub bind_password: SecretBytes,
    pub base_dn: String,
    /// With `{user}` where the escaped user name goes.
    pub user_filter: String,
    pub group_attribute: String,
    pub nested_groups: bool,
    pub timeout: Duration,
    /// A directory group (as compared) → the radotp group it grants.
    pub groups: Vec<(NormalDn, String)>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("urls", &self.urls)
            .field("ca_file", &self.ca_file)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password", &self.bind_password)
            .field("base_dn", &self.base_dn)
            .field("user_filter", &self.user_filter)
            .field("group_attribute", &self.group_attribute)
            .field("nested_groups", &self.nested_groups)
            .field("timeout", &self.timeout)
            .field("groups", &self.groups)
            .finish()
    }
}

impl Settings {
    /// The user filter for `name`, escaped as RFC 4515 says: `*)(uid=*` or a NUL find nobody.
    pub fn filter_for(&self, name: &str) -> String {
        self.user_filter
            .replace("{user}", &ldap3::ldap_escape(name))
    }

    /// The trust the TLS connections use.
    fn tls(&self) -> Result<Arc<ClientConfig>, String> {
        let roots = trust(self.ca_file.as_deref(), "set ca_file")?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_root_certificates(roots);
        Ok(Arc::new(config.with_no_client_auth()))
    }
}

/// The CA certificates of `ca_file`, or the system's trust store when there is none (`hint`
/// says what to set if the system has none).
pub fn trust(
    ca_file: Option<&std::path::Path>,
    hint: &str,
) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for cert in read_pem_certs(path)? {
                roots.add(cert).map_err(|e| {
                    format!("{}: a certificate cannot be used: {e}", path.display())
                })?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot use is one less to trust.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(format!("the system has no trusted certificates; {hint}"));
            }
        }
    }
    Ok(roots)
}

/// The certificates of a PEM file, or why there are none.
pub fn read_pem_certs(
    path: &std::path::Path,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, String> {
    use rustls_pki_types::pem::PemObject;
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{shown} is not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{shown} holds no PEM certificate"));
    }
    Ok(certs)
}

/// What the directory said of a user's password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verified {
    /// The bind succeeded; the radotp groups the user's directory groups grant.
    Right { groups: Vec<String> },
    /// The bind was refused (or never tried: an empty password would be an anonymous bind).
    Wrong(Refusal),
    /// The search found no entry for the name.
    NotFound,
    /// The search found more than one: the filter is not specific enough, nobody logs in.
    Ambiguous,
}

/// How many entries a search for a name found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entries {
    None,
    One,
    /// More than one: `user_filter` does not single the user out.
    Several,
}

/// No directory server could answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DirectoryError(pub String);

/// How one attempt at one server went wrong: that server cannot answer now.
#[derive(Debug)]
struct Failure(String);

impl From<LdapError> for Failure {
    fn from(e: LdapError) -> Self {
        Failure(match e {
            LdapError::Timeout { .. } => "no answer within timeout_ms".into(),
            LdapError::LdapResult { result } => {
                format!(
                    "result code {}: {}",
                    result.rc,
                    result.text.trim_end_matches('\0')
                )
            }
            other => other.to_string(),
        })
    }
}

/// A found user entry.
struct Entry {
    dn: String,
    groups: Vec<String>,
}

/// One server's connections and health.
struct Server {
    url: ServerUrl,
    /// The service account's bound connection, shared by all searches.
    service: Mutex<Option<Ldap>>,
    /// Held while the service connection is made, so that requests arriving together make one.
    connecting: tokio::sync::Mutex<()>,
    /// Idle connections used only for users' binds.
    binders: Mutex<Vec<Ldap>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The directory, as the password source sees it.
pub struct Directory {
    settings: Settings,
    tls: Arc<ClientConfig>,
    servers: Vec<Server>,
    /// Which servers answer lately.
    health: Servers,
    /// How long a user bind takes lately: what a dummy check waits.
    binds: Latency,
    /// Drives the connections; dropped without blocking.
    io: IoRuntime,
}

impl fmt::Debug for Directory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Directory")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Directory {
    /// Ready to connect (nothing is connected yet: the first login or `probe` does).
    pub fn new(settings: Settings) -> Result<Directory, String> {
        let tls = settings.tls()?;
        let io = IoRuntime::new("radotp-directory")
            .map_err(|e| format!("cannot start the directory's runtime: {e}"))?;
        let servers = settings
            .urls
            .iter()
            .map(|url| Server {
                url: url.clone(),
                service: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
                binders: Mutex::new(Vec::new()),
            })
            .collect();
        let health = Servers::new("directory", settings.urls.iter().map(|u| u.url.clone()));
        Ok(Directory {
            settings,
            tls,
            servers,
            health,
            binds: Latency::default(),
            io,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Check `password` for the directory user `name`: one search, one bind. Blocking.
    pub fn verify(&self, name: &str, password: &[u8]) -> Result<Verified, DirectoryError> {
        self.on_any_server(|server| self.verify_at(server, name, password))
    }

    /// What `verify` costs, for a user who will not be checked (unknown to radotp, locked,
    /// throttled): the same search, then a wait as long as binds take lately. Fails as
    /// `verify` would, so an outage looks the same for every name.
    pub fn dummy(&self, name: &str) -> Result<(), DirectoryError> {
        self.on_any_server(|server| async move {
            self.find(server, name).await?;
            self.as_long_as_a_bind(()).await;
            Ok(())
        })
    }

    /// `value`, after waiting as long as user binds take lately. The wait blocks the calling
    /// password worker, as a bind does: requests to the directory run on the worker's own
    /// thread (`IoRuntime::wait`), so nothing else waits on it.
    async fn as_long_as_a_bind<T>(&self, value: T) -> T {
        self.binds.wait();
        value
    }

    /// How many entries the directory has for `name` (`user add` asks).
    pub fn entries(&self, name: &str) -> Result<Entries, DirectoryError> {
        self.on_any_server(|server| async move {
            Ok(match self.find(server, name).await? {
                Found::One(_) => Entries::One,
                Found::None => Entries::None,
                Found::Many => Entries::Several,
            })
        })
    }

    /// Connect to each server and bind with the service account: what `check-config` reports.
    pub fn probe(&self) -> Vec<(String, Result<(), String>)> {
        self.servers
            .iter()
            .map(|server| {
                let result = self.io.wait(async {
                    let attempt = async {
                        let mut ldap = self.service(server).await?;
                        // The base must exist and be readable by the service account.
                        ldap.with_timeout(self.settings.timeout)
                            .search(
                                &self.settings.base_dn,
                                Scope::Base,
                                "(objectClass=*)",
                                ["1.1"],
                            )
                            .await?
                            .success()
                            .map_err(|e| Failure(format!("base_dn: {}", Failure::from(e).0)))?;
                        Ok::<_, Failure>(())
                    };
                    match tokio::time::timeout(self.settings.timeout * 3, attempt).await {
                        Ok(r) => r.map_err(|f| f.0),
                        Err(_) => Err("no answer within timeout_ms".into()),
                    }
                });
                (server.url.url.clone(), result)
            })
            .collect()
    }

    /// Run `op` on the first server that answers: in order, passing over those that failed
    /// lately unless every one has.
    fn on_any_server<'a, T, F, Fut>(&'a self, op: F) -> Result<T, DirectoryError>
    where
        F: Fn(&'a Server) -> Fut,
        Fut: Future<Output = Result<T, Failure>> + 'a,
    {
        let mut last = String::new();
        for i in self.health.order() {
            let server = &self.servers[i];
            // Each server gets timeout_ms for the whole of the request's work there.
            let budget = self.settings.timeout;
            let result = self
                .io
                .wait(async { tokio::time::timeout(budget, op(server)).await });
            match result {
                Ok(Ok(value)) => {
                    self.health.answers(i);
                    return Ok(value);
                }
                Ok(Err(failure)) => last = failure.0,
                Err(_) => last = "no answer within timeout_ms".into(),
            }
            // Whatever it held may be half-open: start afresh next time.
            *lock(&server.service) = None;
            lock(&server.binders).clear();
            self.health.fails(i, &last);
        }
        Err(DirectoryError(self.health.exhausted(&last)))
    }

    async fn connect(&self, server: &Server) -> Result<Ldap, Failure> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.settings.timeout)
            .set_starttls(server.url.security == Security::StartTls)
            .set_config(Arc::clone(&self.tls));
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &server.url.url).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "directory connection closed");
            }
        });
        Ok(ldap)
    }

    /// The service account's connection: the pooled one if it is open, else a new one bound.
    async fn service(&self, server: &Server) -> Result<Ldap, Failure> {
        let open = || {
            lock(&server.service)
                .clone()
                .filter(|ldap| !ldap.clone().is_closed())
        };
        if let Some(ldap) = open() {
            return Ok(ldap);
        }
        let _connecting = server.connecting.lock().await;
        // Another request may have made it while this one waited.
        if let Some(ldap) = open() {
            return Ok(ldap);
        }
        let mut ldap = self.connect(server).await?;
        let password = std::str::from_utf8(self.settings.bind_password.expose())
            .map_err(|_| Failure("the service account's password is not UTF-8".into()))?;
        let started = Instant::now();
        let result = ldap
            .with_timeout(self.settings.timeout)
            .simple_bind(&self.settings.bind_dn, password)
            .await?;
        if result.rc != 0 {
            return Err(Failure(format!(
                "the service account cannot bind: {}",
                Refusal::of(result.rc, &result.text)
            )));
        }
        // Until a user has bound, a bind takes about what the service account's took.
        self.binds.guess(started.elapsed());
        *lock(&server.service) = Some(ldap.clone());
        Ok(ldap)
    }

    async fn find(&self, server: &Server, name: &str) -> Result<Found, Failure> {
        let mut ldap = self.service(server).await?;
        let filter = self.settings.filter_for(name);
        let attribute = self.settings.group_attribute.as_str();
        let result = ldap
            .with_timeout(self.settings.timeout)
            .with_search_options(SearchOptions::new().sizelimit(2))
            .search(&self.settings.base_dn, Scope::Subtree, &filter, [attribute])
            .await?;
        let (entries, outcome) = (result.0, result.1);
        let entries: Vec<SearchEntry> = entries
            .into_iter()
            .filter(|e| !e.is_ref())
            .map(SearchEntry::construct)
            .collect();
        // sizeLimitExceeded: more than one entry.
        if outcome.rc == 4 || entries.len() > 1 {
            return Ok(Found::Many);
        }
        if outcome.rc != 0 {
            return Err(LdapError::from(outcome).into());
        }
        let Some(entry) = entries.into_iter().next() else {
            return Ok(Found::None);
        };
        let groups = entry
            .attrs
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(attribute))
            .flat_map(|(_, values)| values.iter().cloned())
            .collect();
        Ok(Found::One(Entry {
            dn: entry.dn,
            groups,
        }))
    }

    async fn verify_at(
        &self,
        server: &Server,
        name: &str,
        password: &[u8],
    ) -> Result<Verified, Failure> {
        // Whatever stops short of a bind waits as long as one, so the time of a reject does not
        // tell whether the directory knows the name.
        let entry = match self.find(server, name).await? {
            Found::One(entry) => entry,
            Found::None => return Ok(self.as_long_as_a_bind(Verified::NotFound).await),
            Found::Many => return Ok(self.as_long_as_a_bind(Verified::Ambiguous).await),
        };
        // An empty password would be an unauthenticated bind, which succeeds (RFC 4513 5.1.2).
        let password = match std::str::from_utf8(password) {
            Ok(p) if !p.is_empty() => p,
            _ => {
                let wrong = Verified::Wrong(Refusal::WrongPassword);
                return Ok(self.as_long_as_a_bind(wrong).await);
            }
        };
        let started = Instant::now();
        let bound = self.bind_as(server, &entry.dn, password).await?;
        self.binds.record(started.elapsed());
        if let Err(refusal) = bound {
            return Ok(Verified::Wrong(refusal));
        }
        let mut dns = entry.groups;
        if self.settings.nested_groups {
            dns.extend(self.groups_in_chain(server, &entry.dn).await?);
        }
        Ok(Verified::Right {
            groups: self.granted(&dns),
        })
    }

    /// Bind as `dn` on a bind connection: `Ok(Err(refusal))` when the directory says no.
    async fn bind_as(
        &self,
        server: &Server,
        dn: &str,
        password: &str,
    ) -> Result<Result<(), Refusal>, Failure> {
        let idle = lock(&server.binders).pop();
        let pooled = idle.is_some();
        let mut ldap = match idle {
            Some(ldap) => ldap,
            None => self.connect(server).await?,
        };
        let result = match ldap
            .with_timeout(self.settings.timeout)
            .simple_bind(dn, password)
            .await
        {
            Ok(result) => result,
            // A pooled connection the server has closed meanwhile: once more on a new one.
            Err(_) if pooled => {
                let mut ldap = self.connect(server).await?;
                let result = ldap
                    .with_timeout(self.settings.timeout)
                    .simple_bind(dn, password)
                    .await?;
                self.keep_binder(server, ldap);
                return Ok(judge_bind(&result));
            }
            Err(e) => return Err(e.into()),
        };
        self.keep_binder(server, ldap);
        Ok(judge_bind(&result))
    }

    fn keep_binder(&self, server: &Server, ldap: Ldap) {
        let mut idle = lock(&server.binders);
        if idle.len() < IDLE_BINDERS {
            idle.push(ldap);
        }
    }

    /// Every group the user is in through others: AD's matching rule in chain.
    async fn groups_in_chain(&self, server: &Server, dn: &str) -> Result<Vec<String>, Failure> {
        let mut ldap = self.service(server).await?;
        let filter = format!("(member:{IN_CHAIN}:={})", ldap3::ldap_escape(dn));
        let (entries, _) = ldap
            .with_timeout(self.settings.timeout)
            .search(&self.settings.base_dn, Scope::Subtree, &filter, ["1.1"])
            .await?
            .success()?;
        Ok(entries
            .into_iter()
            .filter(|e| !e.is_ref())
            .map(|e| SearchEntry::construct(e).dn)
            .collect())
    }

    /// The radotp groups the directory groups `dns` grant, each once, in the order of
    /// `[[directory.group]]`.
    fn granted(&self, dns: &[String]) -> Vec<String> {
        let held: Vec<NormalDn> = dns
            .iter()
            .filter_map(|dn| NormalDn::parse(dn).ok())
            .collect();
        let mut granted: Vec<String> = Vec::new();
        for (dn, group) in &self.settings.groups {
            if held.contains(dn) && !granted.contains(group) {
                granted.push(group.clone());
            }
        }
        granted
    }
}

/// What a search for a user found.
enum Found {
    One(Entry),
    None,
    Many,
}

fn judge_bind(result: &ldap3::LdapResult) -> Result<(), Refusal> {
    if result.rc == 0 {
        Ok(())
    } else {
        Err(Refusal::of(result.rc, &result.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_say_how_they_are_protected() {
        let p = |t, s, a| ServerUrl::parse(t, s, a).map(|u| u.security);
        assert_eq!(
            p("ldaps://dc1.example.org", false, false),
            Ok(Security::Ldaps)
        );
        assert_eq!(p("ldap://dc1:389", true, false), Ok(Security::StartTls));
        assert_eq!(p("ldap://dc1", false, true), Ok(Security::Plain));
        assert!(
            p("ldap://dc1", false, false)
                .unwrap_err()
                .contains("in the clear")
        );
        assert!(
            p("ldaps://dc1", true, false)
                .unwrap_err()
                .contains("start_tls")
        );
        assert!(p("http://dc1", false, false).is_err());
        assert!(p("ldaps://", false, false).is_err());
        assert!(p("ldaps://dc1/dc=x", false, false).is_err());
        assert_eq!(
            ServerUrl::parse("LDAPS://dc1:636/", false, false)
                .unwrap()
                .url,
            "ldaps://dc1:636"
        );
    }

    fn settings(filter: &str) -> Settings {
        Settings {
            urls: Vec::new(),
            ca_file: None,
            bind_dn: "cn=svc".into(),
            bind_password: SecretBytes::from(&b"service-secret"[..]),
            base_dn: "dc=x".into(),
            user_filter: filter.into(),
            group_attribute: "memberOf".into(),
            nested_groups: false,
            timeout: Duration::from_secs(1),
            groups: Vec::new(),
        }
    }

    #[test]
    fn names_are_escaped_into_the_filter() {
        let s = settings("(&(objectClass=user)(sAMAccountName={user}))");
        assert_eq!(
            s.filter_for("alice"),
            "(&(objectClass=user)(sAMAccountName=alice))"
        );
        assert_eq!(
            s.filter_for("*)(uid=*"),
            "(&(objectClass=user)(sAMAccountName=\\2a\\29\\28uid=\\2a))"
        );
        assert_eq!(
            s.filter_for("a\0b\\"),
            "(&(objectClass=user)(sAMAccountName=a\\00b\\5c))"
        );
        assert!(ldap3::parse_filter(s.filter_for("*)(|(uid=*")).is_ok());
    }

    #[test]
    fn debug_never_shows_the_service_password() {
        let shown = format!("{:?}", settings("(uid={user})"));
        assert!(!shown.contains("service-secret"), "{shown}");
    }
}
