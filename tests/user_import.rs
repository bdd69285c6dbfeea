//! `radotp user import`: CSV and JSON lines, all or nothing, generated secrets reported once;
//! and `check-config` looking at the key file and the database.

mod common;

use std::process::Output;

use common::client::*;
use common::*;
use radotp_server::auth::password;
use radotp_server::auth::password::PasswordCost;
use serde_json::Value;

const LOW_COST: PasswordCost = PasswordCost {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn write(server: &Server, name: &str, text: &str) -> String {
    let path = server.config_path().with_file_name(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn user_count(server: &Server) -> usize {
    let out = stdout(&server.cli(&["user", "list", "--json"], ""));
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .len()
}

fn login(server: &Server, user: &str, input: &str) -> u8 {
    Client::new(server.addr())
        .exchange(&Request::access(SECRET, user, input.as_bytes()))
        .code
}

#[test]
fn csv_and_json_lines_import_users_who_can_log_in() {
    let server = Server::start();
    let hash = password::hash(LOW_COST, b"pw-hashed").unwrap();
    let known = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let csv = format!(
        "name,password,password_hash,totp_secret\n\
         plain,pw-plain,,\n\
         hashed,,\"{hash}\",\n\
         seeded,pw-seeded,,{known}\n\
         unquoted,,{hash},{known}\n"
    );
    let file = write(&server, "staff.csv", &csv);
    let out = stdout(&server.cli(&["user", "import", &file, "--json"], ""));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["imported"], 4);
    let generated: Vec<(String, String)> = report["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().into(),
                u["secret"].as_str().unwrap().into(),
            )
        })
        .collect();
    let names: Vec<&str> = generated.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["plain", "hashed"],
        "only generated secrets are reported"
    );
    for ((name, secret), pw) in generated.iter().zip(["pw-plain", "pw-hashed"]) {
        assert_eq!(
            login(&server, name, &format!("{pw}{}", code_now(secret))),
            ACCESS_ACCEPT
        );
    }
    assert_eq!(
        login(&server, "seeded", &format!("pw-seeded{}", code_now(known))),
        ACCESS_ACCEPT
    );
    // A PHC string holds commas; written without quotes, it is read all the same.
    assert!(hash.matches(',').count() == 2, "{hash}");
    assert_eq!(
        login(
            &server,
            "unquoted",
            &format!("pw-hashed{}", code_now(known))
        ),
        ACCESS_ACCEPT
    );

    let jsonl = format!(
        "{{\"name\":\"j1\",\"password\":\"pw-j1\",\"totp_secret\":\"{known}\"}}\n\n\
         {{\"name\":\"j2\",\"password_hash\":\"{hash}\",\"digits\":8,\"period\":60,\"algorithm\":\"SHA256\"}}\n"
    );
    let file = write(&server, "more.jsonl", &jsonl);
    let text = stdout(&server.cli(&["user", "import", &file], ""));
    assert!(text.contains("Imported 2 user(s)"), "{text}");
    assert!(text.contains("j2  otpauth://totp/"), "{text}");
    // Steps are used per user: the same seed's code still works for another account.
    assert_eq!(
        login(&server, "j1", &format!("pw-j1{}", code_now(known))),
        ACCESS_ACCEPT
    );
}

#[test]
fn a_bad_row_names_its_line_and_nothing_is_written() {
    let server = Server::start();
    server.add_user("taken", "pw");
    let cases = [
        (
            "name,password,password_hash\nok1,pw1,\nbad,,plaintext\nok2,pw2,\n",
            vec!["line 3", "password_hash"],
        ),
        (
            "name,password,totp_secret\nok1,pw1\n",
            vec!["line 2", "2 fields where the header has 3"],
        ),
        (
            "name,password\nok1,pw,with,commas\n",
            vec!["line 2", "4 fields where the header has 2", "quote"],
        ),
        (
            "name,password_hash\nok1,not,a,hash\n",
            vec!["line 2", "password_hash does not take the extra ones"],
        ),
        (
            "name,password,digits\nok1,pw1,7\n",
            vec!["line 2", "digits 7"],
        ),
        (
            "name,password\na,pw\nb,pw\na,pw\n",
            vec!["line 4", "also on line 2"],
        ),
        (
            "name,password\nok1,pw\ntaken,pw\n",
            vec!["line 3", "\"taken\" already exists"],
        ),
        ("name,password,shoe_size\nok1,pw,42\n", vec!["shoe_size"]),
        (
            "name,password\nok1,\n",
            vec!["line 2", "password or password_hash is required"],
        ),
        (
            "{\"name\":\"ok1\",\"password\":\"pw\"}\n{\"name\":\"x\"\n",
            vec!["line 2"],
        ),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let file = write(&server, &format!("bad{i}.txt"), text);
        let out = server.cli(&["user", "import", &file], "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {stderr}");
        for needle in expected {
            assert!(
                stderr.contains(needle),
                "case {i}: {needle:?} not in {stderr}"
            );
        }
        assert_eq!(user_count(&server), 1, "case {i} wrote something");
    }
}

#[test]
fn thousands_of_prehashed_rows_import_in_one_go() {
    let server = Server::start();
    let hash = password::hash(LOW_COST, b"pw").unwrap();
    let mut csv = String::from("name,password_hash\n");
    for i in 0..2000 {
        csv.push_str(&format!("user{i:05},\"{hash}\"\n"));
    }
    let file = write(&server, "bulk.csv", &csv);
    let text = stdout(&server.cli(&["user", "import", &file], ""));
    assert!(text.contains("Imported 2000 user(s)"));
    assert_eq!(user_count(&server), 2000);
}

#[cfg(unix)]
#[test]
fn check_config_looks_at_the_key_file_and_the_database() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start();
    server.add_user("u", "pw"); // creates the database and the key file
    let key = server.config_path().with_file_name("radotp.key");
    let check = || server.cli(&["check-config"], "");
    assert!(stdout(&check()).contains("configuration OK"));

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = check();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let original = std::fs::read(&key).unwrap();
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).unwrap();
    let out = check();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be unsealed"));

    std::fs::remove_file(&key).unwrap();
    let out = check();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("restore the key file"));
    std::fs::write(&key, original).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(stdout(&check()).contains("configuration OK"));
}
