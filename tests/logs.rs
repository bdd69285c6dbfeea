//! The log as an administrator's tools read it: every text line is valid logfmt and every JSON
//! line a typed object, decisions and drops carry the same fields, and a drop names the user
//! the request was for.

mod common;

use common::client::*;
use common::*;
use serde_json::Value;

/// The fields of every request line, decision or drop, in order.
const REQUEST_FIELDS: [&str; 10] = [
    "client",
    "peer",
    "transport",
    "id",
    "code",
    "user",
    "outcome",
    "reason",
    "detail",
    "verify_ms",
];

/// A reject, a drop without Message-Authenticator (for a user with a space and a quote in the
/// name), and a Status-Server.
fn traffic(server: &Server) {
    let secret = server.add_user("alice", "pw-alice");
    let client = Client::new(server.addr());
    let wrong = format!("pw-wrong{}", code_now(&secret));
    assert_eq!(
        client
            .exchange(&Request::access(SECRET, "alice", wrong.as_bytes()))
            .code,
        ACCESS_REJECT
    );
    let unsigned = Request::access(SECRET, "bob \"the\" builder", b"x").without_ma();
    client.expect_no_reply(&unsigned.encode(), SECRET);
    server.assert_dropped("missing Message-Authenticator", "");
}

fn request_lines(server: &Server) -> Vec<Value> {
    server
        .events()
        .into_iter()
        .filter(|v| v["message"] == "request")
        .collect()
}

#[test]
fn text_lines_are_logfmt_with_one_shape() {
    let server = Server::with_format(Conf::default(), "info", "text");
    traffic(&server);
    let text = server.logs();
    for line in text.lines() {
        assert!(logfmt::parse(line).is_some(), "not logfmt: {line}");
    }
    let lines = request_lines(&server);
    assert_eq!(lines.len(), 2, "{text}");
    let mut expected = REQUEST_FIELDS.to_vec();
    expected.sort_unstable();
    for line in &lines {
        let fields: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| !["timestamp", "level", "message", "target"].contains(k))
            .collect();
        assert_eq!(fields, expected, "{line}");
    }
    // In the same order on every line.
    for raw in text.lines().filter(|l| l.contains(" message=request ")) {
        let at: Vec<usize> = REQUEST_FIELDS
            .iter()
            .map(|f| raw.find(&format!(" {f}=")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{raw}");
    }
    let reject = &lines[0];
    assert_eq!(reject["reason"], "wrong password");
    assert_eq!(reject["user"], "alice");
    let drop = &lines[1];
    assert_eq!(drop["outcome"], "drop");
    assert_eq!(
        drop["user"], "bob \"the\" builder",
        "the drop names its user"
    );
    assert_eq!(drop["verify_ms"], Value::Null);
    assert!(
        text.contains(r#"reason="missing Message-Authenticator""#),
        "{text}"
    );
}

#[test]
fn json_lines_are_typed() {
    let server = Server::with_level(Conf::default(), "info");
    traffic(&server);
    let lines = request_lines(&server);
    assert_eq!(lines.len(), 2);
    let reject = &lines[0];
    assert!(reject["id"].is_u64(), "{reject}");
    assert!(reject["verify_ms"].is_f64(), "{reject}");
    assert_eq!(reject["detail"], Value::Null, "{reject}");
    let drop = &lines[1];
    assert!(drop["id"].is_u64(), "{drop}");
    assert_eq!(drop["verify_ms"], Value::Null);
    assert_eq!(drop["user"], "bob \"the\" builder");
    for line in &lines {
        for field in REQUEST_FIELDS {
            assert!(line.get(field).is_some(), "{field} missing in {line}");
        }
    }
}
