//! The parser's errors, from a table: each at its file and line, with what to fix.

use super::{parse_files, parse_text};
use crate::dictionary::{DataType, DictionaryError, LineError, Location};

fn usage(directive: &'static str, usage: &'static str) -> LineError {
    LineError::Usage { directive, usage }
}

fn bad_number(what: &'static str, text: &str, min: u64, max: u64) -> LineError {
    LineError::BadNumber {
        what,
        text: text.to_string(),
        min,
        max,
    }
}

fn at(line: usize) -> Location {
    Location {
        file: "test/root".to_string(),
        line,
    }
}

#[test]
fn each_error_names_its_line() {
    use LineError::*;
    let attribute_usage = usage(
        "ATTRIBUTE",
        "ATTRIBUTE name number type [has_tag,encrypt=N]",
    );
    let not_allowed = |flag: &str, reason| FlagNotAllowed {
        flag: flag.to_string(),
        reason,
    };
    let cases: Vec<(&str, usize, LineError)> = vec![
        ("FOO bar", 1, UnknownDirective("FOO".into())),
        ("\n# c\nATTRIBUTE A 1", 3, attribute_usage.clone()),
        ("ATTRIBUTE A 1 string has_tag extra", 1, attribute_usage),
        (
            "VALUE A B",
            1,
            usage("VALUE", "VALUE attribute name number"),
        ),
        (
            "VENDOR V",
            1,
            usage("VENDOR", "VENDOR name number [format=T,L]"),
        ),
        (
            "BEGIN-VENDOR",
            1,
            usage("BEGIN-VENDOR", "BEGIN-VENDOR name"),
        ),
        ("END-VENDOR a b", 1, usage("END-VENDOR", "END-VENDOR name")),
        ("$INCLUDE", 1, usage("$INCLUDE", "$INCLUDE file")),
        (
            "ATTRIBUTE A:1 1 string",
            1,
            BadName {
                what: "attribute",
                name: "A:1".into(),
            },
        ),
        (
            "VENDOR V=1 9",
            1,
            BadName {
                what: "vendor",
                name: "V=1".into(),
            },
        ),
        (
            "ATTRIBUTE A 256 string",
            1,
            bad_number("attribute number", "256", 1, 255),
        ),
        (
            "ATTRIBUTE A 0 string",
            1,
            bad_number("attribute number", "0", 1, 255),
        ),
        (
            "ATTRIBUTE A -1 string",
            1,
            bad_number("attribute number", "-1", 1, 255),
        ),
        (
            "ATTRIBUTE A 0xg string",
            1,
            bad_number("attribute number", "0xg", 1, 255),
        ),
        ("ATTRIBUTE A 1 tlv", 1, UnknownType("tlv".into())),
        (
            "ATTRIBUTE A 1 octets[16]",
            1,
            UnknownType("octets[16]".into()),
        ),
        (
            "ATTRIBUTE A 1 string concat",
            1,
            UnknownFlag("concat".into()),
        ),
        (
            "ATTRIBUTE A 1 string encrypt=4",
            1,
            UnknownFlag("encrypt=4".into()),
        ),
        (
            "ATTRIBUTE A 1 ipaddr has_tag",
            1,
            not_allowed(
                "has_tag",
                "applies only to integer, string and octets attributes",
            ),
        ),
        (
            "ATTRIBUTE A 1 integer encrypt=2",
            1,
            not_allowed("encrypt=2", "applies only to string and octets attributes"),
        ),
        (
            "ATTRIBUTE A 1 string has_tag,encrypt=1",
            1,
            not_allowed(
                "encrypt=1",
                "cannot go with has_tag: only encrypt=2 leaves room for a tag",
            ),
        ),
        (
            "ATTRIBUTE A 1 string\nATTRIBUTE A 2 string",
            2,
            DuplicateAttribute {
                name: "A".into(),
                previous: at(1),
            },
        ),
        (
            "ATTRIBUTE a 1 string\nATTRIBUTE A 1 octets",
            2,
            DuplicateAttribute {
                name: "A".into(),
                previous: at(1),
            },
        ),
        ("VALUE B X 1", 1, ValueForUnknownAttribute("B".into())),
        (
            "ATTRIBUTE A 1 string\nVALUE A X 1",
            2,
            ValueNotInteger {
                attribute: "A".into(),
                data_type: DataType::String,
            },
        ),
        (
            "ATTRIBUTE A 1 byte\nVALUE A X 256",
            2,
            bad_number("value", "256", 0, 255),
        ),
        (
            "ATTRIBUTE A 1 integer has_tag\nVALUE A X 16777216",
            2,
            bad_number("value", "16777216", 0, 0xff_ffff),
        ),
        (
            "ATTRIBUTE A 1 integer\nVALUE A X 1\nVALUE A x 2",
            3,
            DuplicateValue {
                attribute: "A".into(),
                value: "x".into(),
                number: 1,
            },
        ),
        (
            "VENDOR V 16777216",
            1,
            bad_number("vendor number", "16777216", 1, 0xff_ffff),
        ),
        (
            "VENDOR V 9 format=3,1",
            1,
            VendorFormat("format=3,1".into()),
        ),
        (
            "VENDOR V 9 format=1,3",
            1,
            VendorFormat("format=1,3".into()),
        ),
        (
            "VENDOR V 9 format=1,1,c",
            1,
            VendorFormat("format=1,1,c".into()),
        ),
        ("VENDOR V 9 type=1,1", 1, VendorFormat("type=1,1".into())),
        (
            "VENDOR V 9\nVENDOR v 10",
            2,
            DuplicateVendor {
                name: "v".into(),
                previous: at(1),
            },
        ),
        (
            "VENDOR V 9\nVENDOR W 9 format=2,2",
            2,
            VendorFormatConflict {
                id: 9,
                name: "V".into(),
                previous: at(1),
            },
        ),
        ("BEGIN-VENDOR X", 1, UnknownVendor("X".into())),
        (
            "VENDOR V 9\nBEGIN-VENDOR V\nBEGIN-VENDOR V",
            3,
            NestedVendor("V".into()),
        ),
        (
            "VENDOR V 9\nVENDOR W 10\nBEGIN-VENDOR V\nEND-VENDOR W",
            4,
            EndVendorMismatch {
                open: "V".into(),
                end: "W".into(),
            },
        ),
        ("END-VENDOR V", 1, EndVendorWithoutBegin("V".into())),
        (
            "VENDOR V 9\nBEGIN-VENDOR V\nATTRIBUTE A 1 string",
            2,
            UnclosedVendor("V".into()),
        ),
        (
            "VENDOR V 9\nBEGIN-VENDOR V\nATTRIBUTE A 256 string",
            3,
            bad_number("attribute number", "256", 1, 255),
        ),
        (
            "VENDOR V 9 format=2,2\nBEGIN-VENDOR V\nATTRIBUTE A 65536 string",
            3,
            bad_number("attribute number", "65536", 1, 0xffff),
        ),
        (
            "$INCLUDE missing",
            1,
            Include {
                path: "missing".into(),
                reason: "no such built-in file".into(),
            },
        ),
        (
            "$INCLUDE root",
            1,
            IncludeCycle(vec!["test/root".into(), "test/root".into()]),
        ),
    ];
    for (text, line, problem) in cases {
        let expected = DictionaryError::Line {
            at: at(line),
            problem,
        };
        assert_eq!(parse_text(text).unwrap_err(), expected, "{text:?}");
    }
}

#[test]
fn errors_in_included_files_name_that_file() {
    let error = parse_files(&[("root", "$INCLUDE sub/x"), ("sub/x", "\nBAD line")]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "test/sub/x:2: unknown directive `BAD`; a line starts with ATTRIBUTE, VALUE, VENDOR, \
         BEGIN-VENDOR, END-VENDOR or $INCLUDE (or # for a comment)"
    );
}

#[test]
fn include_cycle_is_an_error_naming_the_files() {
    let error = parse_files(&[
        ("root", "$INCLUDE a"),
        ("a", "# first\n$INCLUDE b"),
        ("b", "$INCLUDE a"),
    ])
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "test/b:1: $INCLUDE cycle: test/a includes test/b includes test/a; \
         remove one of these $INCLUDE lines"
    );
}

#[test]
fn messages_say_what_to_write() {
    let message = |text| parse_text(text).unwrap_err().to_string();
    assert_eq!(
        message("ATTRIBUTE A 1 tlv"),
        "test/root:1: unknown type `tlv`; use string, octets, integer, byte, short, integer64, \
         date, ipaddr, ipv6addr, ipv6prefix, ifid or ether"
    );
    assert_eq!(
        message("ATTRIBUTE A 1 string\nATTRIBUTE A 2 string"),
        "test/root:2: attribute `A` is already defined differently at test/root:1; \
         remove or rename one"
    );
    assert_eq!(
        message("VENDOR V 9\nBEGIN-VENDOR V"),
        "test/root:2: BEGIN-VENDOR V is never closed; add `END-VENDOR V` at the end of its block"
    );
}
