//! The keys a finished tunnel gives the NAS: the MSK and EMSK exported from the TLS session,
//! and the MS-MPPE-Recv-Key and MS-MPPE-Send-Key attributes that carry the MSK in the
//! Access-Accept, hidden with the shared secret (RFC 2548 §2.4.2, §2.4.3).
//!
//! The derivation, per TLS version (what wpa_supplicant 2.10, Debian's `eapoltest`
//! 2:2.10, does; checked in its `eap_ttls_v0_derive_key` and `eap_peap_process`):
//!
//! | | TLS 1.2 | TLS 1.3 (RFC 9427 §2.1) |
//! |---|---|---|
//! | TTLS | exporter "ttls keying material", no context (RFC 5281 §8) | exporter "EXPORTER_EAP_TLS_Key_Material", context `0x15` |
//! | PEAPv0 | exporter "client EAP encryption", no context | exporter "EXPORTER_EAP_TLS_Key_Material", context `0x19` |
//!
//! 128 octets every time: MSK = the first 64, EMSK = the next 64. TLS 1.3's exporter mixes
//! the length in, so 128 must be asked for even where only the MSK is used.

use std::fmt;

use md5::{Digest, Md5};
use rustls::ProtocolVersion;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::packet::types;
use crate::secret::random_bytes;

/// The tunnel method whose keys are derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Ttls,
    Peap,
}

impl Method {
    fn eap_type(self) -> u8 {
        match self {
            Method::Ttls => types::TTLS,
            Method::Peap => types::PEAP,
        }
    }

    /// The TLS 1.2 exporter label.
    fn tls12_label(self) -> &'static [u8] {
        match self {
            Method::Ttls => b"ttls keying material",
            Method::Peap => b"client EAP encryption",
        }
    }
}

/// RFC 9427 §2.1 (and RFC 9190 §2.3 before it) for TLS 1.3.
pub const TLS13_LABEL: &[u8] = b"EXPORTER_EAP_TLS_Key_Material";
/// MSK and EMSK together.
pub const KEY_MATERIAL_LEN: usize = 128;

/// Microsoft's vendor number and the MPPE key attributes (RFC 2548 §2.4.2, §2.4.3).
pub const VENDOR_MICROSOFT: u32 = 311;
pub const MS_MPPE_SEND_KEY: u8 = 16;
pub const MS_MPPE_RECV_KEY: u8 = 17;

/// 64-octet MSK and 64-octet EMSK, zeroed on drop and never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Keys {
    pub msk: [u8; 64],
    pub emsk: [u8; 64],
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys { .. }")
    }
}

impl Keys {
    /// Derive from an established TLS session. `export(output, label, context)` is the
    /// session's keying-material exporter, e.g.
    /// `|out, label, context| connection.export_keying_material(out, label, context).map(|_| ())`
    /// on a `rustls::ServerConnection`.
    pub fn derive(
        method: Method,
        version: ProtocolVersion,
        export: impl FnOnce(&mut [u8], &[u8], Option<&[u8]>) -> Result<(), rustls::Error>,
    ) -> Result<Keys, rustls::Error> {
        let mut material = Zeroizing::new([0u8; KEY_MATERIAL_LEN]);
        let context = [method.eap_type()];
        match version {
            ProtocolVersion::TLSv1_3 => export(&mut material[..], TLS13_LABEL, Some(&context))?,
            ProtocolVersion::TLSv1_2 => export(&mut material[..], method.tls12_label(), None)?,
            other => {
                return Err(rustls::Error::General(format!(
                    "no EAP key derivation for {other:?}"
                )));
            }
        }
        let mut keys = Keys {
            msk: [0; 64],
            emsk: [0; 64],
        };
        keys.msk.copy_from_slice(&material[..64]);
        keys.emsk.copy_from_slice(&material[64..]);
        Ok(keys)
    }

    /// RFC 2548 / RFC 5216 §2.3: MS-MPPE-Recv-Key = MSK[0..32].
    pub fn mppe_recv_key(&self) -> &[u8] {
        &self.msk[..32]
    }

    /// MS-MPPE-Send-Key = MSK[32..64].
    pub fn mppe_send_key(&self) -> &[u8] {
        &self.msk[32..64]
    }
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut md5 = Md5::new();
    for part in parts {
        md5.update(part);
    }
    md5.finalize().into()
}

/// RFC 2548 §2.4.2: the salt, then the plaintext (a key-length octet, the key, zero padding to
/// a multiple of 16) XORed block by block with b(1) = MD5(secret + Request Authenticator +
/// salt), b(i) = MD5(secret + c(i-1)). `salt`'s top bit must be set; keys are at most 255
/// octets (ours are 32).
pub fn encrypt_mppe_key(
    key: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
    salt: [u8; 2],
) -> Vec<u8> {
    debug_assert!(salt[0] & 0x80 != 0, "MPPE salt without its top bit");
    debug_assert!(key.len() <= 255, "MPPE key of {} octets", key.len());
    let mut plain = Zeroizing::new(Vec::with_capacity(1 + key.len() + 15));
    plain.push(key.len() as u8);
    plain.extend_from_slice(key);
    let padded = plain.len().div_ceil(16) * 16;
    plain.resize(padded, 0);
    let mut out = Vec::with_capacity(2 + plain.len());
    out.extend_from_slice(&salt);
    let mut previous = [request_authenticator.as_slice(), &salt].concat();
    for block in plain.chunks(16) {
        let pad = md5(&[secret, &previous]);
        let cipher: Vec<u8> = block.iter().zip(pad).map(|(p, b)| p ^ b).collect();
        out.extend_from_slice(&cipher);
        previous = cipher;
    }
    out
}

/// Two random salts with the top bit set, distinct (RFC 2548 §2.4.2: unique per packet).
fn salts() -> [[u8; 2]; 2] {
    let salt = || {
        let mut salt = random_bytes::<2>();
        salt[0] |= 0x80;
        salt
    };
    let first = salt();
    let mut second = salt();
    while second == first {
        second = salt();
    }
    [first, second]
}

/// One Vendor-Specific value: vendor-id, vendor-type, vendor-length, salt and ciphertext.
fn vendor_specific(vendor_type: u8, hidden: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(6 + hidden.len());
    value.extend_from_slice(&VENDOR_MICROSOFT.to_be_bytes());
    value.push(vendor_type);
    // 2 + 2 + 48 for a 32-octet key.
    value.push((2 + hidden.len()) as u8);
    value.extend_from_slice(hidden);
    value
}

/// The values of the two Vendor-Specific (26) attributes for the Access-Accept:
/// `[MS-MPPE-Recv-Key, MS-MPPE-Send-Key]`, each with its own random salt.
pub fn mppe_attributes(
    keys: &Keys,
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> [Vec<u8>; 2] {
    let [recv_salt, send_salt] = salts();
    let recv = encrypt_mppe_key(
        keys.mppe_recv_key(),
        secret,
        request_authenticator,
        recv_salt,
    );
    let send = encrypt_mppe_key(
        keys.mppe_send_key(),
        secret,
        request_authenticator,
        send_salt,
    );
    [
        vendor_specific(MS_MPPE_RECV_KEY, &recv),
        vendor_specific(MS_MPPE_SEND_KEY, &send),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The NAS's side of RFC 2548 §2.4.2, to check ours against.
    fn decrypt_mppe_key(hidden: &[u8], secret: &[u8], request_authenticator: &[u8; 16]) -> Vec<u8> {
        let (salt, cipher) = hidden.split_at(2);
        assert_eq!(cipher.len() % 16, 0);
        let mut previous = [request_authenticator.as_slice(), salt].concat();
        let mut plain = Vec::new();
        for block in cipher.chunks(16) {
            let pad = md5(&[secret, &previous]);
            plain.extend(block.iter().zip(pad).map(|(c, b)| c ^ b));
            previous = block.to_vec();
        }
        let len = usize::from(plain[0]);
        assert!(plain[1 + len..].iter().all(|&b| b == 0), "padding");
        plain[1..=len].to_vec()
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn fixed_keys() -> Keys {
        let mut keys = Keys {
            msk: [0; 64],
            emsk: [0; 64],
        };
        for (i, b) in keys.msk.iter_mut().chain(keys.emsk.iter_mut()).enumerate() {
            *b = i as u8;
        }
        keys
    }

    #[test]
    fn mppe_known_answer() {
        // Python: secret b"testing123", R = bytes(range(16)), salt 80 01, key = bytes(range(32, 64));
        // p = bytes([32]) + key + 15 NULs; b1 = md5(secret + R + salt), c1 = p1 ^ b1,
        // b(i) = md5(secret + c(i-1)); the value is salt + c1 + c2 + c3.
        let key: Vec<u8> = (0x20..0x40).collect();
        let authenticator: [u8; 16] = core::array::from_fn(|i| i as u8);
        let hidden = encrypt_mppe_key(&key, b"testing123", &authenticator, [0x80, 0x01]);
        assert_eq!(
            hidden,
            hex(concat!(
                "80011284256f293e001ee80f9941999638dd6282a8d84c9f77c0ea5227ef36ed",
                "840cf1df2a6c451199e118495daa69f34419"
            ))
        );
        assert_eq!(
            decrypt_mppe_key(&hidden, b"testing123", &authenticator),
            key
        );
    }

    #[test]
    fn mppe_attributes_carry_the_msk_halves() {
        let keys = fixed_keys();
        let authenticator = [7u8; 16];
        let [recv, send] = mppe_attributes(&keys, b"s3cret", &authenticator);
        for (value, vendor_type, key) in [
            (&recv, MS_MPPE_RECV_KEY, &keys.msk[..32]),
            (&send, MS_MPPE_SEND_KEY, &keys.msk[32..]),
        ] {
            assert_eq!(value[..4], [0, 0, 1, 55]);
            assert_eq!(value[4], vendor_type);
            assert_eq!(usize::from(value[5]), value.len() - 4);
            assert_eq!(value.len(), 4 + 2 + 2 + 48);
            assert!(value[6] & 0x80 != 0, "salt's top bit");
            assert_eq!(
                decrypt_mppe_key(&value[6..], b"s3cret", &authenticator),
                key
            );
        }
        assert_ne!(recv[6..8], send[6..8], "distinct salts");
    }

    #[test]
    fn derives_with_the_label_and_context_of_each_version() {
        type Case = (
            Method,
            ProtocolVersion,
            &'static [u8],
            Option<&'static [u8]>,
        );
        let cases: [Case; 4] = [
            (
                Method::Ttls,
                ProtocolVersion::TLSv1_2,
                b"ttls keying material",
                None,
            ),
            (
                Method::Peap,
                ProtocolVersion::TLSv1_2,
                b"client EAP encryption",
                None,
            ),
            (
                Method::Ttls,
                ProtocolVersion::TLSv1_3,
                TLS13_LABEL,
                Some(&[0x15]),
            ),
            (
                Method::Peap,
                ProtocolVersion::TLSv1_3,
                TLS13_LABEL,
                Some(&[0x19]),
            ),
        ];
        for (method, version, label, context) in cases {
            let keys = Keys::derive(method, version, |out, got_label, got_context| {
                assert_eq!(out.len(), 128);
                assert_eq!(got_label, label);
                assert_eq!(got_context, context);
                out.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
                Ok(())
            })
            .unwrap();
            let expected = fixed_keys();
            assert_eq!(keys.msk, expected.msk);
            assert_eq!(keys.emsk, expected.emsk);
            assert_eq!(keys.mppe_recv_key(), &expected.msk[..32]);
            assert_eq!(keys.mppe_send_key(), &expected.msk[32..]);
        }
    }

    #[test]
    fn derive_refuses_old_versions_and_passes_exporter_errors_on() {
        let never = |_: &mut [u8], _: &[u8], _: Option<&[u8]>| -> Result<(), rustls::Error> {
            panic!("exporter called")
        };
        assert!(Keys::derive(Method::Ttls, ProtocolVersion::TLSv1_1, never).is_err());
        let failing =
            |_: &mut [u8], _: &[u8], _: Option<&[u8]>| Err(rustls::Error::HandshakeNotComplete);
        assert_eq!(
            Keys::derive(Method::Peap, ProtocolVersion::TLSv1_3, failing).unwrap_err(),
            rustls::Error::HandshakeNotComplete
        );
    }

    /// A TLS session run in memory, to check the exporter's call shape against rustls.
    fn handshake(
        version: &'static rustls::SupportedProtocolVersion,
    ) -> (rustls::ClientConnection, rustls::ServerConnection) {
        use std::sync::Arc;

        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert: CertificateDer<'static> = certified.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[version])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = "localhost".try_into().unwrap();
        let mut client = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
        let mut server = rustls::ServerConnection::new(Arc::new(server)).unwrap();
        for _ in 0..10 {
            let mut flight = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut flight).unwrap();
            }
            let mut input = flight.as_slice();
            while !input.is_empty() {
                server.read_tls(&mut input).unwrap();
            }
            server.process_new_packets().unwrap();
            let mut flight = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut flight).unwrap();
            }
            let mut input = flight.as_slice();
            while !input.is_empty() {
                client.read_tls(&mut input).unwrap();
            }
            client.process_new_packets().unwrap();
            if !client.is_handshaking() && !server.is_handshaking() {
                break;
            }
        }
        assert!(!client.is_handshaking() && !server.is_handshaking());
        (client, server)
    }

    #[test]
    fn derives_from_a_rustls_session_what_the_peer_derives() {
        for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
            for method in [Method::Ttls, Method::Peap] {
                let (client, server) = handshake(version);
                let negotiated = server.protocol_version().unwrap();
                assert_eq!(negotiated, version.version);
                let keys = Keys::derive(method, negotiated, |out, label, context| {
                    server
                        .export_keying_material(out, label, context)
                        .map(|_| ())
                })
                .unwrap();
                // The peer's side, written out as wpa_supplicant does it.
                let (label, context): (&[u8], Option<&[u8]>) = match (negotiated, method) {
                    (ProtocolVersion::TLSv1_3, Method::Ttls) => (TLS13_LABEL, Some(&[21])),
                    (ProtocolVersion::TLSv1_3, Method::Peap) => (TLS13_LABEL, Some(&[25])),
                    (_, Method::Ttls) => (b"ttls keying material", None),
                    (_, Method::Peap) => (b"client EAP encryption", None),
                };
                let peer = client
                    .export_keying_material([0u8; 128], label, context)
                    .unwrap();
                assert_eq!(keys.msk, peer[..64], "{method:?} {negotiated:?}");
                assert_eq!(keys.emsk, peer[64..], "{method:?} {negotiated:?}");
            }
        }
    }

    #[test]
    fn debug_prints_no_key() {
        assert_eq!(format!("{:?}", fixed_keys()), "Keys { .. }");
    }
}
