//! The parser, from tables: each directive, type and flag accepted; includes and aliases.

use super::{parse_files, parse_text};
use crate::dictionary::{DataType, Encrypt, VendorFormat};

#[test]
fn every_type_parses() {
    for data_type in DataType::ALL {
        let text = format!("# a comment\n\nATTRIBUTE\tSome-Thing\t7\t{data_type}\n");
        let dictionary = parse_text(&text).unwrap();
        let attribute = dictionary.attribute("some-thing").unwrap();
        assert_eq!(attribute.data_type(), data_type);
        assert_eq!((attribute.vendor(), attribute.number()), (0, 7));
        assert_eq!(attribute.defined_at().to_string(), "test/root:3");
    }
    // Vendors' own files write types and directives in other cases.
    let dictionary = parse_text("attribute A 1 String\nATTRIBUTE B 0x1f Integer").unwrap();
    assert_eq!(
        dictionary.attribute("A").unwrap().data_type(),
        DataType::String
    );
    assert_eq!(dictionary.attribute("B").unwrap().number(), 31);
}

#[test]
fn flags() {
    let dictionary = parse_text(
        "ATTRIBUTE Plain 1 string\n\
         ATTRIBUTE Tagged 2 integer has_tag\n\
         ATTRIBUTE Hidden-1 3 string encrypt=1\n\
         ATTRIBUTE Hidden-2 4 octets encrypt=2\n\
         ATTRIBUTE Hidden-3 5 string encrypt=3\n\
         ATTRIBUTE Both 6 string has_tag,encrypt=2 # trailing comment",
    )
    .unwrap();
    let flags = |name| {
        let a = dictionary.attribute(name).unwrap();
        (a.has_tag(), a.encrypt())
    };
    assert_eq!(flags("Plain"), (false, None));
    assert_eq!(flags("Tagged"), (true, None));
    assert_eq!(flags("Hidden-1"), (false, Some(Encrypt::UserPassword)));
    assert_eq!(flags("Hidden-2"), (false, Some(Encrypt::TunnelPassword)));
    assert_eq!(flags("Hidden-3"), (false, Some(Encrypt::AscendSecret)));
    assert_eq!(flags("Both"), (true, Some(Encrypt::TunnelPassword)));
}

#[test]
fn values_vendors_and_blocks() {
    let dictionary = parse_text(
        "ATTRIBUTE Mode 1 integer\n\
         VALUE Mode Off 0\n\
         VALUE mode On 0x1\n\
         VALUE Mode Also-On 1\n\
         VENDOR Acme 99\n\
         VENDOR Wide 4846 format=2,2\n\
         VENDOR Long 429 format=4,0\n\
         VENDOR Bare 8000 format=1,0\n\
         BEGIN-VENDOR Acme\n\
         ATTRIBUTE Acme-Thing 1 string\n\
         END-VENDOR acme\n\
         BEGIN-VENDOR Wide\n\
         ATTRIBUTE Wide-Thing 65535 string\n\
         END-VENDOR Wide\n\
         BEGIN-VENDOR Long\n\
         ATTRIBUTE Long-Thing 4294967295 integer\n\
         END-VENDOR Long\n\
         ATTRIBUTE After 2 string",
    )
    .unwrap();
    let mode = dictionary.attribute("MODE").unwrap();
    assert_eq!(mode.value_number("on"), Some(1));
    assert_eq!(mode.value_name(1), Some("On"), "the first name prints");
    assert_eq!(mode.values().count(), 3);
    let format = |name| dictionary.vendor(name).unwrap().format();
    assert_eq!(format("acme"), VendorFormat::default());
    assert_eq!(
        format("Wide"),
        VendorFormat {
            type_octets: 2,
            length_octets: 2
        }
    );
    assert_eq!(
        format("Long"),
        VendorFormat {
            type_octets: 4,
            length_octets: 0
        }
    );
    assert_eq!(
        format("Bare"),
        VendorFormat {
            type_octets: 1,
            length_octets: 0
        }
    );
    assert_eq!(dictionary.vendor_by_id(99).unwrap().name(), "Acme");
    let by_number = |vendor, number| {
        dictionary
            .attribute_by_number(vendor, number)
            .unwrap()
            .name()
    };
    assert_eq!(by_number(99, 1), "Acme-Thing");
    assert_eq!(by_number(4846, 65535), "Wide-Thing");
    assert_eq!(by_number(429, 4_294_967_295), "Long-Thing");
    assert_eq!(by_number(0, 2), "After", "END-VENDOR closes the block");
}

#[test]
fn includes_are_relative_and_repeats_are_harmless() {
    let dictionary = parse_files(&[
        (
            "root",
            "$INCLUDE sub/one\n$INCLUDE- not-there\n$INCLUDE sub/one",
        ),
        ("sub/one", "ATTRIBUTE One 1 string\n$INCLUDE ./two"),
        (
            "sub/two",
            "ATTRIBUTE Two 2 integer\nVALUE Two X 1\n$INCLUDE ../three",
        ),
        ("three", "ATTRIBUTE Three 3 ipaddr"),
    ])
    .unwrap();
    for name in ["One", "Two", "Three"] {
        assert!(dictionary.attribute(name).is_some(), "{name}");
    }
    assert_eq!(dictionary.attribute("Two").unwrap().values().count(), 1);
    assert_eq!(
        dictionary.attribute("Two").unwrap().defined_at().file,
        "test/sub/two"
    );
}

/// Aliases: a second vendor name or attribute name for a number resolves, the first prints.
#[test]
fn aliases() {
    let dictionary = parse_text(
        "VENDOR Ubiquiti 41112\nVENDOR UBNT 41112\nBEGIN-VENDOR UBNT\n\
         ATTRIBUTE New-Name 1 string\nATTRIBUTE Old-Name 1 string\nEND-VENDOR UBNT",
    )
    .unwrap();
    assert_eq!(dictionary.vendor_by_id(41112).unwrap().name(), "Ubiquiti");
    assert_eq!(
        dictionary.attribute_by_number(41112, 1).unwrap().name(),
        "New-Name"
    );
    assert_eq!(dictionary.attribute("Old-Name").unwrap().number(), 1);
}
