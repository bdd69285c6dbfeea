//! RadSec (RADIUS over TLS, RFC 6614) against independent TLS clients: Debian's `radsecproxy`
//! (radclient → radsecproxy over UDP → RadSec → radotp) and FreeRADIUS 3.2 as a proxy with a
//! TLS home server; and a NAS of the tests' own on rustls for what those never send (no
//! certificate, one from another CA, an expired one, a wrong name, a bad frame, a slow one).
//! radsecproxy speaks TLS 1.3 to radotp; Debian's FreeRADIUS 3.2.1, as a client, TLS 1.2.
//! Every certificate is made by the test (`common::pki`).

mod common;

use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::client::{Request, check_reply};
use common::pki::{Ca, Issued, Leaf};
use common::radsecproxy::{Radsecproxy, Upstream};
use common::tls_nas::{TlsNas, tcp_from};
use common::*;
use tempfile::TempDir;

/// The name radsecproxy's certificate carries; the client `nas` requires it.
const NAS_NAME: &str = "nas.example.org";

/// The certificates of one test.
struct Pki {
    /// Holds the files.
    _dir: TempDir,
    ca: PathBuf,
    server: Issued,
    nas: Issued,
    other_ca_nas: Issued,
    expired: Issued,
    wrong_name: Issued,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("radotp-pki")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let ca = Ca::new(d, "ca", "radotp RadSec test CA");
        let other = Ca::new(d, "other-ca", "someone else's CA");
        Pki {
            server: ca.issue(d, "radius", &["localhost", "127.0.0.1"], Leaf::Server),
            nas: ca.issue(d, "nas", &[NAS_NAME, "127.0.0.1"], Leaf::Client),
            other_ca_nas: other.issue(d, "other-ca-nas", &[NAS_NAME], Leaf::Client),
            expired: ca.issue(d, "expired", &[NAS_NAME], Leaf::ExpiredClient),
            wrong_name: ca.issue(d, "wrong-name", &["elsewhere.example.org"], Leaf::Client),
            ca: ca.cert,
            _dir: dir,
        }
    }

    fn path(&self, p: &Path) -> String {
        serde_json::to_string(&p.display().to_string()).unwrap()
    }

    /// `[radsec]` on a free loopback port.
    fn section(&self, idle_timeout_secs: u64, max_connections: usize) -> String {
        format!(
            "[radsec]\nlisten = [\"127.0.0.1:0\"]\ncertificate = {}\nprivate_key = {}\n\
             client_ca = {}\nidle_timeout_secs = {idle_timeout_secs}\nmax_connections = {max_connections}\n",
            self.path(&self.server.cert),
            self.path(&self.server.key),
            self.path(&self.ca),
        )
    }
}

fn radsec_client(name: &str, address: &str, extra: &str) -> ClientConf {
    let mut c = ClientConf::new(name, address, "");
    c.extra = format!("transport = \"radsec\"\n{extra}");
    c
}

/// radotp with RadSec clients `nas` (127.0.0.1, radsecproxy and the tests' own NAS, must
/// carry `nas.example.org`), `branch` (127.0.0.3, any certificate of the CA), a UDP client
/// `udp-nas` (127.0.0.2), and UDP on a port of its own.
fn server(pki: &Pki, idle_timeout_secs: u64, max_connections: usize, mode: &str) -> Server {
    server_with(pki, idle_timeout_secs, max_connections, mode, 0)
}

fn server_with(
    pki: &Pki,
    idle_timeout_secs: u64,
    max_connections: usize,
    mode: &str,
    reject_delay_ms: u64,
) -> Server {
    let mut nas = radsec_client(
        "nas",
        "127.0.0.1/32",
        &format!("tls_name = \"{NAS_NAME}\"\n"),
    );
    nas.mode = Some(mode.into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/send-code");
    let conf = Conf {
        extra: pki.section(idle_timeout_secs, max_connections)
            + &format!("\n[delivery]\ncommand = [\"{script}\"]\nresend_cooldown_secs = 0\n")
            + "\n[[group]]\nname = \"vpn-admins\"\nreply = { \"Class\" = \"admins\" }\n",
        radsec_listeners: 1,
        reject_delay_ms,
        ..Conf::default().clients(vec![
            nas,
            radsec_client("branch", "127.0.0.3/32", ""),
            ClientConf::new("udp-nas", "127.0.0.2/32", SECRET),
        ])
    };
    Server::with(conf)
}

fn proxy_for(server: &Server, pki: &Pki, status_server: bool) -> Radsecproxy {
    Radsecproxy::start(Upstream {
        server: server.radsec_addrs[0],
        ca: pki.ca.clone(),
        cert: pki.nas.cert.clone(),
        key: pki.nas.key.clone(),
        status_server,
    })
}

fn login(user: &str, password: &str) -> String {
    format!(
        "User-Name = \"{user}\"\nUser-Password = \"{password}\"\nMessage-Authenticator = 0x00\n"
    )
}

/// Log `user` in through radsecproxy with `password`; asserts an Access-Accept came back, and
/// returns what radclient printed.
fn accepted(proxy: &Radsecproxy, server: &Server, user: &str, password: &str) -> String {
    let (ok, text) = radclient_to(proxy.addr(), "auth", &login(user, password));
    assert!(
        ok && text.contains("Received Access-Accept"),
        "{text}\n{}\n{}",
        proxy.log(),
        server.logs()
    );
    text
}

/// The decision lines radotp logged for requests that came over RadSec.
fn radsec_decisions(server: &Server) -> Vec<(String, String)> {
    server
        .events()
        .iter()
        .filter(|e| e["message"] == "request" && e["transport"] == "radsec")
        .map(|e| {
            (
                e["outcome"].as_str().unwrap_or("").to_owned(),
                e["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn radsecproxy_carries_accepts_rejects_and_status_server_over_tls() {
    let pki = Pki::new();
    let server = server(&pki, 60, 64, "append");
    let secret = server.add_user("alice", "alice-pw");
    let set = server.cli(&["user", "set", "alice", "--group", "vpn-admins"], "");
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let proxy = proxy_for(&server, &pki, true);

    let text = accepted(
        &proxy,
        &server,
        "alice",
        &format!("alice-pw{}", code_now(&secret)),
    );
    // The group's reply attributes ride back through radsecproxy ("admins" as octets).
    assert!(text.contains("Class = 0x61646d696e73"), "{text}");
    let (_, text) = radclient_to(proxy.addr(), "auth", &login("alice", "alice-pw000000"));
    assert!(text.contains("Received Access-Reject"), "{text}");

    // The password alone: rejected, and a code sent by SMS that then logs in.
    let set = server.cli(&["user", "set", "alice", "--sms", "+41 79 123 45 67"], "");
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let (_, text) = radclient_to(proxy.addr(), "auth", &login("alice", "alice-pw"));
    assert!(text.contains("Received Access-Reject"), "{text}");
    let delivered = server.config_path().with_file_name("delivered.jsonl");
    let deadline = Instant::now() + Duration::from_secs(5);
    let sent = loop {
        let sent = json_lines(&std::fs::read_to_string(&delivered).unwrap_or_default());
        if !sent.is_empty() || Instant::now() > deadline {
            break sent;
        }
        sleep(Duration::from_millis(20));
    };
    assert_eq!(sent.len(), 1, "{}", server.logs());
    let code = sent[0]["code"].as_str().unwrap();
    accepted(&proxy, &server, "alice", &format!("alice-pw{code}"));

    // radsecproxy asks radotp with Status-Server whether it is alive (StatusServer on).
    let deadline = Instant::now() + Duration::from_secs(40);
    while !radsec_decisions(&server)
        .iter()
        .any(|(_, reason)| reason == "status-server")
    {
        assert!(
            Instant::now() < deadline,
            "no Status-Server over RadSec:\n{}",
            proxy.log()
        );
        sleep(Duration::from_millis(200));
    }
    let decisions = radsec_decisions(&server);
    assert!(
        decisions.contains(&("accept".into(), "TOTP code".into())),
        "{decisions:?}"
    );
    assert!(
        decisions.contains(&("accept".into(), "sent code".into())),
        "{decisions:?}"
    );
    assert!(
        decisions.iter().any(|(outcome, _)| outcome == "reject"),
        "{decisions:?}"
    );
    let opened: Vec<_> = server
        .events()
        .into_iter()
        .filter(|e| e["message"] == "radsec connection")
        .collect();
    assert!(!opened.is_empty(), "{}", server.logs());
    assert_eq!(opened[0]["client"], "nas");
    assert!(
        opened[0]["tls"].as_str().unwrap().starts_with("TLSv1_"),
        "{}",
        opened[0]
    );
}

/// Send a Status-Server on `nas` and read the answer: an Access-Accept signed with the RadSec
/// secret, or the error that ended the connection.
fn status_over(nas: &mut TlsNas) -> Result<u8, String> {
    let request = Request::status("radsec").encode();
    nas.send(&request).map_err(|e| e.to_string())?;
    let raw = nas.recv().map_err(|e| e.to_string())?;
    Ok(check_reply(&raw, &request, b"radsec")?.code)
}

/// The refusals radotp logged: (reason, detail).
fn refusals(server: &Server) -> Vec<(String, String)> {
    server
        .events()
        .iter()
        .filter(|e| e["message"] == "radsec connection refused")
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or("").to_owned(),
                e["detail"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn wait_for_refusal(server: &Server, detail: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !refusals(server).iter().any(|(_, d)| d.contains(detail)) {
        assert!(
            Instant::now() < deadline,
            "no refusal saying {detail:?}: {:?}",
            refusals(server)
        );
        sleep(Duration::from_millis(50));
    }
}

#[test]
fn each_bad_certificate_and_address_is_refused_during_the_handshake_with_its_reason() {
    let pki = Pki::new();
    let server = server(&pki, 60, 64, "append");
    let addr = server.radsec_addrs[0];

    // The right certificate, from the right address: answered.
    let mut good = TlsNas::connect("127.0.0.1", addr, &pki.ca, Some(&pki.nas)).unwrap();
    assert_eq!(status_over(&mut good), Ok(2), "{}", server.logs());

    let cases: [(Option<&Issued>, &str); 4] = [
        (None, "presented no certificate"),
        (
            Some(&pki.other_ca_nas),
            "does not chain to [radsec] client_ca",
        ),
        (Some(&pki.expired), "has expired"),
        (
            Some(&pki.wrong_name),
            "does not carry the client's tls_name",
        ),
    ];
    for (identity, detail) in cases {
        // TLS 1.3 ends the client's handshake before the server has judged its certificate:
        // the refusal reaches the client as an alert on its first read.
        let answered = TlsNas::connect("127.0.0.1", addr, &pki.ca, identity)
            .map_err(|e| e.to_string())
            .and_then(|mut nas| status_over(&mut nas));
        assert!(answered.is_err(), "{detail}: answered {answered:?}");
        wait_for_refusal(&server, detail);
    }
    // Any certificate of the CA will do for a client without tls_name (branch, 127.0.0.3).
    let mut branch = TlsNas::connect("127.0.0.3", addr, &pki.ca, Some(&pki.wrong_name)).unwrap();
    assert_eq!(status_over(&mut branch), Ok(2));

    // The address decides first: no RadSec client, or a UDP one → no TLS at all.
    for (from, detail) in [
        (
            "127.0.0.9",
            "no [[client]] with transport = \"radsec\" covers this address",
        ),
        ("127.0.0.2", "has transport = \"udp\""),
    ] {
        let refused = TlsNas::connect(from, addr, &pki.ca, Some(&pki.nas));
        assert!(refused.is_err(), "{from} got a TLS session");
        wait_for_refusal(&server, detail);
    }
    // ...and a RadSec client's address is not heard over UDP.
    let udp = client::Client::bind("127.0.0.1:0", server.addr());
    udp.send(&Request::status(SECRET).encode());
    assert_eq!(udp.recv(Duration::from_millis(500)), None);
    server.assert_dropped("wrong transport", "has transport = \"radsec\"");

    // The good connections are untouched by all of it.
    assert_eq!(status_over(&mut good), Ok(2));
    let reasons: Vec<String> = refusals(&server).into_iter().map(|(r, _)| r).collect();
    assert_eq!(
        reasons,
        [
            "handshake failed",
            "handshake failed",
            "handshake failed",
            "handshake failed",
            "unknown client",
            "wrong transport"
        ],
        "{}",
        server.logs()
    );
}

#[test]
fn a_bad_frame_or_a_malformed_packet_closes_only_its_connection() {
    let pki = Pki::new();
    let server = server(&pki, 60, 64, "append");
    let addr = server.radsec_addrs[0];
    let connect = || TlsNas::connect("127.0.0.1", addr, &pki.ca, Some(&pki.nas)).unwrap();
    let mut bystander = connect();
    assert_eq!(status_over(&mut bystander), Ok(2));

    // A Length of 19 (below the header) and of 4097 (above RFC 2865's maximum).
    for length in [19u16, 4097] {
        let mut nas = connect();
        let mut frame = vec![12, 1];
        frame.extend_from_slice(&length.to_be_bytes());
        frame.extend_from_slice(&[0; 16]);
        nas.send(&frame).unwrap();
        assert!(nas.closed(), "Length {length} did not close the connection");
    }
    // A well-framed packet whose attributes overrun it.
    let mut nas = connect();
    let mut packet = Request::status("radsec").encode();
    packet.extend_from_slice(&[1, 200, b'x']);
    let len = packet.len() as u16;
    packet[2..4].copy_from_slice(&len.to_be_bytes());
    nas.send(&packet).unwrap();
    assert!(
        nas.closed(),
        "a malformed packet did not close the connection"
    );
    // A Status-Server signed with another secret.
    let mut nas = connect();
    nas.send(&Request::status("not-radsec").encode()).unwrap();
    assert!(
        nas.closed(),
        "a bad Message-Authenticator did not close the connection"
    );

    assert_eq!(status_over(&mut bystander), Ok(2), "{}", server.logs());
    let closed: Vec<String> = server
        .events()
        .iter()
        .filter(|e| e["message"] == "radsec connection closed")
        .map(|e| e["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(closed.len(), 4, "{closed:?}");
    assert!(closed[0].contains("Length is 19"), "{closed:?}");
    assert!(closed[1].contains("Length is 4097"), "{closed:?}");
    assert!(closed[2].contains("dropped as malformed"), "{closed:?}");
    assert!(
        closed[3].contains("bad Message-Authenticator"),
        "{closed:?}"
    );
}

#[test]
fn idle_and_slow_connections_are_closed_and_cannot_keep_a_nas_out() {
    let pki = Pki::new();
    // 8 connections in all, so 3 clients get 3 each.
    let server = server(&pki, 5, 8, "append");
    let addr = server.radsec_addrs[0];
    let secret = server.add_user("bob", "bob-pw");

    // branch (127.0.0.3) opens more TCP connections than its share and sends nothing; one of
    // its NASes completes TLS and then sends a byte a second.
    let silent: Vec<_> = (0..6)
        .map(|_| tcp_from("127.0.0.3", addr).unwrap())
        .collect();
    wait_for_refusal(&server, "its share of [radsec] max_connections");
    let idle_from_nas = TlsNas::connect("127.0.0.1", addr, &pki.ca, Some(&pki.nas)).unwrap();
    let started = Instant::now();

    // radsecproxy (nas, 127.0.0.1) still logs bob in.
    let proxy = proxy_for(&server, &pki, false);
    accepted(
        &proxy,
        &server,
        "bob",
        &format!("bob-pw{}", code_now(&secret)),
    );

    // The idle TLS connection goes after idle_timeout_secs; the silent TCP ones after the
    // handshake's time.
    let mut idle = idle_from_nas;
    assert!(idle.closed(), "the idle connection was not closed");
    let waited = started.elapsed();
    assert!(
        (Duration::from_secs(4)..Duration::from_secs(15)).contains(&waited),
        "closed after {waited:?}"
    );
    assert!(
        server.wait_for_log(|e| e["message"] == "radsec connection closed"
            && e["reason"].as_str().unwrap_or("").contains("idle"))
    );
    assert!(server.wait_for_log(
        |e| e["message"] == "radsec connection refused" && e["reason"] == "handshake timeout"
    ));
    drop(silent);

    // A byte a second: the packet must be whole within its time.
    let mut slow = TlsNas::connect("127.0.0.1", addr, &pki.ca, Some(&pki.nas)).unwrap();
    let packet = Request::status("radsec").encode();
    let mut closed = false;
    for byte in &packet {
        if slow.send(&[*byte]).is_err() {
            closed = true;
            break;
        }
        sleep(Duration::from_secs(1));
    }
    assert!(
        closed || slow.closed(),
        "a packet sent a byte a second was accepted"
    );
    assert!(server.wait_for_log(|e| {
        e["message"] == "radsec connection closed"
            && e["reason"]
                .as_str()
                .unwrap_or("")
                .contains("did not arrive within")
    }));
}

/// FreeRADIUS as a proxy (from 127.0.0.5) in front of radotp's RadSec listener.
fn freeradius_proxy(server: &Server, pki: &Pki) -> freeradius::FreeRadius {
    freeradius::FreeRadius::start_with(freeradius::Options {
        proxy_to: Some(freeradius::TlsHome {
            server: server.radsec_addrs[0],
            ca: pki.ca.clone(),
            cert: pki.nas.cert.clone(),
            key: pki.nas.key.clone(),
            source: "127.0.0.5".parse().unwrap(),
        }),
        ..Default::default()
    })
}

/// The State of an Access-Challenge as radclient prints it (`State = 0x…`).
fn state_in(radclient_output: &str) -> String {
    radclient_output
        .lines()
        .find_map(|l| l.trim().strip_prefix("State = "))
        .unwrap_or_else(|| panic!("no State in:\n{radclient_output}"))
        .to_owned()
}

#[test]
fn freeradius_as_a_tls_proxy_carries_a_challenge_to_a_radsec_only_server() {
    let pki = Pki::new();
    let mut proxied = radsec_client("freeradius", "127.0.0.5/32", "mode = \"challenge\"\n");
    proxied.mode = None;
    let conf = Conf {
        extra: pki.section(60, 64),
        radsec_listeners: 1,
        // RadSec only: no UDP listener at all.
        listen: Vec::new(),
        ..Conf::default().clients(vec![proxied])
    };
    let server = Server::with(conf);
    assert!(server.addrs.is_empty());
    // The UDP tools say why they cannot reach it, and what to give instead.
    let bench = server.cli(&["bench", "--scenario", "status", "--duration", "1s"], "");
    let said = String::from_utf8_lossy(&bench.stderr);
    assert!(!bench.status.success(), "{said}");
    assert!(
        said.contains("no UDP listener") && said.contains("--server"),
        "{said}"
    );
    let secret = server.add_user("carol", "carol-pw");
    let proxy = freeradius_proxy(&server, &pki);

    // The password: a challenge for the code, relayed by FreeRADIUS with radotp's State.
    let (_, text) = radclient_to(proxy.addr(), "auth", &login("carol", "carol-pw"));
    assert!(
        text.contains("Received Access-Challenge"),
        "{text}\n{}\n{}",
        proxy.log(),
        server.logs()
    );
    let state = state_in(&text);
    let answer = format!(
        "User-Name = \"carol\"\nUser-Password = \"{}\"\nState = {state}\nMessage-Authenticator = 0x00\n",
        code_now(&secret)
    );
    let (ok, text) = radclient_to(proxy.addr(), "auth", &answer);
    assert!(
        ok && text.contains("Received Access-Accept"),
        "{text}\n{}",
        server.logs()
    );
    let decisions = radsec_decisions(&server);
    assert_eq!(
        decisions
            .iter()
            .map(|(o, _)| o.as_str())
            .collect::<Vec<_>>(),
        ["challenge", "accept"],
        "{decisions:?}"
    );
    let opened = server
        .events()
        .into_iter()
        .find(|e| e["message"] == "radsec connection")
        .expect("a radsec connection");
    assert_eq!(opened["client"], "freeradius");
    assert!(opened["peer"].as_str().unwrap().starts_with("127.0.0.5:"));
}

#[test]
fn replies_on_one_connection_leave_as_they_are_decided_not_in_order() {
    let pki = Pki::new();
    let server = server_with(&pki, 60, 64, "append", 600);
    let mut nas =
        TlsNas::connect("127.0.0.1", server.radsec_addrs[0], &pki.ca, Some(&pki.nas)).unwrap();
    // A login that will be rejected (held back by the reject delay), then a Status-Server.
    let login = Request::access("radsec", "nobody", b"some-pw123456").with_id(7);
    let status = Request::status("radsec").with_id(8);
    let (login, status) = (login.encode(), status.encode());
    let sent = Instant::now();
    nas.send(&login).unwrap();
    nas.send(&status).unwrap();
    let first = nas.recv().unwrap();
    let first_at = sent.elapsed();
    let second = nas.recv().unwrap();
    let second_at = sent.elapsed();
    assert_eq!(check_reply(&first, &status, b"radsec").unwrap().code, 2);
    assert_eq!(check_reply(&second, &login, b"radsec").unwrap().code, 3);
    assert!(first_at < Duration::from_millis(400), "{first_at:?}");
    assert!(second_at >= Duration::from_millis(600), "{second_at:?}");

    // A NAS that pipelines a thousand requests before reading gets every answer.
    let requests: Vec<Vec<u8>> = (0..1000)
        .map(|i| Request::status("radsec").with_id((i % 256) as u8).encode())
        .collect();
    nas.send(&requests.concat()).unwrap();
    for request in &requests {
        let reply = nas.recv().unwrap();
        assert_eq!(check_reply(&reply, request, b"radsec").unwrap().code, 2);
    }
}

#[test]
fn a_reload_reads_the_certificates_and_the_ca_again() {
    let pki = Pki::new();
    let mut server = server(&pki, 60, 64, "append");
    let addr = server.radsec_addrs[0];
    let other = TlsNas::connect("127.0.0.1", addr, &pki.ca, Some(&pki.other_ca_nas))
        .map_err(|e| e.to_string())
        .and_then(|mut nas| status_over(&mut nas));
    assert!(other.is_err(), "{other:?}");

    // The NASes' CA is now the other one: its NAS gets in, the first CA's is refused.
    let other_ca = pki.ca.with_file_name("other-ca.pem");
    let text = std::fs::read_to_string(server.config_path())
        .unwrap()
        .replace(&pki.path(&pki.ca), &pki.path(&other_ca));
    std::fs::write(server.config_path(), text).unwrap();
    server.signal("HUP");
    assert!(server.wait_for_log(|e| {
        e["message"] == "configuration reloaded"
            && e["changes"]
                .as_str()
                .unwrap_or("")
                .contains("RadSec certificate")
    }));
    let mut nas = TlsNas::connect("127.0.0.1", addr, &pki.ca, Some(&pki.other_ca_nas)).unwrap();
    assert_eq!(status_over(&mut nas), Ok(2), "{}", server.logs());
    let first = TlsNas::connect("127.0.0.1", addr, &pki.ca, Some(&pki.nas))
        .map_err(|e| e.to_string())
        .and_then(|mut nas| status_over(&mut nas));
    assert!(first.is_err(), "{first:?}");
    server.stop();
}

/// An Accounting-Request signed for RadSec (RFC 2866 §3, secret `radsec`).
fn accounting_start(id: u8, session: &str) -> Vec<u8> {
    let body = client::encode_attrs(&[
        (1, b"alice".to_vec()),
        (40, 1u32.to_be_bytes().to_vec()),
        (44, session.as_bytes().to_vec()),
    ]);
    let mut packet = vec![4, id];
    packet.extend_from_slice(&((20 + body.len()) as u16).to_be_bytes());
    packet.extend_from_slice(&[0; 16]);
    packet.extend_from_slice(&body);
    let authenticator = client::md5(&[&packet, b"radsec"]);
    packet[4..20].copy_from_slice(&authenticator);
    packet
}

#[test]
fn accounting_rides_on_the_radsec_connection_when_it_is_served() {
    let pki = Pki::new();
    // Without [accounting]: dropped, said so, and the connection stays open.
    let server_without = server(&pki, 60, 64, "append");
    let mut nas = TlsNas::connect(
        "127.0.0.1",
        server_without.radsec_addrs[0],
        &pki.ca,
        Some(&pki.nas),
    )
    .unwrap();
    nas.send(&accounting_start(1, "t-1")).unwrap();
    server_without.assert_dropped("accounting not served here", "no [accounting] section");
    assert_eq!(status_over(&mut nas), Ok(2));

    // With it: an Accounting-Response on the same connection, and the session kept.
    let conf = Conf {
        extra: pki.section(60, 64) + "\n[accounting]\nlisten = [\"127.0.0.1:0\"]\n",
        radsec_listeners: 1,
        ..Conf::default().clients(vec![radsec_client("nas", "127.0.0.1/32", "")])
    };
    let server = Server::with(conf);
    let mut nas =
        TlsNas::connect("127.0.0.1", server.radsec_addrs[0], &pki.ca, Some(&pki.nas)).unwrap();
    let request = accounting_start(2, "t-2");
    nas.send(&request).unwrap();
    let reply = nas.recv().unwrap();
    assert_eq!(reply[0], 5, "{}", server.logs());
    let expected = client::md5(&[
        &[&reply[..4], &request[4..20], &reply[20..]].concat(),
        b"radsec",
    ]);
    assert_eq!(&reply[4..20], &expected, "the Response Authenticator");
    let listed = json_document(&server.cli(&["sessions", "--json"], ""));
    assert_eq!(listed[0]["session_id"], "t-2", "{listed}");
    assert_eq!(listed[0]["nas"], "nas");
}

#[test]
fn one_address_cannot_take_its_clients_whole_share() {
    let pki = Pki::new();
    // 64 connections for 2 RadSec clients: 32 each, at most 16 from any one address.
    let server = server(&pki, 60, 64, "append");
    let addr = server.radsec_addrs[0];
    let silent: Vec<_> = (0..18)
        .map(|_| tcp_from("127.0.0.3", addr).unwrap())
        .collect();
    wait_for_refusal(&server, "the most one address may hold");
    let refused = refusals(&server)
        .into_iter()
        .filter(|(reason, _)| reason == "address share")
        .count();
    assert_eq!(refused, 2, "{:?}", refusals(&server));
    // The NAS of the other client still gets in.
    let mut nas = TlsNas::connect("127.0.0.1", addr, &pki.ca, Some(&pki.nas)).unwrap();
    assert_eq!(status_over(&mut nas), Ok(2));
    drop(silent);
}

#[test]
fn max_connections_bounds_the_whole() {
    let pki = Pki::new();
    // 3 in all, 2 RadSec clients: a share of 2 each, and the sum of the shares is more.
    let server = server(&pki, 60, 3, "append");
    let addr = server.radsec_addrs[0];
    let silent: Vec<_> = (0..2)
        .map(|_| tcp_from("127.0.0.3", addr).unwrap())
        .collect();
    let mut first = TlsNas::connect("127.0.0.1", addr, &pki.ca, Some(&pki.nas)).unwrap();
    assert_eq!(status_over(&mut first), Ok(2));
    let second = TlsNas::connect("127.0.0.1", addr, &pki.ca, Some(&pki.nas))
        .map_err(|e| e.to_string())
        .and_then(|mut nas| status_over(&mut nas));
    assert!(second.is_err(), "{second:?}");
    wait_for_refusal(
        &server,
        "3 RadSec connections are open ([radsec] max_connections)",
    );
    // Room again once the silent ones go.
    drop(silent);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = TlsNas::connect("127.0.0.1", addr, &pki.ca, Some(&pki.nas))
            .map_err(|e| e.to_string())
            .and_then(|mut nas| status_over(&mut nas));
        if again == Ok(2) {
            break;
        }
        assert!(Instant::now() < deadline, "{again:?}");
        sleep(Duration::from_millis(50));
    }
}
