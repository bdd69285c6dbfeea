//! The fixtures (in `../pskc_fixtures/`) come from the independent implementation,
//! python-pskc: `plain`, `preshared` and `pbkdf2` were written by its library
//! (`make_fixtures.py` there; the constants below are what it was given), the others are
//! copied from its test suite (each file says which): RFC 6030's own examples, a Feitian
//! vendor file, a multiOTP file, and two older-draft MAC variants.

use super::*;

const PLAIN: &str = include_str!("../pskc_fixtures/plain.pskcxml");
const PRESHARED: &str = include_str!("../pskc_fixtures/preshared.pskcxml");
const PBKDF2: &str = include_str!("../pskc_fixtures/pbkdf2.pskcxml");
const FIGURE2: &str = include_str!("../pskc_fixtures/rfc6030-figure2.pskcxml");
const FIGURE5: &str = include_str!("../pskc_fixtures/rfc6030-figure5.pskcxml");
const FIGURE6: &str = include_str!("../pskc_fixtures/rfc6030-figure6.pskcxml");
const FIGURE7: &str = include_str!("../pskc_fixtures/rfc6030-figure7.pskcxml");
const FEITIAN: &str = include_str!("../pskc_fixtures/feitian.pskcxml");
const MULTIOTP: &str = include_str!("../pskc_fixtures/multiotp-totp-aes.pskcxml");
const NO_MAC_KEY: &str = include_str!("../pskc_fixtures/no-mac-key.pskcxml");
const MAC_OVER_PLAINTEXT: &str = include_str!("../pskc_fixtures/mac-over-plaintext.pskcxml");

/// What make_fixtures.py gave python-pskc.
const HOTP_SECRET: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334";
const TOTP_SECRET: &str = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";
const PRESHARED_KEY: &str = "f00dfeedc0ffee0123456789abcdef42";
const PASSWORD: &str = "correct horse battery staple";

/// RFC 6030 §6.1 Figure 6's pre-shared key, §6.2 Figure 7's password, and the secret both
/// protect: "12345678901234567890" (RFC 4226's test secret).
const RFC_KEY: &str = "12345678901234567890123456789012";
const RFC_PASSWORD: &str = "qwerty";
const RFC_SECRET: &str = "3132333435363738393031323334353637383930";

/// An empty container's start tag.
const OPEN: &str = "<KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\">";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key(text: &str) -> Decryption {
    Decryption::PreSharedKey(SecretBytes::from(hex(text)))
}

fn password(text: &str) -> Decryption {
    Decryption::Password(SecretBytes::from(text.as_bytes()))
}

fn secret_hex(package: &KeyPackage) -> String {
    to_hex(package.secret.expose())
}

/// The error, after checking that its message holds none of the secrets, keys or passwords
/// the tests use (as hex either case, or as the password text).
fn error(result: Result<Vec<KeyPackage>, PskcError>) -> PskcError {
    let err = result.expect_err("expected an error");
    let message = err.to_string();
    let debug = format!("{err:?}");
    for secret in [HOTP_SECRET, TOTP_SECRET, PRESHARED_KEY, RFC_KEY, RFC_SECRET] {
        for text in [&message, &debug] {
            assert!(
                !text.to_lowercase().contains(secret),
                "{text} holds {secret}"
            );
        }
    }
    for pw in [PASSWORD, RFC_PASSWORD, "qwertz"] {
        assert!(
            !message.contains(pw) && !debug.contains(pw),
            "{message} holds {pw}"
        );
    }
    err
}

/// Flips the first base64 character of the `n`th (0-based) text after `tag`.
fn tamper(xml: &str, tag: &str, n: usize) -> String {
    let start = xml.match_indices(tag).nth(n).unwrap().0 + tag.len();
    let at = start + xml[start..].find(|c: char| !c.is_whitespace()).unwrap();
    let flipped = if xml[at..].starts_with('A') { "B" } else { "A" };
    format!("{}{flipped}{}", &xml[..at], &xml[at + 1..])
}

fn assert_python_fixture(packages: &[KeyPackage]) {
    let [hotp, totp] = packages else {
        panic!("expected two key packages, got {}", packages.len());
    };
    assert_eq!(hotp.id, "hotp-1");
    assert_eq!(hotp.serial.as_deref(), Some("HOTP0001"));
    assert_eq!(hotp.manufacturer.as_deref(), Some("python-pskc"));
    assert_eq!(hotp.kind, PskcKind::Hotp { counter: 5 });
    assert_eq!(hotp.digits, 6);
    assert_eq!(secret_hex(hotp), HOTP_SECRET);
    assert_eq!(totp.id, "totp-1");
    assert_eq!(totp.serial.as_deref(), Some("TOTP0001"));
    assert_eq!(
        totp.kind,
        PskcKind::Totp {
            period: 60,
            algorithm: PskcAlgorithm::Sha256
        }
    );
    assert_eq!(totp.digits, 8);
    assert_eq!(secret_hex(totp), TOTP_SECRET);
}

#[test]
fn reads_python_pskc_plaintext() {
    assert_python_fixture(&parse(PLAIN, &Decryption::None).unwrap());
    // A key given for a plaintext file is not needed, and not an error.
    assert_python_fixture(&parse(PLAIN, &key(PRESHARED_KEY)).unwrap());
}

#[test]
fn reads_python_pskc_preshared_key_with_mac() {
    // AES-128-CBC, HMAC-SHA256 with an encrypted MACKey; counter and period encrypted too.
    assert_python_fixture(&parse(PRESHARED, &key(PRESHARED_KEY)).unwrap());
}

#[test]
fn reads_python_pskc_pbkdf2() {
    // PBKDF2-HMAC-SHA256 (python-pskc writes the PRF as <PRF>'s text), AES-256-CBC.
    assert_python_fixture(&parse(PBKDF2, &password(PASSWORD)).unwrap());
    // The PKCS #5 schema's form, the PRF in an Algorithm attribute.
    let uri = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256";
    let attribute = PBKDF2.replace(
        &format!("<PRF>{uri}</PRF>"),
        &format!("<PRF Algorithm=\"{uri}\"/>"),
    );
    assert_ne!(attribute, PBKDF2);
    assert_python_fixture(&parse(&attribute, &password(PASSWORD)).unwrap());
}

#[test]
fn reads_rfc6030_figure2() {
    let packages = parse(FIGURE2, &Decryption::None).unwrap();
    let [package] = &packages[..] else { panic!() };
    assert_eq!(package.id, "12345678");
    assert_eq!(package.serial, None);
    assert_eq!(package.kind, PskcKind::Hotp { counter: 0 });
    // No ResponseFormat: RFC 4226's 6 digits.
    assert_eq!(package.digits, 6);
    assert_eq!(package.secret.expose(), b"1234");
}

#[test]
fn rfc6030_figure5_pin_package_fails_the_whole_file() {
    // The first package (HOTP) is fine; the second is a PIN (pskc:pin): all or nothing.
    let err = error(parse(FIGURE5, &Decryption::None));
    assert!(
        matches!(&err, PskcError::UnsupportedAlgorithm { package, algorithm }
            if package == "key package 123456781 (serial 987654321)"
                && algorithm == "urn:ietf:params:xml:ns:keyprov:pskc:pin"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("key package 123456781 (serial 987654321): unsupported")
    );
}

#[test]
fn reads_rfc6030_figure6_preshared_key() {
    let packages = parse(FIGURE6, &key(RFC_KEY)).unwrap();
    let [package] = &packages[..] else { panic!() };
    assert_eq!(package.id, "12345678");
    assert_eq!(package.serial.as_deref(), Some("987654321"));
    assert_eq!(package.manufacturer.as_deref(), Some("Manufacturer"));
    assert_eq!(package.kind, PskcKind::Hotp { counter: 0 });
    assert_eq!(package.digits, 8);
    assert_eq!(secret_hex(package), RFC_SECRET);
}

#[test]
fn reads_rfc6030_figure7_pbkdf2() {
    let packages = parse(FIGURE7, &password(RFC_PASSWORD)).unwrap();
    let [package] = &packages[..] else { panic!() };
    assert_eq!(package.id, "123456");
    assert_eq!(package.serial.as_deref(), Some("987654321"));
    assert_eq!(package.manufacturer.as_deref(), Some("TokenVendorAcme"));
    assert_eq!(package.kind, PskcKind::Hotp { counter: 0 });
    assert_eq!(package.digits, 8);
    assert_eq!(secret_hex(package), RFC_SECRET);
}

#[test]
fn reads_a_feitian_vendor_file() {
    let packages = parse(FEITIAN, &Decryption::None).unwrap();
    assert_eq!(packages.len(), 6);
    let serials: Vec<_> = packages
        .iter()
        .map(|p| p.serial.as_deref().unwrap())
        .collect();
    assert_eq!(
        serials,
        [
            "1000133508267",
            "1000133508255",
            "2600124809778",
            "2600124809787",
            "2600135004012",
            "2600135004013"
        ]
    );
    assert_eq!(packages[0].kind, PskcKind::Hotp { counter: 0 });
    assert_eq!(
        secret_hex(&packages[0]),
        "3ee3270a2be59ffd78222dc3361478ff5cc63790"
    );
    assert_eq!(
        packages[5].kind,
        PskcKind::Totp {
            period: 60,
            algorithm: PskcAlgorithm::Sha1
        }
    );
    assert_eq!(
        secret_hex(&packages[5]),
        "3522ee085fea7903eca98ed2a1de1a9c93232018"
    );
    assert!(packages.iter().all(|p| p.digits == 6));
    assert_eq!(
        packages[0].manufacturer.as_deref(),
        Some("Feitian Technology Co.,Ltd")
    );
}

#[test]
fn reads_multiotp_encrypted_totp_with_suites() {
    // Time and TimeInterval encrypted (big-endian bytes), SHA-256 and SHA-512 in Suite, a
    // 64-byte secret.
    let packages = parse(MULTIOTP, &key(RFC_KEY)).unwrap();
    let [first, second] = &packages[..] else {
        panic!()
    };
    assert_eq!(first.id, "ZZ8000000001");
    assert_eq!(
        first.kind,
        PskcKind::Totp {
            period: 30,
            algorithm: PskcAlgorithm::Sha256
        }
    );
    assert_eq!(first.digits, 8);
    assert_eq!(
        secret_hex(first),
        "38c2506a8e0708a5e929c2686b827e0ba7ae28c9de3c83e6d27308345981a3de"
    );
    assert_eq!(
        second.kind,
        PskcKind::Totp {
            period: 30,
            algorithm: PskcAlgorithm::Sha512
        }
    );
    assert_eq!(second.secret.len(), 64);
    assert!(secret_hex(second).starts_with("e232f74b79922de8"));
}

/// The two older-draft fixtures have a bare <Key>: give it an algorithm.
fn with_hotp(xml: &str) -> String {
    xml.replace(
        "<Key>",
        "<Key Id=\"k\" Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc:hotp\">",
    )
}

#[test]
fn reads_older_draft_mac_forms() {
    // No MACKey: the encryption key is the MAC key.
    let packages = parse(&with_hotp(NO_MAC_KEY), &key(RFC_KEY)).unwrap();
    assert_eq!(secret_hex(&packages[0]), RFC_SECRET);
    // HMAC-SHA224 over the plaintext instead of the CipherValue.
    let packages = parse(&with_hotp(MAC_OVER_PLAINTEXT), &key(RFC_KEY)).unwrap();
    assert_eq!(secret_hex(&packages[0]), RFC_SECRET);
    // Either way a wrong MAC is still caught.
    let err = error(parse(
        &tamper(&with_hotp(NO_MAC_KEY), "<ValueMAC>", 0),
        &key(RFC_KEY),
    ));
    assert!(
        matches!(&err, PskcError::MacMismatch { package } if package == "key package k"),
        "{err:?}"
    );
}

#[test]
fn tampered_value_mac_names_the_package() {
    // The second ValueMAC is hotp-1's counter's.
    for n in [0, 1, 2] {
        let err = error(parse(
            &tamper(PRESHARED, "<pskc:ValueMAC>", n),
            &key(PRESHARED_KEY),
        ));
        let expected = if n < 2 {
            "key package hotp-1 (serial HOTP0001)"
        } else {
            "key package totp-1 (serial TOTP0001)"
        };
        assert!(
            matches!(&err, PskcError::MacMismatch { package } if package == expected),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("{expected}: MAC check failed: the file was altered or the key is wrong")
        );
    }
    let err = error(parse(&tamper(FIGURE6, "<ValueMAC>", 0), &key(RFC_KEY)));
    assert!(
        err.to_string()
            .starts_with("key package 12345678 (serial 987654321): MAC check failed")
    );
}

#[test]
fn tampered_ciphertext_fails_its_mac() {
    // The second CipherValue is the first package's secret (the first is the MAC key's).
    let err = error(parse(
        &tamper(PRESHARED, "<xenc:CipherValue>", 1),
        &key(PRESHARED_KEY),
    ));
    assert!(
        matches!(&err, PskcError::MacMismatch { package } if package.contains("hotp-1")),
        "{err:?}"
    );
    let err = error(parse(
        &tamper(PBKDF2, "<xenc:CipherValue>", 2),
        &password(PASSWORD),
    ));
    assert!(
        matches!(&err, PskcError::MacMismatch { package } if package.contains("totp-1")),
        "{err:?}"
    );
}

#[test]
fn wrong_key_or_password_is_refused() {
    let wrong = "00000000000000000000000000000000";
    for (xml, right) in [
        (PRESHARED, PRESHARED_KEY),
        (FIGURE6, RFC_KEY),
        (MULTIOTP, RFC_KEY),
    ] {
        let err = error(parse(xml, &key(wrong)));
        assert!(
            matches!(err, PskcError::WrongKey(_) | PskcError::MacMismatch { .. }),
            "{err:?}"
        );
        assert!(!err.to_string().contains(wrong));
        assert!(parse(xml, &key(right)).is_ok());
    }
    for (xml, right) in [(PBKDF2, PASSWORD), (FIGURE7, RFC_PASSWORD)] {
        let err = error(parse(xml, &password("qwertz")));
        assert!(
            matches!(err, PskcError::WrongKey(_) | PskcError::MacMismatch { .. }),
            "{err:?}"
        );
        assert!(parse(xml, &password(right)).is_ok());
    }
    let err = error(parse(FIGURE6, &key(wrong)));
    assert!(
        err.to_string().starts_with("wrong key or password: "),
        "{err}"
    );
}

#[test]
fn encrypted_file_without_a_key_says_how_to_give_one() {
    for xml in [PRESHARED, FIGURE6, MULTIOTP] {
        let err = error(parse(xml, &Decryption::None));
        assert!(matches!(err, PskcError::NeedsKey), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the file is encrypted: give the key with --key-file or the password with \
             --password-stdin"
        );
    }
    for xml in [PBKDF2, FIGURE7] {
        let err = error(parse(xml, &Decryption::None));
        assert!(matches!(err, PskcError::NeedsPassword), "{err:?}");
        assert!(err.to_string().contains("--password-stdin"));
    }
}

#[test]
fn key_where_a_password_is_wanted_and_back() {
    let err = error(parse(FIGURE7, &key(RFC_KEY)));
    assert!(matches!(err, PskcError::WrongDecryption(_)), "{err:?}");
    assert!(err.to_string().contains("--password-stdin"));
    let err = error(parse(FIGURE6, &password(RFC_PASSWORD)));
    assert!(matches!(err, PskcError::WrongDecryption(_)), "{err:?}");
    assert!(err.to_string().contains("--key-file"));
    let err = error(parse(FIGURE7, &password("")));
    assert!(matches!(err, PskcError::WrongDecryption(_)), "{err:?}");
}

#[test]
fn key_of_the_wrong_length_is_named_as_such() {
    let err = error(parse(
        FIGURE6,
        &key("1234567890123456789012345678901234567890"),
    ));
    assert!(
        matches!(
            err,
            PskcError::KeyLength {
                given: 20,
                cipher: "AES-128-CBC",
                needed: 16
            }
        ),
        "{err:?}"
    );
}

#[test]
fn refuses_what_is_not_pskc() {
    let err = error(parse("this is not XML", &Decryption::None));
    assert!(matches!(err, PskcError::NotXml(_)), "{err:?}");
    let err = error(parse("", &Decryption::None));
    assert!(matches!(err, PskcError::NotXml(_)), "{err:?}");
    let err = error(parse("<KeyContainer Version=\"1.0\"/>", &Decryption::None));
    assert!(matches!(err, PskcError::NotPskc(_)), "{err:?}");
    let err = error(parse(
        "<x:Other xmlns:x=\"urn:ietf:params:xml:ns:keyprov:pskc\" Version=\"1.0\"/>",
        &Decryption::None,
    ));
    assert!(
        err.to_string().contains("the root element is Other"),
        "{err}"
    );
    let err = error(parse(
        &FIGURE2.replace("Version=\"1.0\"", "Version=\"2.0\""),
        &Decryption::None,
    ));
    assert!(matches!(err, PskcError::Unsupported(_)), "{err:?}");
    let err = error(parse(
        &FIGURE2.replace("Version=\"1.0\"", ""),
        &Decryption::None,
    ));
    assert!(matches!(err, PskcError::NotPskc(_)), "{err:?}");
    let empty = format!("{OPEN}</KeyContainer>");
    assert!(matches!(
        error(parse(&empty, &Decryption::None)),
        PskcError::NoKeyPackages
    ));
}

#[test]
fn refuses_dtds_and_entity_bombs() {
    let bomb = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE KeyContainer [\n<!ENTITY a \"aaaaaaaaaa\">\n\
         <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n]>\n{OPEN}&b;</KeyContainer>"
    );
    let err = error(parse(&bomb, &Decryption::None));
    assert!(
        matches!(&err, PskcError::NotXml(e) if e.contains("DTD")),
        "{err:?}"
    );
}

#[test]
fn bounds_the_input() {
    let big = format!("{FIGURE2}{}", " ".repeat(MAX_FILE_BYTES));
    assert!(matches!(
        error(parse(&big, &Decryption::None)),
        PskcError::TooLarge { .. }
    ));
    let many = format!(
        "{OPEN}{}</KeyContainer>",
        "<KeyPackage/>".repeat(MAX_KEY_PACKAGES + 1)
    );
    let err = error(parse(&many, &Decryption::None));
    assert!(
        matches!(err, PskcError::TooManyPackages { count: 100_001 }),
        "{err:?}"
    );
}

#[test]
fn matches_namespaces_not_prefixes() {
    let odd = FIGURE2
        .replace("<KeyContainer", "<foo:KeyContainer")
        .replace("xmlns=", "xmlns:foo=")
        .replace("</KeyContainer", "</foo:KeyContainer")
        .replace("<Key", "<foo:Key")
        .replace("</Key", "</foo:Key")
        .replace("<Issuer", "<foo:Issuer")
        .replace("</Issuer", "</foo:Issuer")
        .replace("<Data", "<foo:Data")
        .replace("</Data", "</foo:Data")
        .replace("<Secret", "<foo:Secret")
        .replace("</Secret", "</foo:Secret")
        .replace("<PlainValue", "<foo:PlainValue")
        .replace("</PlainValue", "</foo:PlainValue");
    assert!(odd.contains("<foo:KeyPackage>"));
    assert_eq!(
        parse(&odd, &Decryption::None).unwrap()[0].secret.expose(),
        b"1234"
    );
    // The right local names in the wrong namespace are not PSKC.
    let wrong = FIGURE2.replace(
        "urn:ietf:params:xml:ns:keyprov:pskc\"",
        "urn:example:other\"",
    );
    assert!(matches!(
        error(parse(&wrong, &Decryption::None)),
        PskcError::NotPskc(_)
    ));
}

/// PLAIN with one thing in its first (HOTP) or second (TOTP) package replaced.
fn edit(from: &str, to: &str) -> String {
    assert!(PLAIN.contains(from), "{from}");
    PLAIN.replacen(from, to, 1)
}

fn package_problem(xml: &str) -> (String, String) {
    match error(parse(xml, &Decryption::None)) {
        PskcError::Package { package, problem } => (package, problem),
        other => panic!("expected a package problem, got {other:?}"),
    }
}

#[test]
fn one_bad_package_fails_the_file_and_is_named() {
    let totp = "key package totp-1 (serial TOTP0001)";
    let hotp = "key package hotp-1 (serial HOTP0001)";
    let cases = [
        (
            edit("Length=\"8\"", "Length=\"7\""),
            totp,
            "Length is \"7\"",
        ),
        (
            edit(
                "Encoding=\"DECIMAL\" Length=\"6\"",
                "Encoding=\"HEXADECIMAL\" Length=\"6\"",
            ),
            hotp,
            "only DECIMAL",
        ),
        (
            edit("Length=\"6\"", "Length=\"6\" CheckDigits=\"true\""),
            hotp,
            "check digit",
        ),
        (
            edit(
                "<pskc:PlainValue>0</pskc:PlainValue>",
                "<pskc:PlainValue>1</pskc:PlainValue>",
            ),
            totp,
            "T0",
        ),
        (
            edit(
                "<pskc:PlainValue>60</pskc:PlainValue>",
                "<pskc:PlainValue>0</pskc:PlainValue>",
            ),
            totp,
            "TimeInterval is 0",
        ),
        (
            edit(
                "<pskc:PlainValue>5</pskc:PlainValue>",
                "<pskc:PlainValue>-5</pskc:PlainValue>",
            ),
            hotp,
            "not a decimal number",
        ),
        (
            edit(
                "<pskc:PlainValue>5</pskc:PlainValue>",
                "<pskc:PlainValue>99999999999999999999</pskc:PlainValue>",
            ),
            hotp,
            "too large",
        ),
        (edit("HMAC-SHA256", "HMAC-MD5"), totp, "Suite \"HMAC-MD5\""),
        (
            edit(
                "<pskc:AlgorithmParameters>",
                "<pskc:AlgorithmParameters><pskc:Suite>HMAC-SHA256</pskc:Suite>",
            ),
            hotp,
            "HOTP with HMAC-SHA256",
        ),
        (
            edit("<pskc:PlainValue>obLD", "<pskc:PlainValue>*bLD"),
            hotp,
            "not valid base64",
        ),
        (
            edit(
                "<pskc:Secret>",
                "<pskc:Secret><pskc:PlainValue></pskc:PlainValue>",
            ),
            hotp,
            "more than one PlainValue",
        ),
    ];
    for (xml, package, problem) in cases {
        let (got_package, got_problem) = package_problem(&xml);
        assert_eq!(got_package, package);
        assert!(
            got_problem.contains(problem),
            "{got_problem} lacks {problem}"
        );
    }
}

#[test]
fn secret_must_be_1_to_64_bytes() {
    let secret_b64 = PLAIN.split("<pskc:Secret>").nth(1).unwrap();
    let start = secret_b64.find("<pskc:PlainValue>").unwrap() + "<pskc:PlainValue>".len();
    let old = &secret_b64[start..start + secret_b64[start..].find('<').unwrap()];
    let (_, problem) = package_problem(&PLAIN.replacen(old, "", 1));
    assert_eq!(problem, "its Secret is empty");
    // 88 base64 characters: 66 bytes.
    let (_, problem) = package_problem(&PLAIN.replacen(old, &"A".repeat(88), 1));
    assert!(problem.contains("66 bytes"), "{problem}");
    // 64 is fine.
    let sixty_four = format!("{}AA==", "A".repeat(84));
    assert_eq!(
        parse(&PLAIN.replacen(old, &sixty_four, 1), &Decryption::None).unwrap()[0]
            .secret
            .len(),
        64
    );
}

#[test]
fn package_without_a_key_id_is_numbered() {
    let xml = edit("Id=\"hotp-1\"", "");
    let packages = parse(&xml, &Decryption::None).unwrap();
    assert_eq!(packages[0].id, "#1");
    let (package, _) = package_problem(&xml.replacen("Length=\"6\"", "Length=\"9\"", 1));
    assert_eq!(package, "key package #1 (serial HOTP0001)");
}

#[test]
fn duplicate_ids_are_refused() {
    let xml = edit("Id=\"totp-1\"", "Id=\"hotp-1\"");
    let err = error(parse(&xml, &Decryption::None));
    assert!(
        matches!(&err, PskcError::DuplicateId { package } if package.contains("TOTP0001")),
        "{err:?}"
    );
}

#[test]
fn mac_rules() {
    // A MACMethod, but an encrypted value without its ValueMAC: refused.
    let stripped = PRESHARED
        .replacen("<pskc:ValueMAC>", "<pskc:Ignored>", 1)
        .replacen("</pskc:ValueMAC>", "</pskc:Ignored>", 1);
    let err = error(parse(&stripped, &key(PRESHARED_KEY)));
    assert!(err.to_string().contains("has no ValueMAC"), "{err}");
    // A ValueMAC without a MACMethod to check it: refused.
    let start = FIGURE6.find("<MACMethod").unwrap();
    let end = FIGURE6.find("</MACMethod>").unwrap() + "</MACMethod>".len();
    let no_method = format!("{}{}", &FIGURE6[..start], &FIGURE6[end..]);
    let err = error(parse(&no_method, &key(RFC_KEY)));
    assert!(err.to_string().contains("no MACMethod"), "{err}");
    // Neither: accepted (no integrity, as some vendors ship).
    let bare =
        no_method
            .replacen("<ValueMAC>", "<Ignored>", 1)
            .replacen("</ValueMAC>", "</Ignored>", 1);
    assert_eq!(
        secret_hex(&parse(&bare, &key(RFC_KEY)).unwrap()[0]),
        RFC_SECRET
    );
    // An unknown MAC algorithm: refused.
    let md5 = FIGURE6.replace("xmldsig#hmac-sha1", "xmldsig-more#hmac-md5");
    assert!(matches!(
        error(parse(&md5, &key(RFC_KEY))),
        PskcError::Unsupported(_)
    ));
}

#[test]
fn unsupported_encryption_is_refused() {
    let des = FIGURE6.replace("xmlenc#aes128-cbc", "xmlenc#tripledes-cbc");
    let err = error(parse(&des, &key(RFC_KEY)));
    assert!(err.to_string().contains("tripledes-cbc"), "{err}");
    let x509 = FIGURE6.replace(
        "<ds:KeyName>Pre-shared-key</ds:KeyName>",
        "<ds:X509Data><ds:X509Certificate>MIIB</ds:X509Certificate></ds:X509Data>",
    );
    let err = error(parse(&x509, &key(RFC_KEY)));
    assert!(
        matches!(err, PskcError::Unsupported(_)) && err.to_string().contains("X.509"),
        "{err:?}"
    );
    let scrypt = FIGURE7.replace("pkcs-5v2-0#pbkdf2", "pkcs-5v2-0#scrypt");
    assert!(matches!(
        error(parse(&scrypt, &password(RFC_PASSWORD))),
        PskcError::Unsupported(_)
    ));
}

#[test]
fn control_characters_from_the_file_are_escaped() {
    // XML 1.0 has no ESC, but it has C1 controls (U+009B is CSI to some terminals) and tabs.
    let xml = edit("Id=\"hotp-1\"", "Id=\"evil&#x9b;2J&#9;\"").replacen(
        "Length=\"6\"",
        "Length=\"5\"",
        1,
    );
    let (package, _) = package_problem(&xml);
    assert_eq!(package, "key package evil\\u{9b}2J\\t (serial HOTP0001)");
}
