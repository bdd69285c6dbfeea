//! Hardware tokens and several tokens per person, against the real binary, with codes made by
//! independent implementations from Debian's packages: `oathtool` (HOTP and TOTP),
//! `python3-yubiotp` (Yubico OTP from a key and counters) and `python3-pskc` (PSKC files,
//! plaintext and encrypted). Logins over UDP from our own client; on PostgreSQL, a code used
//! on one node is refused on the other.

mod common;
mod postgres_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::client::*;
use common::*;
use postgres_support::*;
use serde_json::Value;

/// An HOTP fob's secret (RFC 4226 Appendix D's), base32 and hex.
const FOB_BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const FOB_HEX: &str = "3132333435363738393031323334353637383930";
/// A YubiKey's identity, as `ykman otp yubiotp` would program it.
const PUBLIC_ID: &str = "vvccccrbjnkt";
const PRIVATE_ID: &str = "a1b2c3d4e5f6";
const AES_KEY: &str = "000102030405060708090a0b0c0d0e0f";

/// Debian's Python, where python3-yubiotp and python3-pskc are installed (another python3 first
/// on PATH, a pyenv's say, would not have them).
const PYTHON: &str = "/usr/bin/python3";

/// Access-Accept (`true`) or Access-Reject (`false`) for `input` as `user`'s User-Password.
fn logs_in(server: &Server, user: &str, input: &str) -> bool {
    let code = Client::new(server.addr())
        .exchange(&Request::access(SECRET, user, input.as_bytes()))
        .code;
    assert!(matches!(code, ACCESS_ACCEPT | ACCESS_REJECT), "code {code}");
    code == ACCESS_ACCEPT
}

/// Waits for the log line of a decision with this reason, naming this token.
fn decided_by(server: &Server, reason: &str, token: &str) -> bool {
    server.wait_for_event(|e| {
        e["reason"] == reason && e["detail"].as_str().is_some_and(|d| d.contains(token))
    })
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn failed(out: &std::process::Output) -> String {
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `oathtool ARGS…`: the code it prints.
fn oathtool(args: &[&str]) -> String {
    let mut cmd = Command::new("oathtool");
    cmd.args(args);
    ok(&run(cmd, "", Duration::from_secs(10))).trim().to_owned()
}

fn hotp(counter: u64) -> String {
    oathtool(&["--hotp", "-b", FOB_BASE32, "-c", &counter.to_string()])
}

/// The TOTP code of `secret` (base32) at the server's clock.
fn totp(server: &Server, secret: &str) -> String {
    oathtool(&[
        "--totp",
        "-b",
        secret,
        "--now",
        &format!("@{}", server.now()),
    ])
}

/// A Yubico OTP of our YubiKey with these counters, made by python3-yubiotp.
fn yubico_otp(session: u16, use_counter: u8) -> String {
    let script = format!(
        "from binascii import unhexlify\n\
         from yubiotp.otp import OTP, encode_otp\n\
         otp = OTP(unhexlify('{PRIVATE_ID}'), {session}, 0x1234, {use_counter}, 0x5678)\n\
         print(encode_otp(otp, unhexlify('{AES_KEY}'), b'{PUBLIC_ID}').decode())\n"
    );
    let mut cmd = Command::new(PYTHON);
    cmd.args(["-c", &script]);
    ok(&run(cmd, "", Duration::from_secs(20))).trim().to_owned()
}

/// `token add NAME --type yubico` with our YubiKey's identity: what it printed.
fn add_yubikey(server: &Server, name: &str) -> String {
    ok(&server.cli(
        &[
            "token",
            "add",
            name,
            "--type",
            "yubico",
            "--public-id",
            PUBLIC_ID,
            "--private-id",
            PRIVATE_ID,
            "--aes-key",
            AES_KEY,
        ],
        "",
    ))
}

fn tokens_json(server: &Server, name: &str) -> Vec<Value> {
    let out = ok(&server.cli(&["token", "list", name, "--json"], ""));
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_phone_and_a_fob_each_log_in_and_each_code_works_once() {
    let mut server = Server::start();
    let app = server.add_user("alice", "pw-alice");
    let out = ok(&server.cli(
        &[
            "token", "add", "alice", "--type", "hotp", "--secret", FOB_BASE32, "--label",
            "desk fob",
        ],
        "",
    ));
    assert!(out.contains("Added token 2 (hotp) \"desk fob\""), "{out}");
    // The fob's first press, then a replay of it.
    assert!(logs_in(&server, "alice", &format!("pw-alice{}", hotp(0))));
    assert!(decided_by(&server, "HOTP code", "token 2 (hotp)"));
    assert!(!logs_in(&server, "alice", &format!("pw-alice{}", hotp(0))));
    server.assert_reason("code already used");
    // Presses that never reached radotp (look-ahead), then an older code.
    assert!(logs_in(&server, "alice", &format!("pw-alice{}", hotp(5))));
    assert!(!logs_in(&server, "alice", &format!("pw-alice{}", hotp(3))));
    // The phone still works beside the fob.
    assert!(logs_in(
        &server,
        "alice",
        &format!("pw-alice{}", totp(&server, &app))
    ));
    assert!(decided_by(&server, "TOTP code", "token 1 (totp)"));
    // A wrong password with the fob's next code: no login, and the code is not used up.
    assert!(!logs_in(&server, "alice", &format!("wrong{}", hotp(6))));
    // Used codes stay used across a restart.
    server.restart();
    assert!(!logs_in(&server, "alice", &format!("pw-alice{}", hotp(5))));
    assert!(logs_in(&server, "alice", &format!("pw-alice{}", hotp(6))));
    // The list shows both, by id and type, with no secret.
    let listed = tokens_json(&server, "alice");
    let kinds: Vec<(u64, &str, &str)> = listed
        .iter()
        .map(|t| {
            (
                t["id"].as_u64().unwrap(),
                t["type"].as_str().unwrap(),
                t["label"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds, [(1, "totp", "app"), (2, "hotp", "desk fob")]);
    assert_eq!(listed[1]["next_counter"], 7);
    let everything = ok(&server.cli(&["token", "list"], ""))
        + &ok(&server.cli(&["user", "show", "alice", "--json"], ""));
    for secret in [FOB_BASE32, &app, FOB_HEX] {
        assert!(!everything.contains(secret), "a secret in: {everything}");
    }
    assert!(!server.logs().contains(&hotp(6)), "a code in the log");
    // Removed, the fob logs no one in.
    ok(&server.cli(&["token", "remove", "alice", "2"], ""));
    assert!(!logs_in(&server, "alice", &format!("pw-alice{}", hotp(7))));
    let err = failed(&server.cli(&["token", "remove", "alice", "2"], ""));
    assert!(
        err.contains("has no token 2 (see: radotp token list alice)"),
        "{err}"
    );
}

#[test]
fn an_hotp_fob_far_ahead_is_resynchronised_from_two_codes() {
    let server = Server::start();
    server.add_user("bob", "pw-bob");
    ok(&server.cli(
        &[
            "token",
            "add",
            "bob",
            "--type",
            "hotp",
            "--secret",
            FOB_BASE32,
            "--counter",
            "2",
            "--digits",
            "8",
        ],
        "",
    ));
    let code8 = |c: u64| oathtool(&["--hotp", "-d", "8", "-b", FOB_BASE32, "-c", &c.to_string()]);
    assert!(
        !logs_in(&server, "bob", &format!("pw-bob{}", code8(1))),
        "before --counter"
    );
    // Pressed 500 times in a drawer: past the look-ahead.
    assert!(!logs_in(&server, "bob", &format!("pw-bob{}", code8(502))));
    let err = failed(&server.cli(
        &["token", "resync", "bob", "2", &code8(503), &code8(505)],
        "",
    ));
    assert!(err.contains("no two consecutive codes"), "{err}");
    let out = ok(&server.cli(
        &["token", "resync", "bob", "2", &code8(503), &code8(504)],
        "",
    ));
    assert!(out.contains("next code is counter 505"), "{out}");
    assert!(
        !logs_in(&server, "bob", &format!("pw-bob{}", code8(504))),
        "a resync code"
    );
    assert!(logs_in(&server, "bob", &format!("pw-bob{}", code8(505))));
    // Two tokens that could take the codes: the CLI asks which.
    let err = failed(&server.cli(&["user", "resync", "bob", &code8(506), &code8(507)], ""));
    assert!(
        err.contains("radotp token resync bob ID CODE1 CODE2"),
        "{err}"
    );
}

/// Files of a test of its own.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn yubikeys_from_ykman_log_in_with_ever_newer_otps_only() {
    let server = Server::start();
    server.add_user("carol", "pw-carol");
    server.add_user("dan", "pw-dan");
    let dir = tempfile::tempdir().unwrap();
    // As `ykman otp yubiotp … --config-output` writes it; the second key is dan's.
    let csv = write(
        dir.path(),
        "keys.csv",
        &format!(
            "7654321,{PUBLIC_ID},{PRIVATE_ID},{AES_KEY},,2026-12-01T10:00:00,\n\
             7654322,vvccccrbjnkb,0a0b0c0d0e0f,ffeeddccbbaa99887766554433221100,,2026-12-01T10:01:00,\n"
        ),
    );
    let partial = write(dir.path(), "partial.csv", "serial,user\n7654321,carol\n");
    let err = failed(&server.cli(
        &["token", "import-yubico", &csv, "--user-map", &partial],
        "",
    ));
    assert!(err.contains("line 2: serial 7654322 is not in"), "{err}");
    assert!(tokens_json(&server, "carol").len() == 1, "all or nothing");
    let map = write(
        dir.path(),
        "owners.csv",
        "serial,user\n7654321,carol\n7654322,dan\n",
    );
    let out = ok(&server.cli(&["token", "import-yubico", &csv, "--user-map", &map], ""));
    assert!(
        out.contains("token 2 (yubikey) of carol") && out.contains("Imported 2 tokens"),
        "{out}"
    );
    let again = failed(&server.cli(&["token", "import-yubico", &csv, "--user-map", &map], ""));
    assert!(
        again.contains(&format!("public id {PUBLIC_ID} is already enrolled")),
        "{again}"
    );
    assert!(
        !again.contains(AES_KEY) && !again.contains(PRIVATE_ID),
        "{again}"
    );

    let first = yubico_otp(3, 0);
    assert!(logs_in(&server, "carol", &format!("pw-carol{first}")));
    assert!(decided_by(&server, "Yubico OTP", "token 2 (yubikey)"));
    assert!(
        !logs_in(&server, "carol", &format!("pw-carol{first}")),
        "replayed"
    );
    // An OTP of an older session, or of this session's earlier use, is refused.
    assert!(!logs_in(
        &server,
        "carol",
        &format!("pw-carol{}", yubico_otp(2, 9))
    ));
    // Newer: the next use, then a new session (the key was plugged in again).
    assert!(logs_in(
        &server,
        "carol",
        &format!("pw-carol{}", yubico_otp(3, 1))
    ));
    assert!(
        logs_in(
            &server,
            "carol",
            &format!("pw-carol{}", yubico_otp(4, 0).to_uppercase())
        ),
        "typed with caps lock on"
    );
    // Carol's key is not dan's; a wrong password with a good OTP does not use it up.
    let next = yubico_otp(4, 1);
    assert!(!logs_in(&server, "dan", &format!("pw-dan{next}")));
    assert!(!logs_in(&server, "carol", &format!("wrong{next}")));
    // Disabled, its OTPs are refused; enabled again, they work.
    ok(&server.cli(&["token", "disable", "carol", "2"], ""));
    assert!(!logs_in(&server, "carol", &format!("pw-carol{next}")));
    ok(&server.cli(&["token", "enable", "carol", "2"], ""));
    assert!(logs_in(&server, "carol", &format!("pw-carol{next}")));
    assert!(!server.logs().contains(&next[12..]), "an OTP in the log");
    let listed = tokens_json(&server, "carol");
    assert_eq!(listed[1]["type"], "yubico");
    assert_eq!(listed[1]["public_id"], PUBLIC_ID);
    assert_eq!(listed[1]["serial"], "7654321");
}

/// How a PSKC file's secrets are protected.
enum Protect<'a> {
    Nothing,
    /// A pre-shared AES-128 key (hex), MAC HMAC-SHA256.
    Key(&'a str),
    /// A PBKDF2 password (AES-256, MAC HMAC-SHA1).
    Password(&'a str),
}

/// A PSKC file made by python3-pskc: an HOTP fob (serial F-1, counter 10) and a TOTP fob
/// (serial F-2, 8 digits, 60 s), encrypted with `key` (hex) when given, MAC HMAC-SHA256.
fn pskc_file(dir: &Path, name: &str, protect: Protect) -> String {
    let path = dir.join(name);
    let encrypt = match protect {
        Protect::Key(key) => format!(
            "p.encryption.setup_preshared_key(key=unhexlify('{key}'), algorithm='aes128-cbc')\n\
             p.mac.setup(algorithm='hmac-sha256')\n"
        ),
        Protect::Password(password) => format!(
            "p.encryption.setup_pbkdf2('{password}', algorithm='aes256-cbc', iterations=5000)\n"
        ),
        Protect::Nothing => String::new(),
    };
    let script = format!(
        "from binascii import unhexlify\n\
         import pskc\n\
         p = pskc.PSKC()\n\
         p.add_key(id='k1', serial='F-1', algorithm='urn:ietf:params:xml:ns:keyprov:pskc:hotp', \
                   response_length=6, secret=unhexlify('{FOB_HEX}'), counter=10)\n\
         p.add_key(id='k2', serial='F-2', algorithm='urn:ietf:params:xml:ns:keyprov:pskc:totp', \
                   response_length=8, secret=unhexlify('{FOB_HEX}'), time_interval=60)\n\
         {encrypt}\
         p.write('{}')\n",
        path.display()
    );
    let mut cmd = Command::new(PYTHON);
    cmd.args(["-c", &script]);
    ok(&run(cmd, "", Duration::from_secs(20)));
    path.to_str().unwrap().to_owned()
}

#[test]
fn pskc_fobs_are_imported_all_or_nothing_and_log_in() {
    let server = Server::start();
    server.add_user("erin", "pw-erin");
    server.add_user("finn", "pw-finn");
    let dir = tempfile::tempdir().unwrap();
    let key = "f00dfeedc0ffee0123456789abcdef42";
    let file = pskc_file(dir.path(), "fobs.pskc", Protect::Key(key));
    let key_file = write(dir.path(), "transport.hex", &format!("{key}\n"));
    let map = write(
        dir.path(),
        "owners.csv",
        "serial,user\nF-1,erin\nF-2,finn\n",
    );
    // Encrypted, without the key; with a wrong key; with a tampered MAC.
    let err = failed(&server.cli(&["token", "import-pskc", &file, "--user-map", &map], ""));
    assert!(err.contains("--key-file"), "{err}");
    let wrong = write(dir.path(), "wrong.hex", "00112233445566778899aabbccddeeff");
    let err = failed(&server.cli(
        &[
            "token",
            "import-pskc",
            &file,
            "--user-map",
            &map,
            "--key-file",
            &wrong,
        ],
        "",
    ));
    assert!(err.contains("wrong key or password"), "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    let at = text
        .find("<pskc:ValueMAC>")
        .map(|i| i + "<pskc:ValueMAC>".len())
        .expect("a ValueMAC");
    let mut tampered = text.clone();
    let flipped = if &text[at..at + 1] == "A" { "B" } else { "A" };
    tampered.replace_range(at..at + 1, flipped);
    let tampered = write(dir.path(), "tampered.pskc", &tampered);
    let err = failed(&server.cli(
        &[
            "token",
            "import-pskc",
            &tampered,
            "--user-map",
            &map,
            "--key-file",
            &key_file,
        ],
        "",
    ));
    assert!(
        err.contains("key package k1 (serial F-1): MAC check failed"),
        "{err}"
    );
    // One serial without a user: nothing at all is imported.
    let partial = write(dir.path(), "partial.csv", "serial,user\nF-1,erin\n");
    let err = failed(&server.cli(
        &[
            "token",
            "import-pskc",
            &file,
            "--user-map",
            &partial,
            "--key-file",
            &key_file,
        ],
        "",
    ));
    assert!(
        err.contains("key package k2: serial F-2 is not in"),
        "{err}"
    );
    assert_eq!(
        tokens_json(&server, "erin").len(),
        1,
        "nothing was imported"
    );
    assert!(!err.contains(key) && !err.contains(FOB_HEX), "{err}");

    let out = ok(&server.cli(
        &[
            "token",
            "import-pskc",
            &file,
            "--user-map",
            &map,
            "--key-file",
            &key_file,
        ],
        "",
    ));
    assert!(out.contains("Imported 2 tokens"), "{out}");
    // The HOTP fob's counter starts where the file says: 10.
    assert!(!logs_in(&server, "erin", &format!("pw-erin{}", hotp(9))));
    assert!(logs_in(&server, "erin", &format!("pw-erin{}", hotp(10))));
    // The TOTP fob: 8 digits every 60 s, as the file says.
    let code = oathtool(&[
        "--totp",
        "-d",
        "8",
        "-s",
        "60",
        "-b",
        FOB_BASE32,
        "--now",
        &format!("@{}", server.now()),
    ]);
    assert!(logs_in(&server, "finn", &format!("pw-finn{code}")));
    let finn = tokens_json(&server, "finn");
    assert_eq!(
        (finn[1]["digits"].as_u64(), finn[1]["period"].as_u64()),
        (Some(8), Some(60))
    );
    assert_eq!(finn[1]["serial"], "F-2");
    // Plaintext files need no key; a password-encrypted one reads the password from stdin.
    server.add_user("gail", "pw-gail");
    let plain = pskc_file(dir.path(), "plain.pskc", Protect::Nothing);
    let gail = write(dir.path(), "gail.csv", "serial,user\nF-1,gail\nF-2,gail\n");
    ok(&server.cli(&["token", "import-pskc", &plain, "--user-map", &gail], ""));
    assert_eq!(tokens_json(&server, "gail").len(), 3);
    server.add_user("hugo", "pw-hugo");
    let locked = pskc_file(dir.path(), "pbkdf2.pskc", Protect::Password("transport pw"));
    let hugo = write(dir.path(), "hugo.csv", "serial,user\nF-1,hugo\nF-2,hugo\n");
    let import = [
        "token",
        "import-pskc",
        &locked,
        "--user-map",
        &hugo,
        "--password-stdin",
    ];
    let err = failed(&server.cli(&import, "not the password\n"));
    assert!(err.contains("wrong key or password"), "{err}");
    assert!(!err.contains("not the password"), "{err}");
    ok(&server.cli(&import, "transport pw\n"));
    assert!(logs_in(&server, "hugo", &format!("pw-hugo{}", hotp(10))));
}

#[test]
fn a_code_used_on_one_node_is_refused_on_the_other() {
    let db = TestDatabase::new();
    let key = SharedKey::new();
    let (a, b) = two_nodes(Conf::default(), &db, &key);
    a.add_user("hana", "pw-hana");
    ok(&a.cli(
        &[
            "token", "add", "hana", "--type", "hotp", "--secret", FOB_BASE32,
        ],
        "",
    ));
    add_yubikey(&b, "hana");
    let fob = format!("pw-hana{}", hotp(0));
    assert!(logs_in(&a, "hana", &fob));
    assert!(!logs_in(&b, "hana", &fob));
    b.assert_reason("code already used");
    let otp = format!("pw-hana{}", yubico_otp(1, 0));
    assert!(logs_in(&b, "hana", &otp));
    assert!(!logs_in(&a, "hana", &otp));
    assert!(logs_in(&a, "hana", &format!("pw-hana{}", yubico_otp(1, 1))));
}

#[test]
fn token_add_mistakes_say_what_to_type() {
    let server = Server::start();
    server.add_user("ivy", "pw-ivy");
    let cases: &[(&[&str], &str)] = &[
        (&["--type", "hotp"], "--type hotp needs --secret"),
        (
            &["--type", "hotp", "--secret", "not base32!"],
            "--secret: the",
        ),
        (
            &["--type", "hotp", "--secret", FOB_BASE32, "--period", "60"],
            "--period is not for --type hotp",
        ),
        (
            &["--type", "totp", "--counter", "3"],
            "--counter is not for --type totp",
        ),
        (
            &["--type", "yubico", "--public-id", "abc"],
            "--public-id must be 12 modhex characters",
        ),
        (
            &[
                "--type",
                "yubico",
                "--public-id",
                PUBLIC_ID,
                "--private-id",
                "zz",
                "--aes-key",
                AES_KEY,
            ],
            "--private-id must be 12 hex digits",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["token", "add", "ivy"];
        all.extend_from_slice(args);
        let out = server.cli(&all, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let out = server.cli(
        &[
            "token", "add", "nobody", "--type", "hotp", "--secret", FOB_BASE32,
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert_eq!(tokens_json(&server, "ivy").len(), 1, "nothing was added");
    let out = add_yubikey(&server, "ivy");
    assert!(out.contains("at most 84 bytes"), "{out}");
}
