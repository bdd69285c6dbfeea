//! Sending a code by running a command: the JSON document on its stdin, never on its command
//! line (where `ps` would show it), killed if it outlives its timeout.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A configured delivery command.
#[derive(Debug, Clone)]
pub struct CommandSender {
    /// Program and its fixed arguments.
    pub argv: Vec<String>,
    /// Working folder: the configuration file's, so relative paths work.
    pub dir: PathBuf,
    pub timeout: Duration,
}

/// Bounds of the time a command may take.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(100);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

impl CommandSender {
    /// Run the command with `body` on stdin; success is exit status 0 within the timeout.
    pub fn send(&self, body: &serde_json::Value) -> Result<(), String> {
        let (program, args) = self.argv.split_first().ok_or("no command configured")?;
        let mut child = Command::new(program)
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A command that exits without reading its input is its own business; its status
            // says whether it worked.
            let _ = stdin.write_all(format!("{body}\n").as_bytes());
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    let mut stderr = String::new();
                    if let Some(mut err) = child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
                    }
                    let detail = stderr.lines().next().unwrap_or("").trim();
                    return Err(format!("{program} exited with {status}: {detail}"));
                }
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{program} did not finish within {:?}; killed",
                        self.timeout
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("cannot wait for {program}: {e}")),
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sender(script: &str, timeout_ms: u64) -> (tempfile::TempDir, CommandSender) {
        let dir = tempfile::tempdir().unwrap();
        let sender = CommandSender {
            argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
            dir: dir.path().to_owned(),
            timeout: Duration::from_millis(timeout_ms),
        };
        (dir, sender)
    }

    #[test]
    fn the_body_arrives_on_stdin() {
        let (dir, s) = sender("cat > received.json", 5000);
        s.send(&serde_json::json!({"code": "123456"})).unwrap();
        let got = std::fs::read_to_string(dir.path().join("received.json")).unwrap();
        assert_eq!(got.trim(), r#"{"code":"123456"}"#);
    }

    #[test]
    fn failures_say_why_without_the_code() {
        let (_dir, s) = sender("echo gateway said no >&2; exit 3", 5000);
        let err = s.send(&serde_json::json!({"code": "987654"})).unwrap_err();
        assert!(
            err.contains("exit status: 3") && err.contains("gateway said no"),
            "{err}"
        );
        assert!(!err.contains("987654"));
        let (_dir, s) = sender("sleep 5", 100);
        assert!(
            s.send(&serde_json::json!({}))
                .unwrap_err()
                .contains("killed")
        );
        let missing = CommandSender {
            argv: vec!["/nonexistent/send-code".into()],
            dir: std::env::temp_dir(),
            timeout: Duration::from_secs(1),
        };
        assert!(
            missing
                .send(&serde_json::json!({}))
                .unwrap_err()
                .contains("cannot run")
        );
    }
}
