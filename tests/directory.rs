//! Passwords from an LDAP directory, codes from radotp: the real binary against a real OpenLDAP
//! `slapd` (started by each test on loopback, `common::slapd`), over ldaps:// and StartTLS.
//! Accept, wrong password, wrong code, unknown user, injection, groups → reply attributes,
//! allowed_groups, unenrolled users, a wrong CA, a directory that stops, dies and comes back,
//! failover, and what `user add` and `check-config` say.

mod common;

use std::path::Path;
use std::time::Duration;

use common::client::*;
use common::slapd::{self, Slapd};
use common::*;

const GROUPS: &str = r#"
[[group]]
name = "vpn-admins"
reply = { "Class" = "admins", "Filter-Id" = "admin-acl" }

[[group]]
name = "vpn-users"
reply = { "Class" = "users" }
"#;

const CLASS: u8 = 25;
const FILTER_ID: u8 = 11;

/// `[directory]` for `urls`, trusting `ca`; `more` are extra keys.
fn directory_toml(urls: &[String], ca: &Path, pw_file: &Path, more: &str) -> String {
    let urls: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        r#"
[directory]
urls = [{urls}]
ca_file = "{ca}"
bind_dn = "{service}"
bind_password_file = "{pw}"
base_dn = "{base}"
user_filter = "(&(objectClass=inetOrgPerson)(uid={{user}}))"
group_attribute = "memberOf"
timeout_ms = 1000
{more}

[[directory.group]]
dn = "{admins}"
group = "vpn-admins"

[[directory.group]]
dn = "CN=VPN-Users, OU=Groups, DC=Example, DC=Org"
group = "vpn-users"
"#,
        urls = urls.join(", "),
        ca = ca.display(),
        service = slapd::SERVICE_DN,
        pw = pw_file.display(),
        base = slapd::BASE_DN,
        admins = slapd::VPN_ADMINS_DN,
    )
}

/// The service account's password, in a file beside the directory's data.
fn service_password_file(ldap: &Slapd) -> std::path::PathBuf {
    let path = ldap.dir().join("service.pw");
    std::fs::write(&path, format!("{}\n", slapd::SERVICE_PASSWORD)).unwrap();
    chmod_600(&path);
    path
}

fn chmod_600(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A radotp with `[directory]` at `urls` and the given clients.
fn radotp(ldap: &Slapd, urls: &[String], clients: Vec<ClientConf>, more: &str) -> Server {
    let pw = service_password_file(ldap);
    let conf = Conf {
        extra: format!(
            "{GROUPS}\n{}",
            directory_toml(urls, &ldap.ca_file(), &pw, more)
        ),
        ..Conf::default().clients(clients)
    };
    Server::with(conf)
}

/// NAS "vpn" on 127.0.0.1, and a second NAS on 127.0.0.2 whose table has `keys` too.
fn two_nases(ldap: &Slapd, second: &str, keys: &str) -> Server {
    let mut other = ClientConf::new(second, "127.0.0.2/32", SECRET);
    other.extra = format!("{keys}\n");
    radotp(
        ldap,
        &[ldap.ldaps_url()],
        vec![ClientConf::new("vpn", "127.0.0.1/32", SECRET), other],
        "",
    )
}

/// One NAS, "vpn" on 127.0.0.1, and `[directory]` at `urls` with `more` keys.
fn one_nas(ldap: &Slapd, urls: &[String], more: &str) -> Server {
    radotp(
        ldap,
        urls,
        vec![ClientConf::new("vpn", "127.0.0.1/32", SECRET)],
        more,
    )
}

fn default_server(ldap: &Slapd) -> Server {
    one_nas(ldap, &[ldap.ldaps_url()], "")
}

/// `user add NAME --password-source directory --json`: the TOTP secret.
fn enroll(server: &Server, name: &str) -> String {
    server.enroll_from(name, "directory", &[])
}

fn login(server: &Server, name: &str, input: &str) -> Reply {
    Client::new(server.addr()).exchange(&Request::access(SECRET, name, input.as_bytes()))
}

fn binds_as(ldap: &Slapd, uid: &str) -> usize {
    // slapd's stats log has two lines a bind: the request (method=128) and its result.
    let dn = format!("BIND dn=\"{}\" method=128", slapd::user_dn(uid));
    ldap.log().matches(&dn).count()
}

fn text(values: Vec<Vec<u8>>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| String::from_utf8(v).unwrap())
        .collect()
}

#[test]
fn the_directory_password_and_a_radotp_code_log_in_with_one_bind() {
    let ldap = Slapd::start();
    let server = default_server(&ldap);
    let secret = enroll(&server, "alice");
    let shown = server.cli(&["user", "show", "alice", "--json"], "");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["password_source"], "directory");

    let before = binds_as(&ldap, "alice");
    let reply = login(
        &server,
        "alice",
        &format!("alice-dir-pw{}", code_at(&secret, server.now())),
    );
    assert_eq!(reply.code, ACCESS_ACCEPT);
    // The directory's group (as it spells the DN, lower-cased) grants radotp's group.
    assert_eq!(text(reply.values(CLASS)), ["users"]);
    server.assert_reason("TOTP code");
    assert_eq!(binds_as(&ldap, "alice") - before, 1, "{}", ldap.log());

    // Wrong password, valid code: one bind, refused, and the log says by whom.
    server.advance(30);
    let reply = login(
        &server,
        "alice",
        &format!("not-her-pw{}", code_at(&secret, server.now())),
    );
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("wrong password (the directory refused the password)");
    assert_eq!(binds_as(&ldap, "alice") - before, 2);

    // Right password, wrong code: the input has no live code, so all of it is the password.
    let reply = login(&server, "alice", "alice-dir-pw000000");
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("wrong password or code");
    assert_eq!(binds_as(&ldap, "alice") - before, 3);

    // The password alone: no Accept, and the password never reaches the log.
    let reply = login(&server, "alice", "alice-dir-pw");
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("password without code");
    assert!(!server.logs().contains("alice-dir-pw"));
    assert!(!server.logs().contains(slapd::SERVICE_PASSWORD));
}

#[test]
fn nested_groups_and_allowed_groups_work_as_for_local_users() {
    let ldap = Slapd::start();
    let server = two_nases(&ldap, "admin-vpn", r#"allowed_groups = ["vpn-admins"]"#);
    let bob = enroll(&server, "bob");
    let carol = enroll(&server, "carol");
    let alice = enroll(&server, "alice");

    let reply = login(
        &server,
        "bob",
        &format!("bob-dir-pw{}", code_at(&bob, server.now())),
    );
    assert_eq!(reply.code, ACCESS_ACCEPT);
    let mut classes = text(reply.values(CLASS));
    classes.sort();
    assert_eq!(classes, ["admins", "users"]);
    assert_eq!(text(reply.values(FILTER_ID)), ["admin-acl"]);

    // carol is in Staff, and Staff in VPN-Users.
    let reply = login(
        &server,
        "carol",
        &format!("carol-dir-pw{}", code_at(&carol, server.now())),
    );
    assert_eq!(reply.code, ACCESS_ACCEPT);
    assert_eq!(text(reply.values(CLASS)), ["users"]);

    // Through the NAS for admins: alice is not one.
    let admin_nas = Client::bind("127.0.0.2:0", server.addr());
    let request = |name: &str, input: String| Request::access(SECRET, name, input.as_bytes());
    server.advance(30);
    let reply = admin_nas.exchange(&request(
        "alice",
        format!("alice-dir-pw{}", code_at(&alice, server.now())),
    ));
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("not in allowed groups");
    let reply = admin_nas.exchange(&request(
        "bob",
        format!("bob-dir-pw{}", code_at(&bob, server.now())),
    ));
    assert_eq!(reply.code, ACCESS_ACCEPT);
}

#[test]
fn challenge_mode_keeps_the_directory_groups_for_the_answer() {
    let ldap = Slapd::start();
    let mut nas = ClientConf::new("vpn", "127.0.0.1/32", SECRET);
    nas.mode = Some("challenge".into());
    let server = radotp(&ldap, &[ldap.ldaps_url()], vec![nas], "");
    let bob = enroll(&server, "bob");
    let client = Client::new(server.addr());
    let reply = client.exchange(&Request::access(SECRET, "bob", b"bob-dir-pw"));
    assert_eq!(reply.code, ACCESS_CHALLENGE);
    let state = reply.values(24).remove(0);
    let answer =
        Request::access(SECRET, "bob", code_at(&bob, server.now()).as_bytes()).attr(24, &state);
    let reply = client.exchange(&answer);
    assert_eq!(reply.code, ACCESS_ACCEPT);
    assert_eq!(text(reply.values(FILTER_ID)), ["admin-acl"]);
}

#[test]
fn unknown_users_and_injected_filters_find_nobody() {
    let ldap = Slapd::start();
    let server = two_nases(&ldap, "rollout", r#"unenrolled = "password-only""#);
    // `user add` asks the directory, with the name escaped: a wildcard is no name.
    for name in ["*", "al*", "*)(uid=*", "nobody"] {
        let out = server.cli(&["user", "add", name, "--password-source", "directory"], "");
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("the directory has no entry for"),
            "{name}: {err}"
        );
    }
    // A name radotp does not know: rejected as unknown, its password never bound.
    let reply = login(&server, "dave", "dave-dir-pw123456");
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("unknown user");
    assert_eq!(binds_as(&ldap, "dave"), 0);
    // On the roll-out NAS, `al*` with alice's password would be alice if the filter were not
    // escaped (`(uid=al*)`): it is nobody.
    let rollout = Client::bind("127.0.0.2:0", server.addr());
    for name in ["al*", "*", "alice)(uid=*", "alice\0"] {
        let reply = rollout.exchange(&Request::access(SECRET, name, b"alice-dir-pw"));
        assert_eq!(reply.code, ACCESS_REJECT, "{name:?}");
    }
    assert_eq!(binds_as(&ldap, "alice"), 0, "{}", ldap.log());
}

#[test]
fn an_unenrolled_user_logs_in_on_the_password_alone_only_where_allowed() {
    let ldap = Slapd::start();
    let server = two_nases(&ldap, "rollout", r#"unenrolled = "password-only""#);
    let rollout = Client::bind("127.0.0.2:0", server.addr());
    let reply = rollout.exchange(&Request::access(SECRET, "alice", b"alice-dir-pw"));
    assert_eq!(reply.code, ACCESS_ACCEPT);
    assert_eq!(text(reply.values(CLASS)), ["users"]);
    server.assert_reason("accepted without a second factor (not enrolled)");
    let reply = rollout.exchange(&Request::access(SECRET, "alice", b"wrong"));
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("wrong password (the directory refused the password)");
    // The other NAS refuses her, as anyone unknown.
    let reply = login(&server, "alice", "alice-dir-pw");
    assert_eq!(reply.code, ACCESS_REJECT);
    // Once enrolled, the roll-out NAS asks her for the code like any other.
    let secret = enroll(&server, "alice");
    let reply = rollout.exchange(&Request::access(SECRET, "alice", b"alice-dir-pw"));
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("password without code");
    let input = format!("alice-dir-pw{}", code_at(&secret, server.now()));
    let reply = rollout.exchange(&Request::access(SECRET, "alice", input.as_bytes()));
    assert_eq!(reply.code, ACCESS_ACCEPT);
    let listed = server.cli(&["user", "list"], "");
    assert!(String::from_utf8_lossy(&listed.stdout).contains("directory"));
}

#[test]
fn start_tls_works_and_a_certificate_of_another_ca_is_refused() {
    let ldap = Slapd::start();
    let server = one_nas(&ldap, &[ldap.ldap_url_host()], "start_tls = true");
    let secret = enroll(&server, "alice");
    let reply = login(
        &server,
        "alice",
        &format!("alice-dir-pw{}", code_at(&secret, server.now())),
    );
    assert_eq!(reply.code, ACCESS_ACCEPT);

    // Trusting another CA: nothing is sent to the server, and nobody is let in.
    let other = slapd::other_ca_pem(ldap.dir());
    let pw = service_password_file(&ldap);
    let conf = Conf {
        extra: format!(
            "{GROUPS}\n{}",
            directory_toml(&[ldap.ldaps_url()], &other, &pw, "")
        ),
        ..Conf::default()
    };
    let wrong = Server::with(conf);
    let out = wrong.cli(&["check-config"], "");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&ldap.ldaps_url()), "{err}");
    assert!(err.contains("no directory server answers"), "{err}");
    let out = wrong.cli(
        &["user", "add", "alice", "--password-source", "directory"],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    // A local user's login is not the directory's business: it still works.
    let local = wrong.add_user("erin", "pw-erin");
    let client = Client::new(wrong.addr());
    let input = format!("pw-erin{}", code_at(&local, server.now()));
    let reply = client.exchange(&Request::access(SECRET, "erin", input.as_bytes()));
    assert_eq!(reply.code, ACCESS_ACCEPT);
}

#[test]
fn a_directory_that_stops_or_dies_lets_no_one_in_and_service_resumes_by_itself() {
    let mut ldap = Slapd::start();
    let server = default_server(&ldap);
    let secret = enroll(&server, "alice");
    let client = Client::new(server.addr());
    let input = |at: u64| format!("alice-dir-pw{}", code_at(&secret, at));

    ldap.pause();
    let request = Request::access(SECRET, "alice", input(server.now()).as_bytes());
    client.send(&request.encode());
    assert!(
        client.recv(Duration::from_secs(3)).is_none(),
        "answered while the directory was stopped"
    );
    server.assert_dropped("password source unavailable", "no directory server answers");
    ldap.resume();
    server.advance(30);
    let reply = client.exchange(&Request::access(
        SECRET,
        "alice",
        input(server.now()).as_bytes(),
    ));
    assert_eq!(reply.code, ACCESS_ACCEPT);

    ldap.kill();
    server.advance(30);
    let request = Request::access(SECRET, "alice", input(server.now()).as_bytes());
    client.send(&request.encode());
    assert!(client.recv(Duration::from_secs(3)).is_none());
    ldap.restart();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        // The server passes a failed directory over for a while, then tries it again.
        server.advance(30);
        let request = Request::access(SECRET, "alice", input(server.now()).as_bytes());
        client.send(&request.encode());
        if let Some(raw) = client.recv(Duration::from_secs(3)) {
            let reply = check_reply(&raw, &request.encode(), SECRET.as_bytes()).unwrap();
            assert_eq!(reply.code, ACCESS_ACCEPT);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "service did not resume"
        );
    }
    // The outage was logged once when it began and once when it ended, each time.
    let logs = server.logs();
    assert_eq!(
        logs.matches("no directory server answers: logins").count(),
        2,
        "{logs}"
    );
    assert_eq!(
        logs.matches("the directory answers again").count(),
        2,
        "{logs}"
    );
}

#[test]
fn the_second_server_answers_when_the_first_cannot() {
    let ldap = Slapd::start();
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let server = one_nas(
        &ldap,
        &[format!("ldaps://localhost:{dead}"), ldap.ldaps_url()],
        "",
    );
    let out = server.cli(&["check-config"], "");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("warning: directory ldaps://localhost:{dead}")),
        "{said}"
    );
    assert!(
        said.contains(&format!("directory {}: OK", ldap.ldaps_url())),
        "{said}"
    );
    let secret = enroll(&server, "alice");
    for i in 0..3 {
        server.advance(30);
        let reply = login(
            &server,
            "alice",
            &format!("alice-dir-pw{}", code_at(&secret, server.now())),
        );
        assert_eq!(reply.code, ACCESS_ACCEPT, "login {i}");
    }
    assert!(
        server
            .logs()
            .contains("directory server cannot answer; trying the next")
    );
}

#[test]
fn the_configuration_names_what_is_wrong_with_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "x").unwrap();
    let config = dir.path().join("radotp.toml");
    let base = Conf::default().to_toml();
    let cases = [
        (
            "[directory]\nurls = [\"ldap://dc1\"]\nbind_dn = \"cn=x\"\nbind_password_file = \"pw\"\nbase_dn = \"dc=x\"\n",
            "directory.urls[0]: ldap:// without StartTLS sends passwords in the clear",
        ),
        (
            "[directory]\nurls = [\"ldaps://dc1\"]\nbind_dn = \"cn=x\"\nbind_password_file = \"pw\"\nbase_dn = \"dc=x\"\nuser_filter = \"(uid=alice)\"\n",
            "directory.user_filter: must contain {user}",
        ),
        (
            "[directory]\nurls = [\"ldaps://dc1\"]\nbind_dn = \"cn=x\"\nbind_password_file = \"missing\"\nbase_dn = \"dc=x\"\n",
            "directory.bind_password_file: cannot read",
        ),
        (
            "[directory]\nurls = [\"ldaps://dc1\"]\nbind_dn = \"cn=x\"\nbind_password_file = \"pw\"\nbase_dn = \"dc=x\"\n[[directory.group]]\ndn = \"cn=g,dc=x\"\ngroup = \"nope\"\n",
            "directory.group[0].group: group \"nope\" is not declared",
        ),
    ];
    for (section, expected) in cases {
        std::fs::write(&config, format!("{base}\n{section}")).unwrap();
        let out = common::radotp(&config, &["check-config"], "");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    }
    let text = base.replace(
        "name = \"localhost\"\n",
        "name = \"localhost\"\nunenrolled = \"password-only\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let out = common::radotp(&config, &["check-config"], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("client[0].unenrolled: \"password-only\" is for directory users"),
        "{err}"
    );
    let text = base.replace("[password]\n", "[password]\nsource = \"directory\"\n");
    std::fs::write(&config, text).unwrap();
    let out = common::radotp(&config, &["check-config"], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("password.source: is \"directory\" but there is no [directory]"),
        "{err}"
    );
}

#[test]
fn import_takes_a_password_source_and_directory_passwords_are_not_radotp_s_to_set() {
    let ldap = Slapd::start();
    let server = default_server(&ldap);
    let csv = server.dir.path().join("staff.csv");
    std::fs::write(
        &csv,
        "name,password,password_source\nalice,,directory\nerin,pw-erin-local,local\n",
    )
    .unwrap();
    let out = server.cli(&["user", "import", csv.to_str().unwrap()], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let show = |name: &str| {
        let out = server.cli(&["user", "show", name, "--json"], "");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["password_source"].as_str().unwrap().to_owned()
    };
    assert_eq!(show("alice"), "directory");
    assert_eq!(show("erin"), "local");
    let listed = String::from_utf8_lossy(&server.cli(&["user", "list"], "").stdout).into_owned();
    assert!(
        listed.lines().next().unwrap().contains("PASSWORD"),
        "{listed}"
    );
    let refusals = [
        server.cli(&["user", "passwd", "alice", "--password-stdin"], "x\n"),
        server.cli(&["user", "temp-password", "alice"], ""),
    ];
    for out in refusals {
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("checked by the directory: change it there"),
            "{err}"
        );
    }
    // A directory row with a password is refused, naming its line.
    std::fs::write(
        &csv,
        "name,password,password_source\nbob,secret,directory\n",
    )
    .unwrap();
    let out = server.cli(&["user", "import", csv.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2") && err.contains("password is the directory's"),
        "{err}"
    );
}

/// The reject classes of directory logins, timed (reject delay 0, so only the work shows).
/// A measurement, not a test of speed: run it with
///
///     cargo test --release --test directory -- --ignored --nocapture
#[test]
#[ignore = "measurement: run with --ignored --nocapture"]
fn directory_reject_classes_take_about_the_same_time() {
    const ROUNDS: usize = 60;
    let ldap = Slapd::start();
    let mut other = ClientConf::new("rollout", "127.0.0.2/32", SECRET);
    other.extra = "unenrolled = \"password-only\"\n".into();
    // No throttle within the measurement: every request is judged.
    let server = radotp(
        &ldap,
        &[ldap.ldaps_url()],
        vec![ClientConf::new("vpn", "127.0.0.1/32", SECRET), other],
        "[lockout]\nmax_failures = 100\n",
    );
    // Unknown users cost what directory users cost.
    let mut server = server;
    let path = server.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace("[password]\n", "[password]\nsource = \"directory\"\n");
    std::fs::write(&path, text).unwrap();
    server.restart();
    let alice = enroll(&server, "alice");
    let bob = enroll(&server, "bob");
    let vpn = Client::new(server.addr());
    let rollout = Client::bind("127.0.0.2:0", server.addr());
    let classes: Vec<(&str, &Client, &str, String)> = vec![
        (
            "wrong password",
            &vpn,
            "alice",
            format!("not-her-pw{}", code_at(&alice, server.now())),
        ),
        (
            "wrong code",
            &vpn,
            "bob",
            format!("bob-dir-pw{}", wrong_code(&bob)),
        ),
        ("unknown to radotp", &vpn, "nobody", "whatever123456".into()),
        (
            "unknown to radotp, known to the directory",
            &vpn,
            "carol",
            "carol-dir-pw123456".into(),
        ),
        (
            "roll-out NAS: wrong password",
            &rollout,
            "dave",
            "not-dave".into(),
        ),
        (
            "roll-out NAS: not in the directory",
            &rollout,
            "ghost",
            "whatever".into(),
        ),
    ];
    let mut samples = vec![Vec::new(); classes.len()];
    // Round-robin, so drift falls on every class alike.
    for _ in 0..ROUNDS {
        for ((class, client, user, input), times) in classes.iter().zip(&mut samples) {
            let started = std::time::Instant::now();
            let reply = client.exchange(&Request::access(SECRET, user, input.as_bytes()));
            times.push(started.elapsed());
            assert_eq!(reply.code, ACCESS_REJECT, "{class}");
        }
    }
    println!("\nmedian reply time over {ROUNDS} requests each, slapd over ldaps on loopback:");
    for ((class, ..), mut times) in classes.iter().zip(samples) {
        times.sort();
        println!(
            "  {class:<36} {:>8.2} ms",
            times[ROUNDS / 2].as_secs_f64() * 1e3
        );
    }
}

#[test]
fn nested_groups_asks_the_in_chain_rule_and_a_directory_without_it_still_answers() {
    // OpenLDAP has no LDAP_MATCHING_RULE_IN_CHAIN: the filter matches nothing (RFC 4511
    // "Undefined"), so the groups are those of memberOf alone (slapd's dynlist nests them).
    let ldap = Slapd::start();
    let server = one_nas(&ldap, &[ldap.ldaps_url()], "nested_groups = true");
    let carol = enroll(&server, "carol");
    let reply = login(
        &server,
        "carol",
        &format!("carol-dir-pw{}", code_at(&carol, server.now())),
    );
    assert_eq!(reply.code, ACCESS_ACCEPT);
    assert_eq!(text(reply.values(CLASS)), ["users"]);
    // The search for the groups in chain (attributes "1.1": none), which slapd logs as
    // `filter="(?=undefined)"`, not knowing the rule.
    let log = ldap.log();
    assert!(
        log.contains("filter=\"(?=undefined)\"") && log.contains("SRCH attr=1.1"),
        "the in-chain search was not made: {log}"
    );
}

#[test]
fn a_directory_that_refuses_the_service_account_lets_no_one_in() {
    let ldap = Slapd::start();
    let server = default_server(&ldap);
    let secret = enroll(&server, "alice");
    // The service account's password changes in the directory, not in radotp's file.
    ldap.modify(&format!(
        "dn: {}\nchangetype: modify\nreplace: userPassword\nuserPassword: rotated\n",
        slapd::SERVICE_DN
    ));
    let mut server = server;
    server.restart();
    let out = server.cli(&["check-config"], "");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the service account cannot bind"), "{err}");
    let client = Client::new(server.addr());
    let input = format!("alice-dir-pw{}", code_at(&secret, server.now()));
    client.send(&Request::access(SECRET, "alice", input.as_bytes()).encode());
    assert!(client.recv(Duration::from_secs(3)).is_none(), "answered");
    server.assert_dropped(
        "password source unavailable",
        "the service account cannot bind",
    );
}
