//! Test harness: runs the real `radotp` binary in a temporary folder, plus TOTP helpers.
#![allow(dead_code, unused_imports, unreachable_pub)]

pub mod client;
pub mod eapol;
pub mod faults;
pub mod freeradius;
pub mod logfmt;
pub mod otp;
pub mod pki;
pub mod radsecproxy;
pub mod relay;
pub mod slapd;
pub mod tls_nas;
pub mod web;

pub use otp::*;

use std::fs::{self, File};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub const SECRET: &str = "testing123";
pub const BIN: &str = env!("CARGO_BIN_EXE_radotp");
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// One `[[client]]` table.
#[derive(Clone, Debug)]
pub struct ClientConf {
    pub name: String,
    pub address: String,
    pub secret: String,
    pub require_message_authenticator: Option<bool>,
    /// `mode = "append" | "challenge"`.
    pub mode: Option<String>,
    /// More keys of this `[[client]]` table, as TOML lines.
    pub extra: String,
}

impl ClientConf {
    pub fn new(name: &str, address: &str, secret: &str) -> Self {
        ClientConf {
            name: name.into(),
            address: address.into(),
            secret: secret.into(),
            require_message_authenticator: None,
            mode: None,
            extra: String::new(),
        }
    }

    pub fn require_ma(mut self, on: bool) -> Self {
        self.require_message_authenticator = Some(on);
        self
    }
}

/// Configuration builder; defaults: one IPv4 listener on port 0, client 127.0.0.1/32 "testing123".
#[derive(Clone, Debug)]
pub struct Conf {
    pub listen: Vec<String>,
    pub clients: Vec<ClientConf>,
    pub reject_delay_ms: u64,
    /// argon2 cost: tests use a tiny one unless they measure the real thing.
    pub memory_kib: u32,
    pub iterations: u32,
    pub workers: usize,
    /// More TOML appended at the end (e.g. a [delivery] section).
    pub extra: String,
    /// `[database] url = …` (PostgreSQL) instead of `path = "radotp.db"`.
    pub database_url: Option<String>,
    /// `[database] key_file = …`; nodes sharing a database share one.
    pub key_file: Option<String>,
    /// `[database] path = …` instead of `radotp.db` beside the configuration.
    pub database_path: Option<String>,
    /// `[password] source = …` (where new users' passwords are checked).
    pub password_source: Option<String>,
    /// `[radsec]` listeners the server is expected to announce (`radsec listening`), when
    /// `extra` has a `[radsec]` section.
    pub radsec_listeners: usize,
    /// A `[web]` section (the enrollment page and the admin API); the server is then awaited
    /// until it announces the page too.
    pub web: Option<web::WebConf>,
}

impl Default for Conf {
    fn default() -> Self {
        Conf {
            listen: vec!["127.0.0.1:0".into()],
            clients: vec![ClientConf::new("localhost", "127.0.0.1/32", SECRET)],
            reject_delay_ms: 0,
            memory_kib: 64,
            iterations: 1,
            workers: 2,
            extra: String::new(),
            database_url: None,
            key_file: None,
            database_path: None,
            password_source: None,
            radsec_listeners: 0,
            web: None,
        }
    }
}

/// TOML string literal (JSON escapes are valid TOML basic-string escapes).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

impl Conf {
    pub fn listen(mut self, addrs: &[&str]) -> Self {
        self.listen = addrs.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn clients(mut self, clients: Vec<ClientConf>) -> Self {
        self.clients = clients;
        self
    }

    pub fn require_ma(mut self, on: bool) -> Self {
        for c in &mut self.clients {
            c.require_message_authenticator = Some(on);
        }
        self
    }

    /// With this `[web]` section.
    pub fn web(mut self, web: web::WebConf) -> Self {
        self.web = Some(web);
        self
    }

    pub fn to_toml(&self) -> String {
        let listen: Vec<String> = self.listen.iter().map(|s| q(s)).collect();
        let mut database = match (&self.database_url, &self.database_path) {
            (Some(url), _) => format!("url = {}\n", q(url)),
            (None, Some(path)) => format!("path = {}\n", q(path)),
            (None, None) => "path = \"radotp.db\"\n".to_owned(),
        };
        if let Some(key_file) = &self.key_file {
            database += &format!("key_file = {}\n", q(key_file));
        }
        let mut t = format!(
            "[server]\nlisten = [{}]\nreject_delay_ms = {}\nworkers = {}\n\n\
             [database]\n{database}\n\
             [otp]\nissuer = \"radotp\"\ndigits = 6\nperiod = 30\nalgorithm = \"SHA1\"\nwindow = 1\n\n\
             [password]\nmemory_kib = {}\niterations = {}\nparallelism = 1\n",
            listen.join(", "),
            self.reject_delay_ms,
            self.workers,
            self.memory_kib,
            self.iterations,
        );
        if let Some(source) = &self.password_source {
            t += &format!("source = {}\n", q(source));
        }
        for c in &self.clients {
            t += &format!(
                "\n[[client]]\nname = {}\naddress = {}\n",
                q(&c.name),
                q(&c.address)
            );
            // No secret at all (a RadSec client's default), when the test gives none.
            if !c.secret.is_empty() {
                t += &format!("secret = {}\n", q(&c.secret));
            }
            if let Some(r) = c.require_message_authenticator {
                t += &format!("require_message_authenticator = {r}\n");
            }
            if let Some(mode) = &c.mode {
                t += &format!("mode = {}\n", q(mode));
            }
            t += &c.extra;
        }
        if let Some(web) = &self.web {
            t += &web.to_toml();
        }
        t + "\n" + &self.extra
    }
}

/// The variable through which a debug build of radotp reads its clock.
pub const CLOCK_VARIABLE: &str = "RADOTP_TEST_CLOCK";

/// The clock of a configuration: its server's clock file, if it has a server, else `T0`.
pub fn clock_for(config: &Path) -> std::ffi::OsString {
    let file = config.with_file_name("clock");
    if file.exists() {
        file.into_os_string()
    } else {
        T0.to_string().into()
    }
}

/// Run `radotp --config CONFIG ARGS…` with `stdin` fed in, on the configuration's clock;
/// bounded to 30 s.
pub fn radotp(config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.env(CLOCK_VARIABLE, clock_for(config))
        .arg("--config")
        .arg(config)
        .args(args);
    run(cmd, stdin, Duration::from_secs(30))
}

/// Run a command with `stdin` fed in, capturing stdout and stderr; killed after `limit`.
pub fn run(mut cmd: Command, stdin: &str, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).ok();
    drop(input);
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut b).ok();
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut b).ok();
        b
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// A running `radotp serve` in its own temporary folder.
pub struct Server {
    pub dir: TempDir,
    pub conf: Conf,
    pub addrs: Vec<SocketAddr>,
    /// The RadSec listeners' addresses, in the order of `[radsec] listen`.
    pub radsec_addrs: Vec<SocketAddr>,
    child: Option<Child>,
    generation: usize,
    level: String,
    /// `--log-format`: `json` (what `events()` reads) unless a test asks for `text`.
    format: String,
    /// The log reaches its file through a pipe (as it reaches journald), so that limits on
    /// the server's own files (`ulimit -f`) do not hold back its log.
    piped: bool,
}

impl Server {
    pub fn start() -> Self {
        Server::with(Conf::default())
    }

    pub fn with(conf: Conf) -> Self {
        Server::with_level(conf, "debug")
    }

    /// With another `--log-level`.
    pub fn with_level(conf: Conf, level: &str) -> Self {
        Server::with_format(conf, level, "json")
    }

    /// With another `--log-level` and `--log-format`.
    pub fn with_format(conf: Conf, level: &str, format: &str) -> Self {
        Server::new(conf, level, format, false)
    }

    /// Logging into a pipe rather than a file of its own.
    pub fn piped(conf: Conf) -> Self {
        Server::new(conf, "debug", "json", true)
    }

    fn new(conf: Conf, level: &str, format: &str, piped: bool) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("radotp-test")
            .tempdir()
            .unwrap();
        fs::write(dir.path().join("radotp.toml"), conf.to_toml()).unwrap();
        fs::write(dir.path().join("clock"), T0.to_string()).unwrap();
        let mut s = Server {
            dir,
            conf,
            addrs: Vec::new(),
            radsec_addrs: Vec::new(),
            child: None,
            generation: 0,
            level: level.to_owned(),
            format: format.to_owned(),
            piped,
        };
        s.spawn();
        s
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("radotp.toml")
    }

    fn log_path(&self, generation: usize) -> PathBuf {
        self.dir.path().join(format!("server.{generation}.log"))
    }

    /// The first bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// The `[web]` page's address (the server must have a `[web]` section).
    pub fn web_addr(&self) -> SocketAddr {
        self.conf
            .web
            .as_ref()
            .expect("no [web] in this server's configuration")
            .addr()
    }

    /// The `[web]` page's public URL, without a trailing slash.
    pub fn web_url(&self) -> String {
        self.conf
            .web
            .as_ref()
            .expect("no [web] in this server's configuration")
            .public_url()
    }

    fn spawn(&mut self) {
        let log = File::create(self.log_path(self.generation)).unwrap();
        let child = Command::new(BIN)
            .env(CLOCK_VARIABLE, clock_for(&self.config_path()))
            .args([
                "--log-format",
                &self.format,
                "--log-level",
                &self.level,
                "--config",
            ])
            .arg(self.config_path())
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if self.piped {
                Stdio::piped()
            } else {
                Stdio::from(log.try_clone().unwrap())
            })
            .spawn()
            .expect("spawn radotp serve");
        let mut child = child;
        if let Some(mut pipe) = child.stderr.take() {
            // Copied as it comes; ends when the server exits.
            let mut log = log;
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = std::io::Read::read(&mut pipe, &mut chunk) {
                    if log.write_all(&chunk[..n]).is_err() {
                        break;
                    }
                }
            });
        }
        self.child = Some(child);
        let want = self.conf.listen.len();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let text = fs::read_to_string(self.log_path(self.generation)).unwrap_or_default();
            let events = self.parse(&text);
            let announced = |message: &str| -> Vec<SocketAddr> {
                events
                    .iter()
                    .filter(|v| v["message"] == message)
                    .filter_map(|v| v["address"].as_str().and_then(|a| a.parse().ok()))
                    .collect()
            };
            let (addrs, radsec) = (announced("listening"), announced("radsec listening"));
            let web_ready = self.conf.web.is_none()
                || events.iter().any(|v| {
                    v["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with(web::ANNOUNCED))
                });
            if addrs.len() >= want && radsec.len() >= self.conf.radsec_listeners && web_ready {
                self.addrs = addrs;
                self.radsec_addrs = radsec;
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("radotp serve exited early ({status}); log:\n{text}");
            }
            if Instant::now() > deadline {
                panic!(
                    "radotp serve: {want} \"listening\" event(s) not seen within {START_TIMEOUT:?}; log:\n{text}"
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's clock (unix seconds).
    pub fn now(&self) -> u64 {
        if !cfg!(debug_assertions) {
            return wall_clock();
        }
        let text = fs::read_to_string(self.dir.path().join("clock")).unwrap();
        text.trim().parse().unwrap()
    }

    /// Move the server's clock (and its CLI's) on by `secs` seconds; on the real clock of a
    /// release build, wait that long.
    pub fn advance(&self, secs: u64) {
        if !cfg!(debug_assertions) {
            std::thread::sleep(Duration::from_secs(secs));
            return;
        }
        let later = self.now() + secs;
        fs::write(self.dir.path().join("clock"), later.to_string()).unwrap();
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server not running").id()
    }

    /// Send the signal `name` (`HUP`, `TERM`, …) to the server.
    pub fn signal(&self, name: &str) {
        let child = self.child.as_ref().expect("server not running");
        let status = Command::new("kill")
            .args([&format!("-{name}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Wait (bounded, 5 s) for any log event that `matches`; true if seen.
    pub fn wait_for_log(&self, matches: impl Fn(&Value) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.events().iter().any(&matches) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// SIGTERM, wait (bounded) for exit 0.
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("server not running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if Instant::now() > deadline {
                child.kill().ok();
                child.wait().ok();
                panic!("radotp serve did not exit within 10 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            status.success(),
            "radotp serve exited with {status} after SIGTERM"
        );
    }

    /// Stop with SIGTERM and start again on the same folder and database (new ports).
    pub fn restart(&mut self) {
        self.stop();
        self.generation += 1;
        self.spawn();
    }

    /// `user add NAME --password-stdin --json`; returns the base32 TOTP secret.
    pub fn add_user(&self, name: &str, password: &str) -> String {
        let out = self.cli(
            &["user", "add", name, "--password-stdin", "--json"],
            &format!("{password}\n"),
        );
        assert!(
            out.status.success(),
            "user add {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "user add --json stdout is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        v["secret"]
            .as_str()
            .expect("\"secret\" in user add output")
            .to_string()
    }

    /// Any CLI command against this server's configuration.
    /// `user add NAME --password-source SOURCE --json` with `more` arguments, for a user whose
    /// password radotp does not keep (no password is asked): the TOTP secret.
    pub fn enroll_from(&self, name: &str, source: &str, more: &[&str]) -> String {
        let mut args = vec!["user", "add", name, "--password-source", source, "--json"];
        args.extend_from_slice(more);
        let out = self.cli(&args, "");
        assert!(
            out.status.success(),
            "user add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["secret"].as_str().unwrap().to_owned()
    }

    pub fn cli(&self, args: &[&str], stdin: &str) -> Output {
        radotp(&self.config_path(), args, stdin)
    }

    /// Everything the server wrote to stderr, all generations.
    pub fn logs(&self) -> String {
        (0..=self.generation)
            .map(|g| fs::read_to_string(self.log_path(g)).unwrap_or_default())
            .collect()
    }

    /// The log events: JSON objects, or logfmt lines read as objects of strings.
    pub fn events(&self) -> Vec<Value> {
        self.parse(&self.logs())
    }

    fn parse(&self, text: &str) -> Vec<Value> {
        if self.format == "text" {
            text.lines()
                .filter_map(logfmt::parse)
                .map(Value::Object)
                .collect()
        } else {
            json_lines(text)
        }
    }

    /// Wait (bounded, 5 s) for a "request" event whose reason, with its detail, contains
    /// `reason`; true if seen.
    pub fn wait_for_reason(&self, reason: &str) -> bool {
        self.wait_for_event(|v| said(v).contains(reason))
    }

    /// Wait (bounded, 5 s) for a "request" event that `matches`; true if seen.
    pub fn wait_for_event(&self, matches: impl Fn(&Value) -> bool) -> bool {
        self.wait_for_log(|v| v["message"] == "request" && matches(v))
    }

    /// Assert, as an extra check, that some request event's reason (with its detail) contains
    /// `reason`.
    pub fn assert_reason(&self, reason: &str) {
        assert!(
            self.wait_for_reason(reason),
            "no request event with reason containing {reason:?}; log:\n{}",
            self.logs()
        );
    }

    /// Assert that a request was dropped, and logged as such with exactly this reason and a
    /// detail that contains `detail`.
    pub fn assert_dropped(&self, reason: &str, detail: &str) {
        assert!(
            self.wait_for_event(|v| v["outcome"] == "drop"
                && v["reason"] == reason
                && said(v).contains(detail)),
            "no drop with reason {reason:?} and detail containing {detail:?}; log:\n{}",
            self.logs()
        );
    }
}

/// What a request line says: `reason (detail)`, or the reason alone.
pub fn said(event: &Value) -> String {
    match (event["reason"].as_str(), event["detail"].as_str()) {
        (Some(reason), Some(detail)) => format!("{reason} ({detail})"),
        (Some(reason), None) => reason.to_owned(),
        _ => String::new(),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- radotp server log ({}) ----\n{}---- end of server log ----",
                self.dir.path().display(),
                self.logs()
            );
        }
    }
}

/// The whole of a command's standard output as exactly one JSON document (the test fails,
/// showing stdout and stderr, when it is not).
pub fn json_document(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// `radclient -x -r 1 -t 3 ADDR COMMAND testing123` (Debian's freeradius-utils) with `input`
/// (attribute lines) on stdin; its exit status and what it printed.
pub fn radclient_to(addr: SocketAddr, command: &str, input: &str) -> (bool, String) {
    let mut cmd = Command::new("radclient");
    cmd.args(["-x", "-r", "1", "-t", "3"])
        .arg(addr.to_string())
        .arg(command)
        .arg(SECRET);
    let out = run(cmd, input, Duration::from_secs(20));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}
