//! RadSec (RADIUS over TLS, RFC 6614): the settings of `[radsec]`, the server's TLS identity and
//! the NASes' CA, and the TLS configuration each RadSec client is accepted with. The transport
//! itself (connections, framing, bounds) is `server::radsec`.
//!
//! Every NAS presents a certificate (mutual TLS) that chains to `client_ca`, is within its
//! validity, and, when its client names one, carries `tls_name`: all checked by rustls during
//! the handshake, so a NAS that fails is refused before it can send a packet.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ParsedCertificate, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::invalid::Invalid;

/// RFC 6614 §2.3: the shared secret of RADIUS/TLS, unless one is configured.
pub const DEFAULT_SECRET: &[u8] = b"radsec";
/// The IANA port of RADIUS/TLS.
pub const DEFAULT_PORT: u16 = 2083;
/// A TLS handshake that takes longer than this is abandoned (a NAS that connects and sends
/// nothing, or a byte now and then, holds its connection no longer).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Once a packet's first octet has arrived, the rest must follow within this.
pub const PACKET_TIMEOUT: Duration = Duration::from_secs(10);
/// Bounds of `idle_timeout_secs`.
pub const MIN_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
pub const MAX_IDLE_TIMEOUT: Duration = Duration::from_secs(86_400);
/// Bound of `max_connections`.
pub const MAX_CONNECTIONS: usize = 65_536;
/// Connections one source address may hold at once (within its client's share): one NAS, or
/// one attacker inside a client's prefix, cannot take the whole share from the others.
pub const PER_ADDRESS: usize = 16;

/// `[radsec]`: where RadSec is served and with which identity and bounds.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: Vec<SocketAddr>,
    /// A connection with no complete packet for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once, in total; each RadSec client may hold its share.
    pub max_connections: usize,
    pub tls: Arc<Identity>,
}

impl Settings {
    /// The connections one of `clients` RadSec clients may hold at once: an equal share of
    /// `max_connections`, so one client's connections cannot crowd out the others'.
    pub fn share(&self, clients: usize) -> usize {
        self.max_connections.div_ceil(clients.max(1)).max(1)
    }
}

/// What `[radsec]` accepts, before its files are read.
pub fn check(
    listen: &[SocketAddr],
    idle_timeout: Duration,
    max_connections: usize,
) -> Vec<Invalid> {
    let mut problems = Vec::new();
    if listen.is_empty() {
        problems.push(Invalid::new(
            "listen",
            format!("at least one address is required, e.g. [\"0.0.0.0:{DEFAULT_PORT}\"]"),
        ));
    }
    if !(MIN_IDLE_TIMEOUT..=MAX_IDLE_TIMEOUT).contains(&idle_timeout) {
        problems.push(Invalid::new(
            "idle_timeout_secs",
            format!(
                "must be between {} and {} seconds (60 suits most)",
                MIN_IDLE_TIMEOUT.as_secs(),
                MAX_IDLE_TIMEOUT.as_secs()
            ),
        ));
    }
    if !(1..=MAX_CONNECTIONS).contains(&max_connections) {
        problems.push(Invalid::new(
            "max_connections",
            format!("must be between 1 and {MAX_CONNECTIONS}"),
        ));
    }
    problems
}

/// The server's certificate and key, and the CA the NASes' certificates must chain to.
pub struct Identity {
    key: Arc<CertifiedKey>,
    client_ca: Arc<rustls::RootCertStore>,
    /// The files, for `Debug`.
    certificate: PathBuf,
    client_ca_file: PathBuf,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("certificate", &self.certificate)
            .field("client_ca", &self.client_ca_file)
            .finish_non_exhaustive()
    }
}

/// Which file of the identity is wrong, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityError {
    /// `certificate`, `private_key` or `client_ca`.
    pub field: &'static str,
    pub message: String,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Read a server's certificate chain and private key (PEM) and check that they belong
/// together; every problem names its file (`certificate` or `private_key`) and never quotes a
/// key. Shared by RadSec and the web page.
pub fn load_certified_key(
    certificate: &Path,
    private_key: &Path,
) -> Result<CertifiedKey, Vec<IdentityError>> {
    use rustls_pki_types::pem::PemObject;
    let mut errors = Vec::new();
    let mut fail = |field, message: String| errors.push(IdentityError { field, message });
    let chain = crate::directory::read_pem_certs(certificate)
        .map_err(|message| fail("certificate", message))
        .ok();
    let key = match std::fs::read(private_key) {
        Err(e) => {
            fail(
                "private_key",
                format!("cannot read {}: {e}", private_key.display()),
            );
            None
        }
        Ok(pem) => match PrivateKeyDer::from_pem_slice(&pem) {
            Ok(key) => Some(key),
            Err(_) => {
                fail(
                    "private_key",
                    format!(
                        "{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
                        private_key.display()
                    ),
                );
                None
            }
        },
    };
    let (Some(chain), Some(key)) = (chain, key) else {
        return Err(errors);
    };
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| {
        let message = match e {
            rustls::Error::InconsistentKeys(_) => format!(
                "{} is not the key of the certificate in {}",
                private_key.display(),
                certificate.display()
            ),
            e => format!("{} cannot be used: {e}", private_key.display()),
        };
        vec![IdentityError {
            field: "private_key",
            message,
        }]
    })
}

/// A server configuration that presents `key` and asks no client certificate (the web
/// page), TLS 1.3 and 1.2.
pub fn server_config_without_client_auth(key: Arc<CertifiedKey>) -> Result<ServerConfig, String> {
    Ok(ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(OneCertificate(key))))
}

impl Identity {
    /// Read the three PEM files; every problem names its file and never quotes a key.
    pub fn load(
        certificate: &Path,
        private_key: &Path,
        client_ca: &Path,
    ) -> Result<Identity, Vec<IdentityError>> {
        let certified = load_certified_key(certificate, private_key);
        let mut errors = certified.as_ref().err().cloned().unwrap_or_default();
        let mut roots = rustls::RootCertStore::empty();
        match crate::directory::read_pem_certs(client_ca) {
            Err(message) => errors.push(IdentityError {
                field: "client_ca",
                message,
            }),
            Ok(certs) => {
                for cert in certs {
                    if let Err(e) = roots.add(cert) {
                        errors.push(IdentityError {
                            field: "client_ca",
                            message: format!(
                                "{}: a certificate cannot be used as a CA: {e}",
                                client_ca.display()
                            ),
                        });
                    }
                }
            }
        }
        match certified {
            Ok(key) if errors.is_empty() => Ok(Identity {
                key: Arc::new(key),
                client_ca: Arc::new(roots),
                certificate: certificate.to_owned(),
                client_ca_file: client_ca.to_owned(),
            }),
            _ => Err(errors),
        }
    }

    /// The TLS configuration a RadSec client is accepted with: a certificate chaining to the
    /// CA is required, and it must carry `tls_name` when one is given.
    pub fn server_config(&self, tls_name: Option<&str>) -> Result<Arc<ServerConfig>, String> {
        let provider = provider();
        let verifier = WebPkiClientVerifier::builder_with_provider(
            Arc::clone(&self.client_ca),
            provider.clone(),
        )
        .build()
        .map_err(|e| format!("the client CA cannot be used: {e}"))?;
        let verifier: Arc<dyn ClientCertVerifier> = match tls_name {
            None => verifier,
            Some(name) => Arc::new(NamedClient {
                inner: verifier,
                name: ServerName::try_from(name.to_owned())
                    .map_err(|_| format!("\"{name}\" is not a DNS name or IP address"))?,
            }),
        };
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| format!("TLS: {e}"))?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(Arc::new(OneCertificate(Arc::clone(&self.key))));
        // RFC 6614 §2.2 / RFC 8446: no session tickets or 0-RTT data; every connection proves
        // its certificate afresh.
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(Arc::new(config))
    }
}

/// Is `name` usable as a `tls_name`?
pub fn check_tls_name(name: &str) -> Result<(), String> {
    ServerName::try_from(name)
        .map(|_| ())
        .map_err(|_| format!("\"{name}\" is not a DNS name or IP address"))
}

#[derive(Debug)]
struct OneCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

/// The CA's verification, then the name the client's certificate must carry.
#[derive(Debug)]
struct NamedClient {
    inner: Arc<dyn ClientCertVerifier>,
    name: ServerName<'static>,
}

impl ClientCertVerifier for NamedClient {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let parsed = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, &self.name)?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Why a handshake failed, in words for the administrator's log.
pub fn handshake_failure(error: &std::io::Error) -> String {
    use rustls::{CertificateError, Error};
    let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Error>())
    else {
        return match error.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                "the NAS closed the connection during the handshake".into()
            }
            _ => format!("the connection failed during the handshake: {error}"),
        };
    };
    match tls {
        Error::NoCertificatesPresented => {
            "the NAS presented no certificate (RadSec requires one)".into()
        }
        Error::InvalidCertificate(why) => match why {
            CertificateError::UnknownIssuer => {
                "the NAS's certificate does not chain to [radsec] client_ca".into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the NAS's certificate has expired".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the NAS's certificate is not valid yet (check the clocks)".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "the NAS's certificate does not carry the client's tls_name".into()
            }
            CertificateError::Revoked => "the NAS's certificate is revoked".into(),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                "the NAS's certificate is not for TLS client authentication".into()
            }
            other => format!("the NAS's certificate is refused: {other:?}"),
        },
        other => format!("TLS: {other}"),
    }
}
