//! What administrators and users type: TOTP seeds, recovery codes, `password + code` splits,
//! configuration files and dictionary files; token files (PSKC, YubiKey Manager's CSV) and
//! Yubico OTPs. No panic, and the round trips hold.
//!
//! Input: a selector octet (240 and up: the token parsers), then the text.

use std::path::PathBuf;
use std::sync::OnceLock;

use radotp_server::auth::{codes, otp, split};
use radotp_server::config::Config;
use radotp_server::dictionary::{AttributeValue, Dictionary};
use radotp_server::secret::SecretBytes;
use radotp_server::tokens::{pskc, yubico};

/// One fuzzing input: panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(bytes);
    if selector >= 240 {
        return match selector % 3 {
            0 => pskc_file(&text),
            1 => ykman_csv(&text),
            _ => yubico_otp(bytes),
        };
    }
    match selector % 6 {
        0 => base32_secret(&text),
        1 => recovery_code(bytes),
        2 => split_input(bytes, selector),
        3 => config(&text),
        4 => dictionary_file(&text, false, bytes),
        _ => dictionary_file(&text, true, bytes),
    }
}

fn pskc_file(text: &str) {
    for decryption in [
        pskc::Decryption::None,
        pskc::Decryption::PreSharedKey(SecretBytes::from(&[0x42u8; 16][..])),
        pskc::Decryption::Password(SecretBytes::from(&b"qwerty"[..])),
    ] {
        if let Ok(packages) = pskc::parse(text, &decryption) {
            for package in packages {
                assert!(matches!(package.digits, 6..=9), "{package:?}");
                assert!(!package.secret.is_empty() && package.secret.len() <= 64);
            }
        }
    }
}

fn ykman_csv(text: &str) {
    if let Ok(keys) = yubico::parse_ykman_csv(text) {
        for key in keys {
            assert_eq!(key.public_id.len(), yubico::PUBLIC_ID_LEN);
            assert_eq!((key.private_id.len(), key.aes_key.len()), (6, 16));
        }
    }
}

fn yubico_otp(input: &[u8]) {
    for whole in [false, true] {
        if let Some(tail) = yubico::tail(input, whole) {
            assert_eq!(tail.at + yubico::OTP_LEN, input.len());
            let key = SecretBytes::from(&[7u8; 16][..]);
            let private_id = SecretBytes::from(&[1u8; 6][..]);
            // Any block may open, by chance; it must never panic.
            let _ = yubico::open(&tail.block, &key, &private_id);
        }
    }
}

fn base32_secret(text: &str) {
    if let Ok(secret) = otp::parse_base32_secret(text) {
        assert!(secret.len() >= otp::MIN_SECRET_BYTES);
        let canonical = otp::to_base32(&secret);
        let again = otp::parse_base32_secret(&canonical).expect("canonical base32 parses");
        assert_eq!(again, secret, "base32 round trip");
    }
}

fn recovery_code(typed: &[u8]) {
    if let Some(code) = codes::normalize_recovery_code(typed) {
        let c = code.expose();
        assert_eq!(c.len(), codes::RECOVERY_TYPED_LEN - 1);
        assert!(
            c.iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        let retyped = [&c[..5], b"-", &c[5..]].concat();
        assert_eq!(codes::normalize_recovery_code(&retyped), Some(code.clone()));
        assert_eq!(
            codes::normalize_recovery_code(&retyped.to_ascii_uppercase()),
            Some(code)
        );
    }
}

fn split_input(input: &[u8], selector: u8) {
    let digits = selector / 6 % 10;
    if let Some((password, code)) = split::split(input, digits) {
        assert!(!password.is_empty());
        assert_eq!(code.len(), usize::from(digits));
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!([password, code.as_bytes()].concat(), input);
    }
}

/// A private folder for files the parsers may read, holding one small extra dictionary.
fn folder() -> &'static PathBuf {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("radotp-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary folder");
        std::fs::write(
            dir.join("other"),
            "VENDOR Fuzz 99999\nBEGIN-VENDOR Fuzz\nATTRIBUTE Fuzz-Int 1 integer\n\
             VALUE Fuzz-Int One 1\nEND-VENDOR Fuzz\n",
        )
        .expect("extra dictionary");
        dir
    })
}

/// Paths outside the private folder could name devices that never end (`/dev/zero`).
fn leaves_folder(text: &str) -> bool {
    ["/", "..", "dev", "proc", "sys"]
        .iter()
        .any(|p| text.contains(p))
}

fn config(text: &str) {
    if text.contains("file") && leaves_folder(text) {
        return;
    }
    let first = Config::from_toml(text, folder()).map_err(|e| e.to_string());
    let second = Config::from_toml(text, folder()).map_err(|e| e.to_string());
    assert_eq!(first.is_ok(), second.is_ok(), "from_toml is not repeatable");
}

fn builtin() -> &'static Dictionary {
    static BUILTIN: OnceLock<Dictionary> = OnceLock::new();
    BUILTIN.get_or_init(Dictionary::builtin)
}

fn dictionary_file(text: &str, on_builtin: bool, bytes: &[u8]) {
    if text
        .lines()
        .any(|l| l.contains("INCLUDE") && (l.contains('.') || leaves_folder(l)))
    {
        return;
    }
    let path = folder().join("dictionary");
    std::fs::write(&path, bytes).expect("write the dictionary");
    let mut dictionary = if on_builtin {
        builtin().clone()
    } else {
        Dictionary::empty()
    };
    if dictionary.extend_from_file(&path).is_err() {
        return;
    }
    let texts = [
        "1",
        "abc",
        "0x0102",
        "192.0.2.1",
        "2001:db8::/32",
        "One",
        "-1",
    ];
    let numbers = [0, -1, 1, 255, 65_536, i64::MAX];
    let values: Vec<AttributeValue> = texts
        .iter()
        .map(|&t| AttributeValue::from(t))
        .chain(numbers.iter().map(|&n| AttributeValue::from(n)))
        .collect();
    let names: Vec<String> = dictionary
        .attributes()
        .filter(|a| !on_builtin || builtin().attribute(a.name()).is_none())
        .map(|a| a.name().to_owned())
        .take(16)
        .collect();
    for name in names {
        for tagged in [name.clone(), format!("{name}:1")] {
            for value in &values {
                let Ok(encoded) = dictionary.encode(&tagged, value) else {
                    continue;
                };
                let wire = encoded.to_wire(b"secret", &[7; 16]);
                assert!(
                    wire.value.len() <= 253,
                    "{tagged}: value too long for the wire"
                );
                for described in dictionary.describe_with_secret(
                    wire.attribute_type,
                    &wire.value,
                    b"secret",
                    &[7; 16],
                ) {
                    let _ = described.to_string();
                }
            }
        }
    }
}
