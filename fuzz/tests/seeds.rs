//! Replays every committed seed (`seeds/TARGET/*`) through its fuzz target's `run`, and any
//! local crash artifacts (`artifacts/TARGET/*`, not committed, may be absent), so that a change
//! to radotp that breaks the harness or reintroduces a found bug fails `cargo test`.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use radotp_fuzz::targets;

/// The files directly in `dir`, sorted; none if it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `run` on every seed of `target` (there must be some) and every artifact, each to the
/// end, then fails naming each input that panicked.
fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = inputs(&root.join("seeds").join(target));
    assert!(!seeds.is_empty(), "no seeds for {target}");
    let artifacts = inputs(&root.join("artifacts").join(target));
    let mut failed = Vec::new();
    for path in seeds.iter().chain(&artifacts) {
        let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if panic::catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs panicked (messages above):\n{}",
        failed.len(),
        seeds.len() + artifacts.len(),
        failed.join("\n")
    );
}

// One test per target, seeds and artifacts together: the `parsers` target writes its files to
// one folder per process, so two replays of it must not run at the same time.

#[test]
fn eap_seeds_and_artifacts_pass() {
    replay("eap", targets::eap::run);
}

#[test]
fn packet_path_seeds_and_artifacts_pass() {
    replay("packet_path", targets::packet_path::run);
}

#[test]
fn parsers_seeds_and_artifacts_pass() {
    replay("parsers", targets::parsers::run);
}

#[test]
fn reply_seeds_and_artifacts_pass() {
    replay("reply", targets::reply::run);
}
