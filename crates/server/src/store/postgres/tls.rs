//! TLS to PostgreSQL, through rustls: the `sslmode` and `sslrootcert` of `[database] url`, read
//! as libpq reads them.
//!
//! | `sslmode` | encrypted | certificate checked |
//! |---|---|---|
//! | `disable` | no | — |
//! | `prefer` (default) | if the server offers TLS | no |
//! | `require` | yes, or no connection | only if `sslrootcert` is given (then as `verify-ca`) |
//! | `verify-ca` | yes | chains to `sslrootcert` (default: the system's trust store) |
//! | `verify-full` | yes | chains, and names the URL's host |
//!
//! Only `verify-full` protects against someone on the path who can answer in the server's
//! place; the README says so.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres::config::SslMode as WireMode;

/// How much TLS the connection demands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            "allow" => {
                return Err(
                    "sslmode=allow is not supported (it prefers no TLS); use prefer, require, \
                     verify-ca or verify-full"
                        .into(),
                );
            }
            _ => {
                return Err(
                    "sslmode must be disable, prefer, require, verify-ca or verify-full".into(),
                );
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres is told: whether TLS is asked for, and whether it may be done
    /// without.
    pub(super) fn wire(self) -> WireMode {
        match self {
            SslMode::Disable => WireMode::Disable,
            SslMode::Prefer => WireMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
        }
    }
}

/// Where the CA certificates come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCert {
    /// The system's trust store (`sslrootcert=system`, or none given with `verify-*`).
    System,
    /// A PEM file.
    File(PathBuf),
}

/// The TLS settings of a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls {
    pub mode: SslMode,
    pub root: Option<RootCert>,
}

impl Tls {
    /// A relative `sslrootcert` resolves against `base` (the configuration's folder).
    pub fn resolve(&mut self, base: &Path) {
        if let Some(RootCert::File(path)) = &mut self.root
            && path.is_relative()
        {
            *path = base.join(&*path);
        }
    }

    /// The rustls configuration these settings ask for; the error names the file and says
    /// what is wrong with it.
    pub fn client_config(&self) -> Result<ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let verify = match (self.mode, &self.root) {
            (SslMode::Disable | SslMode::Prefer, _) | (SslMode::Require, None) => None,
            (SslMode::Require | SslMode::VerifyCa, root) => Some((false, root)),
            (SslMode::VerifyFull, root) => Some((true, root)),
        };
        let verifier: Arc<dyn ServerCertVerifier> = match verify {
            None => Arc::new(Lenient {
                chain: None,
                provider,
            }),
            Some((names, root)) => {
                let file = match root {
                    Some(RootCert::File(path)) => Some(path.as_path()),
                    Some(RootCert::System) | None => None,
                };
                let roots = crate::directory::trust(file, "give sslrootcert=/path/to/ca.pem")
                    .map_err(|e| format!("sslrootcert: {e}"))?;
                let webpki = WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|e| format!("the CA certificates cannot be used: {e}"))?;
                match names {
                    true => webpki,
                    false => Arc::new(Lenient {
                        chain: Some(webpki),
                        provider,
                    }),
                }
            }
        };
        Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth())
    }
}

impl fmt::Display for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sslmode={}", self.mode.as_str())
    }
}

/// What `prefer`, `require` and `verify-ca` check of the server's certificate, as libpq
/// means them: nothing (`chain: None`), or its chain but not its name. The handshake's
/// signatures are checked in every case.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // webpki checks the chain before the name: a name error means the chain was good.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Split `sslmode` and `sslrootcert` off a URL's query string (tokio-postgres knows neither
/// `verify-*` nor `sslrootcert`); the rest of the URL is returned for tokio-postgres to parse.
pub(super) fn split_off(url: &str) -> Result<(String, Tls), String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let mut tls = Tls {
        mode: SslMode::Prefer,
        root: None,
    };
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => tls.mode = SslMode::parse(&percent_decode(value)?)?,
            "sslrootcert" => {
                let value = percent_decode(value)?;
                tls.root = Some(match value.as_str() {
                    "system" => RootCert::System,
                    "" => return Err("sslrootcert is empty".into()),
                    path => RootCert::File(PathBuf::from(path)),
                });
            }
            "sslcert" | "sslkey" | "sslpassword" => {
                return Err(format!(
                    "{key}: client certificates are not supported; authenticate with a \
                     password or a trusted address"
                ));
            }
            _ => rest.push(pair),
        }
    }
    if tls.root.is_some() && matches!(tls.mode, SslMode::Disable | SslMode::Prefer) {
        return Err(format!(
            "sslrootcert is given but sslmode={} does not check certificates; use \
             sslmode=verify-full (or verify-ca)",
            tls.mode.as_str()
        ));
    }
    let url = match rest.is_empty() {
        true => base.to_owned(),
        false => format!("{base}?{}", rest.join("&")),
    };
    Ok((url, tls))
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("a %-escape in the query string is not two hex digits")?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "the query string is not UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_string_gives_the_mode_and_the_root() {
        let (url, tls) = split_off(
            "postgres://radotp@db/radotp?connect_timeout=2&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(url, "postgres://radotp@db/radotp?connect_timeout=2");
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root, Some(RootCert::File("/etc/ca.pem".into())));
        let (url, tls) = split_off("postgres://radotp@db/radotp").unwrap();
        assert_eq!(url, "postgres://radotp@db/radotp");
        assert_eq!(tls.mode, SslMode::Prefer);
        let (_, tls) = split_off("postgres://h/d?sslmode=verify-ca&sslrootcert=system").unwrap();
        assert_eq!(tls.root, Some(RootCert::System));
    }

    #[test]
    fn what_cannot_work_is_refused_with_what_to_do() {
        for (url, words) in [
            ("postgres://h/d?sslmode=verify", "must be disable, prefer"),
            ("postgres://h/d?sslmode=allow", "not supported"),
            (
                "postgres://h/d?sslrootcert=/ca.pem",
                "use sslmode=verify-full",
            ),
            (
                "postgres://h/d?sslmode=require&sslcert=/c.pem",
                "client certificates",
            ),
            ("postgres://h/d?sslmode=require&sslrootcert=", "empty"),
            ("postgres://h/d?sslmode=%zz", "two hex digits"),
        ] {
            let err = split_off(url).unwrap_err();
            assert!(err.contains(words), "{url}: {err}");
        }
    }

    #[test]
    fn a_missing_or_unusable_root_file_is_named() {
        let tls = Tls {
            mode: SslMode::VerifyFull,
            root: Some(RootCert::File("/nonexistent/ca.pem".into())),
        };
        let err = tls.client_config().unwrap_err();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        let mut relative = Tls {
            mode: SslMode::VerifyCa,
            root: Some(RootCert::File("ca.pem".into())),
        };
        relative.resolve(Path::new("/etc/radotp"));
        assert_eq!(
            relative.root,
            Some(RootCert::File("/etc/radotp/ca.pem".into()))
        );
        // Without verification there is nothing to read.
        let plain = Tls {
            mode: SslMode::Require,
            root: None,
        };
        assert!(plain.client_config().is_ok());
    }
}
