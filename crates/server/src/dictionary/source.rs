//! Where dictionary files come from: the disk (an administrator's files) or memory (the
//! built-in files), with the identity `$INCLUDE` cycle detection compares.

use std::io::Read;
use std::path::{Component, Path};

/// Where files come from.
pub(super) enum Source<'a> {
    Disk,
    /// Files by name (`/`-separated, relative to a virtual root), shown as `label/name`.
    Memory {
        label: &'a str,
        files: &'a [(&'a str, &'a str)],
    },
}

/// An administrator's file larger than this is not a dictionary.
const MAX_FILE_LEN: u64 = 16 << 20;

pub(super) struct Opened {
    /// For messages.
    pub(super) shown: String,
    /// For cycle detection: the canonical path, or the in-memory name.
    pub(super) identity: String,
    pub(super) text: String,
}

impl Source<'_> {
    pub(super) fn open(&self, path: &Path) -> Result<Opened, String> {
        match self {
            Source::Disk => {
                let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
                let mut bytes = Vec::new();
                file.take(MAX_FILE_LEN + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| e.to_string())?;
                if bytes.len() as u64 > MAX_FILE_LEN {
                    return Err("larger than 16 MiB; is it a dictionary file?".to_string());
                }
                let identity = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
                Ok(Opened {
                    shown: path.display().to_string(),
                    identity: identity.display().to_string(),
                    // Vendors' files sometimes carry Latin-1 in comments; only ASCII matters.
                    text: String::from_utf8_lossy(&bytes).into_owned(),
                })
            }
            Source::Memory { label, files } => {
                let name = normalize(path);
                let (_, text) = files
                    .iter()
                    .find(|(n, _)| *n == name)
                    .ok_or_else(|| "no such built-in file".to_string())?;
                Ok(Opened {
                    shown: format!("{label}/{name}"),
                    identity: name,
                    text: text.to_string(),
                })
            }
        }
    }
}

/// `a/./b/../c` → `a/c`, lexically (the in-memory files have no links).
fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop();
            }
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    parts.join("/")
}
