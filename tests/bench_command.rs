//! `radotp bench` against a real server: every answer verified and counted, bench users that
//! log in, rejects that are rejects, loopback only, and the argon2 calibration.

mod common;

use common::*;
use serde_json::Value;

/// Run `radotp bench ARGS…` against `server`; the exit code and the one JSON document.
fn bench(server: &Server, args: &[&str]) -> (Option<i32>, Value) {
    let out = server.cli(&[&["bench"], args].concat(), "");
    (out.status.code(), json_document(&out))
}

#[test]
fn status_server_answers_are_all_counted_and_none_is_bad() {
    let server = Server::start();
    let addr = server.addr().to_string();
    let (code, report) = bench(
        &server,
        &[
            "--server",
            &addr,
            "--scenario",
            "status",
            "--count",
            "200",
            "--duration",
            "20s",
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["sent"], 200, "{report}");
    assert_eq!(report["answered"], 200, "{report}");
    assert_eq!(report["answers"]["accept"], 200, "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["bad"], 0, "{report}");
    assert_eq!(report["unexpected"], 0, "{report}");
    assert!(report["requests_per_s"].as_f64().unwrap() > 0.0, "{report}");
    let latency = &report["latency_ms"];
    assert!(latency["p50"].as_f64().unwrap() <= latency["max"].as_f64().unwrap());
}

#[test]
fn bench_users_log_in_once_each_and_wrong_codes_are_rejected() {
    let server = Server::start();
    let addr = server.addr().to_string();
    let (code, created) = bench(&server, &["--setup-users", "50", "--json"]);
    assert_eq!(code, Some(0), "{created}");
    assert_eq!(
        (created["created"].as_u64(), created["total"].as_u64()),
        (Some(50), Some(50))
    );

    let (code, report) = bench(
        &server,
        &[
            "--server",
            &addr,
            "--scenario",
            "accept",
            "--count",
            "50",
            "--duration",
            "20s",
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["sent"], 50, "{report}");
    assert_eq!(report["answers"]["accept"], 50, "{report}");
    assert_eq!(report["unexpected"], 0, "{report}");
    assert_eq!(report["users"], 50, "{report}");

    let (code, report) = bench(
        &server,
        &[
            "--server",
            &addr,
            "--scenario",
            "reject",
            "--count",
            "20",
            "--duration",
            "20s",
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["sent"], 20, "{report}");
    assert_eq!(report["answers"]["reject"], 20, "{report}");
    assert_eq!(report["answers"]["accept"], 0, "{report}");
    assert_eq!(report["bad"], 0, "{report}");
    server.assert_reason("wrong password or code");

    // And they go again, with their record.
    let (code, removed) = bench(&server, &["--remove-users", "--json"]);
    assert_eq!(code, Some(0), "{removed}");
    assert_eq!(removed["removed"], 50, "{removed}");
    let list = json_document(&server.cli(&["user", "list", "--json"], ""));
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
}

#[test]
fn login_scenarios_without_bench_users_say_how_to_make_them() {
    let server = Server::start();
    let addr = server.addr().to_string();
    let out = server.cli(&["bench", "--server", &addr, "--scenario", "accept"], "");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--setup-users"), "{stderr}");
}

#[test]
fn a_server_that_is_not_on_this_machine_is_refused() {
    let server = Server::start();
    for target in ["192.0.2.1:1812", "[2001:db8::1]:1812", "10.0.0.1"] {
        let out = server.cli(
            &[
                "bench",
                "--server",
                target,
                "--scenario",
                "status",
                "--count",
                "1",
            ],
            "",
        );
        assert_eq!(out.status.code(), Some(2), "{target}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--allow-remote"), "{target}: {stderr}");
        assert!(out.stdout.is_empty(), "{target}");
    }
}

#[test]
fn a_wrong_shared_secret_gets_no_answer_and_exit_3() {
    let server = Server::start();
    let addr = server.addr().to_string();
    let out = server.cli(
        &[
            "bench",
            "--server",
            &addr,
            "--secret",
            "not-the-secret",
            "--count",
            "3",
            "--timeout",
            "200ms",
            "--json",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(3));
    let report = json_document(&out);
    assert_eq!(
        (report["sent"].as_u64(), report["lost"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(report["answered"], 0);
}

#[test]
fn calibrate_reports_verifications_per_second_at_the_configured_cost() {
    let server = Server::start();
    let (code, report) = bench(&server, &["--calibrate", "--duration", "500ms", "--json"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["memory_kib"], server.conf.memory_kib, "{report}");
    assert_eq!(report["iterations"], server.conf.iterations, "{report}");
    assert!(report["verifies"].as_u64().unwrap() > 0, "{report}");
    assert!(report["verifies_per_s"].as_f64().unwrap() > 0.0, "{report}");
    assert!(
        report["single_median_ms"].as_f64().unwrap() > 0.0,
        "{report}"
    );
}
