//! The container's keys (RFC 6030 §6): the encryption key, pre-shared or derived from a password
//! with PBKDF2, and the MAC key; and opening an encrypted value with them.

use roxmltree::Node;
use zeroize::Zeroizing;

use super::crypto::{self, Cipher, DecryptError, HmacHash};
use super::package::Problem;
use super::{
    DS_NS, Decryption, PKCS5_NS, PSKC_NS, PskcError, XENC_NS, XENC11_NS, child, is, only_child,
    quoted, text, texts,
};
use crate::secret::SecretBytes;

/// PBKDF2 rounds beyond this would stall the import for minutes: refused as malformed.
const MAX_PBKDF2_ROUNDS: u32 = 10_000_000;

/// The container's keys, as far as its encrypted values need them.
pub(super) struct Keys {
    /// The encryption key, when the file has encrypted values.
    encryption: Option<SecretBytes>,
    /// Whether it was derived from a password (for the messages).
    from_password: bool,
    /// MACMethod's algorithm and key (RFC 6030 §6.1.1), when the file has encrypted values.
    pub(super) mac: Option<(HmacHash, SecretBytes)>,
}

/// How `EncryptionKey` says the values are encrypted.
enum KeySource<'a, 'i> {
    /// `ds:KeyName`, or no name at all: a key agreed out of band.
    PreShared,
    /// `xenc11:DerivedKey` (RFC 6030 §6.2).
    Derived(Node<'a, 'i>),
}

impl Keys {
    pub(super) fn open(root: Node<'_, '_>, decryption: &Decryption) -> Result<Self, PskcError> {
        let container = PskcError::Malformed;
        let encryption_key = only_child(root, PSKC_NS, "EncryptionKey").map_err(container)?;
        let source = match encryption_key {
            None => KeySource::PreShared,
            Some(ek) => {
                if let Some(derived) = only_child(ek, XENC11_NS, "DerivedKey").map_err(container)? {
                    KeySource::Derived(derived)
                } else if child(ek, DS_NS, "X509Data").is_some() {
                    // RFC 6030 §6.3.
                    return Err(PskcError::Unsupported(
                        "the file is encrypted to an X.509 certificate (asymmetric encryption), \
                         which is not supported: ask the vendor for a file encrypted with a \
                         pre-shared key or a password"
                            .into(),
                    ));
                } else {
                    KeySource::PreShared
                }
            }
        };

        // A plaintext file needs no key, whatever EncryptionKey or MACMethod say, and whatever
        // the caller gave.
        let encrypted = root.descendants().any(|n| {
            is(n, PSKC_NS, "EncryptedValue") && n.ancestors().any(|a| is(a, PSKC_NS, "KeyPackage"))
        });
        if !encrypted {
            return Ok(Keys {
                encryption: None,
                from_password: false,
                mac: None,
            });
        }

        let (key, from_password) = match (&source, decryption) {
            (KeySource::PreShared, Decryption::PreSharedKey(key)) => (key.clone(), false),
            (KeySource::Derived(derived), Decryption::Password(password)) => {
                (derive_key(root, *derived, password)?, true)
            }
            (KeySource::PreShared, Decryption::None) => return Err(PskcError::NeedsKey),
            (KeySource::Derived(_), Decryption::None) => return Err(PskcError::NeedsPassword),
            (KeySource::PreShared, Decryption::Password(_)) => {
                return Err(PskcError::WrongDecryption(
                    "the file is encrypted with a pre-shared key, not a password: give the key \
                     with --key-file instead of --password-stdin",
                ));
            }
            (KeySource::Derived(_), Decryption::PreSharedKey(_)) => {
                return Err(PskcError::WrongDecryption(
                    "the file is encrypted with a password (PBKDF2), not a pre-shared key: give \
                     the password with --password-stdin instead of --key-file",
                ));
            }
        };
        let mut keys = Keys {
            encryption: Some(key),
            from_password,
            mac: None,
        };
        keys.mac = keys.mac_key(root)?;
        Ok(keys)
    }

    /// `MACMethod`: its HMAC, and its key, `MACKey` decrypted with the encryption key or, in
    /// the drafts before RFC 6030, the encryption key itself (python-pskc falls back the same).
    fn mac_key(&self, root: Node<'_, '_>) -> Result<Option<(HmacHash, SecretBytes)>, PskcError> {
        let Some(method) = only_child(root, PSKC_NS, "MACMethod").map_err(PskcError::Malformed)?
        else {
            return Ok(None);
        };
        let uri = method.attribute("Algorithm").unwrap_or_default();
        let hash = HmacHash::from_uri(uri).ok_or_else(|| {
            PskcError::Unsupported(format!(
                "MAC algorithm {} is not supported (HMAC-SHA1, -SHA224, -SHA256, -SHA384 and \
                 -SHA512 are)",
                quoted(uri)
            ))
        })?;
        let key = match only_child(method, PSKC_NS, "MACKey").map_err(PskcError::Malformed)? {
            None => self.encryption.clone().unwrap_or_default(),
            Some(mac_key) => {
                let (cipher, cipher_value) = encrypted_parts(mac_key)
                    .map_err(|e| PskcError::Malformed(format!("MACKey: {e}")))?;
                match self.decrypt(cipher, &cipher_value) {
                    Ok(mut plain) => SecretBytes::from(std::mem::take(&mut *plain)),
                    Err(Problem::Text(e)) => {
                        return Err(PskcError::Malformed(format!("MACKey: {e}")));
                    }
                    Err(Problem::Container(e)) => return Err(e),
                    Err(_) => {
                        return Err(PskcError::WrongKey(
                            "the file's MAC key (MACKey) does not decrypt with it",
                        ));
                    }
                }
            }
        };
        if key.is_empty() {
            return Err(PskcError::Malformed("the MAC key (MACKey) is empty".into()));
        }
        Ok(Some((hash, key)))
    }

    pub(super) fn decrypt(
        &self,
        cipher: Cipher,
        cipher_value: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Problem> {
        let Some(key) = &self.encryption else {
            return Err(Problem::Container(PskcError::NeedsKey));
        };
        cipher
            .decrypt(key.expose(), cipher_value)
            .map_err(|e| match e {
                DecryptError::KeyLength if self.from_password => {
                    Problem::Container(PskcError::Malformed(format!(
                        "PBKDF2 KeyLength is {} bytes, but the file uses {}, which takes {}-byte \
                         keys",
                        key.len(),
                        cipher.name(),
                        cipher.key_len()
                    )))
                }
                DecryptError::KeyLength => Problem::Container(PskcError::KeyLength {
                    given: key.len(),
                    cipher: cipher.name(),
                    needed: cipher.key_len(),
                }),
                DecryptError::Shape(len) => Problem::Text(format!(
                    "the CipherValue is {len} bytes: {} needs a 16-byte IV and whole 16-byte \
                     blocks",
                    cipher.name()
                )),
                DecryptError::Padding => Problem::Undecryptable,
            })
    }
}

/// PBKDF2 (RFC 6030 §6.2, the PKCS #5 XML schema): Salt/Specified, IterationCount, KeyLength
/// (when absent, what the first encrypted value's cipher takes) and PRF (HMAC-SHA1 when absent).
fn derive_key(
    root: Node<'_, '_>,
    derived: Node<'_, '_>,
    password: &SecretBytes,
) -> Result<SecretBytes, PskcError> {
    let malformed = |e: &str| PskcError::Malformed(format!("DerivedKey: {e}"));
    let method = child(derived, XENC11_NS, "KeyDerivationMethod")
        .ok_or_else(|| malformed("no KeyDerivationMethod"))?;
    let uri = method.attribute("Algorithm").unwrap_or_default();
    if !matches!(
        uri,
        "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2"
            | "http://www.w3.org/2009/xmlenc11#pbkdf2"
    ) {
        return Err(PskcError::Unsupported(format!(
            "key derivation {} is not supported: only PBKDF2",
            quoted(uri)
        )));
    }
    // RFC 6030's example has pkcs5:PBKDF2-params; python-pskc writes xenc11:PBKDF2-params.
    // Their children are unqualified in the schema; accept them in either namespace too.
    let params = method
        .children()
        .find(|n| n.is_element() && n.tag_name().name() == "PBKDF2-params" && pbkdf2_ns(*n))
        .ok_or_else(|| malformed("no PBKDF2-params"))?;
    let param = |name: &str| {
        params
            .children()
            .find(|n| n.is_element() && n.tag_name().name() == name && pbkdf2_ns(*n))
    };
    let salt = param("Salt")
        .and_then(|s| {
            s.children()
                .find(|n| n.is_element() && n.tag_name().name() == "Specified" && pbkdf2_ns(*n))
        })
        .ok_or_else(|| {
            malformed("PBKDF2 has no Salt/Specified (other salt sources are not supported)")
        })?;
    let salt = crypto::base64(texts(salt))
        .ok_or_else(|| malformed("the PBKDF2 salt is not valid base64"))?;
    if salt.is_empty() {
        return Err(malformed("the PBKDF2 salt is empty"));
    }
    let rounds = param("IterationCount")
        .map(|n| text(n).parse::<u32>().ok())
        .ok_or_else(|| malformed("PBKDF2 has no IterationCount"))?
        .filter(|r| (1..=MAX_PBKDF2_ROUNDS).contains(r))
        .ok_or_else(|| {
            malformed(&format!(
                "PBKDF2 IterationCount must be a number from 1 to {MAX_PBKDF2_ROUNDS}"
            ))
        })?;
    let len = match param("KeyLength") {
        Some(n) => match text(n).parse::<usize>() {
            Ok(len @ (16 | 24 | 32)) => len,
            _ => return Err(malformed("PBKDF2 KeyLength must be 16, 24 or 32 (bytes)")),
        },
        None => root
            .descendants()
            .filter(|n| is(*n, XENC_NS, "EncryptionMethod"))
            .find_map(|n| n.attribute("Algorithm").and_then(Cipher::from_uri))
            .map(Cipher::key_len)
            .ok_or_else(|| {
                malformed("PBKDF2 has no KeyLength and no known cipher to take it from")
            })?,
    };
    // The PKCS #5 schema puts the PRF in an Algorithm attribute; python-pskc 1.2 writes it as
    // the element's text. An empty <PRF/> (RFC 6030 Figure 7) is the default, HMAC-SHA1.
    let prf = match param("PRF") {
        None => HmacHash::Sha1,
        Some(n) => {
            let text = text(n);
            let uri = n.attribute("Algorithm").unwrap_or(&text);
            if uri.is_empty() {
                HmacHash::Sha1
            } else {
                HmacHash::from_uri(uri).ok_or_else(|| {
                    PskcError::Unsupported(format!(
                        "PBKDF2 PRF {} is not supported (HMAC-SHA1, -SHA224, -SHA256, -SHA384 and \
                         -SHA512 are)",
                        quoted(uri)
                    ))
                })?
            }
        }
    };
    if password.is_empty() {
        return Err(PskcError::WrongDecryption("the password is empty"));
    }
    Ok(prf.pbkdf2(password.expose(), &salt, rounds, len))
}

fn pbkdf2_ns(node: Node<'_, '_>) -> bool {
    matches!(
        node.tag_name().namespace(),
        None | Some(PKCS5_NS) | Some(XENC11_NS)
    )
}

/// An EncryptedValue's (or MACKey's) cipher and CipherData/CipherValue bytes.
pub(super) fn encrypted_parts(node: Node<'_, '_>) -> Result<(Cipher, Vec<u8>), String> {
    let method = only_child(node, XENC_NS, "EncryptionMethod")?.ok_or("no EncryptionMethod")?;
    let uri = method.attribute("Algorithm").unwrap_or_default();
    let cipher = Cipher::from_uri(uri).ok_or_else(|| {
        format!(
            "encryption algorithm {} is not supported (AES-128-CBC, AES-192-CBC and AES-256-CBC \
             are)",
            quoted(uri)
        )
    })?;
    let value = only_child(node, XENC_NS, "CipherData")?
        .map(|data| only_child(data, XENC_NS, "CipherValue"))
        .transpose()?
        .flatten()
        .ok_or("no CipherData/CipherValue")?;
    let bytes = crypto::base64(texts(value)).ok_or("the CipherValue is not valid base64")?;
    Ok((cipher, bytes.to_vec()))
}
