//! Encoding against byte vectors: each type, vendor layouts, tags, and each error.

use super::{AUTHENTICATOR, SECRET, encode, test_dictionary, text, unhex};
use crate::dictionary::{AttributeValue, Dictionary, EncodeError, WireAttribute};

fn wire(dictionary: &Dictionary, name: &str, value: AttributeValue) -> Vec<u8> {
    encode(dictionary, name, value)
        .to_wire(SECRET, &AUTHENTICATOR)
        .to_bytes()
}

#[test]
fn each_type_to_bytes() {
    let dictionary = test_dictionary();
    let int = AttributeValue::Integer;
    let cases: Vec<(&str, AttributeValue, &str)> = vec![
        ("User-Name", text("alice"), "01 07 616c696365"),
        ("Class", text("admins"), "19 08 61646d696e73"),
        ("Class", text("0x00ff10"), "19 05 00ff10"),
        ("Service-Type", text("Framed-User"), "06 06 00000002"),
        ("service-type", text("framed-user"), "06 06 00000002"),
        ("Service-Type", int(2), "06 06 00000002"),
        ("Session-Timeout", int(28800), "1b 06 00007080"),
        ("Session-Timeout", text("28800"), "1b 06 00007080"),
        ("Session-Timeout", text("0xffffffff"), "1b 06 ffffffff"),
        ("Test-Byte", int(255), "f0 03 ff"),
        ("Test-Short", int(65535), "f1 04 ffff"),
        (
            "Test-Integer64",
            text("18446744073709551615"),
            "f2 0a ffffffffffffffff",
        ),
        ("Test-Integer64", int(1), "f2 0a 0000000000000001"),
        ("Event-Timestamp", int(10), "37 06 0000000a"),
        (
            "Event-Timestamp",
            text("1970-01-01T00:00:10Z"),
            "37 06 0000000a",
        ),
        (
            "Event-Timestamp",
            text("2106-02-07T06:28:15Z"),
            "37 06 ffffffff",
        ),
        ("Framed-IP-Address", text("10.8.0.5"), "08 06 0a080005"),
        (
            "NAS-IPv6-Address",
            text("2001:db8::1"),
            "5f 12 20010db8000000000000000000000001",
        ),
        (
            "Framed-IPv6-Prefix",
            text("2001:db8::/32"),
            "61 14 0020 20010db8000000000000000000000000",
        ),
        (
            "Delegated-IPv6-Prefix",
            text("::/0"),
            "7b 14 0000 00000000000000000000000000000000",
        ),
        (
            "Framed-Interface-Id",
            text("0011:2233:4455:6677"),
            "60 0a 0011223344556677",
        ),
        (
            "Framed-Interface-Id",
            text("11:2233:455:6677"),
            "60 0a 0011223304556677",
        ),
        (
            "Test-Ether",
            text("00:11:22:33:44:55"),
            "f3 08 001122334455",
        ),
        (
            "Test-Ether",
            text("00-11-22-aa-BB-cc"),
            "f3 08 001122aabbcc",
        ),
    ];
    for (name, value, expected) in cases {
        let shown = format!("{name} = {value}");
        assert_eq!(wire(&dictionary, name, value), unhex(expected), "{shown}");
    }
}

/// RFC 2865 §5.26 with Cisco's one-octet type and length.
#[test]
fn vendor_specific_cisco_avpair() {
    let dictionary = Dictionary::builtin();
    let attribute = encode(&dictionary, "Cisco-AVPair", text("shell:priv-lvl=15"));
    assert_eq!(attribute.attribute_type(), 26);
    assert_eq!(attribute.wire_len(), 25);
    assert_eq!(
        attribute.to_wire(SECRET, &AUTHENTICATOR).to_bytes(),
        unhex("1a 19 00000009 01 13 7368656c6c3a707269762d6c766c3d3135")
    );
}

#[test]
fn several_values_give_several_vendor_attributes() {
    let dictionary = Dictionary::builtin();
    let values = [
        text("shell:priv-lvl=15"),
        text("ip:inacl#1=permit ip any any"),
    ];
    let attributes = dictionary.encode_all("Cisco-AVPair", &values).unwrap();
    let on_wire: Vec<WireAttribute> = attributes
        .iter()
        .map(|a| a.to_wire(SECRET, &AUTHENTICATOR))
        .collect();
    assert_eq!(on_wire.len(), 2);
    assert_eq!(on_wire[1].value[..6], unhex("00000009 01 1e"));
    assert_eq!(&on_wire[1].value[6..], b"ip:inacl#1=permit ip any any");
    let other = wire(
        &dictionary,
        "UBNT-Data-Rate-DL",
        AttributeValue::Integer(1000),
    );
    assert_eq!(other, unhex("1a 10 0000a098 01 0a 00000000000003e8"));
}

#[test]
fn vendor_formats() {
    let dictionary = test_dictionary();
    // format=2,2: two octets of type, two of length (counting the whole sub-attribute).
    assert_eq!(
        wire(&dictionary, "Wide-Text", text("abc")),
        unhex("1a 0d 000012ee 0102 0007 616263")
    );
    // format=4,0: four octets of type, no length: the value runs to the end.
    assert_eq!(
        wire(&dictionary, "Long-Number", AttributeValue::Integer(10)),
        unhex("1a 0e 000001ad 00009800 0000000a")
    );
    // format=1,0
    assert_eq!(
        wire(&dictionary, "Short-Type-Text", text("xy")),
        unhex("1a 09 00001f40 05 7879")
    );
}

#[test]
fn tags() {
    let dictionary = Dictionary::builtin();
    for (name, value, expected) in [
        ("Tunnel-Type:1", "VLAN", "40 06 0100000d"),
        ("Tunnel-Type", "VLAN", "40 06 0000000d"),
        ("tunnel-type:31", "L2TP", "40 06 1f000003"),
        ("Tunnel-Medium-Type:1", "IEEE-802", "41 06 01000006"),
        ("Tunnel-Private-Group-Id:1", "100", "51 06 01313030"),
        ("Tunnel-Private-Group-Id:0", "100", "51 06 00313030"),
        ("Tunnel-Private-Group-Id", "100", "51 05 313030"),
        // A first octet that would read as a tag gets an explicit tag 0 in front.
        ("Tunnel-Private-Group-Id", "\u{5}ab", "51 06 00056162"),
    ] {
        assert_eq!(
            wire(&dictionary, name, text(value)),
            unhex(expected),
            "{name}"
        );
    }
    assert_eq!(
        encode(&dictionary, "tunnel-type:2", text("GRE")).name(),
        "Tunnel-Type:2"
    );
}

#[test]
fn lengths_at_the_limit() {
    let dictionary = test_dictionary();
    let long = |n| text(&"x".repeat(n));
    for (name, max) in [
        ("Reply-Message", 253),
        ("Cisco-AVPair", 247),
        ("Wide-Text", 245),
        ("Tunnel-Private-Group-Id:1", 252),
        ("Tunnel-Password", 239),
        ("MS-MPPE-Send-Key", 239),
        ("Test-Hidden", 128),
        ("Test-Secret", 16),
    ] {
        let attribute = encode(&dictionary, name, long(max));
        let bytes = attribute.to_wire(SECRET, &AUTHENTICATOR).to_bytes();
        assert!(bytes.len() <= 255, "{name}");
        assert_eq!(bytes.len(), attribute.wire_len(), "{name}");
        assert_eq!(usize::from(bytes[1]), bytes.len(), "{name}");
        let error = dictionary.encode(name, &long(max + 1)).unwrap_err();
        assert!(
            matches!(error, EncodeError::TooLong { len, max: m, .. } if len == max + 1 && m == max),
            "{name}: {error}"
        );
    }
}

#[test]
fn each_error_names_the_attribute_and_the_reason() {
    let dictionary = test_dictionary();
    let int = AttributeValue::Integer;
    let cases: Vec<(&str, AttributeValue, &str)> = vec![
        (
            "Cisco-AVPiar",
            text("x"),
            "unknown attribute `Cisco-AVPiar`; did you mean `Cisco-AVPair`?",
        ),
        (
            "No-Such-Thing-At-All",
            text("x"),
            "unknown attribute `No-Such-Thing-At-All`; check the spelling or define it in a \
             dictionary file",
        ),
        (
            "Session-Timeout",
            text("forever"),
            "`Session-Timeout` takes a whole number; \"forever\" is not one",
        ),
        (
            "Session-Timeout",
            int(-1),
            "`Session-Timeout` = -1 is out of range: this integer attribute takes 0 to 4294967295",
        ),
        (
            "Session-Timeout",
            int(1 << 32),
            "`Session-Timeout` = 4294967296 is out of range: this integer attribute takes 0 to 4294967295",
        ),
        (
            "Test-Byte",
            int(256),
            "`Test-Byte` = 256 is out of range: this byte attribute takes 0 to 255",
        ),
        (
            "Tunnel-Type:1",
            int(1 << 24),
            "`Tunnel-Type:1` = 16777216 is out of range: this tagged integer attribute takes 0 to 16777215",
        ),
        (
            "Event-Timestamp",
            int(-5),
            "`Event-Timestamp` = -5 is out of range: this date (seconds since 1970) attribute takes 0 to 4294967295",
        ),
        (
            "Event-Timestamp",
            text("yesterday"),
            "`Event-Timestamp` takes a date: Unix seconds or RFC 3339 such as 2030-01-01T00:00:00Z; \"yesterday\" is not one",
        ),
        (
            "Framed-IP-Address",
            text("10.0.0"),
            "`Framed-IP-Address` takes an IPv4 address such as 192.0.2.10; \"10.0.0\" is not one",
        ),
        (
            "Framed-IP-Address",
            int(10),
            "`Framed-IP-Address` takes an IPv4 address such as 192.0.2.10; 10 is not one",
        ),
        (
            "Login-IPv6-Host",
            text("10.0.0.1"),
            "`Login-IPv6-Host` takes an IPv6 address such as 2001:db8::10; \"10.0.0.1\" is not one",
        ),
        (
            "Class",
            int(5),
            "`Class` takes octets: plain text, or hex after 0x with an even number of digits; 5 is not one",
        ),
        (
            "Class",
            text("0xabc"),
            "`Class` takes octets: plain text, or hex after 0x with an even number of digits; \"0xabc\" is not one",
        ),
        (
            "Filter-Id",
            int(5),
            "`Filter-Id` takes text (a quoted TOML string); 5 is not one",
        ),
        (
            "Framed-IPv6-Prefix",
            text("2001:db8::1/32"),
            "`Framed-IPv6-Prefix` = 2001:db8::1/32 has bits set after /32; write 2001:db8::/32",
        ),
        (
            "Framed-IPv6-Prefix",
            text("2001:db8::/129"),
            "`Framed-IPv6-Prefix` takes an IPv6 prefix such as 2001:db8::/32; \"2001:db8::/129\" is not one",
        ),
        (
            "Framed-Interface-Id",
            text("0011:2233:4455"),
            "`Framed-Interface-Id` takes an interface id such as 0011:2233:4455:6677; \"0011:2233:4455\" is not one",
        ),
        (
            "Test-Ether",
            text("00:11:22:33:44:555"),
            "`Test-Ether` takes a MAC address such as 00:11:22:33:44:55; \"00:11:22:33:44:555\" is not one",
        ),
        (
            "Class",
            text(""),
            "`Class` cannot be empty: a RADIUS attribute carries at least one octet",
        ),
        (
            "Class:1",
            text("x"),
            "`Class`: tag `1` cannot be used: the dictionary does not mark this attribute has_tag",
        ),
        (
            "Tunnel-Type:32",
            text("VLAN"),
            "`Tunnel-Type`: tag `32` is not a number from 0 to 31",
        ),
        (
            "Tunnel-Type:+1",
            text("VLAN"),
            "`Tunnel-Type`: tag `+1` is not a number from 0 to 31",
        ),
        (
            "Reply-Message",
            text(&"x".repeat(254)),
            "`Reply-Message` value is 254 octets; at most 253 fit in one attribute",
        ),
    ];
    for (name, value, message) in cases {
        let error = dictionary.encode(name, &value).unwrap_err();
        assert_eq!(error.to_string(), message, "{name} = {value}");
    }
    let error = dictionary
        .encode("Service-Type", &text("Framed"))
        .unwrap_err();
    let EncodeError::UnknownValue { known, .. } = &error else {
        panic!("{error}");
    };
    assert!(known.starts_with("Login-User, Framed-User, "), "{known}");
    assert!(known.ends_with(", …"), "more than ten are cut: {known}");
}

#[test]
fn values_deserialize_from_toml() {
    #[derive(serde::Deserialize)]
    struct Reply {
        reply: std::collections::BTreeMap<String, AttributeValue>,
    }
    let parsed: Reply =
        toml::from_str("reply = { Class = \"admins\", Session-Timeout = 28800 }").unwrap();
    assert_eq!(parsed.reply["Class"], text("admins"));
    assert_eq!(
        parsed.reply["Session-Timeout"],
        AttributeValue::Integer(28800)
    );
    let error = toml::from_str::<Reply>("reply = { Class = 1.5 }")
        .err()
        .unwrap();
    assert!(
        error.to_string().contains("a string or an integer"),
        "{error}"
    );
}
