//! Debian's `radsecproxy` (1.9) as an independent RadSec client: it takes RADIUS over UDP on a
//! free loopback port from `radclient` (shared secret [`SECRET`](super::SECRET)) and forwards
//! every request over TLS to radotp's RadSec listener, presenting a client certificate and
//! checking radotp's against a CA. Started by the test in its own temporary folder, in the
//! foreground (`-f`, so the child *is* radsecproxy), and stopped by PID on drop.

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const RADSECPROXY: &str = "/usr/sbin/radsecproxy";
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How radsecproxy reaches radotp.
#[derive(Clone, Debug)]
pub struct Upstream {
    /// radotp's RadSec listener.
    pub server: SocketAddr,
    /// The CA radotp's certificate must chain to.
    pub ca: PathBuf,
    /// The client certificate radsecproxy presents, and its key.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Send Status-Server to radotp every so often (`StatusServer on`).
    pub status_server: bool,
}

/// A running radsecproxy; killed on drop.
#[derive(Debug)]
pub struct Radsecproxy {
    dir: TempDir,
    addr: SocketAddr,
    child: Option<Child>,
}

fn conf(dir: &Path, port: u16, upstream: &Upstream) -> String {
    let path = |p: &Path| p.display().to_string();
    format!(
        "# radsecproxy in front of radotp, for the tests (tests/common/radsecproxy.rs).\n\
         ListenUDP 127.0.0.1:{port}\n\
         LogLevel 5\n\
         LogDestination file://{log}\n\
         \n\
         tls radotp {{\n\
         \tCACertificateFile {ca}\n\
         \tCertificateFile {cert}\n\
         \tCertificateKeyFile {key}\n\
         }}\n\
         \n\
         client radclient {{\n\
         \thost 127.0.0.1\n\
         \ttype udp\n\
         \tsecret {secret}\n\
         }}\n\
         \n\
         server radotp {{\n\
         \thost {host}\n\
         \tport {server_port}\n\
         \ttype tls\n\
         \ttls radotp\n\
         \tsecret radsec\n\
         \tCertificateNameCheck on\n\
         \tStatusServer {status}\n\
         }}\n\
         \n\
         realm * {{\n\
         \tserver radotp\n\
         }}\n",
        log = path(&dir.join("radsecproxy.log")),
        ca = path(&upstream.ca),
        cert = path(&upstream.cert),
        key = path(&upstream.key),
        secret = super::SECRET,
        host = upstream.server.ip(),
        server_port = upstream.server.port(),
        status = if upstream.status_server { "on" } else { "off" },
    )
}

impl Radsecproxy {
    pub fn start(upstream: Upstream) -> Radsecproxy {
        let dir = tempfile::Builder::new()
            .prefix("radotp-radsecproxy")
            .tempdir()
            .unwrap();
        // A free UDP port: bound, released, then taken by radsecproxy.
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let file = dir.path().join("radsecproxy.conf");
        fs::write(&file, conf(dir.path(), port, &upstream)).unwrap();
        let child = Command::new(RADSECPROXY)
            .arg("-f")
            .arg("-c")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                fs::File::create(dir.path().join("stdout.log")).unwrap(),
            ))
            .stderr(Stdio::from(
                fs::File::create(dir.path().join("stderr.log")).unwrap(),
            ))
            .spawn()
            .expect("spawn radsecproxy (apt-get install radsecproxy)");
        let mut proxy = Radsecproxy {
            dir,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: Some(child),
        };
        proxy.wait_ready();
        proxy
    }

    /// Wait until radsecproxy has bound its UDP port (it says so in its log).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let log = self.log();
            if log.contains("bound to") || log.contains("listening") {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("radsecproxy exited early ({status}):\n{log}");
            }
            if Instant::now() > deadline {
                panic!("radsecproxy did not start within {READY_TIMEOUT:?}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Where radclient sends its requests.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Everything radsecproxy logged.
    pub fn log(&self) -> String {
        ["radsecproxy.log", "stdout.log", "stderr.log"]
            .iter()
            .map(|f| fs::read_to_string(self.dir.path().join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Radsecproxy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
