//! Describing replies: what `encode` writes reads back as the name and value written, and what
//! the dictionary does not know is shown as hex, not dropped.

use super::{AUTHENTICATOR, SECRET, encode, test_dictionary, text, unhex};
use crate::dictionary::{AttributeValue, Described};

fn described(name: &str, value: &str) -> Described {
    Described {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// Encoding then describing gives back the name and a readable value: one table for both
/// directions, so a slip in either shows.
#[test]
fn round_trips() {
    let dictionary = test_dictionary();
    let int = AttributeValue::Integer;
    let cases: Vec<(&str, AttributeValue, &str, &str)> = vec![
        ("User-Name", text("alice"), "User-Name", "\"alice\""),
        ("Class", text("0x00ff"), "Class", "0x00ff"),
        ("Service-Type", int(2), "Service-Type", "Framed-User"),
        ("Session-Timeout", int(28800), "Session-Timeout", "28800"),
        ("Test-Byte", int(7), "Test-Byte", "7"),
        ("Test-Short", int(700), "Test-Short", "700"),
        (
            "Test-Integer64",
            int(1 << 40),
            "Test-Integer64",
            "1099511627776",
        ),
        (
            "Event-Timestamp",
            text("2030-01-01T00:00:00Z"),
            "Event-Timestamp",
            "2030-01-01T00:00:00Z",
        ),
        (
            "Framed-IP-Address",
            text("10.8.0.5"),
            "Framed-IP-Address",
            "10.8.0.5",
        ),
        (
            "NAS-IPv6-Address",
            text("2001:db8::1"),
            "NAS-IPv6-Address",
            "2001:db8::1",
        ),
        (
            "Framed-IPv6-Prefix",
            text("2001:db8::/32"),
            "Framed-IPv6-Prefix",
            "2001:db8::/32",
        ),
        (
            "Framed-Interface-Id",
            text("0011:2233:4455:6677"),
            "Framed-Interface-Id",
            "0011:2233:4455:6677",
        ),
        (
            "Test-Ether",
            text("00:11:22:aa:bb:cc"),
            "Test-Ether",
            "00:11:22:aa:bb:cc",
        ),
        ("Tunnel-Type:1", text("VLAN"), "Tunnel-Type:1", "VLAN"),
        ("Tunnel-Type", text("VLAN"), "Tunnel-Type", "VLAN"),
        (
            "Tunnel-Private-Group-Id:3",
            text("100"),
            "Tunnel-Private-Group-Id:3",
            "\"100\"",
        ),
        (
            "Tunnel-Private-Group-Id",
            text("100"),
            "Tunnel-Private-Group-Id",
            "\"100\"",
        ),
        (
            "Cisco-AVPair",
            text("shell:priv-lvl=15"),
            "Cisco-AVPair",
            "\"shell:priv-lvl=15\"",
        ),
        (
            "Fortinet-Group-Name",
            text("vpn"),
            "Fortinet-Group-Name",
            "\"vpn\"",
        ),
        ("UBNT-Data-Rate-DL", int(1000), "UBNT-Data-Rate-DL", "1000"),
        ("Wide-Text", text("abc"), "Wide-Text", "\"abc\""),
        ("Long-Number", int(10), "Long-Number", "10"),
        ("Short-Type-Text", text("xy"), "Short-Type-Text", "\"xy\""),
    ];
    for (name, value, shown_name, shown_value) in cases {
        let wire = encode(&dictionary, name, value).to_wire(SECRET, &AUTHENTICATOR);
        assert_eq!(
            dictionary.describe(wire.attribute_type, &wire.value),
            vec![described(shown_name, shown_value)],
            "{name}"
        );
    }
}

#[test]
fn hidden_values_are_revealed_only_with_the_secret() {
    let dictionary = test_dictionary();
    for (name, revealed) in [
        ("Tunnel-Password:2", "\"hunter2\""),
        ("MS-MPPE-Recv-Key", "0x68756e74657232"),
        ("Wide-Key", "0x68756e74657232"),
        ("Test-Hidden", "\"hunter2\""),
        ("Test-Secret", "\"hunter2\""),
    ] {
        let wire = encode(&dictionary, name, text("hunter2")).to_wire(SECRET, &AUTHENTICATOR);
        let plain = dictionary.describe_with_secret(
            wire.attribute_type,
            &wire.value,
            SECRET,
            &AUTHENTICATOR,
        );
        assert_eq!(plain, vec![described(name, revealed)], "{name}");
        let hidden = dictionary.describe(wire.attribute_type, &wire.value);
        assert_eq!(hidden[0].name, name);
        assert!(
            hidden[0].value.starts_with("0x"),
            "{name}: {}",
            hidden[0].value
        );
    }
}

#[test]
fn several_sub_attributes_in_one_vendor_specific() {
    let dictionary = test_dictionary();
    let value = unhex("00000009 01 05 613d31 01 05 623d32 02 04 7878");
    assert_eq!(
        dictionary.describe(26, &value),
        vec![
            described("Cisco-AVPair", "\"a=1\""),
            described("Cisco-AVPair", "\"b=2\""),
            described("Cisco-NAS-Port", "\"xx\""),
        ]
    );
    assert_eq!(
        described("Cisco-AVPair", "\"a=1\"").to_string(),
        "Cisco-AVPair = \"a=1\""
    );
}

#[test]
fn unknown_and_malformed_attributes_show_as_hex() {
    let dictionary = test_dictionary();
    let cases: Vec<(u8, &str, Vec<Described>)> = vec![
        (200, "0102", vec![described("Attr-200", "0x0102")]),
        (
            26,
            "00003039 0102",
            vec![described("Attr-26.12345", "0x0102")],
        ),
        (
            26,
            "00000009 4d 03 ff",
            vec![described("Attr-26.9.77", "0xff")],
        ),
        // Sub-attribute longer than what is left: the whole attribute as it came.
        (
            26,
            "00000009 01 09 6162",
            vec![described("Vendor-Specific", "0x00000009010961 62")],
        ),
        (26, "000009", vec![described("Vendor-Specific", "0x000009")]),
        (
            8,
            "0a0000",
            vec![described("Framed-IP-Address", "0x0a0000")],
        ),
        (6, "00000063", vec![described("Service-Type", "99")]),
        (1, "ff", vec![described("User-Name", "0xff")]),
        (64, "01", vec![described("Tunnel-Type:1", "0x")]),
    ];
    for (attribute_type, value, expected) in cases {
        let expected: Vec<Described> = expected
            .into_iter()
            .map(|d| described(&d.name, &d.value.replace(' ', "")))
            .collect();
        assert_eq!(
            dictionary.describe(attribute_type, &unhex(value)),
            expected,
            "{value}"
        );
    }
}
