//! Configuration loading: every shipped file loads, and every mistake is named by its key.

use std::path::Path;

use std::time::Duration;

use ipnet::IpNet;

use super::*;

const MINIMAL: &str = r#"
[database]
path = "radotp.db"

[[client]]
name = "vpn"
address = "192.0.2.10"
secret = "a-long-random-shared-secret"
"#;

fn problems(text: &str) -> Vec<String> {
    match Config::from_toml(text, Path::new("/etc/radotp")) {
        Ok(_) => vec![],
        Err(ConfigError::Invalid { problems, .. }) => {
            problems.iter().map(ToString::to_string).collect()
        }
        Err(other) => vec![other.to_string()],
    }
}

#[test]
fn every_file_in_config_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen > 0);
}

#[test]
fn defaults_are_secure() {
    let c = Config::from_toml(MINIMAL, Path::new("/etc/radotp")).unwrap();
    assert_eq!(c.database.path, Path::new("/etc/radotp/radotp.db"));
    assert_eq!(c.server.listen, vec!["127.0.0.1:1812".parse().unwrap()]);
    assert_eq!(c.server.reject_delay, Duration::from_millis(1000));
    assert!(c.clients[0].require_message_authenticator);
    assert_eq!(
        c.clients[0].network,
        "192.0.2.10/32".parse::<IpNet>().unwrap()
    );
    assert_eq!(
        c.password,
        PasswordCost {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1
        }
    );
    assert_eq!(c.otp.defaults.digits, 6);
    assert_eq!(c.otp.window, 1);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let text = MINIMAL.replace("[database]", "[database]\nfile = \"x\"");
    let err = Config::from_toml(&text, Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(err.contains("file"), "{err}");
    let text = format!("{MINIMAL}\n[server]\nlisten_on = []\n");
    let err = Config::from_toml(&text, Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(err.contains("listen_on"), "{err}");
}

#[test]
fn bad_values_name_their_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[[client]]",
            "[[client]]\nsecret = \"\"\n[[client]]",
            "client[0].secret",
        ),
        (
            "secret = \"a-long-random-shared-secret\"",
            "secret = \"\"",
            "client[0].secret: the shared secret is empty",
        ),
        (
            "address = \"192.0.2.10\"",
            "address = \"10.0.0.1/8\"",
            "did you mean \"10.0.0.0/8\"",
        ),
        (
            "address = \"192.0.2.10\"",
            "address = \"not-an-ip\"",
            "client[0].address",
        ),
        ("path = \"radotp.db\"", "path = \"\"", "database.path"),
    ];
    for (from, to, expected) in cases {
        let text = MINIMAL.replacen(from, to, 1);
        let found = problems(&text);
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{expected}: {found:?}"
        );
    }
    let server = |body: &str| problems(&format!("{MINIMAL}\n[server]\n{body}\n"));
    assert!(server("listen = [\"1812\"]")[0].starts_with("server.listen[0]"));
    assert!(server("listen = []")[0].starts_with("server.listen"));
    assert!(server("reject_delay_ms = 60000")[0].starts_with("server.reject_delay_ms"));
    let otp = |body: &str| problems(&format!("{MINIMAL}\n[otp]\n{body}\n"));
    assert!(otp("digits = 7")[0].starts_with("otp.digits"));
    assert!(otp("period = 45")[0].starts_with("otp.period"));
    assert!(otp("algorithm = \"MD5\"")[0].starts_with("otp.algorithm"));
    assert!(otp("window = 100")[0].starts_with("otp.window"));
    assert!(otp("hotp_window = 0")[0].starts_with("otp.hotp_window"));
    assert!(otp("hotp_window = 101")[0].contains("use 1 to 100"));
    let pw = |body: &str| problems(&format!("{MINIMAL}\n[password]\n{body}\n"));
    assert!(pw("memory_kib = 1")[0].starts_with("password.memory_kib"));
    assert!(pw("iterations = 0")[0].starts_with("password.iterations"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
[server]
listen = ["nowhere"]
[database]
path = "x.db"
[otp]
digits = 5
[[client]]
name = "a"
address = "10.0.0.0/8"
[[client]]
name = "a"
address = "10.0.0.0/8"
secret = "s"
secret_file = "f"
"#;
    let found = problems(text);
    for key in [
        "server.listen[0]",
        "otp.digits",
        "client[0].secret: is required",
        "client[1].name",
        "client[1].address",
        "client[1].secret: set either",
    ] {
        assert!(found.iter().any(|p| p.starts_with(key)), "{key}: {found:?}");
    }
}

#[test]
fn secret_file_is_read_relative_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nas.secret"), "from-a-file-0123456789\n").unwrap();
    let text = MINIMAL.replace(
        "secret = \"a-long-random-shared-secret\"",
        "secret_file = \"nas.secret\"",
    );
    let c = Config::from_toml(&text, dir.path()).unwrap();
    assert_eq!(c.clients[0].secret.expose(), b"from-a-file-0123456789");
    let missing = problems(&text); // resolved against /etc/radotp, where it does not exist
    assert!(
        missing[0].starts_with("client[0].secret_file: cannot read"),
        "{missing:?}"
    );
}

#[test]
fn weak_settings_warn_without_refusing() {
    let text = MINIMAL.replace("a-long-random-shared-secret", "short");
    let text = format!("{text}\n[password]\nmemory_kib = 64\niterations = 1\n");
    let c = Config::from_toml(&text, Path::new(".")).unwrap();
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
}

#[test]
fn secrets_never_reach_debug_output() {
    let c = Config::from_toml(MINIMAL, Path::new(".")).unwrap();
    assert!(!format!("{c:?}").contains("a-long-random-shared-secret"));
}

#[test]
fn groups_are_checked_against_the_dictionary() {
    let with = |extra: &str| problems(&format!("{MINIMAL}\n{extra}\n"));
    assert!(with("[[group]]\nname = \"a\"\nreply = { \"Class\" = \"x\", \"Cisco-AVPair\" = [\"a=b\", \"c=d\"] }").is_empty());
    let found = with("[[group]]\nname = \"a\"\nreply = { \"Clas\" = \"x\" }");
    assert!(
        found[0].starts_with("group[0] (a).reply: unknown attribute `Clas`"),
        "{found:?}"
    );
    let found = with("[[group]]\nname = \"a\"\nreply = { \"Session-Timeout\" = \"soon\" }");
    assert!(found[0].contains("Session-Timeout"), "{found:?}");
    let found = with("[[group]]\nname = \"a\"\nreply = { \"Message-Authenticator\" = \"0x00\" }");
    assert!(found[0].contains("set by radotp itself"), "{found:?}");
    let big: Vec<String> = (0..20)
        .map(|_| format!("\"{}\"", "x".repeat(250)))
        .collect();
    let found = with(&format!(
        "[[group]]\nname = \"a\"\nreply = {{ \"Reply-Message\" = [{}] }}",
        big.join(", ")
    ));
    assert!(found[0].contains("fit in a reply"), "{found:?}");
    let found = with("[[group]]\nname = \"a\"\n[[group]]\nname = \"a\"");
    assert!(found[0].contains("declared twice"), "{found:?}");
    let text = MINIMAL.replace("[[client]]", "[[client]]\nallowed_groups = [\"admins\"]");
    assert!(
        problems(&text)[0]
            .starts_with("client[0].allowed_groups: group \"admins\" is not declared")
    );
    let found = with("[server]\ndictionary = \"/nonexistent/dictionary\"");
    assert!(
        found[0].starts_with("server.dictionary: cannot read"),
        "{found:?}"
    );
}

#[test]
fn parse_errors_never_quote_a_secret() {
    let text = MINIMAL.replace(
        "secret = \"a-long-random-shared-secret\"",
        "secret = \"a-long-random-shared-secret",
    );
    let err = Config::from_toml(&text, Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 8"), "{err}");
    assert!(!err.contains("a-long-random-shared-secret"), "{err}");
}

#[test]
fn parse_errors_never_quote_a_value_of_any_type() {
    let secret = "secret = \"a-long-random-shared-secret\"";
    for (value, kind) in [
        ("8675309112233445566", "integer"),
        ("86753.09112233", "floating point"),
        ("true", "boolean"),
        ("1979-05-27T07:32:00Z", "map"),
        ("[\"a-long-random-shared-secret\", 5]", "sequence"),
    ] {
        let text = MINIMAL.replace(secret, &format!("secret = {value}"));
        let err = Config::from_toml(&text, Path::new("."))
            .unwrap_err()
            .to_string();
        let expected = format!("client[0].secret: invalid type: {kind}, expected a string");
        assert!(err.contains(&expected), "{expected:?} not in {err:?}");
        for part in ["8675309", "86753", "true", "1979", "a-long-random"] {
            assert!(!err.contains(part), "{part:?} in {err:?}");
        }
    }
    // An inline table puts the key on the line of its array: still no value.
    let text =
        "client = [{ name = \"a\", secret = 8675309 }]\n[server]\nlisten = [\"127.0.0.1:1812\"]\n";
    let err = Config::from_toml(text, Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid type: integer, expected a string"),
        "{err}"
    );
    assert!(!err.contains("8675309"), "{err}");
    // A string where a number belongs is named by its kind too.
    let err = Config::from_toml("[server]\nreject_delay_ms = \"hunter2\"\n", Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn parse_errors_name_the_key() {
    let cases = [
        (
            "[server]\nlisten = [\"127.0.0.1:1812\"]\n[metrics]\nlisten = [\"127.0.0.1:9812\"]\n",
            "metrics.listen: invalid type: sequence, expected a string (line 4, column 10)",
        ),
        (
            "[server]\nreject_delay_ms = \"soon\"\n",
            "server.reject_delay_ms: invalid type: string",
        ),
        (
            "[[client]]\nname = \"a\"\n[[client]]\nname = \"b\"\nmode = 3\n",
            "client[1].mode: invalid type: integer",
        ),
        (
            "[server]\nlisten = [\n  \"127.0.0.1:1812\",\n  5,\n]\n",
            "server.listen: invalid type: integer",
        ),
        (
            "[server]\nlisten = [\"127.0.0.1:1812\"]\nbogus = 1\n",
            "server.bogus: unknown field `bogus`",
        ),
    ];
    for (text, expected) in cases {
        let err = Config::from_toml(text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{expected:?} not in {err:?}");
    }
}

#[test]
fn bounds_are_the_ones_their_owners_enforce() {
    // The argon2 cost: the verifier refuses hashes over 1 GiB, so the configuration does too.
    let pw = |body: &str| problems(&format!("{MINIMAL}\n[password]\n{body}\n"));
    let max = crate::auth::password::MAX_MEMORY_KIB;
    assert!(pw(&format!("memory_kib = {max}")).is_empty());
    let over = pw(&format!("memory_kib = {}", max + 1));
    assert!(over[0].starts_with("password.memory_kib"), "{over:?}");
    assert!(pw("parallelism = 17")[0].starts_with("password.parallelism"));
    // The webhook URL is parsed as the sender parses it, not by its first characters.
    let webhook = |url: &str, extra: &str| {
        problems(&format!(
            "{MINIMAL}\n[delivery]\nwebhook = \"{url}\"\n{extra}\n"
        ))
    };
    assert!(webhook("https://gw.example/send", "").is_empty());
    assert!(webhook("http://127.0.0.1:9/send", "").is_empty());
    for bad in [
        "http://localhost.evil.example/send",
        "https://exa mple.com/",
        "https://",
    ] {
        let found = webhook(bad, "");
        assert!(
            found.len() == 1 && found[0].starts_with("delivery.webhook:"),
            "{bad}: {found:?}"
        );
    }
    let retries = crate::delivery::webhook::MAX_RETRIES;
    assert!(
        webhook(
            "https://gw.example/",
            &format!("webhook_retries = {retries}")
        )
        .is_empty()
    );
    let found = webhook(
        "https://gw.example/",
        &format!("webhook_retries = {}", retries + 1),
    );
    assert!(
        found[0].starts_with("delivery.webhook_retries"),
        "{found:?}"
    );
    let found = webhook("https://gw.example/", "webhook_timeout_ms = 99");
    assert!(
        found[0].starts_with("delivery.webhook_timeout_ms"),
        "{found:?}"
    );
}

#[test]
fn upstream_settings_load_and_every_mistake_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("up.secret"), "a-long-upstream-secret\n").unwrap();
    let text = format!(
        "{MINIMAL}\n[password]\nsource = \"upstream\"\n\n[upstream]\nservers = [\"127.0.0.1:1812\", \"[::1]:1645\"]\nsecret_file = \"up.secret\"\n"
    );
    let config = Config::from_toml(&text, dir.path()).unwrap();
    assert_eq!(config.password_source, PasswordSource::Upstream);
    let upstream = config.upstream.unwrap();
    assert_eq!(upstream.servers.len(), 2);
    assert_eq!(upstream.secret.expose(), b"a-long-upstream-secret");
    assert_eq!(upstream.timeout, Duration::from_millis(2000));
    assert_eq!(upstream.retries, 1);
    assert!(upstream.require_message_authenticator);
    assert!(!format!("{upstream:?}").contains("a-long-upstream-secret"));

    let found = problems(&format!(
        "{MINIMAL}\n[upstream]\nservers = [\"nowhere\", \"127.0.0.1:1812\", \"127.0.0.1:1812\"]\nsecret_file = \"/nonexistent/up.secret\"\ntimeout_ms = 50\nretries = 6\n"
    ));
    for key in [
        "upstream.servers[0]",
        "upstream.servers[2]",
        "upstream.secret_file",
        "upstream.timeout_ms",
        "upstream.retries",
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(key)),
            "{key} not in {found:?}"
        );
    }
    assert_eq!(
        problems(&format!("{MINIMAL}\n[password]\nsource = \"upstream\"\n")),
        [
            "password.source: is \"upstream\" but there is no [upstream] section; add one, or use \"local\""
        ]
    );
}

#[test]
fn web_settings_load_and_every_mistake_names_its_key() {
    let ok = format!(
        "{MINIMAL}\n[web]\nlisten = \"127.0.0.1:8443\"\npublic_url = \"https://otp.example.org/\"\n"
    );
    let config = Config::from_toml(&ok, Path::new("/etc/radotp")).unwrap();
    let web = config.web.as_ref().unwrap();
    assert_eq!(web.public_url.as_str(), "https://otp.example.org");
    assert_eq!(web.invitation_ttl, 72 * 3600);
    assert!(web.tls.is_none());
    assert!(config.warnings.iter().any(|w| w.contains("plain HTTP")));
    for (section, key) in [
        (
            "listen = \"0.0.0.0:8443\"\npublic_url = \"https://a.example\"",
            "web.certificate",
        ),
        (
            "listen = \"localhost\"\npublic_url = \"https://a.example\"",
            "web.listen",
        ),
        ("public_url = \"http://a.example\"", "web.public_url"),
        ("listen = \"127.0.0.1:8443\"", "web.public_url"),
        (
            "public_url = \"https://a.example\"\ninvitation_ttl_hours = 0",
            "web.invitation_ttl_hours",
        ),
        (
            "public_url = \"https://a.example\"\ncertificate = \"web.pem\"",
            "web.private_key",
        ),
        (
            "public_url = \"https://a.example\"\ncertificate = \"/nonexistent/web.pem\"\nprivate_key = \"/nonexistent/web.key\"",
            "web.certificate",
        ),
        (
            "public_url = \"https://a.example\"\nlisten_on = \"x\"",
            "web.listen_on",
        ),
        (
            "public_url = \"https://a.example\"\ntrusted_proxies = [\"127.0.0.1\", \"nope\"]",
            "web.trusted_proxies[1]",
        ),
    ] {
        let found = problems(&format!("{MINIMAL}\n[web]\n{section}\n"));
        assert!(
            found.iter().any(|p| p.contains(key)),
            "{section}: {found:?}"
        );
    }
}
