//! The enrollment page and the admin API over HTTPS: the real binary with a test CA's
//! certificate, spoken to by Debian's curl (an independent TLS and HTTP client) — the
//! certificate is presented and checked, every answer carries the security headers (with HSTS),
//! the enrollment cookie is `Secure`, plain HTTP gets no page; and `check-config` names a wrong
//! key or certificate by its key.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::pki::{Ca, Leaf};
use common::*;

/// `curl ARGS… URL`: (status line and headers, body).
fn curl(ca: &Path, url: &str, more: &[&str]) -> (String, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-S", "-D", "-", "--max-time", "10", "--cacert"])
        .arg(ca)
        .args(more)
        .arg(url);
    let out = run(cmd, "", Duration::from_secs(15));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "curl {url}: {}{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    match text.split_once("\r\n\r\n") {
        Some((head, body)) => (head.to_lowercase(), body.to_owned()),
        None => (text.to_lowercase(), String::new()),
    }
}

/// The address the server announced for the page.
fn web_addr(server: &Server) -> SocketAddr {
    let announced = |e: &serde_json::Value| {
        e["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("enrollment page and admin API at https://"))
    };
    assert!(server.wait_for_log(announced), "{}", server.logs());
    server
        .events()
        .iter()
        .find(|e| announced(e))
        .and_then(|e| e["address"].as_str()?.parse().ok())
        .unwrap()
}

#[test]
fn the_page_is_served_over_https_with_its_headers_and_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "ca", "radotp web test CA");
    let cert = ca.issue(dir.path(), "web", &["localhost", "127.0.0.1"], Leaf::Server);
    let server = Server::with(Conf {
        extra: format!(
            "[web]\nlisten = \"127.0.0.1:0\"\ncertificate = {:?}\nprivate_key = {:?}\n\
             public_url = \"https://localhost\"\n",
            cert.cert, cert.key
        ),
        ..Conf::default()
    });
    let addr = web_addr(&server);
    let base = format!("https://localhost:{}", addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", addr.port());

    let (head, body) = curl(&ca.cert, &format!("{base}/"), &["--resolve", &resolve]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    for header in [
        "strict-transport-security: max-age=31536000",
        "content-security-policy: default-src 'none'",
        "x-frame-options: deny",
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
        "cache-control: no-store",
    ] {
        assert!(head.contains(header), "{header} missing:\n{head}");
    }
    assert!(body.contains("invitation link"), "{body}");
    let (head, css) = curl(
        &ca.cert,
        &format!("{base}/static/radotp.css"),
        &["--resolve", &resolve],
    );
    assert!(head.contains("content-type: text/css"), "{head}");
    assert!(css.contains("main {"));

    // A link: the cookie that replaces it in the browser is Secure over HTTPS.
    server.cli(
        &["user", "add", "bob", "--no-token", "--password-stdin"],
        "bob-password\n",
    );
    let out = server.cli(&["user", "invite", "bob", "--json"], "");
    let url = json_document(&out)["url"].as_str().unwrap().to_owned();
    let path = url.strip_prefix("https://localhost").unwrap();
    let (head, _) = curl(&ca.cert, &format!("{base}{path}"), &["--resolve", &resolve]);
    assert!(head.starts_with("http/1.1 303"), "{head}");
    let cookie = head
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie:\n{head}"));
    // The __Host- prefix: browsers accept it only Secure, with Path=/ and no Domain.
    for attribute in [
        "__host-radotp_enroll=",
        "httponly",
        "secure",
        "samesite=lax",
        "path=/;",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("domain"), "{cookie}");
    let pair = cookie
        .trim_start_matches("set-cookie:")
        .trim()
        .split(';')
        .next()
        .unwrap()
        .replace("__host-", "__Host-");
    let (head, page) = curl(
        &ca.cert,
        &format!("{base}/enroll"),
        &["--resolve", &resolve, "-H", &format!("Cookie: {pair}")],
    );
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(page.contains("password-form"), "{page}");

    // The certificate is the one configured: a client trusting another CA refuses it.
    let other = Ca::new(dir.path(), "other", "another CA");
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--max-time", "10", "--resolve", &resolve, "--cacert"])
        .arg(&other.cert)
        .arg(format!("{base}/"));
    assert!(!run(cmd, "", Duration::from_secs(15)).status.success());
    // Plain HTTP on the TLS port gets no page.
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "--max-time",
        "5",
        &format!("http://127.0.0.1:{}/", addr.port()),
    ]);
    let out = run(cmd, "", Duration::from_secs(10));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("invitation link"),
        "a page over plain HTTP"
    );
}

#[test]
fn check_config_names_a_wrong_key_or_a_plain_listener_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "ca", "radotp web test CA");
    let one = ca.issue(dir.path(), "one", &["localhost"], Leaf::Server);
    let two = ca.issue(dir.path(), "two", &["localhost"], Leaf::Server);
    let config = dir.path().join("radotp.toml");
    let write = |web: &str| {
        let text = format!("{}\n[web]\n{web}\n", Conf::default().to_toml());
        std::fs::write(&config, text).unwrap();
    };
    write(&format!(
        "certificate = {:?}\nprivate_key = {:?}\npublic_url = \"https://otp.example.org\"",
        one.cert, two.key
    ));
    let out = radotp(&config, &["check-config"], "");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("web.private_key") && err.contains("is not the key of the certificate"),
        "{err}"
    );
    write("listen = \"0.0.0.0:8443\"\npublic_url = \"https://otp.example.org\"");
    let out = radotp(&config, &["check-config"], "");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("web.certificate") && err.contains("loopback"),
        "{err}"
    );
    write(&format!(
        "listen = \"0.0.0.0:8443\"\ncertificate = {:?}\nprivate_key = {:?}\npublic_url = \"https://otp.example.org\"",
        one.cert, one.key
    ));
    let out = radotp(&config, &["check-config"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
