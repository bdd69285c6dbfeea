//! A tiny HTTPS server on 127.0.0.1:0 for the webhook tests: a fresh self-signed certificate,
//! one request per connection, scripted answers, every request recorded. It stops when dropped
//! and never waits more than [`DEADLINE`] for anything.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// Upper bound for the server's life and for any single read.
const DEADLINE: Duration = Duration::from_secs(20);
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How the server answers the n-th request.
#[derive(Clone)]
pub(super) enum Script {
    /// These statuses in order; the last one repeats. The response body echoes the request body,
    /// so tests can check that errors never quote a response.
    Statuses(Vec<u16>),
    /// Read the request, then hold the connection open without a word.
    Silent,
}

/// One request as received.
#[derive(Clone, Debug)]
pub(super) struct Recorded {
    /// Request line, e.g. `POST /hook?key=secret HTTP/1.1`.
    pub request_line: String,
    /// Header names lower-cased, values trimmed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub(super) struct TestServer {
    pub addr: SocketAddr,
    /// The server's self-signed certificate, to be trusted through `ca_file`.
    pub cert_pem: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub(super) fn start(script: Script) -> Self {
        let certified =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".into()])
                .expect("generate certificate");
        let cert_der: CertificateDer<'static> = certified.cert.der().clone();
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert_der], key_der)
            .expect("server certificate");

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop) = (requests.clone(), stop.clone());
            let config = Arc::new(config);
            thread::spawn(move || serve(&listener, &config, &script, &requests, &stop))
        };
        Self {
            addr,
            cert_pem: certified.cert.pem(),
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `https://127.0.0.1:PORT` + `path_and_query`.
    pub(super) fn url(&self, path_and_query: &str) -> String {
        format!("https://{}{path_and_query}", self.addr)
    }

    pub(super) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    listener: &TcpListener,
    config: &Arc<ServerConfig>,
    script: &Script,
    requests: &Mutex<Vec<Recorded>>,
    stop: &AtomicBool,
) {
    let started = Instant::now();
    // Silent connections are kept open here until the server stops.
    let mut held = Vec::new();
    while !stop.load(Ordering::SeqCst) && started.elapsed() < DEADLINE {
        let tcp = match listener.accept() {
            Ok((tcp, _)) => tcp,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(_) => return,
        };
        let _ = tcp.set_nonblocking(false);
        let _ = tcp.set_read_timeout(Some(READ_TIMEOUT));
        let _ = tcp.set_write_timeout(Some(READ_TIMEOUT));
        let Ok(conn) = ServerConnection::new(config.clone()) else {
            continue;
        };
        let mut tls = StreamOwned::new(conn, tcp);
        // A failed handshake (untrusted certificate) or a garbled request: drop it, go on.
        let Some(request) = read_request(&mut tls) else {
            continue;
        };
        let index = {
            let mut requests = requests.lock().expect("requests lock");
            requests.push(request.clone());
            requests.len() - 1
        };
        match script {
            Script::Silent => held.push(tls),
            Script::Statuses(statuses) => {
                let status = statuses[index.min(statuses.len() - 1)];
                let head = format!(
                    "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    request.body.len()
                );
                let _ = tls.write_all(head.as_bytes());
                let _ = tls.write_all(&request.body);
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        }
    }
}

/// Reads one HTTP/1.1 request with a Content-Length body.
fn read_request(tls: &mut StreamOwned<ServerConnection, TcpStream>) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = tls.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = tls.read(&mut chunk).ok().filter(|&n| n > 0)?;
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Recorded {
        request_line,
        headers,
        body,
    })
}
