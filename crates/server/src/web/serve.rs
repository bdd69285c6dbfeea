//! The listener: TCP, then TLS (rustls) unless the page is served in plain HTTP on loopback,
//! then HTTP/1.1 (hyper) into the router. Bounded: connections at once, the time a TLS
//! handshake and a request's headers may take, a connection's whole life.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::app::App;

/// Connections at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 256;
/// The TLS handshake and the request head each must arrive within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection (keep-alive included) is closed after this.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
#[error("cannot listen for the web page on {addr}: {source} (change [web] listen)")]
pub struct ServeError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// Bind `[web] listen`.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError { addr, source })
}

/// Serve the page and the API on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, app: Arc<App>) {
    let tls = app.tls_config().map(tokio_rustls::TlsAcceptor::from);
    let router = super::app::router(Arc::clone(&app));
    let trusted: Arc<[ipnet::IpNet]> = app.trusted_proxies().into();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (router, tls, trusted) = (router.clone(), tls.clone(), Arc::clone(&trusted));
        tokio::spawn(async move {
            let serving = connection(stream, peer, router, tls, trusted);
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, serving).await;
            drop(slot);
        });
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    trusted: Arc<[ipnet::IpNet]>,
) {
    // Handlers see the browser's address: behind a trusted proxy, the one it forwards for.
    let service = router.map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
        let forwarded = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        let client = super::client_address(peer.ip(), forwarded, &trusted);
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
        request
    });
    let service = TowerToHyperService::new(service);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .max_buf_size(64 * 1024);
    match tls {
        None => {
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        }
        Some(acceptor) => {
            let stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => {
                        tracing::debug!(address = %peer, "web: TLS handshake failed: {e}");
                        return;
                    }
                    Err(_) => return,
                };
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        }
    }
}
