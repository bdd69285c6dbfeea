//! `eapol_test` (Debian's `eapoltest`, hostap 2.10) as an 802.1X supplicant behind a NAS: it
//! speaks EAP over RADIUS to a server, EAP-TTLS with inner PAP or PEAPv0 with inner EAP-GTC,
//! from a wpa_supplicant network block the harness writes, and reports success, whether the
//! MPPE keys it derived match those of the Access-Accept, and how many TLS sessions were
//! resumed.
//!
//! What the parser keys on, in eapol_test's output (it logs at its most verbose level by
//! default; no `-d` needed, and eapol_test has no `-d`):
//!
//! - the last line is `SUCCESS` (exit status 0) or `FAILURE` (exit status 252);
//! - the line before it, `MPPE keys OK: N  mismatch: M` (two spaces), counted over all rounds:
//!   with `-r 2`, `MPPE keys OK: 3  mismatch: 0`;
//! - per TLS handshake, `OpenSSL: Handshake finished - resumed=0` or `… resumed=1`, and
//!   `SSL: Using TLS version TLSv1.2` (or `TLSv1.3`);
//! - per RADIUS packet received, `RADIUS message: code=2 (Access-Accept) identifier=… length=…`
//!   followed by one `   Attribute N (Name) length=L` line and one `      Value: …` line per
//!   attribute (text as `'…'`, integers in decimal, anything else, Vendor-Specific included, in
//!   hex);
//! - each `-r` round starts with `eapol_test: Triggering EAP reauthentication`. The rounds
//!   keep the TLS session (hostap: `EAP: maintaining EAP method data for fast
//!   reauthentication`), so a server with a session cache resumes it
//!   (`EAP-TTLS: fast reauth - may skip Phase 2`).
//!
//! EAP-GTC answers its request with the network block's `password` (non-interactively; the
//! password is then visible in the output, in `EAP-GTC: Response - hexdump_ascii`); an `otp`
//! in the block would take precedence, and none is written.

use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const EAPOL_TEST: &str = "/usr/bin/eapol_test";

/// The tunnel and what runs inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// EAP-TTLS, inner PAP (`phase2="auth=PAP"`): the password in a User-Password AVP.
    Ttls,
    /// PEAPv0, inner EAP-GTC (`phase2="auth=GTC"`): the password as the GTC response.
    Peap,
}

/// One `eapol_test` run's settings.
#[derive(Clone, Debug)]
pub struct Eapol {
    pub method: Method,
    /// The inner identity (in the tunnel).
    pub identity: String,
    /// The outer identity (EAP-Response/Identity, and the RADIUS User-Name); `None`: the inner
    /// one.
    pub anonymous_identity: Option<String>,
    /// PAP's password, or GTC's response.
    pub password: String,
    /// The CA the server's certificate must chain to.
    pub ca_cert: PathBuf,
    /// Allow TLS 1.3 (`tls_disable_tlsv1_3=0`); else TLS 1.2 at most (`tls_disable_tlsv1_3=1`,
    /// hostap 2.10's default for TTLS and PEAP).
    pub tls13: bool,
    /// The supplicant's `fragment_size` (hostap's default 1398).
    pub fragment_size: Option<u16>,
    pub server: SocketAddr,
    pub secret: String,
    /// The address the RADIUS requests come from (`-A`).
    pub client_address: Option<IpAddr>,
    /// eapol_test's own timeout (`-t`); the process is killed 10 s after it.
    pub timeout_secs: u32,
    /// More `phase1` words, e.g. `"tls_disable_session_ticket=0"`.
    pub extra_phase1: Option<String>,
    /// `-r N`: N re-authentications after the first, in the same run, on the same TLS session
    /// (resumed when the server cached it).
    pub reauth: Option<u32>,
    /// `-N` attribute specs added to every Access-Request, `ID:TYPE:VALUE` with TYPE `s`
    /// (string), `d` (integer) or `x` (hex), e.g. `"31:s:aa-bb-cc-dd-ee-ff"`.
    pub attributes: Vec<String>,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct EapolRun {
    /// Exit status 0 and `SUCCESS` printed: every round was accepted.
    pub success: bool,
    /// `MPPE keys OK: N  mismatch: 0` with N ≥ 1: the Accepts' MS-MPPE keys matched the keys
    /// the supplicant derived, in every round.
    pub mppe_ok: bool,
    /// stdout and stderr (eapol_test writes to stdout), plus a last line of the harness's when
    /// it had to kill the process.
    pub output: String,
    /// TLS handshakes that resumed a session (`OpenSSL: Handshake finished - resumed=1`).
    pub resumed: u32,
}

impl EapolRun {
    /// TLS handshakes finished, resumed or not.
    pub fn handshakes(&self) -> u32 {
        self.output
            .lines()
            .filter(|l| l.starts_with("OpenSSL: Handshake finished - resumed="))
            .count() as u32
    }

    /// The TLS versions negotiated, in order (`"TLSv1.2"`, `"TLSv1.3"`), one per handshake.
    pub fn tls_versions(&self) -> Vec<String> {
        // Printed twice per handshake (once before, once after "Handshake finished"): keep the
        // ones right after it.
        let mut out = Vec::new();
        let mut after_handshake = false;
        for line in self.output.lines() {
            if line.starts_with("OpenSSL: Handshake finished") {
                after_handshake = true;
            } else if let Some(v) = line.strip_prefix("SSL: Using TLS version ")
                && after_handshake
            {
                out.push(v.trim().to_owned());
                after_handshake = false;
            }
        }
        out
    }

    /// RADIUS Access-Requests sent (retransmissions included): more with a smaller
    /// `fragment_size`.
    pub fn requests(&self) -> usize {
        self.output
            .lines()
            .filter(|l| l.starts_with("RADIUS message: code=1 (Access-Request)"))
            .count()
    }

    /// EAP-TLS-style fragments the supplicant sent with more to follow (its `fragment_size`
    /// at work: `SSL: sending N bytes, more fragments will follow`). With ECDSA certificates
    /// and no client certificate, its largest message (the ClientHello, ~260 octets with
    /// TLS 1.3) fits in 300, so only a smaller `fragment_size` makes any.
    pub fn fragments_sent(&self) -> usize {
        self.output
            .lines()
            .filter(|l| l.starts_with("SSL: sending ") && l.contains("more fragments will follow"))
            .count()
    }

    /// Fragments received from the server with the More bit set (`SSL: Received
    /// packet(len=…) - Flags 0xc0` or `0x40`): the server's fragmentation at work.
    pub fn fragments_received(&self) -> usize {
        self.output
            .lines()
            .filter_map(|l| {
                l.strip_prefix("SSL: Received packet(len=")?
                    .split_once("- Flags 0x")
                    .and_then(|(_, f)| u8::from_str_radix(f.trim(), 16).ok())
            })
            .filter(|flags| flags & 0x40 != 0)
            .count()
    }

    /// Whether the server rejected (an Access-Reject was received).
    pub fn rejected(&self) -> bool {
        self.output
            .lines()
            .any(|l| l.starts_with("RADIUS message: code=3 (Access-Reject)"))
    }
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// A value of the network block: quoted when it can be, else hex (wpa_supplicant reads an
/// unquoted value as hex), so no character can break the block.
fn conf_value(value: &str) -> String {
    if value
        .chars()
        .all(|c| c.is_ascii_graphic() && c != '"' || c == ' ')
    {
        format!("\"{value}\"")
    } else {
        value.bytes().map(|b| format!("{b:02x}")).collect()
    }
}

impl Eapol {
    /// EAP-TTLS/PAP, TLS 1.2, no outer anonymity, 10 s timeout.
    pub fn ttls(
        identity: &str,
        password: &str,
        ca_cert: &Path,
        server: SocketAddr,
        secret: &str,
    ) -> Self {
        Eapol {
            method: Method::Ttls,
            identity: identity.into(),
            anonymous_identity: None,
            password: password.into(),
            ca_cert: ca_cert.into(),
            tls13: false,
            fragment_size: None,
            server,
            secret: secret.into(),
            client_address: None,
            timeout_secs: 10,
            extra_phase1: None,
            reauth: None,
            attributes: Vec::new(),
        }
    }

    /// PEAPv0/EAP-GTC, otherwise as [`Eapol::ttls`].
    pub fn peap(
        identity: &str,
        password: &str,
        ca_cert: &Path,
        server: SocketAddr,
        secret: &str,
    ) -> Self {
        Eapol {
            method: Method::Peap,
            ..Eapol::ttls(identity, password, ca_cert, server, secret)
        }
    }

    /// The wpa_supplicant configuration this run uses.
    pub fn network_block(&self) -> String {
        let (eap, phase2, mut phase1) = match self.method {
            Method::Ttls => ("TTLS", "auth=PAP", String::new()),
            Method::Peap => ("PEAP", "auth=GTC", "peapver=0 ".to_owned()),
        };
        phase1 += if self.tls13 {
            "tls_disable_tlsv1_3=0"
        } else {
            "tls_disable_tlsv1_3=1"
        };
        if let Some(extra) = &self.extra_phase1 {
            phase1 = format!("{phase1} {extra}");
        }
        let mut t = String::from("network={\n\tssid=\"eapol-test\"\n\tkey_mgmt=WPA-EAP\n");
        let _ = writeln!(t, "\teap={eap}");
        let _ = writeln!(t, "\tidentity={}", conf_value(&self.identity));
        if let Some(anon) = &self.anonymous_identity {
            let _ = writeln!(t, "\tanonymous_identity={}", conf_value(anon));
        }
        let _ = writeln!(t, "\tpassword={}", conf_value(&self.password));
        let _ = writeln!(t, "\tca_cert=\"{}\"", self.ca_cert.display());
        let _ = writeln!(t, "\tphase1=\"{phase1}\"");
        let _ = writeln!(t, "\tphase2=\"{phase2}\"");
        if let Some(size) = self.fragment_size {
            let _ = writeln!(t, "\tfragment_size={size}");
        }
        t + "}\n"
    }

    /// The command line's arguments after `-c FILE`.
    fn args(&self) -> Vec<String> {
        let mut a = vec![
            format!("-a{}", self.server.ip()),
            format!("-p{}", self.server.port()),
            format!("-s{}", self.secret),
            format!("-t{}", self.timeout_secs),
        ];
        if let Some(addr) = self.client_address {
            a.push(format!("-A{addr}"));
        }
        if let Some(n) = self.reauth {
            a.push(format!("-r{n}"));
        }
        for attr in &self.attributes {
            a.push(format!("-N{attr}"));
        }
        a
    }

    /// Write the network block into `dir` (a file of its own per run) and run eapol_test on
    /// it; killed 10 s after its own timeout. Panics only when eapol_test cannot be started.
    pub fn run(&self, dir: &Path) -> EapolRun {
        assert!(
            Path::new(EAPOL_TEST).exists(),
            "{EAPOL_TEST} is missing: install Debian's eapoltest (apt-get install -y eapoltest)"
        );
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let conf = dir.join(format!("eapol-{}-{n}.conf", std::process::id()));
        fs::write(&conf, self.network_block()).unwrap();
        let mut child = Command::new(EAPOL_TEST)
            .arg("-c")
            .arg(&conf)
            .args(self.args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {EAPOL_TEST}: {e}"));
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let t_out = std::thread::spawn(move || {
            let mut b = Vec::new();
            out.read_to_end(&mut b).ok();
            b
        });
        let t_err = std::thread::spawn(move || {
            let mut b = Vec::new();
            err.read_to_end(&mut b).ok();
            b
        });
        // Each -r round may take the whole -t again.
        let rounds = u64::from(self.reauth.unwrap_or(0)) + 1;
        let limit = Duration::from_secs(u64::from(self.timeout_secs) * rounds + 10);
        let deadline = Instant::now() + limit;
        let mut killed = false;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                child.kill().ok();
                child.wait().ok();
                killed = true;
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut output = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
        output += &String::from_utf8_lossy(&t_err.join().unwrap());
        if killed {
            let _ = writeln!(output, "[harness] eapol_test killed after {limit:?}");
        }
        let success = status.is_some_and(|s| s.success())
            && output.lines().any(|l| l.trim_end() == "SUCCESS");
        let mppe_ok = output.lines().any(|l| {
            l.strip_prefix("MPPE keys OK: ")
                .and_then(|rest| rest.split_once("  mismatch: "))
                .is_some_and(|(ok, bad)| {
                    ok.trim().parse::<u32>().is_ok_and(|ok| ok >= 1) && bad.trim() == "0"
                })
        });
        let resumed = output
            .lines()
            .filter(|l| l.trim_end() == "OpenSSL: Handshake finished - resumed=1")
            .count() as u32;
        EapolRun {
            success,
            mppe_ok,
            output,
            resumed,
        }
    }

    /// The attributes of the last Access-Accept received, as eapol_test printed them:
    /// `Name=value`, the value as printed (`User-Name='alice'`, `Session-Timeout=600`,
    /// `Vendor-Specific=00000137…` — vendor id and sub-attributes in hex), the attribute's
    /// number for the name, and `<N octets>` for the value, when hostap does not know it
    /// (`11=<7 octets>` for a Filter-Id of 7 octets). Empty when no Accept came.
    ///
    /// hostap's own types decide the printing (checked against FreeRADIUS 3.2.1): text for
    /// User-Name and Reply-Message (`Reply-Message='hi'`), decimal for Session-Timeout, hex for
    /// the rest — `Tunnel-Type=0000000d` (tag octet and VLAN, 13), `Tunnel-Medium-Type=00000006`,
    /// `Tunnel-Private-Group-Id=3432` for "42" (a leading tag octet, if sent, shows as `00`/`01`
    /// before it), `Class=636c73`.
    pub fn reply_attributes(run: &EapolRun) -> Vec<String> {
        let lines: Vec<&str> = run.output.lines().collect();
        let Some(start) = lines
            .iter()
            .rposition(|l| l.starts_with("RADIUS message: code=2 (Access-Accept)"))
        else {
            return Vec::new();
        };
        let mut attrs = Vec::new();
        let mut i = start + 1;
        while let Some(rest) = lines.get(i).and_then(|l| l.strip_prefix("   Attribute ")) {
            // "26 (Vendor-Specific) length=58"
            let (id, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let (name, length) = rest
                .strip_prefix('(')
                .and_then(|r| r.split_once(") length="))
                .unwrap_or(("?Unknown?", "0"));
            let name = if name.contains("Unknown") { id } else { name };
            let value = match lines
                .get(i + 1)
                .and_then(|l| l.strip_prefix("      Value: "))
            {
                Some(v) => {
                    i += 1;
                    v.trim_end().to_owned()
                }
                // hostap prints no value for attributes it has no name for (Filter-Id, 11,
                // among them): only their length, type and length octets included.
                None => format!(
                    "<{} octets>",
                    length
                        .trim()
                        .parse::<usize>()
                        .unwrap_or(2)
                        .saturating_sub(2)
                ),
            };
            attrs.push(format!("{name}={value}"));
            i += 1;
        }
        attrs
    }
}
