//! Small filesystems a test makes itself, to put a database on a disk that fills up or turns
//! read-only under the running server: a tmpfs mounted on a temporary folder (root only, as
//! these tests run in CI), unmounted when dropped.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Tmpfs {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

fn mount(args: &[&str]) {
    let out = Command::new("mount")
        .args(args)
        .output()
        .expect("run mount");
    assert!(
        out.status.success(),
        "mount {args:?} failed ({}): these tests put the database on a small filesystem of \
         their own and need to run as root",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

impl Tmpfs {
    /// A tmpfs of `kib` KiB.
    pub fn new(kib: u64) -> Tmpfs {
        let dir = tempfile::Builder::new()
            .prefix("radotp-tmpfs")
            .tempdir()
            .unwrap();
        let path = dir.path().join("mnt");
        std::fs::create_dir(&path).unwrap();
        let size = format!("size={kib}k");
        mount(&["-t", "tmpfs", "-o", &size, "tmpfs", path.to_str().unwrap()]);
        Tmpfs { path, _dir: dir }
    }

    /// Fill every free byte with a file of its own (`release` frees it).
    pub fn fill(&self) {
        let mut file = File::create(self.filler()).unwrap();
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        // The last, partial block.
        while file.write_all(&[0]).is_ok() {}
        let _ = file.sync_all();
    }

    pub fn release(&self) {
        let _ = std::fs::remove_file(self.filler());
    }

    fn filler(&self) -> PathBuf {
        self.path.join("filler")
    }

    pub fn read_only(&self) {
        mount(&["-o", "remount,ro", self.path.to_str().unwrap()]);
    }

    /// (Only without files open for writing: Linux refuses to remount a busy filesystem.)
    pub fn read_write(&self) {
        mount(&["-o", "remount,rw", self.path.to_str().unwrap()]);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}
