//! One key package (RFC 6030 §4): its device, its key's algorithm and parameters, and its data
//! (secret, counter, time interval), decrypted and MAC-checked through [`Keys`].

use roxmltree::Node;
use zeroize::Zeroizing;

use super::crypto;
use super::keys::{Keys, encrypted_parts};
use super::{
    KeyPackage, PSKC_NS, PskcAlgorithm, PskcError, PskcKind, child, only_child, printable, quoted,
    text, texts,
};
use crate::secret::SecretBytes;

/// The longest secret accepted: 64 bytes, an HMAC-SHA-512 block's worth.
const MAX_SECRET_BYTES: usize = 64;

/// A problem inside one key package, before it is named.
pub(super) enum Problem {
    Algorithm(String),
    Mac,
    /// Bad padding with no MAC to tell why.
    Undecryptable,
    Text(String),
    /// Not about this package: passed through as it is.
    Container(PskcError),
}

impl From<String> for Problem {
    fn from(text: String) -> Self {
        Problem::Text(text)
    }
}

/// "key package ID (serial S)", for messages.
pub(super) fn label(id: &str, serial: Option<&str>) -> String {
    match serial {
        Some(serial) => format!(
            "key package {} (serial {})",
            printable(id),
            printable(serial)
        ),
        None => format!("key package {}", printable(id)),
    }
}

pub(super) fn parse_package(
    package: Node<'_, '_>,
    index: usize,
    keys: &Keys,
) -> Result<KeyPackage, PskcError> {
    let device = child(package, PSKC_NS, "DeviceInfo");
    let device_text = |name| {
        device
            .and_then(|d| child(d, PSKC_NS, name))
            .map(text)
            .filter(|s| !s.is_empty())
    };
    let serial = device_text("SerialNo");
    let manufacturer = device_text("Manufacturer");
    let key = child(package, PSKC_NS, "Key");
    let id = key
        .and_then(|k| k.attribute("Id"))
        .filter(|id| !id.is_empty())
        .map_or_else(|| format!("#{index}"), str::to_owned);
    let package_label = || label(&id, serial.as_deref());
    let (kind, digits, secret) = read_key(package, keys).map_err(|problem| match problem {
        Problem::Algorithm(algorithm) => PskcError::UnsupportedAlgorithm {
            package: package_label(),
            algorithm,
        },
        Problem::Mac => PskcError::MacMismatch {
            package: package_label(),
        },
        Problem::Undecryptable => PskcError::Package {
            package: package_label(),
            problem: "it does not decrypt: wrong key or password, or the file is damaged".into(),
        },
        Problem::Text(problem) => PskcError::Package {
            package: package_label(),
            problem,
        },
        Problem::Container(e) => e,
    })?;
    Ok(KeyPackage {
        id,
        serial,
        kind,
        digits,
        secret,
        manufacturer,
    })
}

fn read_key(package: Node<'_, '_>, keys: &Keys) -> Result<(PskcKind, u8, SecretBytes), Problem> {
    // RFC 6030 §4: at most one Key in a KeyPackage.
    let key = only_child(package, PSKC_NS, "Key")?.ok_or_else(|| "it has no Key".to_owned())?;
    let algorithm = key.attribute("Algorithm").unwrap_or_default();
    let totp =
        match algorithm {
            "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
            | "urn:ietf:params:xml:ns:keyprov:pskc#hotp" => false,
            "urn:ietf:params:xml:ns:keyprov:pskc:totp"
            | "urn:ietf:params:xml:ns:keyprov:pskc#totp" => true,
            "" => return Err(Problem::Algorithm("(none)".into())),
            other => return Err(Problem::Algorithm(printable(other))),
        };

    let parameters = only_child(key, PSKC_NS, "AlgorithmParameters")?;
    let digits = match parameters
        .map(|p| only_child(p, PSKC_NS, "ResponseFormat"))
        .transpose()?
        .flatten()
    {
        Some(format) => response_digits(format)?,
        // No ResponseFormat (RFC 6030 Figure 2): RFC 4226's 6 digits.
        None => 6,
    };
    // PSKC has no element for the hash; multiOTP and others name it in Suite ("HMAC-SHA256").
    let hash = match parameters
        .map(|p| only_child(p, PSKC_NS, "Suite"))
        .transpose()?
        .flatten()
    {
        Some(suite) => suite_hash(&text(suite))?,
        None => PskcAlgorithm::Sha1,
    };

    let data =
        only_child(key, PSKC_NS, "Data")?.ok_or_else(|| "it has no Data (no secret)".to_owned())?;
    let secret_node = only_child(data, PSKC_NS, "Secret")?.ok_or_else(|| {
        "it has no Secret (keys given by reference, KeyProfileId or KeyReference, are not \
         supported)"
            .to_owned()
    })?;
    let secret = read_secret(secret_node, keys)?;

    let number = |name: &str, default: u64| -> Result<u64, Problem> {
        match only_child(data, PSKC_NS, name)? {
            Some(node) => read_number(node, name, keys),
            None => Ok(default),
        }
    };
    let kind = if totp {
        let t0 = number("Time", 0)?;
        if t0 != 0 {
            return Err(format!(
                "its Time (TOTP T0) is {t0}: only TOTP counting from the Unix epoch (T0 = 0) is \
                 supported"
            )
            .into());
        }
        let period = number("TimeInterval", 30)?;
        if !(1..=300).contains(&period) {
            return Err(format!(
                "its TimeInterval is {period} seconds: from 1 to 300 are supported"
            )
            .into());
        }
        PskcKind::Totp {
            period,
            algorithm: hash,
        }
    } else {
        if hash != PskcAlgorithm::Sha1 {
            return Err(format!(
                "its Suite asks for HOTP with {}: only HOTP with HMAC-SHA1 (RFC 4226) is \
                 supported",
                hash.name()
            )
            .into());
        }
        PskcKind::Hotp {
            counter: number("Counter", 0)?,
        }
    };
    Ok((kind, digits, secret))
}

/// RFC 6030 §4.3.4 ResponseFormat: Length 6 or 8, DECIMAL, no check digit.
fn response_digits(format: Node<'_, '_>) -> Result<u8, Problem> {
    let digits = match format.attribute("Length") {
        Some("6") => 6,
        Some("8") => 8,
        Some(other) => {
            return Err(format!(
                "its ResponseFormat Length is {}: only 6 or 8 digits are supported",
                quoted(other)
            )
            .into());
        }
        None => return Err("its ResponseFormat has no Length".to_owned().into()),
    };
    if let Some(encoding) = format.attribute("Encoding")
        && !encoding.eq_ignore_ascii_case("DECIMAL")
    {
        return Err(format!(
            "its ResponseFormat Encoding is {}: only DECIMAL codes are supported",
            quoted(encoding)
        )
        .into());
    }
    if matches!(format.attribute("CheckDigits"), Some("true" | "1")) {
        return Err(
            "its codes end in a Luhn check digit (CheckDigits), which is not supported"
                .to_owned()
                .into(),
        );
    }
    Ok(digits)
}

/// "HMAC-SHA256", "SHA-256", "hmac-sha256", or an xmldsig HMAC URI.
fn suite_hash(suite: &str) -> Result<PskcAlgorithm, Problem> {
    let name = suite
        .rsplit('#')
        .next()
        .unwrap_or(suite)
        .to_ascii_uppercase()
        .replace('-', "");
    match name.strip_prefix("HMAC").unwrap_or(&name) {
        "SHA1" => Ok(PskcAlgorithm::Sha1),
        "SHA256" => Ok(PskcAlgorithm::Sha256),
        "SHA512" => Ok(PskcAlgorithm::Sha512),
        _ => Err(format!(
            "its Suite {} is not a supported hash (HMAC-SHA1, HMAC-SHA256 or HMAC-SHA512)",
            quoted(suite)
        )
        .into()),
    }
}

/// A Data element's value (RFC 6030 §4.2): PlainValue or EncryptedValue, the latter opened
/// and its ValueMAC checked.
enum Value<'a, 'i> {
    Plain(Node<'a, 'i>),
    Decrypted(Zeroizing<Vec<u8>>),
}

fn read_value<'a, 'i>(
    element: Node<'a, 'i>,
    name: &str,
    keys: &Keys,
) -> Result<Value<'a, 'i>, Problem> {
    let plain = only_child(element, PSKC_NS, "PlainValue")?;
    let encrypted = only_child(element, PSKC_NS, "EncryptedValue")?;
    let encrypted = match (plain, encrypted) {
        // A ValueMAC next to a PlainValue protects nothing secret: not checked (nor does
        // python-pskc).
        (Some(plain), None) => return Ok(Value::Plain(plain)),
        (None, Some(encrypted)) => encrypted,
        (Some(_), Some(_)) => {
            return Err(format!("its {name} has both a PlainValue and an EncryptedValue").into());
        }
        (None, None) => {
            return Err(format!("its {name} has no PlainValue or EncryptedValue").into());
        }
    };
    let (cipher, cipher_value) =
        encrypted_parts(encrypted).map_err(|e| format!("its {name}: {e}"))?;
    let value_mac = match only_child(element, PSKC_NS, "ValueMAC")? {
        Some(node) => Some(
            crypto::base64(texts(node))
                .ok_or_else(|| format!("its {name} ValueMAC is not valid base64"))?,
        ),
        None => None,
    };
    let mac = match (&keys.mac, value_mac) {
        (Some((hash, key)), Some(tag)) => Some((*hash, key, tag)),
        // RFC 6030 §6.1.1: with a MACMethod every encrypted value carries a MAC; one without
        // could have been swapped in.
        (Some(_), None) => {
            return Err(format!(
                "its encrypted {name} has no ValueMAC, but the file has a MACMethod"
            )
            .into());
        }
        (None, Some(_)) => {
            return Err(format!(
                "its {name} has a ValueMAC, but the file has no MACMethod to check it with"
            )
            .into());
        }
        (None, None) => None,
    };
    // The MAC is over the CipherValue, IV and ciphertext (RFC 6030 §6.1.1), checked before
    // the plaintext is used.
    let mac_over_ciphertext = mac
        .as_ref()
        .is_some_and(|(hash, key, tag)| hash.verify(key.expose(), &cipher_value, tag));
    let plain = match keys.decrypt(cipher, &cipher_value) {
        Ok(plain) => plain,
        Err(Problem::Undecryptable) if mac.is_some() && !mac_over_ciphertext => {
            return Err(Problem::Mac);
        }
        Err(Problem::Text(e)) => return Err(format!("its {name}: {e}").into()),
        Err(e) => return Err(e),
    };
    // The drafts before RFC 6030 took the MAC over the plaintext; python-pskc accepts either.
    if let Some((hash, key, tag)) = &mac
        && !mac_over_ciphertext
        && !hash.verify(key.expose(), &plain, tag)
    {
        return Err(Problem::Mac);
    }
    Ok(Value::Decrypted(plain))
}

fn read_secret(element: Node<'_, '_>, keys: &Keys) -> Result<SecretBytes, Problem> {
    let mut bytes = match read_value(element, "Secret", keys)? {
        Value::Plain(node) => crypto::base64(texts(node))
            .ok_or_else(|| "its Secret PlainValue is not valid base64".to_owned())?,
        Value::Decrypted(bytes) => bytes,
    };
    if bytes.is_empty() {
        return Err("its Secret is empty".to_owned().into());
    }
    if bytes.len() > MAX_SECRET_BYTES {
        return Err(format!(
            "its Secret is {} bytes: at most {MAX_SECRET_BYTES} are supported",
            bytes.len()
        )
        .into());
    }
    Ok(SecretBytes::from(std::mem::take(&mut *bytes)))
}

/// Counter, Time, TimeInterval: decimal text in a PlainValue, big-endian bytes when encrypted
/// (as python-pskc and multiOTP write them).
fn read_number(element: Node<'_, '_>, name: &str, keys: &Keys) -> Result<u64, Problem> {
    match read_value(element, name, keys)? {
        Value::Plain(node) => {
            let text = text(node);
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("its {name} {} is not a decimal number", quoted(&text)).into());
            }
            text.parse()
                .map_err(|_| format!("its {name} {} is too large", quoted(&text)).into())
        }
        Value::Decrypted(bytes) => {
            if bytes.is_empty() {
                return Err(format!("its encrypted {name} is empty").into());
            }
            let significant = bytes.iter().skip_while(|&&b| b == 0).count();
            if significant > 8 {
                return Err(format!("its encrypted {name} is too large").into());
            }
            Ok(bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
        }
    }
}
