//! RADIUS accounting (RFC 2866) against independent clients: `radclient … acct` (Start,
//! Interim-Update, Stop, a wrong secret) and pam_radius's session accounting through
//! `pamtester … open_session close_session`; retransmissions answered from the reply cache;
//! Accounting-On clearing a NAS; `radotp sessions`; Status-Server on the accounting port.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::client::{Client, Request, encode_attrs, md5};
use common::*;
use serde_json::Value;

/// Two free consecutive UDP ports on 127.0.0.1 (pam_radius sends accounting to auth + 1).
fn port_pair() -> u16 {
    for _ in 0..50 {
        let first = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && UdpSocket::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two consecutive free ports");
}

fn server_on(auth: u16) -> Server {
    Server::with(Conf {
        listen: vec![format!("127.0.0.1:{auth}")],
        extra: format!(
            "[accounting]\nlisten = [\"127.0.0.1:{}\"]\nmax_sessions = 100\n",
            auth + 1
        ),
        ..Conf::default()
    })
}

fn acct_addr(server: &Server) -> SocketAddr {
    let text = std::fs::read_to_string(server.config_path()).unwrap();
    let port: u16 = text
        .split("[accounting]\nlisten = [\"127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .parse()
        .unwrap();
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn sessions(server: &Server) -> Value {
    json_document(&server.cli(&["sessions", "--json"], ""))
}

fn records(server: &Server) -> Vec<Value> {
    server
        .events()
        .into_iter()
        .filter(|e| e["message"] == "accounting")
        .collect()
}

fn wait_records(server: &Server, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = records(server);
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn acct(server: &Server, input: &str, secret: &str) -> (bool, String) {
    let mut cmd = std::process::Command::new("radclient");
    cmd.args(["-x", "-r", "1", "-t", "2"])
        .arg(acct_addr(server).to_string())
        .arg("acct")
        .arg(secret);
    let out = run(cmd, input, Duration::from_secs(20));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn radclient_start_interim_stop_and_a_wrong_secret() {
    let server = server_on(port_pair());
    let start = "User-Name = \"alice\"\nAcct-Status-Type = Start\nAcct-Session-Id = \"s-1\"\n\
                 Framed-IP-Address = 10.8.0.5\nNAS-Port = 3\n";
    let (ok, text) = acct(&server, start, SECRET);
    assert!(
        ok && text.contains("Received Accounting-Response"),
        "{text}\n{}",
        server.logs()
    );
    let listed = sessions(&server);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["user"], "alice");
    assert_eq!(listed[0]["nas"], "localhost");
    assert_eq!(listed[0]["session_id"], "s-1");
    assert_eq!(listed[0]["address"], "10.8.0.5");

    let interim = "User-Name = \"alice\"\nAcct-Status-Type = Interim-Update\nAcct-Session-Id = \"s-1\"\n\
                   Framed-IP-Address = 10.8.0.5\nAcct-Session-Time = 60\nAcct-Input-Octets = 1000\n\
                   Acct-Output-Octets = 2000\nAcct-Input-Gigawords = 1\n";
    let (ok, text) = acct(&server, interim, SECRET);
    assert!(ok, "{text}");
    // The wrong secret: silence, and nothing recorded.
    let other = "User-Name = \"mallory\"\nAcct-Status-Type = Start\nAcct-Session-Id = \"s-2\"\n";
    let (ok, text) = acct(&server, other, "not-the-secret");
    assert!(
        !ok && !text.contains("Received Accounting-Response"),
        "{text}"
    );
    server.assert_dropped("bad Request Authenticator", "wrong shared secret?");
    assert_eq!(sessions(&server).as_array().unwrap().len(), 1);

    let stop = "User-Name = \"alice\"\nAcct-Status-Type = Stop\nAcct-Session-Id = \"s-1\"\nAcct-Session-Time = 90\n";
    let (ok, text) = acct(&server, stop, SECRET);
    assert!(ok, "{text}");
    assert_eq!(sessions(&server), serde_json::json!([]));

    let logged = wait_records(&server, 3);
    let statuses: Vec<&str> = logged
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["Start", "Interim-Update", "Stop"]);
    assert_eq!(logged[1]["input_octets"], (1u64 << 32) + 1000);
    assert_eq!(logged[1]["output_octets"], 2000);
    assert_eq!(logged[1]["duration_s"], 60);
    assert_eq!(logged[1]["framed_ip"], "10.8.0.5");
    assert_eq!(logged[2]["duration_s"], 90);
    assert!(!server.logs().contains(SECRET));
    let text = String::from_utf8_lossy(&server.cli(&["sessions"], "").stdout).into_owned();
    assert!(text.contains("No open sessions."), "{text}");
}

/// An Accounting-Request signed as RFC 2866 §3 says.
fn accounting_request(id: u8, attrs: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let body = encode_attrs(attrs);
    let mut packet = vec![4, id];
    packet.extend_from_slice(&((20 + body.len()) as u16).to_be_bytes());
    packet.extend_from_slice(&[0; 16]);
    packet.extend_from_slice(&body);
    let authenticator = md5(&[&packet, SECRET.as_bytes()]);
    packet[4..20].copy_from_slice(&authenticator);
    packet
}

fn start(id: &str) -> Vec<(u8, Vec<u8>)> {
    vec![
        (1, b"bob".to_vec()),
        (40, 1u32.to_be_bytes().to_vec()),
        (44, id.as_bytes().to_vec()),
    ]
}

#[test]
fn retransmissions_accounting_on_status_server_and_the_wrong_port() {
    let server = server_on(port_pair());
    let client = Client::new(acct_addr(&server));
    let packet = accounting_request(7, &start("r-1"));
    client.send(&packet);
    let first = client
        .recv(Duration::from_secs(3))
        .expect("an Accounting-Response");
    assert_eq!(first[0], 5);
    // The NAS did not hear it and sends the same again: the same answer, recorded once.
    client.send(&packet);
    let again = client
        .recv(Duration::from_secs(3))
        .expect("the cached answer");
    assert_eq!(again, first);
    assert!(server.wait_for_log(|e| e["message"] == "retransmission: resending the cached reply"));
    for id in ["r-2", "r-3"] {
        client.send(&accounting_request(8, &start(id)));
        assert!(client.recv(Duration::from_secs(3)).is_some());
    }
    assert_eq!(sessions(&server).as_array().unwrap().len(), 3);
    assert_eq!(wait_records(&server, 3).len(), 3);
    // The NAS restarted: Accounting-On ends every session it had.
    client.send(&accounting_request(9, &[(40, 7u32.to_be_bytes().to_vec())]));
    assert!(client.recv(Duration::from_secs(3)).is_some());
    assert_eq!(sessions(&server), serde_json::json!([]));

    // RFC 5997: Status-Server on the accounting port gets an Accounting-Response.
    let reply = client.exchange(&Request::status(SECRET));
    assert_eq!(reply.code, 5);

    // An Accounting-Request on the authentication port is dropped, saying where it belongs.
    let auth = Client::new(server.addr());
    auth.send(&accounting_request(10, &start("wrong-port")));
    assert_eq!(auth.recv(Duration::from_millis(500)), None);
    server.assert_dropped("accounting not served here", "port 1813");
    // A Start without Acct-Session-Id is refused by name.
    client.send(&accounting_request(
        11,
        &[(40, 1u32.to_be_bytes().to_vec())],
    ));
    assert_eq!(client.recv(Duration::from_millis(500)), None);
    server.assert_dropped("malformed", "no Acct-Session-Id");
}

#[test]
fn pam_radius_session_accounting_through_pamtester() {
    let auth = port_pair();
    let server = server_on(auth);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("pam_radius_auth.conf");
    std::fs::write(&conf, format!("127.0.0.1:{auth} {SECRET} 3\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
    // pamtester reads its service from /etc/pam.d: a file of this test's own, removed after.
    let service = format!("radotp-test-{}", std::process::id());
    let pam_file = std::path::Path::new("/etc/pam.d").join(&service);
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    std::fs::write(
        &pam_file,
        format!(
            "session required pam_radius_auth.so conf={}\n",
            conf.display()
        ),
    )
    .expect("write /etc/pam.d (the tests run as root)");
    let _remove = Remove(pam_file);
    let mut cmd = std::process::Command::new("pamtester");
    cmd.args(["-v", &service, "carol", "open_session", "close_session"]);
    let out = run(cmd, "", Duration::from_secs(30));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}\n{}", server.logs());
    let logged = wait_records(&server, 2);
    let statuses: Vec<(&str, &str)> = logged
        .iter()
        .map(|r| (r["status"].as_str().unwrap(), r["user"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [("Start", "carol"), ("Stop", "carol")],
        "{}",
        server.logs()
    );
    assert_eq!(sessions(&server), serde_json::json!([]));
}
