//! The built-in dictionary: the files of `dictionary/` compiled into the binary, served to the
//! parser as an in-memory file system so that `$INCLUDE` works as it does on disk.

use super::source::Source;

/// How built-in files are named in error messages.
pub(super) const LABEL: &str = "<built-in>";

/// The file the built-in dictionary starts from.
pub(super) const ROOT: &str = "dictionary";

/// Every file of `dictionary/`, by the name `$INCLUDE` uses.
pub(super) const FILES: &[(&str, &str)] = &[
    ("dictionary", include_str!("../../dictionary/dictionary")),
    (
        "dictionary.aruba",
        include_str!("../../dictionary/dictionary.aruba"),
    ),
    (
        "dictionary.cisco",
        include_str!("../../dictionary/dictionary.cisco"),
    ),
    (
        "dictionary.fortinet",
        include_str!("../../dictionary/dictionary.fortinet"),
    ),
    (
        "dictionary.juniper",
        include_str!("../../dictionary/dictionary.juniper"),
    ),
    (
        "dictionary.microsoft",
        include_str!("../../dictionary/dictionary.microsoft"),
    ),
    (
        "dictionary.mikrotik",
        include_str!("../../dictionary/dictionary.mikrotik"),
    ),
    (
        "dictionary.paloalto",
        include_str!("../../dictionary/dictionary.paloalto"),
    ),
    (
        "dictionary.rfc2865",
        include_str!("../../dictionary/dictionary.rfc2865"),
    ),
    (
        "dictionary.rfc2866",
        include_str!("../../dictionary/dictionary.rfc2866"),
    ),
    (
        "dictionary.rfc2868",
        include_str!("../../dictionary/dictionary.rfc2868"),
    ),
    (
        "dictionary.rfc2869",
        include_str!("../../dictionary/dictionary.rfc2869"),
    ),
    (
        "dictionary.rfc3162",
        include_str!("../../dictionary/dictionary.rfc3162"),
    ),
    (
        "dictionary.rfc3579",
        include_str!("../../dictionary/dictionary.rfc3579"),
    ),
    (
        "dictionary.rfc4818",
        include_str!("../../dictionary/dictionary.rfc4818"),
    ),
    (
        "dictionary.rfc5176",
        include_str!("../../dictionary/dictionary.rfc5176"),
    ),
    (
        "dictionary.rfc6911",
        include_str!("../../dictionary/dictionary.rfc6911"),
    ),
    (
        "dictionary.ubiquiti",
        include_str!("../../dictionary/dictionary.ubiquiti"),
    ),
    (
        "dictionary.wispr",
        include_str!("../../dictionary/dictionary.wispr"),
    ),
];

pub(super) fn source() -> Source<'static> {
    Source::Memory {
        label: LABEL,
        files: FILES,
    }
}
