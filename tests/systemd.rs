//! systemd's notifications, as a `Type=notify` service manager receives them: READY=1 once the
//! sockets are bound, RELOADING=1 then READY=1 around a SIGHUP, WATCHDOG=1 at half
//! WATCHDOG_USEC, STOPPING=1 at SIGTERM. The test plays systemd with a datagram socket of its
//! own (NOTIFY_SOCKET).

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Collect notifications until one contains `want` (or panic after 10 s).
fn wait_for(socket: &UnixDatagram, seen: &mut Vec<String>, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while !seen.iter().any(|m| m.lines().any(|l| l == want)) {
        assert!(Instant::now() < deadline, "no {want}; got {seen:?}");
        if let Ok(n) = socket.recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
}

#[test]
fn ready_reloading_watchdog_and_stopping_reach_the_service_manager() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("radotp.toml");
    std::fs::write(&config, Conf::default().to_toml()).unwrap();
    let notify = dir.path().join("notify");
    let socket = UnixDatagram::bind(&notify).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // systemd names the process the watchdog is for: the shell's PID, which exec makes radotp's.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("export WATCHDOG_PID=$$; exec \"$0\" --config \"$1\" serve")
        .arg(BIN)
        .arg(&config)
        .env(CLOCK_VARIABLE, clock_for(&config))
        .env("NOTIFY_SOCKET", &notify)
        .env("WATCHDOG_USEC", "400000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    /// Killed if the test fails half way.
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("kill").args(["-KILL", &self.0]).status();
        }
    }
    let _kill = Kill(pid.clone());
    let mut seen = Vec::new();
    wait_for(&socket, &mut seen, "READY=1");
    // Half the watchdog interval (0.4 s): at least two pings in 1.5 s.
    let started = Instant::now();
    let mut pings = 0;
    let mut buf = [0u8; 4096];
    while started.elapsed() < Duration::from_millis(1500) {
        if let Ok(n) = socket.recv(&mut buf) {
            pings += usize::from(
                String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .any(|l| l == "WATCHDOG=1"),
            );
        }
    }
    assert!(pings >= 2, "{pings} watchdog pings in 1.5 s");
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    let before = seen.len();
    wait_for(&socket, &mut seen, "RELOADING=1");
    let reloading = seen
        .iter()
        .rposition(|m| m.lines().any(|l| l == "RELOADING=1"))
        .unwrap();
    assert!(reloading >= before);
    let mut after: Vec<String> = seen[reloading + 1..].to_vec();
    wait_for(&socket, &mut after, "READY=1");
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    wait_for(&socket, &mut after, "STOPPING=1");
    assert!(child.wait().unwrap().success());
}
