//! The admin HTTP API (`/api/v1/…`) against the real binary, with Debian's `curl` as the
//! client: a bearer token made by `radotp api-token create`, every operation of the served
//! OpenAPI document called at least once, results checked against the command line's view
//! and against real RADIUS logins (codes from `oathtool`), refusals with the field they are
//! about, one audit line per call with no secret in the whole log, and the limit on calls
//! with wrong tokens.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::client::*;
use common::web::WebConf;
use common::*;
use serde_json::{Value, json};

const DAVE_PW: &str = "pw-dave-Kq7vXr2m";
const ERIN_PW: &str = "pw-erin-Zt4nLp8w";
const GRACE_PW: &str = "pw-grace-Hb3sYc6d";
const FRANK_PW: &str = "pw-frank-Wm5jTd9q";
/// Well-formed (`radotp_` and 64 hex digits) but never made.
const WRONG_TOKEN: &str = "radotp_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
/// Not even of a token's shape.
const MALFORMED_TOKEN: &str = "hunter2-not-a-token";

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server with `[web]` in plain HTTP on a free loopback port (and `more` TOML), started
/// once its web listener is announced; and the listener's base URL (also its `public_url`).
fn web_server(more: &str) -> (Server, String) {
    let conf = Conf {
        extra: more.to_owned(),
        ..Conf::default()
    };
    let server = Server::with(conf.web(WebConf::loopback()));
    let base = server.web_url();
    (server, base)
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `radotp api-token create NAME --json`: the token.
fn create_token(server: &Server, name: &str) -> String {
    let out = server.cli(&["api-token", "create", name, "--json"], "");
    ok(&out);
    let v = json_document(&out);
    assert_eq!(v["name"], name, "{v}");
    let token = v["token"].as_str().expect("\"token\"").to_owned();
    assert!(
        token.starts_with("radotp_") && token.len() == "radotp_".len() + 64,
        "{token}"
    );
    token
}

/// `radotp user show NAME --json`.
fn cli_user(server: &Server, name: &str) -> Value {
    json_document(&server.cli(&["user", "show", name, "--json"], ""))
}

/// The TOTP code of `secret` (base32) at the server's clock, by `oathtool`.
fn totp(server: &Server, secret: &str) -> String {
    let mut cmd = Command::new("oathtool");
    cmd.args([
        "--totp",
        "-b",
        secret,
        "--now",
        &format!("@{}", server.now()),
    ]);
    ok(&run(cmd, "", Duration::from_secs(10))).trim().to_owned()
}

/// Access-Accept (`true`) or Access-Reject (`false`) for `input` as `user`'s User-Password.
fn logs_in(server: &Server, user: &str, input: &str) -> bool {
    let code = Client::new(server.addr())
        .exchange(&Request::access(SECRET, user, input.as_bytes()))
        .code;
    assert!(matches!(code, ACCESS_ACCEPT | ACCESS_REJECT), "code {code}");
    code == ACCESS_ACCEPT
}

/// Waits (bounded) for the decision line of a request by `user` whose reason (with its
/// detail) contains `reason`.
fn decided(server: &Server, user: &str, reason: &str) {
    assert!(
        server.wait_for_event(|e| e["user"] == user && said(e).contains(reason)),
        "no request event for {user} with reason containing {reason:?}; log:\n{}",
        server.logs()
    );
}

/// `unix` as RFC 3339 UTC, by `date`.
fn rfc3339(unix: u64) -> String {
    let mut cmd = Command::new("date");
    cmd.args(["-u", "-d", &format!("@{unix}"), "+%Y-%m-%dT%H:%M:%SZ"]);
    ok(&run(cmd, "", Duration::from_secs(10))).trim().to_owned()
}

/// The audit lines of the API: every event whose message begins with "api call".
fn audit_lines(server: &Server) -> Vec<Value> {
    server
        .events()
        .into_iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("api call"))
        })
        .collect()
}

/// One answer of the API, with the audit line the call produced.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Response header lines, as received.
    headers: Vec<String>,
    text: String,
    json: Value,
    audit: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.headers
            .iter()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// Asserts the status.
    fn status(&self, want: u16) -> &Self {
        assert_eq!(self.status, want, "{self:#?}");
        self
    }

    /// Asserts a 400 naming `field`, with a message.
    fn bad_field(&self, field: &str) -> &Self {
        self.status(400);
        assert_eq!(self.json["field"], field, "{self:#?}");
        assert!(
            self.json["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{self:#?}"
        );
        self
    }

    /// Asserts the audit line of a call the token `token` was let in for: "api call" (2xx) or
    /// "api call refused" (with its reason), naming the token, the action, the user (or none)
    /// and the status.
    fn audited(&self, token: &str, action: &str, user: Option<&str>) -> &Self {
        let a = &self.audit;
        let message = if self.status < 400 {
            "api call"
        } else {
            "api call refused"
        };
        assert_eq!(a["message"], message, "{a}");
        assert_eq!(a["api_token"], token, "{a}");
        assert_eq!(a["action"], action, "{a}");
        assert_eq!(a["status"], self.status, "{a}");
        match user {
            Some(user) => assert_eq!(a["user"], user, "{a}"),
            None => assert!(a.get("user").is_none_or(Value::is_null), "{a}"),
        }
        assert!(
            a["address"].as_str().is_some_and(|s| s == "127.0.0.1"),
            "{a}"
        );
        if self.status >= 400 {
            assert!(a["reason"].as_str().is_some_and(|r| !r.is_empty()), "{a}");
        }
        self
    }

    /// Asserts a call refused for its token: 401 with `WWW-Authenticate: Bearer …`, and an
    /// audit line with the action, status 401 and no token name.
    fn refused_for_token(&self, action: &str) -> &Self {
        self.status(401);
        let challenge = self.header("WWW-Authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{self:#?}");
        let a = &self.audit;
        assert!(
            a["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("api call refused")),
            "{a}"
        );
        assert_eq!(a["action"], action, "{a}");
        assert_eq!(a["status"], 401, "{a}");
        assert!(a.get("api_token").is_none_or(Value::is_null), "{a}");
        self
    }
}

/// One call made: for the check against the OpenAPI document.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    template: String,
    status: u16,
}

/// The API of one server, through `curl`.
struct Api<'a> {
    server: &'a Server,
    base: String,
    files: tempfile::TempDir,
    calls: RefCell<Vec<Call>>,
    /// Calls that must have produced an audit line.
    audited: RefCell<usize>,
    /// Requests sent, to name their files.
    sent: Cell<usize>,
}

impl<'a> Api<'a> {
    fn new(server: &'a Server, base: &str) -> Self {
        Api {
            server,
            base: base.to_owned(),
            files: tempfile::tempdir().unwrap(),
            calls: RefCell::new(Vec::new()),
            audited: RefCell::new(0),
            sent: Cell::new(0),
        }
    }

    /// `curl` METHOD URL with the token and the body, from `source` if given: status, header
    /// lines, body.
    fn curl(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<&str>,
        source: Option<&str>,
    ) -> (u16, Vec<String>, String) {
        let n = self.sent.get();
        self.sent.set(n + 1);
        let body_file = self.files.path().join(format!("{n}.body"));
        let head_file = self.files.path().join(format!("{n}.head"));
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-S", "--max-time", "10", "-o"])
            .arg(&body_file)
            .arg("-D")
            .arg(&head_file)
            .args(["-w", "%{http_code}", "-X", method]);
        if let Some(token) = token {
            cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        if let Some(body) = body {
            cmd.args(["-H", "Content-Type: application/json", "--data-raw", body]);
        }
        if let Some(source) = source {
            cmd.args(["--interface", source]);
        }
        cmd.arg(url);
        let out = run(cmd, "", Duration::from_secs(20));
        let code = ok(&out);
        let status: u16 = code
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("curl -w %{{http_code}} printed {code:?}"));
        let headers = std::fs::read_to_string(&head_file)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        let text = std::fs::read_to_string(&body_file).unwrap_or_default();
        (status, headers, text)
    }

    /// GET the OpenAPI document (no token needed).
    fn document(&self) -> Value {
        let (status, headers, text) = self.curl(
            "GET",
            &format!("{}/api/v1/openapi.json", self.base),
            None,
            None,
            None,
        );
        assert_eq!(status, 200, "{headers:?}\n{text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// Call the operation `METHOD template` (`/users/{name}/disable`) for the user `name`,
    /// with a token and a body; waits (bounded) for its audit line and asserts there is
    /// exactly one.
    fn call(
        &self,
        method: &str,
        template: &str,
        name: Option<&str>,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        self.call_from(method, template, name, token, body, None)
    }

    fn call_from(
        &self,
        method: &str,
        template: &str,
        name: Option<&str>,
        token: Option<&str>,
        body: Option<&str>,
        source: Option<&str>,
    ) -> Answer {
        let path = match name {
            Some(name) => template.replace("{name}", &percent_encode(name)),
            None => template.to_owned(),
        };
        let before = audit_lines(self.server).len();
        let (status, headers, text) = self.curl(
            method,
            &format!("{}/api/v1{path}", self.base),
            token,
            body,
            source,
        );
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut lines = audit_lines(self.server);
        while lines.len() <= before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            lines = audit_lines(self.server);
        }
        let new = &lines[before..];
        assert_eq!(
            new.len(),
            1,
            "{method} {path} → {status}: expected exactly one audit line, got {new:#?}\nlog:\n{}",
            self.server.logs()
        );
        *self.audited.borrow_mut() += 1;
        self.calls.borrow_mut().push(Call {
            method: method.to_owned(),
            template: template.to_owned(),
            status,
        });
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path} → {status}: not JSON ({e}): {text}"));
        let answer = Answer {
            status,
            headers,
            text,
            json,
            audit: new[0].clone(),
        };
        if let Some(kind) = answer.header("Content-Type") {
            assert!(kind.starts_with("application/json"), "{answer:#?}");
        } else {
            panic!("no Content-Type: {answer:#?}");
        }
        answer
    }
}

/// A path segment, percent-encoded (RFC 3986 unreserved characters kept).
fn percent_encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `radclient acct`: an Accounting-Request Start for `user`, session `id`.
fn accounting_start(port: u16, user: &str, id: &str) {
    let mut cmd = Command::new("radclient");
    cmd.args(["-x", "-r", "1", "-t", "3"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("acct")
        .arg(SECRET);
    let input = format!(
        "User-Name = \"{user}\"\nAcct-Status-Type = Start\nAcct-Session-Id = \"{id}\"\n\
         Framed-IP-Address = 10.8.0.7\n"
    );
    let out = run(cmd, &input, Duration::from_secs(20));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("Received Accounting-Response"),
        "{text}"
    );
}

#[test]
fn every_documented_operation_against_the_cli_and_radius() {
    let acct_port = free_udp_port();
    let (mut server, base) = web_server(&format!(
        "[accounting]\nlisten = [\"127.0.0.1:{acct_port}\"]\nmax_sessions = 100\n"
    ));
    let api = Api::new(&server, &base);
    let t0 = server.now();

    // Tokens: made by the command line, listed without their values.
    let ci = create_token(&server, "ci");
    let ops = create_token(&server, "ops");
    assert_ne!(ci, ops);
    let out = server.cli(&["api-token", "list", "--json"], "");
    let listed = ok(&out);
    assert!(!listed.contains(&ci) && !listed.contains(&ops), "{listed}");
    let listed = json_document(&out);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ci", "ops"], "{listed}");
    assert_eq!(listed[0]["created"], rfc3339(t0), "{listed}");
    assert!(listed[0]["last_used"].is_null(), "{listed}");
    assert!(listed[0].get("token").is_none(), "{listed}");

    let doc = api.document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    let ci_token = ci.clone();
    let ci = Some(ci_token.as_str());

    // Refused for the token: none, a wrong one, one not even of a token's shape.
    let a = api.call("GET", "/users", None, None, None);
    a.refused_for_token("user.list");
    assert!(
        a.json["error"].as_str().unwrap().contains("Bearer"),
        "{a:#?}"
    );
    api.call(
        "POST",
        "/users/{name}/disable",
        Some("dave"),
        Some(WRONG_TOKEN),
        None,
    )
    .refused_for_token("user.disable");
    api.call("GET", "/sessions", None, Some(MALFORMED_TOKEN), None)
        .refused_for_token("session.list");

    // dave, with a TOTP app: logs in over RADIUS, and the CLI sees what the API answered.
    let a = api.call(
        "POST",
        "/users",
        None,
        ci,
        Some(&json!({ "name": "dave", "password": DAVE_PW, "totp": true }).to_string()),
    );
    a.status(201).audited("ci", "user.add", Some("dave"));
    let secret = a.json["totp"]["secret"]
        .as_str()
        .expect("totp.secret")
        .to_owned();
    let uri = a.json["totp"]["otpauth_uri"]
        .as_str()
        .expect("totp.otpauth_uri");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("issuer=radotp"), "{uri}");
    assert_eq!(a.json["user"]["name"], "dave");
    assert_eq!(a.json["user"]["enabled"], true);
    assert_eq!(a.json["user"]["password_source"], "local");
    assert_eq!(a.json["user"]["tokens"].as_array().unwrap().len(), 1);
    assert_eq!(a.json["user"], cli_user(&server, "dave"));
    assert!(!a.json["user"].to_string().contains(&secret));
    assert!(logs_in(
        &server,
        "dave",
        &format!("{DAVE_PW}{}", totp(&server, &secret))
    ));
    decided(&server, "dave", "TOTP code");
    let a = api.call("GET", "/users/{name}", Some("dave"), ci, None);
    a.status(200).audited("ci", "user.show", Some("dave"));
    assert_eq!(a.json, cli_user(&server, "dave"));
    assert!(a.json["last_login"].is_string(), "{:#}", a.json);
    assert!(
        !a.text.contains(&secret) && !a.text.contains("$argon2"),
        "{}",
        a.text
    );

    // Bad bodies: 400 naming the field; nothing is made.
    let add = |body: &str| api.call("POST", "/users", None, ci, Some(body));
    add(r#"{"nme":"x"}"#)
        .bad_field("nme")
        .audited("ci", "user.add", None);
    add(r#"{"name": 5}"#)
        .bad_field("name")
        .audited("ci", "user.add", None);
    add("{}").bad_field("name").audited("ci", "user.add", None);
    add("name=frank&password=x")
        .bad_field("body")
        .audited("ci", "user.add", None);
    add(&json!({ "name": "frank", "password": FRANK_PW, "email": "not-an-address" }).to_string())
        .bad_field("email")
        .audited("ci", "user.add", Some("frank"));
    assert_eq!(
        server
            .cli(&["user", "show", "frank", "--json"], "")
            .status
            .code(),
        Some(2),
        "frank was made by a refused call"
    );
    for ttl in ["forever", "31d"] {
        api.call(
            "POST",
            "/users/{name}/temporary-password",
            Some("dave"),
            ci,
            Some(&json!({ "ttl": ttl }).to_string()),
        )
        .bad_field("ttl")
        .audited("ci", "user.temporary-password", Some("dave"));
    }
    assert!(cli_user(&server, "dave")["password_expires_at"].is_null());
    // A name taken, a user unknown.
    let a = add(&json!({ "name": "dave", "password": "pw-other-1" }).to_string());
    a.status(409).audited("ci", "user.add", Some("dave"));
    assert!(a.json["error"].as_str().unwrap().contains("dave"), "{a:#?}");
    let a = api.call("GET", "/users/{name}", Some("nobody"), ci, None);
    a.status(404).audited("ci", "user.show", Some("nobody"));
    api.call("POST", "/users/{name}/disable", Some("nobody"), ci, None)
        .status(404)
        .audited("ci", "user.disable", Some("nobody"));

    // erin, without a token: invited; dave, who has one, cannot be.
    let a = add(&json!({ "name": "erin", "password": ERIN_PW }).to_string());
    a.status(201).audited("ci", "user.add", Some("erin"));
    assert!(a.json["totp"].is_null(), "{:#}", a.json);
    assert_eq!(a.json["user"]["tokens"], json!([]));
    assert_eq!(a.json["user"], cli_user(&server, "erin"));
    assert!(!logs_in(&server, "erin", &format!("{ERIN_PW}123456")));
    decided(&server, "erin", "wrong password or code");
    let a = api.call("POST", "/users/{name}/invitation", Some("erin"), ci, None);
    a.status(201).audited("ci", "user.invite", Some("erin"));
    let url = a.json["url"].as_str().expect("url").to_owned();
    let link_secret = url
        .strip_prefix(&format!("{base}/enroll/"))
        .unwrap_or_else(|| panic!("{url} is not under {base}/enroll/"))
        .to_owned();
    assert!(
        link_secret.len() == 32 && link_secret.bytes().all(|b| b.is_ascii_hexdigit()),
        "{url}"
    );
    assert_eq!(a.json["name"], "erin");
    assert_eq!(a.json["expires_at"], rfc3339(t0 + 72 * 3600));
    let a = api.call("GET", "/users/{name}", Some("erin"), ci, None);
    a.status(200).audited("ci", "user.show", Some("erin"));
    assert_eq!(a.json["invitation"]["state"], "pending", "{:#}", a.json);
    assert_eq!(a.json["invitation"]["expires_at"], rfc3339(t0 + 72 * 3600));
    assert!(!a.text.contains(&link_secret), "{}", a.text);
    assert_eq!(a.json, cli_user(&server, "erin"));
    // The link is real: the page takes it (and moves on to /enroll, the secret out of the URL).
    let (status, headers, page) = api.curl("GET", &url, None, None, None);
    assert!(
        status == 303
            && headers
                .iter()
                .any(|h| h.to_ascii_lowercase().starts_with("location:")
                    && h.trim_end().ends_with("/enroll")),
        "the invitation link does not open: {status} {headers:?}\n{page}"
    );
    let a = api.call(
        "POST",
        "/users/{name}/invitation",
        Some("dave"),
        ci,
        Some("{}"),
    );
    a.status(409).audited("ci", "user.invite", Some("dave"));
    let error = a.json["error"].as_str().unwrap();
    assert!(
        error.contains("already has an active token")
            && error.contains("radotp token remove dave")
            && error.contains("radotp user reset-otp dave"),
        "{error}"
    );

    // Disabled: refused at login; enabled: let in again.
    let a = api.call("POST", "/users/{name}/disable", Some("dave"), ci, None);
    a.status(200).audited("ci", "user.disable", Some("dave"));
    assert_eq!(a.json["enabled"], false);
    assert_eq!(cli_user(&server, "dave")["enabled"], false);
    server.advance(30);
    assert!(!logs_in(
        &server,
        "dave",
        &format!("{DAVE_PW}{}", totp(&server, &secret))
    ));
    decided(&server, "dave", "disabled");
    let a = api.call("POST", "/users/{name}/enable", Some("dave"), ci, None);
    a.status(200).audited("ci", "user.enable", Some("dave"));
    assert_eq!(a.json["enabled"], true);
    assert_eq!(cli_user(&server, "dave")["enabled"], true);
    server.advance(30);
    assert!(logs_in(
        &server,
        "dave",
        &format!("{DAVE_PW}{}", totp(&server, &secret))
    ));

    // A temporary password: works with a code, and replaced the old one.
    let a = api.call(
        "POST",
        "/users/{name}/temporary-password",
        Some("dave"),
        ci,
        Some(r#"{"ttl":"2h"}"#),
    );
    a.status(200)
        .audited("ci", "user.temporary-password", Some("dave"));
    let temporary = a.json["password"].as_str().expect("password").to_owned();
    assert!(temporary.len() >= 12 && temporary != DAVE_PW, "{temporary}");
    assert_eq!(a.json["name"], "dave");
    let expires = rfc3339(server.now() + 7200);
    assert_eq!(a.json["expires_at"], expires);
    assert_eq!(cli_user(&server, "dave")["password_expires_at"], expires);
    server.advance(30);
    assert!(logs_in(
        &server,
        "dave",
        &format!("{temporary}{}", totp(&server, &secret))
    ));
    decided(&server, "dave", "temporary password");
    server.advance(30);
    assert!(!logs_in(
        &server,
        "dave",
        &format!("{DAVE_PW}{}", totp(&server, &secret))
    ));
    decided(&server, "dave", "wrong password");
    // Wrong passwords from a station dave never used are counted against him (throttled).
    for i in 0..2 {
        let guess = Request::access(SECRET, "dave", format!("guess-{i}").as_bytes())
            .attr(31, b"02-66-66-66-66-66");
        assert_eq!(
            Client::new(server.addr()).exchange(&guess).code,
            ACCESS_REJECT
        );
    }
    let before = cli_user(&server, "dave");
    assert_eq!(before["wrong_passwords"], 2, "{before:#}");

    // Unlock: the counters are cleared.
    let a = api.call("POST", "/users/{name}/unlock", Some("dave"), ci, None);
    a.status(200).audited("ci", "user.unlock", Some("dave"));
    assert_eq!(a.json["failures"], 0, "{:#}", a.json);
    assert_eq!(a.json["wrong_passwords"], 0, "{:#}", a.json);
    assert!(a.json["locked_until"].is_null(), "{:#}", a.json);
    assert_eq!(a.json, cli_user(&server, "dave"));

    // Recovery codes: ten, one lets dave in.
    let a = api.call(
        "POST",
        "/users/{name}/recovery-codes",
        Some("dave"),
        ci,
        None,
    );
    a.status(200)
        .audited("ci", "user.recovery-codes", Some("dave"));
    let codes: Vec<String> = a.json["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert_eq!(codes.iter().collect::<BTreeSet<_>>().len(), 10, "{codes:?}");
    assert_eq!(cli_user(&server, "dave")["recovery_codes_left"], 10);
    assert!(logs_in(
        &server,
        "dave",
        &format!("{temporary}{}", codes[3])
    ));
    assert!(
        server.wait_for_event(|e| e["user"] == "dave"
            && e["reason"] == "recovery code"
            && e["detail"].as_str().is_some_and(|d| d.ends_with("9 left"))),
        "no recovery-code login with 9 left; log:\n{}",
        server.logs()
    );
    assert_eq!(cli_user(&server, "dave")["recovery_codes_left"], 9);

    // Sessions: what accounting recorded, as `radotp sessions --json` shows it.
    accounting_start(acct_port, "dave", "s-api-1");
    let a = api.call("GET", "/sessions", None, ci, None);
    a.status(200).audited("ci", "session.list", None);
    assert_eq!(a.json.as_array().unwrap().len(), 1, "{:#}", a.json);
    assert_eq!(a.json[0]["user"], "dave");
    assert_eq!(a.json[0]["session_id"], "s-api-1");
    assert_eq!(a.json[0]["address"], "10.8.0.7");
    assert_eq!(
        a.json,
        json_document(&server.cli(&["sessions", "--json"], ""))
    );

    // A name that needs encoding in the path.
    let a = add(&json!({ "name": "grace smith", "password": GRACE_PW, "totp": true }).to_string());
    a.status(201).audited("ci", "user.add", Some("grace smith"));
    let grace_secret = a.json["totp"]["secret"].as_str().unwrap().to_owned();
    let a = api.call("GET", "/users/{name}", Some("grace smith"), ci, None);
    a.status(200)
        .audited("ci", "user.show", Some("grace smith"));
    assert_eq!(a.json["name"], "grace smith");

    // The list, as `radotp user list --json`.
    let a = api.call("GET", "/users", None, ci, None);
    a.status(200).audited("ci", "user.list", None);
    let names: Vec<&str> = a
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for name in ["dave", "erin", "grace smith"] {
        assert!(names.contains(&name), "{names:?}");
    }
    assert_eq!(
        a.json,
        json_document(&server.cli(&["user", "list", "--json"], ""))
    );
    assert!(
        !a.text.contains(&secret) && !a.text.contains("$argon2"),
        "{}",
        a.text
    );

    // Remove: gone for the API and the CLI.
    let a = api.call("DELETE", "/users/{name}", Some("erin"), ci, None);
    a.status(200).audited("ci", "user.remove", Some("erin"));
    assert_eq!(a.json, json!({ "removed": "erin" }));
    api.call("GET", "/users/{name}", Some("erin"), ci, None)
        .status(404)
        .audited("ci", "user.show", Some("erin"));
    api.call("DELETE", "/users/{name}", Some("erin"), ci, None)
        .status(404)
        .audited("ci", "user.remove", Some("erin"));
    assert_eq!(
        server
            .cli(&["user", "show", "erin", "--json"], "")
            .status
            .code(),
        Some(2)
    );

    // An endpoint the API does not have (with a good token): 404, audited as "unknown".
    let a = api.call("GET", "/nope", None, ci, None);
    a.status(404).audited("ci", "unknown", None);
    api.calls.borrow_mut().retain(|c| c.template != "/nope");

    // The token's last use is recorded; revoked, it is refused at once; the other works on.
    let listed = json_document(&server.cli(&["api-token", "list", "--json"], ""));
    assert_eq!(listed[0]["name"], "ci");
    assert!(listed[0]["last_used"].is_string(), "{listed}");
    assert!(listed[1]["last_used"].is_null(), "{listed}");
    ok(&server.cli(&["api-token", "remove", "ci"], ""));
    api.call("GET", "/users", None, ci, None)
        .refused_for_token("user.list");
    api.call("GET", "/users/{name}", Some("dave"), Some(&ops), None)
        .status(200)
        .audited("ops", "user.show", Some("dave"));
    let listed = json_document(&server.cli(&["api-token", "list", "--json"], ""));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["name"], "ops");

    // Every operation of the document was called, and answered with its success status at
    // least once; every answer's status is one the document lists; nothing else was called.
    let calls = api.calls.borrow().clone();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let method = method.to_ascii_uppercase();
            let responses = op["responses"].as_object().unwrap();
            let success: Vec<&String> = responses.keys().filter(|k| k.starts_with('2')).collect();
            assert_eq!(success.len(), 1, "{method} {path}: {responses:?}");
            let mine: Vec<&Call> = calls
                .iter()
                .filter(|c| c.method == method && &c.template == path)
                .collect();
            assert!(
                mine.iter().any(|c| c.status.to_string() == *success[0]),
                "{method} {path} (documented) never answered {}: {mine:?}",
                success[0]
            );
            for c in &mine {
                assert!(
                    responses.contains_key(&c.status.to_string()),
                    "{method} {path} answered {}, which the document does not list",
                    c.status
                );
            }
            documented.insert((method, path.clone()));
        }
    }
    assert_eq!(documented.len(), 11, "{documented:?}");
    let called: BTreeSet<(String, String)> = calls
        .iter()
        .map(|c| (c.method.clone(), c.template.clone()))
        .collect();
    assert_eq!(
        called, documented,
        "calls to operations not in the document"
    );

    // One audit line per call (none late), and no secret anywhere in the log.
    let audited = *api.audited.borrow();
    drop(api);
    server.stop();
    let lines = audit_lines(&server);
    assert_eq!(lines.len(), audited, "{lines:#?}");
    let log = server.logs();
    let secrets: Vec<(&str, &str)> = [
        ("the token ci", ci_token.as_str()),
        ("the token ops", ops.as_str()),
        ("a wrong token", WRONG_TOKEN),
        ("a malformed token", MALFORMED_TOKEN),
        ("dave's password", DAVE_PW),
        ("erin's password", ERIN_PW),
        ("grace's password", GRACE_PW),
        ("frank's password", FRANK_PW),
        ("the temporary password", temporary.as_str()),
        ("dave's TOTP secret", secret.as_str()),
        ("grace's TOTP secret", grace_secret.as_str()),
        ("the invitation's secret", link_secret.as_str()),
    ]
    .into_iter()
    .chain(codes.iter().map(|c| ("a recovery code", c.as_str())))
    .collect();
    for (what, value) in secrets {
        assert!(
            !log.contains(value),
            "{what} ({value}) is in the log:\n{log}"
        );
    }
}

#[test]
fn wrong_tokens_from_one_address_are_limited() {
    let (server, base) = web_server("");
    let api = Api::new(&server, &base);
    let token = create_token(&server, "ci");
    for i in 0..10 {
        let a = api.call("GET", "/users", None, Some(WRONG_TOKEN), None);
        assert_eq!(a.status, 401, "call {i}: {a:#?}");
    }
    let a = api.call("GET", "/users", None, Some(WRONG_TOKEN), None);
    a.status(429);
    let wait: u64 = a
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=60).contains(&wait), "{a:#?}");
    assert!(
        a.json["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{a:#?}"
    );
    assert_eq!(a.audit["status"], 429, "{:#}", a.audit);
    assert_eq!(a.audit["action"], "user.list", "{:#}", a.audit);
    assert_eq!(a.audit["address"], "127.0.0.1", "{:#}", a.audit);
    let a = api.call("GET", "/sessions", None, None, None);
    a.status(429);
    // A right token from the flooded address is still served (behind a reverse proxy every
    // caller shares the proxy's address).
    let a = api.call("GET", "/users", None, Some(&token), None);
    a.status(200);
    assert_eq!(a.audit["api_token"], "ci", "{:#}", a.audit);
    // Another address is not slowed: a right token from 127.0.0.2 is let in.
    let a = api.call_from("GET", "/users", None, Some(&token), None, Some("127.0.0.2"));
    a.status(200);
    assert_eq!(a.audit["api_token"], "ci", "{:#}", a.audit);
    assert_eq!(a.audit["address"], "127.0.0.2", "{:#}", a.audit);
    assert!(!server.logs().contains(&token) && !server.logs().contains(WRONG_TOKEN));
}

/// `curl` a GET with these extra headers: the status.
fn get_status(url: &str, headers: &[&str]) -> u16 {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "--max-time",
        "10",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
    ]);
    for header in headers {
        cmd.args(["-H", header]);
    }
    cmd.arg(url);
    let out = run(cmd, "", Duration::from_secs(20));
    ok(&out).trim().parse().unwrap()
}

#[test]
fn behind_a_trusted_proxy_each_browser_has_its_own_limit() {
    let mut web = WebConf::loopback();
    web.extra = "trusted_proxies = [\"127.0.0.1\"]\n".to_owned();
    let server = Server::with(Conf::default().web(web));
    let url = format!("{}/api/v1/users", server.web_url());
    let wrong = format!("Authorization: Bearer {WRONG_TOKEN}");
    let from = |ip: &str| format!("X-Forwarded-For: {ip}");
    for _ in 0..10 {
        assert_eq!(get_status(&url, &[&wrong, &from("192.0.2.1")]), 401);
    }
    assert_eq!(get_status(&url, &[&wrong, &from("192.0.2.1")]), 429);
    // Another browser behind the same proxy is not slowed by the first.
    assert_eq!(get_status(&url, &[&wrong, &from("192.0.2.2")]), 401);
    // What a browser puts in the header itself, left of the proxy's hop, is not believed.
    assert_eq!(
        get_status(&url, &[&wrong, &from("192.0.2.99, 192.0.2.1")]),
        429
    );
    let refused: Vec<Value> = server
        .events()
        .into_iter()
        .filter(|e| e["message"] == "api call refused")
        .collect();
    assert!(
        refused.iter().any(|e| e["address"] == "192.0.2.1"),
        "{refused:?}"
    );
    assert!(
        refused.iter().any(|e| e["address"] == "192.0.2.2"),
        "{refused:?}"
    );
    assert!(
        !refused.iter().any(|e| e["address"] == "192.0.2.99"),
        "{refused:?}"
    );
}

#[test]
fn forwarded_addresses_are_ignored_from_untrusted_peers() {
    let (server, base) = web_server("");
    let url = format!("{base}/api/v1/users");
    let wrong = format!("Authorization: Bearer {WRONG_TOKEN}");
    for i in 0..10 {
        let from = format!("X-Forwarded-For: 192.0.2.{i}");
        assert_eq!(get_status(&url, &[&wrong, &from]), 401);
    }
    // Ten addresses claimed, one peer: its limit is reached all the same.
    assert_eq!(
        get_status(&url, &[&wrong, "X-Forwarded-For: 192.0.2.200"]),
        429
    );
    assert!(
        server
            .events()
            .iter()
            .filter(|e| e["message"] == "api call refused")
            .all(|e| e["address"] == "127.0.0.1")
    );
}

/// `--send` (CLI) and `{"send": true}` (API) hand the link to `[delivery]` as a document of
/// its own kind, and then show it to nobody else; without a delivery address they refuse.
#[test]
fn invitations_are_sent_through_delivery_and_then_not_shown() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/send-code");
    let (server, base) = web_server(&format!(
        "[delivery]\ncommand = [\"{script}\"]\nresend_cooldown_secs = 0\n"
    ));
    let delivered = || {
        let path = server.config_path().with_file_name("delivered.jsonl");
        json_lines(&std::fs::read_to_string(path).unwrap_or_default())
    };
    ok(&server.cli(
        &[
            "user",
            "add",
            "erin",
            "--no-token",
            "--password-stdin",
            "--email",
            "erin@example.org",
        ],
        "erin-password\n",
    ));
    let out = server.cli(&["user", "invite", "erin", "--send", "--json"], "");
    let said = json_document(&out);
    assert_eq!(said["sent_to"], "email erin@example.org", "{said:#}");
    assert!(said.get("url").is_none(), "{said:#}");
    let sent = delivered();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["kind"], "invitation");
    assert_eq!(sent[0]["destination"], "erin@example.org");
    let link = sent[0]["link"].as_str().unwrap().to_owned();
    assert!(link.starts_with(&format!("{base}/enroll/")), "{link}");
    assert!(sent[0]["message"].as_str().unwrap().contains(&link));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&link));
    // By the API: sent, and the answer holds no link.
    let token = create_token(&server, "ci");
    let api = Api::new(&server, &base);
    let a = api.call(
        "POST",
        "/users/{name}/invitation",
        Some("erin"),
        Some(&token),
        Some(r#"{"send":true}"#),
    );
    a.status(201);
    assert!(a.json.get("url").is_none(), "{a:#?}");
    assert_eq!(delivered().len(), 2);
    // The earlier link no longer works; no secret of either reached the log.
    assert!(!server.logs().contains(&link));
    // No address: refused with what to do, exit 2.
    ok(&server.cli(
        &["user", "add", "finn", "--no-token", "--password-stdin"],
        "finn-password\n",
    ));
    let out = server.cli(&["user", "invite", "finn", "--send"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("radotp user set finn --email"));
}
