//! A real OpenLDAP `slapd` (Debian 12: 2.5.13) for integration tests.
//!
//! [`Slapd::start`] makes a fresh directory server in its own temporary folder, loads a small
//! fixed tree into it with `slapadd` and runs `slapd -d stats` in the foreground (so the child
//! process *is* slapd: [`Slapd::pid`], the signals and `Drop` reach it directly). It listens on
//! two free loopback ports: plain LDAP with StartTLS on one, LDAPS on the other. Each `Slapd`
//! has its own folder and ports, so tests may run several at once.
//!
//! The temporary folder:
//!
//! ```text
//! slapd.conf        the configuration (`slapd -f`): schemas, modules, TLS, mdb, dynlist, ACLs
//! data.ldif         the tree below, loaded with `slapadd` before the first start
//! db/               the mdb database (kept across `restart`)
//! ca.pem            the test CA that signed server.pem ([`Slapd::ca_file`])
//! ca-key.pem        its key
//! server.pem        the server certificate: DNS `localhost`, IP 127.0.0.1
//! server-key.pem    its key
//! slapd.log         slapd's stdout and stderr, appended across restarts ([`Slapd::log`])
//! slapd.pid         written by slapd
//! ```
//!
//! The tree (`dc=example,dc=org`):
//!
//! ```text
//! cn=admin                      rootdn (ROOT_DN / ROOT_PASSWORD), not an entry
//! ou=service / cn=radotp        SERVICE_DN: reads and searches everything
//! ou=people  / uid=alice…dave   inetOrgPerson, plain userPassword (USERS)
//! ou=groups  / cn=VPN-Users     groupOfNames: alice, bob, cn=Staff
//!              cn=VPN-Admins    groupOfNames: bob
//!              cn=Staff         groupOfNames: carol
//! ```
//!
//! dave is in no group. ACLs: anyone may bind (`auth` on `userPassword`); a user reads their own
//! entry; the service account reads everything (the passwords too); nothing else, so an
//! anonymous search finds nothing (`noSuchObject`).
//!
//! # memberOf
//!
//! `memberOf` comes from the `dynlist` overlay, `dynlist-attrset groupOfURLs memberURL
//! member+memberOf@groupOfNames*` (OpenLDAP 2.5's replacement for the memberof overlay;
//! nothing is stored). What 2.5.13 does, checked against this package (and asserted by
//! `tests/slapd_harness.rs`):
//!
//! - Nesting works for searches: carol's `memberOf` is `cn=Staff` **and** `cn=VPN-Users`;
//!   without the trailing `*` she would get only `cn=Staff`. A filter
//!   `(memberOf=cn=VPN-Users,…)` finds alice, bob, carol and also the group `cn=Staff` itself
//!   (without `*` it finds only alice and bob). Compares are not nested (slapo-dynlist(5)).
//! - The values come back **normalised, i.e. lower-cased**
//!   (`cn=vpn-users,ou=groups,dc=example,dc=org`), not as the group's DN is spelt; compare DNs
//!   case-insensitively.
//! - `memberOf` is operational: it is returned only when asked for by name (or with `+`), not
//!   with the default "all user attributes".
//! - It is computed with the rights of whoever searches: the service account sees it, but a
//!   user reading their own entry gets no `memberOf` (they may not read the groups).
//!
//! # Certificates
//!
//! Made with `rcgen` (ECDSA P-256 keys; rcgen's default validity, 1975 to 4096).
//!
//! # Clients
//!
//! `ldapsearch`, `ldapwhoami`, … (ldap-utils) through [`ldap_tool`], which points them at a CA
//! and demands a valid certificate. Beware: libldap checks a certificate against the URL's host
//! *unless that host is `localhost`*, which it replaces with the machine's own host name
//! (`ldap_pvt_tls_check_hostname`), so `ldapwhoami -ZZ -H ldap://localhost:P1` fails here with
//! "hostname (vm) does not match common name in certificate (localhost)". Point ldap-utils at
//! [`Slapd::ldap_url`] / [`Slapd::ldaps_url_ip`] (checked against the IP address in the
//! certificate); the `localhost` URLs are for clients that check the name they are given
//! (rustls; `openssl s_client -verify_hostname localhost`, as the self-test does).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::pki::{Ca, Leaf};
use tempfile::TempDir;

/// The suffix of the test directory.
pub const BASE_DN: &str = "dc=example,dc=org";
/// The rootdn (no entry; `rootpw` in slapd.conf): may write anything.
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
pub const ROOT_PASSWORD: &str = "admin-dir-pw";
/// The account radotp binds as: may read and search everything.
pub const SERVICE_DN: &str = "cn=radotp,ou=service,dc=example,dc=org";
pub const SERVICE_PASSWORD: &str = "radotp-service-pw";
/// Where the users live (`uid=NAME,PEOPLE_DN`, see [`user_dn`]).
pub const PEOPLE_DN: &str = "ou=people,dc=example,dc=org";
pub const GROUPS_DN: &str = "ou=groups,dc=example,dc=org";
/// Members: alice, bob and the group [`STAFF_DN`] (so carol, nested).
pub const VPN_USERS_DN: &str = "cn=VPN-Users,ou=groups,dc=example,dc=org";
/// Members: bob.
pub const VPN_ADMINS_DN: &str = "cn=VPN-Admins,ou=groups,dc=example,dc=org";
/// Members: carol.
pub const STAFF_DN: &str = "cn=Staff,ou=groups,dc=example,dc=org";
/// `(uid, directory password)` of every user; dave is in no group.
pub const USERS: &[(&str, &str)] = &[
    ("alice", "alice-dir-pw"),
    ("bob", "bob-dir-pw"),
    ("carol", "carol-dir-pw"),
    ("dave", "dave-dir-pw"),
];

const SCHEMAS: &[&str] = &["core", "cosine", "inetorgperson", "nis", "dyngroup"];
const MODULE_PATH: &str = "/usr/lib/ldap";
const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts with fresh ports when another process took one between choosing and binding it.
const PORT_ATTEMPTS: usize = 3;

/// The DN of user `uid`.
pub fn user_dn(uid: &str) -> String {
    format!("uid={uid},{PEOPLE_DN}")
}

/// The directory password of user `uid` (one of [`USERS`]).
pub fn password_of(uid: &str) -> &'static str {
    USERS
        .iter()
        .find(|(u, _)| *u == uid)
        .unwrap_or_else(|| panic!("no test user {uid}"))
        .1
}

/// A running slapd in its own temporary folder; killed on drop.
#[derive(Debug)]
pub struct Slapd {
    dir: TempDir,
    ldap_port: u16,
    ldaps_port: u16,
    child: Option<Child>,
}

impl Slapd {
    /// A fresh slapd with the test tree, ready (a service-account bind succeeded).
    pub fn start() -> Slapd {
        let dir = tempfile::Builder::new().prefix("slapd-").tempdir().unwrap();
        write_pki(dir.path());
        fs::create_dir(dir.path().join("db")).unwrap();
        fs::write(dir.path().join("slapd.conf"), slapd_conf(dir.path())).unwrap();
        fs::write(dir.path().join("data.ldif"), data_ldif()).unwrap();
        let out = Command::new(SLAPADD)
            .arg("-f")
            .arg(dir.path().join("slapd.conf"))
            .arg("-l")
            .arg(dir.path().join("data.ldif"))
            .output()
            .unwrap_or_else(|e| panic!("spawn {SLAPADD}: {e}"));
        assert!(
            out.status.success(),
            "slapadd failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut slapd = Slapd {
            dir,
            ldap_port: 0,
            ldaps_port: 0,
            child: None,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            (slapd.ldap_port, slapd.ldaps_port) = free_ports();
            match slapd.spawn_and_wait() {
                Ok(()) => return slapd,
                Err(log) if attempt < PORT_ATTEMPTS && log.contains("Address already in use") => {}
                Err(log) => panic!("slapd did not start:\n{log}"),
            }
        }
        unreachable!()
    }

    /// The temporary folder (layout in the module documentation).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `ldap://127.0.0.1:P1`: plain LDAP, StartTLS available (the certificate names 127.0.0.1).
    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    /// `ldap://localhost:P1`: the same port, for StartTLS with a host-name check.
    pub fn ldap_url_host(&self) -> String {
        format!("ldap://localhost:{}", self.ldap_port)
    }

    /// `ldaps://localhost:P2` (the certificate names localhost).
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://localhost:{}", self.ldaps_port)
    }

    /// `ldaps://127.0.0.1:P2`: for libldap clients (ldap-utils), which check a `localhost`
    /// URL against the machine's host name instead (see the module documentation).
    pub fn ldaps_url_ip(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// 127.0.0.1:P1, the LDAP (StartTLS) port.
    pub fn ldap_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ldap_port))
    }

    /// 127.0.0.1:P2, the LDAPS port.
    pub fn ldaps_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ldaps_port))
    }

    /// The CA certificate (PEM) that signed the server certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// slapd's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("slapd not running").id()
    }

    /// Everything slapd has written (`-d stats`), across restarts.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// SIGSTOP: connections are still accepted by the kernel but never answered.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// SIGCONT after [`Slapd::pause`].
    pub fn resume(&self) {
        self.signal("CONT");
    }

    /// SIGKILL, and wait for it to be gone: connections are refused until [`Slapd::restart`].
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("slapd not running");
        child.kill().ok();
        child.wait().unwrap();
    }

    /// SIGTERM (and SIGCONT, in case it is paused), and wait (10 s at most) for it to exit.
    pub fn stop(&mut self) {
        self.signal("TERM");
        self.signal("CONT");
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().ok();
                child.wait().ok();
                panic!(
                    "slapd did not stop within {STOP_TIMEOUT:?} of SIGTERM:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Start again on the same ports with the same database (stopping it first if it runs);
    /// returns once it is ready.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
        if let Err(log) = self.spawn_and_wait() {
            panic!("slapd did not restart:\n{log}");
        }
    }

    /// Apply `ldif` as the rootdn with `ldapmodify` (so `changetype:` records; new entries need
    /// `changetype: add`); panics if that fails.
    pub fn modify(&self, ldif: &str) {
        let out = ldap_tool(
            "ldapmodify",
            &[
                "-x",
                "-H",
                &self.ldap_url(),
                "-D",
                ROOT_DN,
                "-w",
                ROOT_PASSWORD,
            ],
            None,
            ldif,
            Duration::from_secs(10),
        )
        .expect("ldapmodify timed out");
        assert!(
            out.status.success(),
            "ldapmodify failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("slapd.log")
    }

    fn signal(&self, name: &str) {
        let child = self.child.as_ref().expect("slapd not running");
        let status = Command::new("kill")
            .args([&format!("-{name}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Run slapd on the chosen ports and wait until the service account can bind; on failure
    /// slapd is gone and the error is its log.
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let listen = format!(
            "ldap://127.0.0.1:{}/ ldaps://127.0.0.1:{}/",
            self.ldap_port, self.ldaps_port
        );
        let child = Command::new(SLAPD)
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .args(["-h", &listen, "-d", "stats"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {SLAPD}: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let child = self.child.as_mut().unwrap();
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return Err(format!("slapd exited ({status}):\n{}", self.log()));
            }
            if self.ready() {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(format!(
                    "slapd not ready within {READY_TIMEOUT:?}:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Accepts TCP on both ports and a service-account bind succeeds.
    fn ready(&self) -> bool {
        let connects = |addr| TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok();
        if !connects(self.ldap_addr()) || !connects(self.ldaps_addr()) {
            return false;
        }
        let url = self.ldap_url();
        let args = ["-x", "-H", &url, "-D", SERVICE_DN, "-w", SERVICE_PASSWORD];
        ldap_tool("ldapwhoami", &args, None, "", Duration::from_secs(2))
            .is_some_and(|out| out.status.success())
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

/// Run an ldap-utils `program` (`ldapsearch`, `ldapwhoami`, …) with `args` and `stdin`;
/// `None` if it had not finished after `limit` (it is then killed).
///
/// TLS: the server certificate must be valid (`LDAPTLS_REQCERT=demand`) and signed by `ca`
/// (`LDAPTLS_CACERT`; without `ca`, the system's CAs from /etc/ldap/ldap.conf, which do not
/// include the test CA).
pub fn ldap_tool(
    program: &str,
    args: &[&str],
    ca: Option<&Path>,
    stdin: &str,
    limit: Duration,
) -> Option<Output> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("LDAPTLS_REQCERT", "demand")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(ca) = ca {
        cmd.env("LDAPTLS_CACERT", ca);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).ok();
    drop(input);
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).ok();
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Some(Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    })
}

/// Write a self-signed CA that did NOT sign the server certificate to `dir/other-ca.pem`
/// (for "a wrong CA is refused"); returns its path.
pub fn other_ca_pem(dir: &Path) -> PathBuf {
    Ca::new(dir, "other-ca", "radotp other test CA");
    dir.join("other-ca.pem")
}

/// Two distinct free loopback ports (bound together, then released for slapd).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

/// The test CA and the server certificate it signs (`localhost`, 127.0.0.1), as PEM in `dir`.
fn write_pki(dir: &Path) {
    let ca = Ca::new(dir, "ca", "radotp test CA");
    ca.issue(dir, "server", &["localhost", "127.0.0.1"], Leaf::Server);
}

fn slapd_conf(dir: &Path) -> String {
    let path = |name: &str| dir.join(name).display().to_string();
    let mut conf = String::new();
    for schema in SCHEMAS {
        conf += &format!("include /etc/ldap/schema/{schema}.schema\n");
    }
    conf += &format!(
        r#"
modulepath {MODULE_PATH}
moduleload back_mdb
moduleload dynlist

pidfile "{pid}"
argsfile "{args}"

TLSCACertificateFile "{ca}"
TLSCertificateFile "{cert}"
TLSCertificateKeyFile "{key}"

database mdb
suffix "{BASE_DN}"
rootdn "{ROOT_DN}"
rootpw "{ROOT_PASSWORD}"
directory "{db}"
maxsize 10485760
index objectClass eq
index uid eq
index member eq

# memberOf on the members of static groups, nested groups included (the trailing *).
overlay dynlist
dynlist-attrset groupOfURLs memberURL member+memberOf@groupOfNames*

access to attrs=userPassword
    by dn.exact="{SERVICE_DN}" read
    by * auth
access to *
    by dn.exact="{SERVICE_DN}" read
    by self read
    by * none
"#,
        pid = path("slapd.pid"),
        args = path("slapd.args"),
        ca = path("ca.pem"),
        cert = path("server.pem"),
        key = path("server-key.pem"),
        db = path("db"),
    );
    conf
}

fn data_ldif() -> String {
    let mut ldif = format!(
        "dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: ou=service,{BASE_DN}\nobjectClass: organizationalUnit\nou: service\n\n\
         dn: {SERVICE_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\n\
         cn: radotp\nuserPassword: {SERVICE_PASSWORD}\n\n\
         dn: {PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: {GROUPS_DN}\nobjectClass: organizationalUnit\nou: groups\n\n"
    );
    for (uid, password) in USERS {
        ldif += &format!(
            "dn: {}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\n\
             mail: {uid}@example.org\nuserPassword: {password}\n\n",
            user_dn(uid)
        );
    }
    let groups = [
        (STAFF_DN, "Staff", vec![user_dn("carol")]),
        (
            VPN_USERS_DN,
            "VPN-Users",
            vec![user_dn("alice"), user_dn("bob"), STAFF_DN.to_owned()],
        ),
        (VPN_ADMINS_DN, "VPN-Admins", vec![user_dn("bob")]),
    ];
    for (dn, cn, members) in groups {
        ldif += &format!("dn: {dn}\nobjectClass: groupOfNames\ncn: {cn}\n");
        for member in members {
            ldif += &format!("member: {member}\n");
        }
        ldif += "\n";
    }
    ldif
}
