//! Webhook failures: one attempt's [`Failure`], sorted from the HTTP client's error without
//! printing it whole, and the caller's [`WebhookError`]. No string here comes from the URL, the
//! request or the response body.

use std::fmt;
use std::io;
use std::time::Duration;

use rustls::CertificateError;

/// Why one attempt failed; every string here was written by us or by rustls/the OS, never taken
/// from the URL, the request or the response body.
#[derive(Debug)]
pub(super) enum Failure {
    Status(u16),
    Timeout,
    Tls(String),
    Connect(String),
    Protocol(String),
}

impl Failure {
    /// Worth another attempt: the gateway may be restarting. A 4xx, a TLS rejection or a
    /// malformed answer will not change by trying again.
    pub(super) fn is_transient(&self) -> bool {
        match self {
            Failure::Status(status) => (500..=599).contains(status),
            Failure::Timeout | Failure::Connect(_) => true,
            Failure::Tls(_) | Failure::Protocol(_) => false,
        }
    }

    /// The caller's error after `attempts` requests; `url` is already redacted.
    pub(super) fn into_error(self, url: &str, timeout: Duration, attempts: u32) -> WebhookError {
        let url = url.to_owned();
        let attempts = Attempts(attempts);
        match self {
            Failure::Status(status) => WebhookError::Status {
                url,
                status,
                attempts,
            },
            Failure::Timeout => WebhookError::Timeout {
                url,
                timeout,
                attempts,
            },
            Failure::Tls(reason) => WebhookError::Tls {
                url,
                reason,
                attempts,
            },
            Failure::Connect(reason) => WebhookError::Connect {
                url,
                reason,
                attempts,
            },
            Failure::Protocol(reason) => WebhookError::Protocol {
                url,
                reason,
                attempts,
            },
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(status) => write!(f, "HTTP status {status}"),
            Failure::Timeout => f.write_str("timed out"),
            Failure::Tls(reason) => write!(f, "TLS: {reason}"),
            Failure::Connect(reason) => write!(f, "connection failed: {reason}"),
            Failure::Protocol(reason) => f.write_str(reason),
        }
    }
}

/// Sort a client error without printing it whole: some ureq errors quote the URL.
pub(super) fn classify(err: ureq::Error) -> Failure {
    use ureq::Error as E;
    match err {
        E::Timeout(_) => Failure::Timeout,
        E::Io(e) => classify_io(&e),
        E::Rustls(e) => Failure::Tls(tls_reason(&e)),
        E::Tls(reason) => Failure::Tls(reason.to_owned()),
        E::HostNotFound => Failure::Connect("host not found".to_owned()),
        E::ConnectionFailed => Failure::Connect("could not connect to any address".to_owned()),
        E::ConnectProxyFailed(_) => Failure::Connect("the proxy refused CONNECT".to_owned()),
        E::InvalidProxyUrl => Failure::Connect(
            "invalid proxy URL in the environment (HTTPS_PROXY, ALL_PROXY)".to_owned(),
        ),
        E::Protocol(_) | E::LargeResponseHeader(..) => {
            Failure::Protocol("malformed HTTP response".to_owned())
        }
        E::BodyStalled => Failure::Timeout,
        _ => Failure::Protocol("HTTP client error".to_owned()),
    }
}

fn classify_io(err: &io::Error) -> Failure {
    if let Some(tls) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return Failure::Tls(tls_reason(tls));
    }
    match err.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Failure::Timeout,
        _ => Failure::Connect(err.to_string()),
    }
}

fn tls_reason(err: &rustls::Error) -> String {
    let rustls::Error::InvalidCertificate(cert) = err else {
        return err.to_string();
    };
    match cert {
        CertificateError::UnknownIssuer => {
            "certificate not trusted (unknown issuer; set ca_file for a private CA)".to_owned()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "certificate not valid for this host name".to_owned()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "certificate expired".to_owned()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "certificate not valid yet (check the clock)".to_owned()
        }
        _ => err.to_string(),
    }
}

/// "1 attempt", "3 attempts".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts(pub u32);

impl fmt::Display for Attempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("1 attempt"),
            n => write!(f, "{n} attempts"),
        }
    }
}

/// A failed delivery. `url` is always `scheme://host:port/path`; no variant holds the body.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook {url} answered HTTP status {status} after {attempts}")]
    Status {
        url: String,
        status: u16,
        attempts: Attempts,
    },
    #[error("webhook {url} timed out (no answer within {timeout:?}) after {attempts}")]
    Timeout {
        url: String,
        timeout: Duration,
        attempts: Attempts,
    },
    #[error("webhook {url}: TLS: {reason} (after {attempts})")]
    Tls {
        url: String,
        reason: String,
        attempts: Attempts,
    },
    #[error("webhook {url}: connection failed: {reason} (after {attempts})")]
    Connect {
        url: String,
        reason: String,
        attempts: Attempts,
    },
    #[error("webhook {url}: {reason} (after {attempts})")]
    Protocol {
        url: String,
        reason: String,
        attempts: Attempts,
    },
    #[error("webhook body could not be encoded as JSON")]
    Body,
}

impl WebhookError {
    /// How many requests were tried (0 when the body could not be encoded).
    pub fn attempts(&self) -> u32 {
        match self {
            WebhookError::Status { attempts, .. }
            | WebhookError::Timeout { attempts, .. }
            | WebhookError::Tls { attempts, .. }
            | WebhookError::Connect { attempts, .. }
            | WebhookError::Protocol { attempts, .. } => attempts.0,
            WebhookError::Body => 0,
        }
    }
}
