//! Equal timing of every reject class, measured at the real argon2 cost. Ignored by default (it
//! measures, and takes ~15 s); run it with:
//!
//!     cargo test --release --test timing -- --ignored --nocapture
//!
//! It prints the median reply time of each class over 60 requests. It asserts only what must
//! hold whatever the machine: every class ran the same single argon2 verification.

mod common;

use std::time::{Duration, Instant};

use common::client::*;
use common::*;
use serde_json::Value;

const PER_CLASS: usize = 60;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[test]
#[ignore = "measurement: run with --ignored --nocapture"]
fn every_reject_class_takes_the_same_time() {
    let server = Server::with(Conf {
        memory_kib: 19456,
        iterations: 2,
        workers: 1,
        extra: "[lockout]\nmax_failures = 100\n".into(),
        ..Conf::default()
    });
    let names = ["known", "replay", "disabled", "expired", "known2"];
    let secrets: Vec<String> = names
        .iter()
        .map(|n| server.add_user(n, "pw-right"))
        .collect();
    let client = Client::new(server.addr());
    let login = |user: &str, input: String| {
        client
            .exchange(&Request::access(SECRET, user, input.as_bytes()))
            .code
    };

    // Set up the states: a used code, a disabled user, an expired temporary password.
    let replay_code = code_now(&secrets[1]);
    assert_eq!(
        login("replay", format!("pw-right{replay_code}")),
        ACCESS_ACCEPT
    );
    assert!(
        server
            .cli(&["user", "disable", "disabled"], "")
            .status
            .success()
    );
    let out = server.cli(
        &["user", "temp-password", "expired", "--ttl", "1s", "--json"],
        "",
    );
    let temp: Value = serde_json::from_slice(&out.stdout).unwrap();
    let temp = temp["password"].as_str().unwrap().to_owned();
    server.advance(2);

    // Separate users for the two guessing classes, so neither reaches the lockout threshold.
    let classes: Vec<(&str, &str, String)> = vec![
        (
            "wrong password",
            "known",
            format!("pw-wrong{}", code_now(&secrets[0])),
        ),
        (
            "wrong code",
            "known2",
            format!("pw-right{}", wrong_code(&secrets[4])),
        ),
        ("replayed code", "replay", format!("pw-right{replay_code}")),
        (
            "disabled user",
            "disabled",
            format!("pw-right{}", code_now(&secrets[2])),
        ),
        (
            "expired password",
            "expired",
            format!("{temp}{}", code_now(&secrets[3])),
        ),
        (
            "unknown user",
            "nobody",
            format!("pw-right{}", code_now(&secrets[0])),
        ),
    ];
    let verifications_before = PER_CLASS * classes.len() + 1;
    println!(
        "\nmedian reply time over {PER_CLASS} requests, argon2id m=19456 KiB t=2 p=1, reject delay 0:"
    );
    for (class, user, input) in &classes {
        let samples: Vec<Duration> = (0..PER_CLASS)
            .map(|_| {
                let started = Instant::now();
                assert_eq!(login(user, input.clone()), ACCESS_REJECT, "{class}");
                started.elapsed()
            })
            .collect();
        println!(
            "  {class:<18} {:>6.1} ms",
            median(samples).as_secs_f64() * 1000.0
        );
    }
    let mut server = server;
    server.stop();
    let stopped = server
        .events()
        .into_iter()
        .rfind(|e| e["message"] == "stopped")
        .unwrap();
    assert_eq!(
        stopped["argon2_verifications"].as_u64(),
        Some(verifications_before as u64)
    );
}
