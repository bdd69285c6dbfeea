//! FreeRADIUS 3.2 (Debian's `freeradius`) as the upstream RADIUS server that checks passwords,
//! started by the test from a private configuration in its own temporary folder, on a free
//! loopback port, and stopped by PID. Nothing under /etc/freeradius is read or changed.
//!
//! The configuration: one client (127.0.0.1, Message-Authenticator required of requests), users
//! with cleartext passwords and reply attributes from a `users` file checked by `pap`, and a
//! `linelog` module that records every Access-Request it receives (name, password as it
//! arrived, State, NAS-Identifier) — what the tests read to know what radotp sent upstream.
//! User `carol` gets a challenge of FreeRADIUS's own after her password ("Your upstream
//! PIN?"), answered by `4242`.
//!
//! Debian 12's FreeRADIUS 3.2.1 predates the BlastRADIUS fixes and puts no
//! Message-Authenticator in its replies unless its configuration adds one: the configuration
//! adds one, except with [`Options::reply_message_authenticator`] off.

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tempfile::TempDir;

const FREERADIUS: &str = "/usr/sbin/freeradius";
const READY_TIMEOUT: Duration = Duration::from_secs(15);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const PORT_ATTEMPTS: usize = 3;

/// The shared secret of radotp and the upstream.
pub const UPSTREAM_SECRET: &str = "upstream-shared-secret-1234";
/// carol's upstream PIN, asked by FreeRADIUS's own challenge.
pub const CAROL_PIN: &str = "4242";
/// The State of that challenge (as FreeRADIUS sends it).
pub const CAROL_STATE: &[u8] = b"up-state";

/// The default users: `(name, password)`; alice's Accept carries Filter-Id and Session-Timeout.
pub const USERS: &[(&str, &str)] = &[
    ("alice", "alice-up-pw"),
    ("bob", "bob-up-pw"),
    ("carol", "carol-up-pw"),
];

/// The upstream password of user `name` (one of [`USERS`]).
pub fn password_of(name: &str) -> &'static str {
    USERS
        .iter()
        .find(|(u, _)| *u == name)
        .unwrap_or_else(|| panic!("no upstream test user {name}"))
        .1
}

/// How the upstream is set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// Sign replies with Message-Authenticator (as a post-BlastRADIUS server does).
    pub reply_message_authenticator: bool,
    /// Extra `users` file text, after the default users.
    pub users: String,
    /// Instead of checking passwords, proxy every request to this RadSec home server.
    pub proxy_to: Option<TlsHome>,
}

/// A RadSec home server FreeRADIUS proxies to (`home_server { proto = tcp; tls { … } }`): the
/// server, the CA its certificate must chain to, FreeRADIUS's client certificate and key, and
/// the loopback address FreeRADIUS connects from.
#[derive(Clone, Debug)]
pub struct TlsHome {
    pub server: SocketAddr,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub source: std::net::IpAddr,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reply_message_authenticator: true,
            users: String::new(),
            proxy_to: None,
        }
    }
}

/// One Access-Request as FreeRADIUS logged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub user: String,
    pub password: String,
    /// As FreeRADIUS prints octets: `0x…`, empty when there was none.
    pub state: String,
    pub nas_identifier: String,
}

/// A running FreeRADIUS; killed on drop.
#[derive(Debug)]
pub struct FreeRadius {
    dir: TempDir,
    port: u16,
    child: Option<Child>,
}

fn users_file(options: &Options) -> String {
    let mut text = String::new();
    for (name, password) in USERS {
        text += &format!("{name} Cleartext-Password := \"{password}\"\n");
        if *name == "alice" {
            text += "      Filter-Id = \"upstream-acl\", Session-Timeout = 600\n";
        }
    }
    text + &options.users
}

fn radiusd_conf(dir: &Path, port: u16, options: &Options) -> String {
    match &options.proxy_to {
        Some(home) => common_conf(dir) + &proxy_conf(port, home),
        None => common_conf(dir) + &upstream_conf(port, options),
    }
}

/// What both roles share: paths, logging, security, threads.
fn common_conf(dir: &Path) -> String {
    format!(
        r#"# FreeRADIUS for radotp's tests (tests/common/freeradius.rs).
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
datarootdir = /usr/share
dictdir = /usr/share/freeradius
raddbdir = {dir}
confdir = ${{raddbdir}}
modconfdir = ${{confdir}}
logdir = {dir}/log
radacctdir = ${{logdir}}
run_dir = {dir}/run
db_dir = ${{raddbdir}}
libdir = /usr/lib/freeradius
pidfile = ${{run_dir}}/freeradius.pid
name = freeradius
max_request_time = 30
cleanup_delay = 5
max_requests = 4096
hostname_lookups = no

log {{
	destination = files
	file = ${{logdir}}/radius.log
	auth = yes
}}

security {{
	max_attributes = 200
	reject_delay = 0
	status_server = yes
	allow_vulnerable_openssl = yes
}}

thread pool {{
	start_servers = 2
	max_servers = 8
	min_spare_servers = 1
	max_spare_servers = 4
	max_requests_per_server = 0
}}

"#,
        dir = dir.display(),
    )
}

fn upstream_conf(port: u16, options: &Options) -> String {
    let sign = if options.reply_message_authenticator {
        "update reply {\n\t\t\t&Message-Authenticator := 0x00\n\t\t}"
    } else {
        ""
    };
    let state_hex: String = CAROL_STATE.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        r#"modules {{
	files {{
		filename = ${{confdir}}/users
	}}
	pap {{
		normalise = yes
	}}
	always ok {{
		rcode = ok
	}}
	always handled {{
		rcode = handled
	}}
	always reject {{
		rcode = reject
	}}
	linelog received {{
		filename = ${{logdir}}/received.log
		format = "%{{User-Name}}|%{{User-Password}}|%{{State}}|%{{NAS-Identifier}}"
	}}
}}

client localhost {{
	ipaddr = 127.0.0.1
	secret = {UPSTREAM_SECRET}
	require_message_authenticator = yes
}}

server default {{
	listen {{
		type = auth
		ipaddr = 127.0.0.1
		port = {port}
	}}
	authorize {{
		if (&Packet-Type == Access-Request) {{
			received
		}}
		{sign}
		# carol: her password, then FreeRADIUS's own question.
		if (&User-Name == "carol" && !&State && &User-Password == "carol-up-pw") {{
			update reply {{
				&Reply-Message := "Your upstream PIN?"
				&State := 0x{state_hex}
			}}
			update control {{
				&Response-Packet-Type := Access-Challenge
			}}
			handled
		}}
		if (&User-Name == "carol" && &State) {{
			if (&State == 0x{state_hex} && &User-Password == "{CAROL_PIN}") {{
				update control {{
					&Auth-Type := Accept
				}}
				update reply {{
					&Filter-Id := "pin-ok"
				}}
				ok
			}}
			else {{
				reject
			}}
		}}
		files
		pap
		Autz-Type Status-Server {{
			{sign}
			ok
		}}
	}}
	authenticate {{
		Auth-Type PAP {{
			pap
		}}
	}}
}}
"#
    )
}

/// A proxy: radclient (127.0.0.1, secret `testing123`) → FreeRADIUS → RadSec → radotp. Every
/// Access-Request goes to the realm `radotp`, whose one home server is reached over TLS; the
/// secret over TLS is RFC 6614's `radsec`.
fn proxy_conf(port: u16, home: &TlsHome) -> String {
    let path = |p: &Path| p.display().to_string();
    format!(
        r#"proxy_requests = yes

proxy server {{
	default_fallback = no
}}

home_server radotp {{
	type = auth
	ipaddr = {ip}
	port = {home_port}
	src_ipaddr = {source}
	proto = tcp
	secret = radsec
	response_window = 10
	status_check = none
	tls {{
		private_key_file = {key}
		certificate_file = {cert}
		ca_file = {ca}
		fragment_size = 8192
		cipher_list = "DEFAULT"
		connect_timeout = 5
		# The name in radotp's certificate.
		check_cert_cn = "localhost"
	}}
}}

home_server_pool radotp {{
	type = fail-over
	home_server = radotp
}}

realm radotp {{
	auth_pool = radotp
}}

client localhost {{
	ipaddr = 127.0.0.1
	secret = {secret}
}}

server default {{
	listen {{
		type = auth
		ipaddr = 127.0.0.1
		port = {port}
	}}
	authorize {{
		update control {{
			&Proxy-To-Realm := "radotp"
		}}
	}}
	authenticate {{
	}}
	pre-proxy {{
	}}
	post-proxy {{
	}}
}}
"#,
        ip = home.server.ip(),
        home_port = home.server.port(),
        source = home.source,
        key = path(&home.key),
        cert = path(&home.cert),
        ca = path(&home.ca),
        secret = super::SECRET,
    )
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl FreeRadius {
    /// A fresh FreeRADIUS with the default users, ready to answer.
    pub fn start() -> FreeRadius {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> FreeRadius {
        assert!(
            Path::new(FREERADIUS).exists(),
            "{FREERADIUS} is missing: install Debian's freeradius (apt-get install -y freeradius)"
        );
        let dir = tempfile::Builder::new()
            .prefix("freeradius-")
            .tempdir()
            .unwrap();
        for sub in ["log", "run"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        fs::write(dir.path().join("dictionary"), "").unwrap();
        fs::write(dir.path().join("users"), users_file(&options)).unwrap();
        let mut server = FreeRadius {
            dir,
            port: 0,
            child: None,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            server.port = free_udp_port();
            let conf = radiusd_conf(server.dir.path(), server.port, &options);
            fs::write(server.dir.path().join("radiusd.conf"), conf).unwrap();
            match server.spawn_and_wait() {
                Ok(()) => return server,
                Err(log) if attempt < PORT_ATTEMPTS && log.contains("in use") => {}
                Err(log) => panic!("FreeRADIUS did not start:\n{log}"),
            }
        }
        unreachable!()
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let log = self.dir.path().join("log/radius.log");
        let _ = fs::remove_file(&log);
        let child = Command::new(FREERADIUS)
            .arg("-f")
            .arg("-d")
            .arg(self.dir.path())
            .arg("-l")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {FREERADIUS}: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            let text = fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Ready to process requests") {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return Err(format!("exited with {status}:\n{text}"));
            }
            sleep(Duration::from_millis(50));
        }
        self.kill();
        Err(format!(
            "not ready within {READY_TIMEOUT:?}:\n{}",
            fs::read_to_string(&log).unwrap_or_default()
        ))
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every Access-Request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        let text = fs::read_to_string(self.received_log()).unwrap_or_default();
        text.lines()
            .map(|line| {
                let fields: Vec<&str> = line.split('|').collect();
                assert_eq!(fields.len(), 4, "received.log line {line:?}");
                Received {
                    user: fields[0].into(),
                    password: fields[1].into(),
                    state: fields[2].into(),
                    nas_identifier: fields[3].into(),
                }
            })
            .collect()
    }

    fn received_log(&self) -> PathBuf {
        self.dir.path().join("log/received.log")
    }

    /// FreeRADIUS's own log.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("log/radius.log")).unwrap_or_default()
    }

    /// SIGTERM, then wait for it to exit (SIGKILL after `STOP_TIMEOUT`).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                return;
            }
            sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Start again, same port and configuration.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn_and_wait()
            .unwrap_or_else(|log| panic!("FreeRADIUS did not restart:\n{log}"));
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        self.kill();
    }
}
