//! What can go wrong reading a dictionary file (each problem at a file and line) and encoding
//! an attribute value (each problem naming the attribute and what to write instead).

use std::fmt;

use super::DataType;

/// A line of a dictionary file; built-in files show as `<built-in>/dictionary.rfc2865`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Why a dictionary could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DictionaryError {
    #[error("cannot read dictionary file {file}: {reason}; check the path")]
    Read { file: String, reason: String },
    #[error("{at}: {problem}")]
    Line { at: Location, problem: LineError },
}

/// A problem with one line of a dictionary file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error(
        "unknown directive `{0}`; a line starts with ATTRIBUTE, VALUE, VENDOR, BEGIN-VENDOR, \
         END-VENDOR or $INCLUDE (or # for a comment)"
    )]
    UnknownDirective(String),
    #[error("malformed {directive} line; write `{usage}`")]
    Usage {
        directive: &'static str,
        usage: &'static str,
    },
    #[error("{what} name `{name}` may hold only letters, digits and - _ . / +")]
    BadName { what: &'static str, name: String },
    #[error("{what} `{text}` is not a number from {min} to {max} (decimal, or hex as 0x…)")]
    BadNumber {
        what: &'static str,
        text: String,
        min: u64,
        max: u64,
    },
    #[error(
        "unknown type `{0}`; use string, octets, integer, byte, short, integer64, date, ipaddr, \
         ipv6addr, ipv6prefix, ifid or ether"
    )]
    UnknownType(String),
    #[error("unknown flag `{0}`; the flags are has_tag and encrypt=1, encrypt=2 or encrypt=3")]
    UnknownFlag(String),
    #[error("flag `{flag}` {reason}")]
    FlagNotAllowed { flag: String, reason: &'static str },
    #[error(
        "vendor format `{0}` is not supported; write format=T,L with T (type octets) 1, 2 or 4 \
         and L (length octets) 0, 1 or 2"
    )]
    VendorFormat(String),
    #[error(
        "attribute `{name}` is already defined differently at {previous}; remove or rename one"
    )]
    DuplicateAttribute { name: String, previous: Location },
    #[error("vendor `{name}` is already defined differently at {previous}; remove or rename one")]
    DuplicateVendor { name: String, previous: Location },
    #[error(
        "vendor number {id} is already `{name}` (at {previous}) with another format; \
         give both the same format= or drop one"
    )]
    VendorFormatConflict {
        id: u32,
        name: String,
        previous: Location,
    },
    #[error("vendor `{0}` is not defined; add `VENDOR {0} <number>` before using it")]
    UnknownVendor(String),
    #[error("BEGIN-VENDOR inside the block of vendor `{0}`; close it with `END-VENDOR {0}` first")]
    NestedVendor(String),
    #[error("END-VENDOR {end} does not match the open block `BEGIN-VENDOR {open}`")]
    EndVendorMismatch { open: String, end: String },
    #[error("END-VENDOR {0} without a BEGIN-VENDOR {0} before it in this file")]
    EndVendorWithoutBegin(String),
    #[error("BEGIN-VENDOR {0} is never closed; add `END-VENDOR {0}` at the end of its block")]
    UnclosedVendor(String),
    #[error(
        "VALUE for `{0}`, which is not defined (yet); define it with ATTRIBUTE before its values"
    )]
    ValueForUnknownAttribute(String),
    #[error("VALUE names numbers, but `{attribute}` is a {data_type} attribute")]
    ValueNotInteger {
        attribute: String,
        data_type: DataType,
    },
    #[error("VALUE `{value}` of `{attribute}` is already {number}; remove or rename one")]
    DuplicateValue {
        attribute: String,
        value: String,
        number: u64,
    },
    #[error("cannot $INCLUDE {path}: {reason}")]
    Include { path: String, reason: String },
    #[error("$INCLUDE cycle: {}; remove one of these $INCLUDE lines", .0.join(" includes "))]
    IncludeCycle(Vec<String>),
}

/// Why a value cannot be sent as an attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("unknown attribute `{name}`{}", did_you_mean(.suggestions))]
    UnknownAttribute {
        name: String,
        suggestions: Vec<String>,
    },
    #[error("`{attribute}`: tag `{tag}` {reason}")]
    BadTag {
        attribute: String,
        tag: String,
        reason: &'static str,
    },
    #[error("`{attribute}` takes {expected}; {got} is not one")]
    WrongType {
        attribute: String,
        expected: &'static str,
        got: String,
    },
    #[error("`{attribute}` = {value} is out of range: this {data_type} attribute takes 0 to {max}")]
    OutOfRange {
        attribute: String,
        value: String,
        data_type: &'static str,
        max: u64,
    },
    #[error("`{attribute}` has no value named `{value}`; write a number or one of: {known}")]
    UnknownValue {
        attribute: String,
        value: String,
        known: String,
    },
    #[error("`{attribute}` = {value} has bits set after /{length}; write {suggestion}")]
    HostBits {
        attribute: String,
        value: String,
        length: u8,
        suggestion: String,
    },
    #[error("`{attribute}` value is {len} octets; at most {max} fit in one attribute")]
    TooLong {
        attribute: String,
        len: usize,
        max: usize,
    },
    #[error("`{attribute}` cannot be empty: a RADIUS attribute carries at least one octet")]
    Empty { attribute: String },
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => "; check the spelling or define it in a dictionary file".to_string(),
        [one] => format!("; did you mean `{one}`?"),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(|s| format!("`{s}`")).collect();
            format!("; did you mean {} or `{last}`?", rest.join(", "))
        }
    }
}
