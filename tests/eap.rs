//! Wi-Fi logins over EAP (RFC 3579): EAP-TTLS with PAP inside and PEAPv0 with EAP-GTC inside,
//! against the real binary, with Debian's `eapol_test` (wpa_supplicant 2.10, OpenSSL) as the
//! supplicant: TLS 1.2 and 1.3, fragments both ways, the MPPE keys eapol_test checks, the reply
//! attributes, session resumption (and what ends it), an abandoned conversation and a flood of
//! EAP-Starts from one NAS. Every certificate is made by the test (`common::pki`).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::client::{Client, Request};
use common::eapol::{Eapol, EapolRun, Method};
use common::otp::{code_at, wrong_code};
use common::pki::{Ca, Leaf};
use common::relay::{Hold, Relay};
use common::*;
use serde_json::Value;
use tempfile::TempDir;

const PASSWORD: &str = "wifi-password-1";

/// A server with `[eap]` (and `eap_extra` in it), its CA and one user.
struct Wifi {
    server: Server,
    ca: PathBuf,
    secret: String,
    /// Holds the CA and the eapol_test files.
    dir: TempDir,
}

impl Wifi {
    fn start(eap_extra: &str, conf: Conf) -> Wifi {
        let dir = tempfile::Builder::new()
            .prefix("radotp-eap")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let ca = Ca::new(d, "ca", "radotp EAP test CA");
        let issued = ca.issue(d, "radius", &["radius.example.org"], Leaf::Server);
        let mut conf = conf;
        conf.extra += &format!(
            "\n[eap]\ncertificate = {}\nprivate_key = {}\n{eap_extra}\n",
            toml_path(&issued.cert),
            toml_path(&issued.key)
        );
        let server = Server::with(conf);
        let secret = server.add_user("alice", PASSWORD);
        Wifi {
            server,
            ca: ca.cert,
            secret,
            dir,
        }
    }

    fn default() -> Wifi {
        Wifi::start("", Conf::default())
    }

    fn code(&self) -> String {
        code_at(&self.secret, self.server.now())
    }

    /// An eapol_test run for alice with `password`, straight to the server.
    fn eapol(&self, method: Method, password: &str) -> Eapol {
        let mut e = match method {
            Method::Ttls => Eapol::ttls("alice", password, &self.ca, self.server.addr(), SECRET),
            Method::Peap => Eapol::peap("alice", password, &self.ca, self.server.addr(), SECRET),
        };
        e.anonymous_identity = Some("anonymous@example.org".into());
        e
    }

    fn run(&self, eapol: &Eapol) -> EapolRun {
        eapol.run(self.dir.path())
    }

    /// The decisions logged for alice, in order.
    fn decisions(&self) -> Vec<Value> {
        self.server
            .events()
            .into_iter()
            .filter(|e| e["message"] == "request" && e["outcome"] != "drop")
            .collect()
    }

    fn last_decision(&self) -> Value {
        self.decisions().pop().expect("a decision was logged")
    }
}

fn toml_path(p: &Path) -> String {
    serde_json::to_string(&p.display().to_string()).unwrap()
}

fn assert_success(run: &EapolRun) {
    assert!(run.success, "eapol_test failed:\n{}", run.output);
    assert!(
        run.mppe_ok,
        "eapol_test did not confirm the MPPE keys:\n{}",
        run.output
    );
}

fn assert_failure(run: &EapolRun) {
    assert!(!run.success, "eapol_test succeeded:\n{}", run.output);
}

#[test]
fn ttls_pap_logs_in_with_password_and_code_over_tls_1_2_and_1_3() {
    let wifi = Wifi::default();
    for tls13 in [false, true] {
        let mut eapol = wifi.eapol(Method::Ttls, &format!("{PASSWORD}{}", wifi.code()));
        eapol.tls13 = tls13;
        let run = wifi.run(&eapol);
        assert_success(&run);
        let decision = wifi.last_decision();
        assert_eq!(decision["outcome"], "accept", "{decision}");
        assert_eq!(decision["reason"], "TOTP code", "{decision}");
        assert_eq!(decision["user"], "alice", "the inner identity decides");
        let detail = decision["detail"].as_str().unwrap_or_default();
        let version = if tls13 { "TLSv1_3" } else { "TLSv1_2" };
        assert!(
            detail.contains("EAP-TTLS/PAP") && detail.contains(version),
            "{detail}"
        );
        // The next code for the next round: each code opens once.
        wifi.server.advance(30);
    }
}

#[test]
fn ttls_refuses_a_wrong_password_a_wrong_code_and_a_replayed_code() {
    let wifi = Wifi::default();
    let code = wifi.code();
    let run = wifi.run(&wifi.eapol(Method::Ttls, &format!("not-the-password{code}")));
    assert_failure(&run);
    assert_eq!(wifi.last_decision()["reason"], "wrong password");

    let wrong = wrong_code(&wifi.secret);
    let run = wifi.run(&wifi.eapol(Method::Ttls, &format!("{PASSWORD}{wrong}")));
    assert_failure(&run);
    assert_eq!(wifi.last_decision()["reason"], "wrong password or code");

    let run = wifi.run(&wifi.eapol(Method::Ttls, &format!("{PASSWORD}{code}")));
    assert_success(&run);
    let run = wifi.run(&wifi.eapol(Method::Ttls, &format!("{PASSWORD}{code}")));
    assert_failure(&run);
    assert_eq!(wifi.last_decision()["reason"], "code already used");
}

#[test]
fn peap_gtc_logs_in_over_tls_1_2_and_1_3() {
    let wifi = Wifi::default();
    for tls13 in [false, true] {
        let mut eapol = wifi.eapol(Method::Peap, &format!("{PASSWORD}{}", wifi.code()));
        eapol.tls13 = tls13;
        let run = wifi.run(&eapol);
        assert_success(&run);
        let decision = wifi.last_decision();
        assert_eq!(decision["reason"], "TOTP code", "{decision}");
        assert!(
            decision["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("PEAP/GTC"),
            "{decision}"
        );
        wifi.server.advance(30);
    }
    // A wrong code inside PEAP is refused like any other.
    let wrong = wrong_code(&wifi.secret);
    let run = wifi.run(&wifi.eapol(Method::Peap, &format!("{PASSWORD}{wrong}")));
    assert_failure(&run);
}

#[test]
fn small_fragments_both_ways() {
    let wifi = Wifi::start("fragment_size = 300", Conf::default());
    for method in [Method::Ttls, Method::Peap] {
        let mut eapol = wifi.eapol(method, &format!("{PASSWORD}{}", wifi.code()));
        eapol.fragment_size = Some(200);
        eapol.tls13 = method == Method::Ttls;
        let run = wifi.run(&eapol);
        assert_success(&run);
        wifi.server.advance(30);
    }
}

#[test]
fn the_accept_carries_the_groups_reply_attributes() {
    let mut conf = Conf::default();
    conf.extra += "\n[[group]]\nname = \"staff\"\nreply = { \"Tunnel-Type\" = \"VLAN\", \
                   \"Tunnel-Medium-Type\" = \"IEEE-802\", \"Tunnel-Private-Group-Id\" = \"42\" }\n";
    let wifi = Wifi::start("", conf);
    let out = wifi
        .server
        .cli(&["user", "set", "alice", "--group", "staff"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = wifi.run(&wifi.eapol(Method::Ttls, &format!("{PASSWORD}{}", wifi.code())));
    assert_success(&run);
    let attributes = Eapol::reply_attributes(&run).join("\n");
    // hostap prints these in hex: VLAN (13), IEEE-802 (6), "42".
    for wanted in [
        "Tunnel-Type=0000000d",
        "Tunnel-Medium-Type=00000006",
        "Tunnel-Private-Group-Id=3432",
        "User-Name='alice'",
    ] {
        assert!(
            attributes.contains(wanted),
            "no {wanted} in the Accept:\n{attributes}"
        );
    }
    assert!(attributes.contains("EAP-Message="), "{attributes}");
}

/// A second authentication in the same supplicant run resumes the TLS session: accepted
/// without a code (the password field still holds the used one), reason "resumed session".
#[test]
fn a_resumed_session_needs_no_new_code_within_the_window() {
    let wifi = Wifi::default();
    for method in [Method::Ttls, Method::Peap] {
        for tls13 in [false, true] {
            let mut eapol = wifi.eapol(method, &format!("{PASSWORD}{}", wifi.code()));
            eapol.tls13 = tls13;
            // Twice: the second resumes what the first resumption handed out (a TLS 1.3
            // ticket issued by a resumed session), which resumes the same full login.
            eapol.reauth = Some(2);
            let run = wifi.run(&eapol);
            assert_success(&run);
            let decisions = wifi.decisions();
            for last in &decisions[decisions.len() - 2..] {
                assert_eq!(
                    last["outcome"], "accept",
                    "{method:?} tls13={tls13}: {last}"
                );
                assert_eq!(
                    last["reason"], "resumed session",
                    "{method:?} tls13={tls13}: {last}\n{}",
                    run.output
                );
            }
            assert_eq!(decisions[decisions.len() - 3]["reason"], "TOTP code");
            wifi.server.advance(30);
        }
    }
}

/// Between the full login and the re-authentication, the test disables the user (or moves
/// the clock past the window): the resumed session is refused.
#[test]
fn disable_and_the_window_end_resumption() {
    let wifi = Wifi::start("resumption_hours = 8", Conf::default());
    // TLS 1.2 resumes by session id (wpa_supplicant's default), TLS 1.3 by ticket.
    for (change, tls13) in [("disable", false), ("disable", true), ("window", true)] {
        let relay = Relay::start(wifi.server.addr(), Hold::AfterAccepts(1));
        let mut eapol = wifi.eapol(Method::Ttls, &format!("{PASSWORD}{}", wifi.code()));
        eapol.server = relay.addr;
        eapol.reauth = Some(1);
        eapol.tls13 = tls13;
        eapol.timeout_secs = 60;
        let dir = wifi.dir.path().to_owned();
        let running = std::thread::spawn(move || eapol.run(&dir));
        assert!(relay.wait_for_accepts(1, Duration::from_secs(30)));
        match change {
            "disable" => {
                let out = wifi.server.cli(&["user", "disable", "alice"], "");
                assert!(out.status.success());
            }
            _ => wifi.server.advance(8 * 3600 + 60),
        }
        relay.release();
        let run = running.join().unwrap();
        assert_failure(&run);
        let last = wifi.last_decision();
        assert_eq!(
            last["reason"], "resumed session refused",
            "{change} tls13={tls13}: {last}"
        );
        if change == "disable" {
            let out = wifi.server.cli(&["user", "enable", "alice"], "");
            assert!(out.status.success());
            wifi.server.advance(30);
        }
    }
}

/// SIGHUP applies a changed `[eap]`: with only PEAP offered, a TTLS supplicant is refused and
/// PEAP goes on; the reload line names the change.
#[test]
fn eap_settings_follow_a_reload() {
    let wifi = Wifi::default();
    let mut conf = wifi.server.conf.clone();
    // Wifi::start left `[eap]` as the last table of the file.
    conf.extra += "methods = [\"peap\"]\n";
    std::fs::write(wifi.server.config_path(), conf.to_toml()).unwrap();
    wifi.server.signal("HUP");
    let reloaded = |e: &Value| e["message"] == "configuration reloaded";
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let line = loop {
        if let Some(line) = wifi.server.events().into_iter().find(reloaded) {
            break line;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reload:\n{}",
            wifi.server.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        line["changes"]
            .as_str()
            .unwrap_or_default()
            .contains("[eap] changed"),
        "{line}"
    );
    let ttls = wifi.run(&wifi.eapol(Method::Ttls, &format!("{PASSWORD}{}", wifi.code())));
    assert_failure(&ttls);
    let peap = wifi.run(&wifi.eapol(Method::Peap, &format!("{PASSWORD}{}", wifi.code())));
    assert_success(&peap);
}

#[test]
fn eap_false_on_a_client_refuses_eap() {
    let mut conf = Conf::default();
    conf.clients[0].extra += "eap = false\n";
    let wifi = Wifi::start("", conf);
    let run = wifi.run(&wifi.eapol(Method::Ttls, &format!("{PASSWORD}{}", wifi.code())));
    assert_failure(&run);
    assert_eq!(wifi.last_decision()["reason"], "EAP not supported");
}

/// A supplicant that stops answering halfway leaves a conversation that is forgotten after
/// 30 s idle; the server serves the next login meanwhile.
#[test]
fn an_abandoned_conversation_is_forgotten() {
    let wifi = Wifi::default();
    let relay = Relay::start(wifi.server.addr(), Hold::DropAfterRequests(3));
    let mut eapol = wifi.eapol(Method::Ttls, &format!("{PASSWORD}{}", wifi.code()));
    eapol.server = relay.addr;
    eapol.timeout_secs = 5;
    assert_failure(&wifi.run(&eapol));
    // The State of the abandoned conversation, from its last challenge.
    let run = wifi.run(&wifi.eapol(Method::Ttls, &format!("{PASSWORD}{}", wifi.code())));
    assert_success(&run);
    assert!(relay.requests() > 3);
}

/// One NAS floods EAP-Starts (EAP-Response/Identity without State): it fills its own share of
/// `max_conversations`, and another NAS's Wi-Fi login still goes through.
#[test]
fn a_flood_of_eap_starts_from_one_nas_does_not_stop_another() {
    let conf = Conf {
        clients: vec![
            ClientConf::new("flooder", "127.0.0.1/32", SECRET),
            ClientConf::new("wlc", "127.0.0.2/32", SECRET),
        ],
        ..Conf::default()
    };
    let wifi = Wifi::start("max_conversations = 64", conf);
    // EAP-Response/Identity, each a new request (its own Identifier), in bursts of 100 as
    // fast as the socket takes them, until the flooder's share is full (at most 20 bursts).
    let flooder = Client::bind("127.0.0.1:0", wifi.server.addr());
    let full = |s: &Server| {
        s.events()
            .iter()
            .any(|e| e["reason"] == "EAP conversations full")
    };
    for i in 0..2000u32 {
        let identity = format!("flood{i}");
        let mut eap = vec![2, (i % 256) as u8, 0, 0, 1];
        eap.extend_from_slice(identity.as_bytes());
        let len = eap.len() as u16;
        eap[2..4].copy_from_slice(&len.to_be_bytes());
        let request = Request::new(1, SECRET)
            .with_id((i % 256) as u8)
            .ma()
            .user(&identity)
            .attr(79, &eap);
        flooder.send(&request.encode());
        if i % 100 == 99 {
            std::thread::sleep(Duration::from_millis(50));
            if full(&wifi.server) {
                break;
            }
        }
    }
    assert!(
        wifi.server.wait_for_reason("EAP conversations full"),
        "the flooder should fill its share"
    );
    let mut eapol = wifi.eapol(Method::Ttls, &format!("{PASSWORD}{}", wifi.code()));
    eapol.client_address = Some("127.0.0.2".parse().unwrap());
    let run = wifi.run(&eapol);
    assert_success(&run);
    assert_eq!(wifi.last_decision()["client"], "wlc");
}
