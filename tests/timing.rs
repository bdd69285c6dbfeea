//! Equal timing of every reject class, measured at the real argon2 cost with the reject delay
//! at 0, so that only the work is measured. Ignored by default (it measures, and takes ~15 s);
//! run it with:
//!
//!     cargo test --release --test timing -- --ignored --nocapture
//!
//! It prints the median reply time of each class over 60 requests, sent round-robin, and the
//! ratio of the slowest median to the fastest. It asserts only what must hold whatever the
//! machine: every class ran the same single argon2 verification — the locked and the unknown
//! user against the dummy hash. `RADOTP_TIMING_REJECT_DELAY_MS=1000` measures with the default
//! reject delay instead (every reject then leaves 1 s after it arrived).

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
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/send-code");
    let reject_delay_ms = std::env::var("RADOTP_TIMING_REJECT_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let server = Server::with(Conf {
        reject_delay_ms,
        memory_kib: 19456,
        iterations: 2,
        workers: 1,
        extra: format!(
            "[lockout]\nmax_failures = 100\nbase_secs = 3600\nmax_secs = 3600\n\n\
             [delivery]\ncommand = [\"{script}\"]\nresend_cooldown_secs = 3600\n"
        ),
        ..Conf::default()
    });
    let names = [
        "known", "replay", "disabled", "expired", "known2", "locked", "texted",
    ];
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

    settle(25);
    // Set up the states: a used code, a disabled user, an expired temporary password, a locked
    // user, and one whose next code may not be sent yet.
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
    for i in 0..100 {
        assert_eq!(login("locked", format!("guess{i}")), ACCESS_REJECT);
    }
    assert!(server.wait_for_reason("locked until"));
    let out = server.cli(&["user", "set", "texted", "--sms", "+15550100"], "");
    assert!(out.status.success());
    assert_eq!(login("texted", "pw-right".into()), ACCESS_REJECT);
    assert!(server.wait_for_reason("code sent by sms"));
    server.advance(2);
    let setup = 1 + 100 + 1;

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
            "locked user",
            "locked",
            format!("pw-right{}", code_now(&secrets[5])),
        ),
        ("code rate-limited", "texted", "pw-right".into()),
        (
            "unknown user",
            "nobody",
            format!("pw-right{}", code_now(&secrets[0])),
        ),
    ];
    println!(
        "\nmedian reply time over {PER_CLASS} requests, argon2id m=19456 KiB t=2 p=1, reject delay {reject_delay_ms} ms:"
    );
    // Round-robin over the classes, so that the machine's drift (a shared VM's noisy
    // neighbours) falls on every class alike rather than on whichever runs at a bad moment.
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); classes.len()];
    for _ in 0..PER_CLASS {
        for ((class, user, input), times) in classes.iter().zip(&mut samples) {
            let started = Instant::now();
            assert_eq!(login(user, input.clone()), ACCESS_REJECT, "{class}");
            times.push(started.elapsed());
        }
    }
    let mut medians = Vec::new();
    for ((class, _, _), times) in classes.iter().zip(samples) {
        let m = median(times);
        println!("  {class:<18} {:>6.2} ms", m.as_secs_f64() * 1000.0);
        medians.push(m);
    }
    let (min, max) = (medians.iter().min().unwrap(), medians.iter().max().unwrap());
    println!(
        "  max/min of the class medians: {:.3}",
        max.as_secs_f64() / min.as_secs_f64()
    );
    server.assert_reason("locked (until");
    server.assert_reason("no code sent: one was sent moments ago");
    let mut server = server;
    server.stop();
    let stopped = server
        .events()
        .into_iter()
        .rfind(|e| e["message"] == "stopped")
        .unwrap();
    assert_eq!(
        stopped["argon2_verifications"].as_u64(),
        Some((PER_CLASS * classes.len() + setup) as u64),
        "one check per request, whatever the class"
    );
}
