//! Authorization end to end: groups and per-user reply attributes on every Accept (append and
//! challenge paths), decoded by radclient's own dictionaries; allowed_groups per client.

mod common;

use std::process::Output;
use std::time::Duration;

use common::client::*;
use common::*;

const GROUPS: &str = r#"
[[group]]
name = "vpn-admins"
reply = { "Class" = "admins", "Filter-Id" = "admin-acl", "Session-Timeout" = 28800, "Cisco-AVPair" = ["shell:priv-lvl=15", "ip:inacl#1=permit ip any any"], "Tunnel-Type:1" = "VLAN", "Tunnel-Password:1" = "tunnel-s3cret", "Fortinet-Group-Name" = "fw-admins" }

[[group]]
name = "vpn-users"
reply = { "Class" = "users", "Mikrotik-Group" = "read" }
"#;

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn radclient(server: &Server, user: &str, password: &str) -> String {
    let input = format!(
        "User-Name = {user}, User-Password = \"{password}\", Message-Authenticator = 0x00\n"
    );
    let mut cmd = std::process::Command::new("radclient");
    cmd.args([
        "-x",
        "-r",
        "1",
        "-t",
        "3",
        &server.addr().to_string(),
        "auth",
        SECRET,
    ]);
    String::from_utf8_lossy(&run(cmd, &input, Duration::from_secs(15)).stdout).into_owned()
}

fn server() -> Server {
    let mut restricted = ClientConf::new("admin-vpn", "127.0.0.2/32", SECRET);
    restricted.mode = Some("challenge".into());
    let conf = Conf {
        extra: GROUPS.into(),
        ..Conf::default().clients(vec![
            ClientConf::new("vpn", "127.0.0.1/32", SECRET),
            restricted,
        ])
    };
    let server = Server::with(conf);
    let path = server.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "name = \"admin-vpn\"\n",
        "name = \"admin-vpn\"\nallowed_groups = [\"vpn-admins\"]\n",
    );
    std::fs::write(&path, text).unwrap();
    let mut server = server;
    server.restart();
    server
}

#[test]
fn group_and_user_attributes_reach_the_nas() {
    let server = server();
    let alice = server.add_user("alice", "pw-alice");
    ok(&server.cli(
        &[
            "user",
            "set",
            "alice",
            "--group",
            "vpn-admins",
            "--reply",
            "Session-Timeout=3600",
            "--reply",
            "Framed-IP-Address=10.8.0.5",
        ],
        "",
    ));
    let out = radclient(&server, "alice", &format!("pw-alice{}", code_now(&alice)));
    assert!(out.contains("Received Access-Accept"), "{out}");
    for expected in [
        "Cisco-AVPair = \"shell:priv-lvl=15\"",
        "Cisco-AVPair = \"ip:inacl#1=permit ip any any\"",
        "Filter-Id = \"admin-acl\"",
        "Session-Timeout = 3600",
        "Framed-IP-Address = 10.8.0.5",
        "Class = 0x61646d696e73",
        "Fortinet-Group-Name = \"fw-admins\"",
        "Tunnel-Type:1 = VLAN",
        "Tunnel-Password:1 = \"tunnel-s3cret\"",
    ] {
        assert!(out.contains(expected), "{expected} missing in:\n{out}");
    }
    assert!(
        !out.contains("Session-Timeout = 28800"),
        "the user's value overrides the group's"
    );
    // A reject carries none of it.
    let out = radclient(&server, "alice", "pw-alice000000");
    assert!(
        out.contains("Received Access-Reject") && !out.contains("Cisco-AVPair"),
        "{out}"
    );
}

#[test]
fn allowed_groups_and_the_challenge_path() {
    let server = server();
    let alice = server.add_user("alice", "pw-alice");
    let bob = server.add_user("bob", "pw-bob");
    ok(&server.cli(&["user", "set", "alice", "--group", "vpn-admins"], ""));
    ok(&server.cli(&["user", "set", "bob", "--group", "vpn-users"], ""));
    let restricted = Client::bind("127.0.0.2:0", server.addr());
    // bob is fully authenticated, but not an admin: refused.
    let reply = restricted.exchange(&Request::access(
        SECRET,
        "bob",
        format!("pw-bob{}", code_now(&bob)).as_bytes(),
    ));
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("not in allowed groups");
    // alice through the challenge: no attributes on the Challenge, all of them on the Accept.
    let challenge = restricted.exchange(&Request::access(SECRET, "alice", b"pw-alice"));
    assert_eq!(challenge.code, 11);
    assert!(
        challenge.values(26).is_empty(),
        "no reply attributes on a challenge"
    );
    let state = challenge.values(24).pop().unwrap();
    let accept = restricted
        .exchange(&Request::access(SECRET, "alice", code_now(&alice).as_bytes()).attr(24, &state));
    assert_eq!(accept.code, ACCESS_ACCEPT);
    assert_eq!(accept.values(11), vec![b"admin-acl".to_vec()], "Filter-Id");
    assert_eq!(
        accept.values(26).len(),
        3,
        "two Cisco-AVPair and one Fortinet VSA"
    );
    // bob may use the unrestricted NAS, and gets his group's attributes.
    let out = radclient(
        &server,
        "bob",
        &format!("pw-bob{}", code_at(&bob, now() + 30)),
    );
    assert!(out.contains("Mikrotik-Group = \"read\""), "{out}");
}

#[test]
fn mistakes_are_named_before_anyone_logs_in() {
    let server = server();
    server.add_user("carol", "pw-carol");
    let out = server.cli(&["user", "set", "carol", "--group", "nope"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("group \"nope\" is not in the configuration")
    );
    let out = server.cli(
        &[
            "user",
            "set",
            "carol",
            "--reply",
            "Framed-IP-Address=10.8.0",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Framed-IP-Address"));
    // A configuration with an unknown attribute in a group does not load.
    let path = server.config_path();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"Filter-Id\"", "\"Filter-Idd\"");
    std::fs::write(&path, text).unwrap();
    let out = server.cli(&["check-config"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("group[0] (vpn-admins).reply") && stderr.contains("Filter-Idd"),
        "{stderr}"
    );
}
