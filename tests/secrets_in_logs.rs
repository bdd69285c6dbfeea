//! A full login scenario at debug and trace level, JSON logs: no password, code, shared secret
//! or TOTP seed may appear anywhere in the server's output or the CLI's.

mod common;

use common::client::*;
use common::*;
use serde_json::Value;

const SHARED: &str = "a-very-secret-shared-secret-42";
const PASSWORD: &str = "Correct-Horse-Battery";

fn scenario(level: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/send-code");
    let mut challenge = ClientConf::new("challenger", "127.0.0.2/32", SHARED);
    challenge.mode = Some("challenge".into());
    let server = Server::with_level(
        Conf {
            extra: format!("[delivery]\ncommand = [\"{script}\"]\nresend_cooldown_secs = 0\n"),
            ..Conf::default().clients(vec![
                ClientConf::new("vpn", "127.0.0.1/32", SHARED),
                challenge,
            ])
        },
        level,
    );
    let seed = server.add_user("alice", PASSWORD);
    let mut secrets = vec![SHARED.to_owned(), PASSWORD.to_owned(), seed.clone()];
    assert!(
        server
            .cli(&["user", "set", "alice", "--email", "a@example.org"], "")
            .status
            .success()
    );
    let out = server.cli(&["user", "recovery-codes", "alice", "--json"], "");
    let codes: Value = serde_json::from_slice(&out.stdout).unwrap();
    let recovery = codes["codes"][0].as_str().unwrap().to_owned();
    secrets.push(recovery.clone());

    let vpn = Client::new(server.addr());
    let login = |client: &Client, input: &str| {
        client.exchange(&Request::access(SHARED, "alice", input.as_bytes()))
    };
    let code = code_now(&seed);
    secrets.push(format!("{PASSWORD}{code}"));
    assert_eq!(
        login(&vpn, &format!("{PASSWORD}{code}")).code,
        ACCESS_ACCEPT
    );
    assert_eq!(
        login(&vpn, &format!("{PASSWORD}{code}")).code,
        ACCESS_REJECT
    );
    assert_eq!(login(&vpn, &format!("wrong{code}")).code, ACCESS_REJECT);
    assert_eq!(login(&vpn, PASSWORD).code, ACCESS_REJECT); // sends a code
    assert!(server.wait_for_reason("code sent by email"));
    // Delivery runs after the reply: wait (bounded) for the command to have written it.
    let file = server.config_path().with_file_name("delivered.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let delivered = loop {
        match std::fs::read_to_string(&file) {
            Ok(text) if text.ends_with('\n') => break text,
            _ if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            other => panic!("no code delivered within 5 s: {other:?}"),
        }
    };
    let sent: Value = serde_json::from_str(delivered.lines().next().unwrap()).unwrap();
    let sent_code = sent["code"].as_str().unwrap().to_owned();
    assert_eq!(
        login(&vpn, &format!("{PASSWORD}{sent_code}")).code,
        ACCESS_ACCEPT
    );
    assert_eq!(
        login(&vpn, &format!("{PASSWORD}{recovery}")).code,
        ACCESS_ACCEPT
    );
    // Challenge mode from 127.0.0.2.
    let other = Client::bind("127.0.0.2:0", server.addr());
    let challenge = login(&other, PASSWORD);
    let state = challenge.values(24).pop().expect("State");
    let next = code_at(&seed, now() + 30);
    let answer =
        other.exchange(&Request::access(SHARED, "alice", next.as_bytes()).attr(24, &state));
    assert_eq!(answer.code, ACCESS_ACCEPT);

    let logs = server.logs();
    assert!(
        logs.contains("\"outcome\":\"accept\""),
        "the scenario was logged"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "{secret:?} appears in the {level} log"
        );
    }
    // Six-digit codes: compare whole string fields, since digits occur inside timestamps.
    for event in server.events() {
        for (key, value) in event.as_object().unwrap() {
            if let Some(text) = value.as_str().filter(|_| key != "timestamp") {
                for code in [&code, &next, &sent_code] {
                    assert!(!text.contains(code.as_str()), "code in {key}: {text}");
                }
            }
        }
    }
}

#[test]
fn debug_logs_hold_no_secret() {
    scenario("debug");
}

#[test]
fn trace_logs_hold_no_secret() {
    scenario("trace");
}
