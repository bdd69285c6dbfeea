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
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// Connections at once from one address that is not a trusted proxy.
const MAX_PER_ADDRESS: usize = 16;

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
    let tls = match app.tls_config() {
        Ok(tls) => tls.map(tokio_rustls::TlsAcceptor::from),
        Err(e) => {
            tracing::error!("web: the page is not served: {e}");
            return;
        }
    };
    let router = super::app::router(Arc::clone(&app));
    let trusted: Arc<[ipnet::IpNet]> = app.trusted_proxies().into();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let open = Arc::new(PerAddress::default());
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        // One address cannot hold every slot (a trusted proxy carries everyone's and may).
        let ip = peer.ip().to_canonical();
        let per_address = match trusted.iter().any(|n| n.contains(&ip)) {
            true => None,
            false => match open.take(ip) {
                Some(held) => Some(held),
                None => continue, // dropped: this address holds its share already
            },
        };
        let (router, tls, trusted) = (router.clone(), tls.clone(), Arc::clone(&trusted));
        tokio::spawn(async move {
            let serving = connection(stream, peer, router, tls, trusted);
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, serving).await;
            drop((slot, per_address));
        });
    }
}

/// Connections open per address.
#[derive(Debug, Default)]
struct PerAddress(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// One connection of an address, given back when dropped.
#[derive(Debug)]
struct Held(Arc<PerAddress>, std::net::IpAddr);

impl PerAddress {
    fn take(self: &Arc<Self>, ip: std::net::IpAddr) -> Option<Held> {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= MAX_PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(Held(Arc::clone(self), ip))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut open = self.0.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.1) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.1);
            }
        }
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
        // Several header lines are one list, in order (some proxies add a line of their own).
        let forwarded: Vec<&str> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let forwarded = (!forwarded.is_empty()).then(|| forwarded.join(","));
        let client = super::client_address(peer.ip(), forwarded.as_deref(), &trusted);
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
