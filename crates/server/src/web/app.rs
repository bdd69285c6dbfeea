//! What the handlers share, the router, and what every answer carries: the security headers
//! (a strict Content Security Policy — everything is served by radotp, nothing inline — no
//! framing, no referrer, no caching).

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::limits::Limits;
use super::sessions::Sessions;
use super::{api, enroll, pages};
use crate::admin::AdminError;
use crate::config::Config;
use crate::server::Pipeline;

/// Largest request body: enough for any form or API call.
const MAX_BODY: usize = 64 * 1024;

/// The configuration the page and the API work under: the one the server started with,
/// replaced at each reload (a request keeps the one it started with).
#[derive(Debug)]
pub struct WebConfig(RwLock<Arc<Config>>);

impl WebConfig {
    pub fn new(config: Config) -> Self {
        Self(RwLock::new(Arc::new(config)))
    }

    pub fn current(&self) -> Arc<Config> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn replace(&self, config: Config) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
    }
}

/// The state behind the page and the API.
#[derive(Debug)]
pub struct App {
    pub(super) pipeline: Arc<Pipeline>,
    pub(super) config: Arc<WebConfig>,
    pub(super) sessions: Sessions,
    pub(super) limits: Limits,
    settings: super::Settings,
}

impl App {
    pub fn new(pipeline: Arc<Pipeline>, config: Arc<WebConfig>, settings: super::Settings) -> Self {
        Self {
            pipeline,
            config,
            sessions: Sessions::default(),
            limits: Limits::default(),
            settings,
        }
    }

    /// The TLS configuration: `Ok(None)` for plain HTTP on loopback; an error (then nothing
    /// is served — never plain HTTP instead) if the certificate cannot be used.
    pub(super) fn tls_config(&self) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
        let Some(key) = self.settings.tls.as_ref() else {
            return Ok(None);
        };
        let mut config = crate::radsec::server_config_without_client_auth(Arc::clone(key))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(Arc::new(config)))
    }

    pub(super) fn trusted_proxies(&self) -> Vec<ipnet::IpNet> {
        self.settings.trusted_proxies.clone()
    }

    /// Cookies are `Secure` (and HSTS is sent) when people reach the page over HTTPS: its own
    /// TLS, or a reverse proxy's at the public URL in force.
    pub(super) fn https(&self) -> bool {
        self.settings.tls.is_some()
            || self
                .config
                .current()
                .web
                .as_ref()
                .is_some_and(|w| w.public_url.is_https())
    }

    pub(super) fn store(&self) -> &Arc<dyn crate::store::Store> {
        self.pipeline.authenticator().store()
    }

    /// Run blocking work (the store, a password check) off the runtime.
    pub(super) async fn blocking<T, F>(self: &Arc<Self>, work: F) -> Result<T, AdminError>
    where
        T: Send + 'static,
        F: FnOnce(&App) -> Result<T, AdminError> + Send + 'static,
    {
        let app = Arc::clone(self);
        tokio::task::spawn_blocking(move || work(&app))
            .await
            .unwrap_or_else(|_| Err(AdminError::Unavailable("internal error".into())))
    }
}

/// Every route of the page and the API.
pub(super) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(enroll::index))
        .route("/enroll", get(enroll::page))
        .route("/enroll/password", post(enroll::password))
        .route("/enroll/code", post(enroll::code))
        .route("/enroll/{secret}", get(enroll::open))
        .route("/static/radotp.css", get(stylesheet))
        .nest("/api/v1", api::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(within_time))
        .layer(axum::middleware::map_response_with_state(
            Arc::clone(&app),
            security_headers,
        ))
        .with_state(app)
}

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(State(app): State<Arc<App>>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if app.https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// A request — its body included, read by the handler — must be done within this, so a slow
/// sender cannot hold a connection slot for long.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

async fn within_time(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => pages::message(
            StatusCode::REQUEST_TIMEOUT,
            "Too slow",
            "The request took too long to arrive. Try again.",
        ),
    }
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("static/radotp.css"),
    )
        .into_response()
}

async fn not_found() -> Response {
    pages::message(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing at this address. Open the link you were sent.",
    )
}
