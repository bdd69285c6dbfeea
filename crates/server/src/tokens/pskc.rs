//! PSKC key containers (RFC 6030), as token vendors ship them with OATH HOTP and TOTP key fobs:
//! reading the XML, opening the encrypted values (a pre-shared AES key or a PBKDF2 password),
//! checking their MACs, and turning each key package into a [`KeyPackage`] ready to become a
//! token. All or nothing: one bad package fails the whole file, naming that package.
//!
//! `keys` finds the container's encryption and MAC keys, `package` reads each key package,
//! `crypto` holds the ciphers. Nothing prints a secret, a key or a password.

mod crypto;
mod keys;
mod package;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use roxmltree::{Document, Node, ParsingOptions};

use crate::secret::SecretBytes;
use keys::Keys;
use package::{label, parse_package};

const PSKC_NS: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";
const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const PKCS5_NS: &str = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#";

/// Files larger than this are refused before parsing.
pub(crate) const MAX_FILE_BYTES: usize = 16 << 20;
/// More key packages than this are refused before any is read.
pub(crate) const MAX_KEY_PACKAGES: usize = 100_000;

/// How the container's encrypted values are opened.
#[derive(Debug)]
pub enum Decryption {
    /// No key: only a plaintext file can be read.
    None,
    /// The pre-shared AES key (`EncryptionKey/ds:KeyName`, RFC 6030 §6.1).
    PreSharedKey(SecretBytes),
    /// The password a PBKDF2 key is derived from (`EncryptionKey/DerivedKey`, §6.2).
    Password(SecretBytes),
}

/// The TOTP hash (RFC 6238 §1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PskcAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl PskcAlgorithm {
    fn name(self) -> &'static str {
        match self {
            PskcAlgorithm::Sha1 => "HMAC-SHA1",
            PskcAlgorithm::Sha256 => "HMAC-SHA256",
            PskcAlgorithm::Sha512 => "HMAC-SHA512",
        }
    }
}

/// What kind of one-time password a key package makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PskcKind {
    /// RFC 4226 HOTP (HMAC-SHA-1), with the device's moving factor.
    Hotp { counter: u64 },
    /// RFC 6238 TOTP with T0 = 0.
    Totp {
        period: u64,
        algorithm: PskcAlgorithm,
    },
}

/// One key package, ready to become a token.
#[derive(Debug)]
pub struct KeyPackage {
    /// `Key/@Id`, or `#N` (its 1-based position in the file) without one.
    pub id: String,
    /// `DeviceInfo/SerialNo`: usually what is printed on the fob.
    pub serial: Option<String>,
    pub kind: PskcKind,
    /// 6 or 8.
    pub digits: u8,
    /// 1 to 64 bytes.
    pub secret: SecretBytes,
    /// `DeviceInfo/Manufacturer`.
    pub manufacturer: Option<String>,
}

/// Why a file cannot be imported. A problem in one key package names it (its id, and serial if
/// it has one); no message holds a secret, a key or a password.
#[derive(Debug, thiserror::Error)]
pub enum PskcError {
    #[error("the file is {size} bytes; PSKC files over 16 MiB are refused")]
    TooLarge { size: usize },
    #[error("the file has {count} key packages; at most 100000 are imported at once: split it")]
    TooManyPackages { count: usize },
    #[error("not an XML file: {0}")]
    NotXml(String),
    #[error("not a PSKC file: {0}")]
    NotPskc(String),
    #[error("the file has no key packages")]
    NoKeyPackages,
    #[error(
        "the file is encrypted: give the key with --key-file or the password with --password-stdin"
    )]
    NeedsKey,
    #[error("the file is encrypted with a password (PBKDF2): give it with --password-stdin")]
    NeedsPassword,
    /// The caller gave a key where the file wants a password, or the other way round.
    #[error("{0}")]
    WrongDecryption(&'static str),
    #[error(
        "the key from --key-file is {given} bytes, but the file uses {cipher}, which takes \
         {needed}-byte keys"
    )]
    KeyLength {
        given: usize,
        cipher: &'static str,
        needed: usize,
    },
    #[error("wrong key or password: {0}")]
    WrongKey(&'static str),
    #[error("{0}")]
    Unsupported(String),
    #[error("malformed PSKC file: {0}")]
    Malformed(String),
    #[error(
        "{package}: unsupported algorithm {algorithm}: only HOTP and TOTP key packages can be \
         imported"
    )]
    UnsupportedAlgorithm { package: String, algorithm: String },
    #[error("{package}: MAC check failed: the file was altered or the key is wrong")]
    MacMismatch { package: String },
    #[error("{package}: its Id is used by an earlier key package too")]
    DuplicateId { package: String },
    #[error("{package}: {problem}")]
    Package { package: String, problem: String },
}

/// All key packages, or the first problem: all or nothing.
pub fn parse(xml: &str, decryption: &Decryption) -> Result<Vec<KeyPackage>, PskcError> {
    if xml.len() > MAX_FILE_BYTES {
        return Err(PskcError::TooLarge { size: xml.len() });
    }
    // No DTD (the default, made explicit): no entities to expand, internal or external.
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    let doc =
        Document::parse_with_options(xml, options).map_err(|e| PskcError::NotXml(e.to_string()))?;
    let root = doc.root_element();
    check_root(root)?;

    let packages: Vec<Node<'_, '_>> = pskc_children(root, "KeyPackage").collect();
    if packages.len() > MAX_KEY_PACKAGES {
        return Err(PskcError::TooManyPackages {
            count: packages.len(),
        });
    }
    if packages.is_empty() {
        return Err(PskcError::NoKeyPackages);
    }

    let keys = Keys::open(root, decryption)?;
    let mut ids = HashSet::new();
    let mut out = Vec::with_capacity(packages.len());
    for (i, package) in packages.into_iter().enumerate() {
        let parsed = parse_package(package, i + 1, &keys)?;
        if !ids.insert(parsed.id.clone()) {
            return Err(PskcError::DuplicateId {
                package: label(&parsed.id, parsed.serial.as_deref()),
            });
        }
        out.push(parsed);
    }
    Ok(out)
}

/// RFC 6030 §4: the root is `KeyContainer` in the PSKC namespace, `Version="1.0"`.
fn check_root(root: Node<'_, '_>) -> Result<(), PskcError> {
    if !is(root, PSKC_NS, "KeyContainer") {
        let ns = root.tag_name().namespace().unwrap_or("no namespace");
        return Err(PskcError::NotPskc(format!(
            "the root element is {} ({}), not KeyContainer ({PSKC_NS})",
            printable(root.tag_name().name()),
            printable(ns)
        )));
    }
    match root.attribute("Version") {
        Some("1.0") => Ok(()),
        Some(other) => Err(PskcError::Unsupported(format!(
            "PSKC version {} is not supported: only 1.0 (RFC 6030)",
            printable(other)
        ))),
        None => Err(PskcError::NotPskc(
            "the KeyContainer has no Version (RFC 6030 requires Version=\"1.0\")".into(),
        )),
    }
}

fn is(node: Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| is(*n, ns, name))
}

fn pskc_children<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |n| is(*n, PSKC_NS, name))
}

/// The child, if there is one; two are ambiguous, so refused.
fn only_child<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &str,
    name: &str,
) -> Result<Option<Node<'a, 'i>>, String> {
    let mut found = node.children().filter(|n| is(*n, ns, name));
    let first = found.next();
    if found.next().is_some() {
        return Err(format!(
            "{} has more than one {name}",
            node.tag_name().name()
        ));
    }
    Ok(first)
}

/// The text pieces of an element (a comment or CDATA section splits them).
fn texts<'a>(node: Node<'a, '_>) -> impl Iterator<Item = &'a str> {
    node.children()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
}

/// An element's text, trimmed. Not for secrets: they go through [`texts`] straight into the
/// base64 decoder.
fn text(node: Node<'_, '_>) -> String {
    texts(node).collect::<String>().trim().to_owned()
}

/// Text from the file, made safe for a terminal: control characters escaped, cut at 80
/// characters.
fn printable(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == 80 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`printable`] in quotes, or "(none)" when empty.
fn quoted(text: &str) -> String {
    if text.is_empty() {
        "(none)".into()
    } else {
        format!("\"{}\"", printable(text))
    }
}
