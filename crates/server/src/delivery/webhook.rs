//! The webhook sender: POSTs a JSON document to an HTTPS gateway (SMS, e-mail) that passes a
//! one-time code on to the user, with a bounded number of retries.
//!
//! The body carries the code and the URL may carry an API key (userinfo or query), so neither
//! ever reaches a log line, an error or a `Debug` print: everything that names the endpoint
//! prints only `scheme://host:port/path`. A response body is never kept either, since a gateway
//! may echo the request.
//!
//! TLS is rustls with the compiled-in webpki (Mozilla) roots, or, when `ca_file` is set, with
//! exactly the CA certificates of that file (as `curl --cacert` does), so a private gateway can
//! be pinned to its own CA. Nothing is fetched at run time.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use ureq::http::Uri;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use zeroize::Zeroizing;

pub use self::error::{Attempts, WebhookError};
use self::error::{Failure, classify};

mod error;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;

/// At most this many extra attempts, so that one delivery cannot hold a worker for minutes.
pub const MAX_RETRIES: u32 = 5;
/// Bounds of the per-attempt timeout.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(100);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// First pause between attempts; doubled after each, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Directives to append to the process's log filter (`EnvFilter`): at `trace` level ureq
/// hex-dumps whole requests (the body with its code, the URL's query, `Authorization`); at
/// `debug` and above it redacts them.
pub const LOG_DIRECTIVES: &str = "ureq=debug,ureq_proto=debug";

/// A 2xx answer's body is read (to keep the connection reusable) up to this size, then dropped.
const MAX_RESPONSE_BODY: u64 = 64 * 1024;

/// Where and how to POST; built by the config layer, checked by [`WebhookConfig::new`] and again
/// by [`Webhook::new`].
#[derive(Clone)]
pub struct WebhookConfig {
    /// `https://…`; `http://` only for a loopback host (tests, a local relay).
    pub url: String,
    /// PEM file of the CA certificate(s) to trust instead of the webpki roots.
    pub ca_file: Option<PathBuf>,
    /// Per attempt: connect, TLS, request and response together.
    pub timeout: Duration,
    /// Extra attempts after the first, only after a connection error, a timeout or a 5xx.
    pub retries: u32,
}

impl WebhookConfig {
    /// A checked configuration; the error says what is wrong and never repeats the URL's
    /// userinfo or query.
    pub fn new(
        url: impl Into<String>,
        ca_file: Option<PathBuf>,
        timeout: Duration,
        retries: u32,
    ) -> Result<Self, String> {
        Self::checked(url, ca_file, timeout, retries).map_err(|p| p.message)
    }

    /// `new`, saying which setting is wrong (the configuration names its key).
    pub fn checked(
        url: impl Into<String>,
        ca_file: Option<PathBuf>,
        timeout: Duration,
        retries: u32,
    ) -> Result<Self, WebhookProblem> {
        let config = Self {
            url: url.into(),
            ca_file,
            timeout,
            retries,
        };
        config.validate()?;
        Ok(config)
    }

    /// The endpoint as it may be printed: `scheme://host:port/path`.
    pub fn redacted_url(&self) -> String {
        match self.url.parse::<Uri>() {
            Ok(uri) => redact(&uri),
            Err(_) => "[invalid url]".to_owned(),
        }
    }

    fn validate(&self) -> Result<Endpoint, WebhookProblem> {
        let problem = |setting, message: String| WebhookProblem { setting, message };
        let endpoint = parse_endpoint(&self.url).map_err(|m| problem(WebhookSetting::Url, m))?;
        if !(MIN_TIMEOUT..=MAX_TIMEOUT).contains(&self.timeout) {
            return Err(problem(
                WebhookSetting::Timeout,
                format!(
                    "webhook timeout of {} ms is outside {}..={} ms",
                    self.timeout.as_millis(),
                    MIN_TIMEOUT.as_millis(),
                    MAX_TIMEOUT.as_millis()
                ),
            ));
        }
        if self.retries > MAX_RETRIES {
            return Err(problem(
                WebhookSetting::Retries,
                format!(
                    "webhook retries is {}, at most {MAX_RETRIES} is allowed",
                    self.retries
                ),
            ));
        }
        if let Some(path) = &self.ca_file
            && path.as_os_str().is_empty()
        {
            return Err(problem(
                WebhookSetting::CaFile,
                "webhook ca_file is empty: give a PEM file path or leave it out".into(),
            ));
        }
        Ok(endpoint)
    }
}

/// Which setting of a webhook is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookSetting {
    Url,
    Timeout,
    Retries,
    CaFile,
}

/// A webhook setting that cannot work, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookProblem {
    pub setting: WebhookSetting,
    pub message: String,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.redacted_url())
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

/// What validation learnt about the URL.
struct Endpoint {
    redacted: String,
    loopback: bool,
}

fn parse_endpoint(url: &str) -> Result<Endpoint, String> {
    const EXPECTED: &str = "expected https://host[:port]/path";
    let uri: Uri = url
        .trim()
        .parse()
        .map_err(|_| format!("webhook url is not a valid URL ({EXPECTED})"))?;
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return Err(format!("webhook url is not an absolute URL ({EXPECTED})"));
    };
    if host.is_empty() {
        return Err(format!("webhook url has no host ({EXPECTED})"));
    }
    let loopback = is_loopback(host);
    match scheme {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "webhook url {} must use https:// (http:// is only allowed for 127.0.0.1, ::1 \
                 or localhost, because the request carries a one-time code)",
                redact(&uri)
            ));
        }
        other => {
            return Err(format!(
                "webhook url scheme {other}:// is not supported ({EXPECTED})"
            ));
        }
    }
    Ok(Endpoint {
        redacted: redact(&uri),
        loopback,
    })
}

/// `scheme://host:port/path`: no userinfo (credentials), no query (API keys).
fn redact(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("?");
    let host = uri.host().unwrap_or("?");
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "http" { 80 } else { 443 });
    format!("{scheme}://{host}:{port}{}", uri.path())
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A reusable client for one endpoint; cheap to share between threads (`Send + Sync`).
pub struct Webhook {
    agent: ureq::Agent,
    /// The full URL, userinfo and query included: only ever handed to the HTTP client.
    url: String,
    redacted_url: String,
    timeout: Duration,
    retries: u32,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.redacted_url)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// Checks the configuration and loads the CA file, if any; errors name the file.
    pub fn new(config: WebhookConfig) -> Result<Self, String> {
        let endpoint = config.validate().map_err(|p| p.message)?;
        let root_certs = match &config.ca_file {
            Some(path) => load_ca_file(path)?,
            None => RootCerts::WebPki,
        };
        let mut builder = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            // Statuses are ours to judge (retry on 5xx only); a redirect would resend the code
            // somewhere unconfigured, so it is an error like any other non-2xx.
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("radotp/", env!("CARGO_PKG_VERSION")))
            .tls_config(TlsConfig::builder().root_certs(root_certs).build());
        if endpoint.loopback {
            // HTTPS_PROXY from the environment is honoured, but never for a local endpoint.
            builder = builder.proxy(None);
        }
        Ok(Self {
            agent: builder.build().new_agent(),
            url: config.url.trim().to_owned(),
            redacted_url: endpoint.redacted,
            timeout: config.timeout,
            retries: config.retries,
        })
    }

    /// Blocking: POST `body` as `application/json`; success on any 2xx. Retries connection
    /// errors, timeouts and 5xx up to `retries` times, pausing 200 ms, 400 ms, … in between.
    pub fn send(&self, body: &serde_json::Value) -> Result<(), WebhookError> {
        // The serialised body holds the code: zeroed when dropped.
        let bytes = Zeroizing::new(serde_json::to_vec(body).map_err(|_| WebhookError::Body)?);
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.attempt(&bytes) {
                Ok(()) => return Ok(()),
                Err(failure) if failure.is_transient() && attempts <= self.retries => {
                    tracing::debug!(
                        url = %self.redacted_url,
                        attempt = attempts,
                        failure = %failure,
                        "webhook attempt failed, retrying"
                    );
                    thread::sleep(backoff(attempts));
                }
                Err(failure) => {
                    return Err(failure.into_error(&self.redacted_url, self.timeout, attempts));
                }
            }
        }
    }

    fn attempt(&self, body: &[u8]) -> Result<(), Failure> {
        let mut response = self
            .agent
            .post(&self.url)
            .content_type("application/json")
            .send(body)
            .map_err(classify)?;
        // Drained for connection reuse, never kept: a gateway may echo the code back.
        let _drained = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BODY)
            .read_to_vec()
            .map(Zeroizing::new);
        match response.status() {
            status if status.is_success() => Ok(()),
            status => Err(Failure::Status(status.as_u16())),
        }
    }
}

/// Pause before attempt `attempts + 1`: 200 ms, 400 ms, 800 ms, … at most [`MAX_BACKOFF`].
fn backoff(attempts: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_BACKOFF)
}

fn load_ca_file(path: &std::path::Path) -> Result<RootCerts, String> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("webhook ca_file {shown}: {e}"))?;
    let mut certs: Vec<Certificate<'static>> = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {} // a private key or another section: not ours to use
            Err(e) => return Err(format!("webhook ca_file {shown}: bad PEM: {e}")),
        }
    }
    if certs.is_empty() {
        return Err(format!(
            "webhook ca_file {shown}: no PEM certificate (-----BEGIN CERTIFICATE-----) found"
        ));
    }
    Ok(RootCerts::new_with_certs(&certs))
}
