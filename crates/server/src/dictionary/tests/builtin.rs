//! The built-in dictionary: it parses, holds every vendor the issue lists, and embeds exactly
//! the files of `dictionary/`.

use std::path::Path;

use super::super::{builtin, parse};
use crate::dictionary::{DataType, Dictionary, Encrypt};

#[test]
fn parses_without_error() {
    let mut dictionary = Dictionary::empty();
    parse::load(
        &mut dictionary,
        &builtin::source(),
        Path::new(builtin::ROOT),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(dictionary.attributes().count() > 250);
}

#[test]
fn has_each_vendor_and_its_common_reply_attributes() {
    let dictionary = Dictionary::builtin();
    for (vendor, id, attributes) in [
        (
            "Cisco",
            9,
            &["Cisco-AVPair", "Cisco-NAS-Port", "h323-conf-id"][..],
        ),
        (
            "Microsoft",
            311,
            &[
                "MS-MPPE-Send-Key",
                "MS-MPPE-Recv-Key",
                "MS-Primary-DNS-Server",
            ],
        ),
        (
            "Juniper",
            2636,
            &["Juniper-Local-User-Name", "Juniper-Allow-Commands"],
        ),
        (
            "Fortinet",
            12356,
            &["Fortinet-Group-Name", "Fortinet-Access-Profile"],
        ),
        (
            "PaloAlto",
            25461,
            &["PaloAlto-Admin-Role", "PaloAlto-User-Group"],
        ),
        ("Aruba", 14823, &["Aruba-User-Role", "Aruba-User-Vlan"]),
        (
            "Mikrotik",
            14988,
            &["Mikrotik-Group", "Mikrotik-Rate-Limit"],
        ),
        (
            "WISPr",
            14122,
            &["WISPr-Bandwidth-Max-Down", "WISPr-Redirection-URL"],
        ),
        (
            "Ubiquiti",
            41112,
            &["UBNT-Data-Rate-DL", "UBNT-Data-Rate-UL"],
        ),
    ] {
        assert_eq!(
            dictionary.vendor(vendor).map(|v| v.id()),
            Some(id),
            "{vendor}"
        );
        for name in attributes {
            let attribute = dictionary
                .attribute(name)
                .unwrap_or_else(|| panic!("{name}"));
            assert_eq!(attribute.vendor(), id, "{name}");
        }
    }
}

#[test]
fn has_the_rfc_attributes() {
    let dictionary = Dictionary::builtin();
    for (name, number, data_type) in [
        ("User-Name", 1, DataType::String),
        ("Class", 25, DataType::Octets),
        ("Acct-Status-Type", 40, DataType::Integer),
        ("Event-Timestamp", 55, DataType::Date),
        ("Tunnel-Type", 64, DataType::Integer),
        ("Acct-Interim-Interval", 85, DataType::Integer),
        ("Framed-Interface-Id", 96, DataType::Ifid),
        ("Framed-IPv6-Prefix", 97, DataType::Ipv6Prefix),
        ("Message-Authenticator", 80, DataType::Octets),
        ("Error-Cause", 101, DataType::Integer),
        ("Delegated-IPv6-Prefix", 123, DataType::Ipv6Prefix),
        ("Framed-IPv6-Address", 168, DataType::Ipv6Addr),
    ] {
        let attribute = dictionary
            .attribute(name)
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(
            (attribute.number(), attribute.data_type()),
            (number, data_type),
            "{name}"
        );
    }
    let tunnel_password = dictionary.attribute("Tunnel-Password").unwrap();
    assert!(tunnel_password.has_tag());
    assert_eq!(tunnel_password.encrypt(), Some(Encrypt::TunnelPassword));
    let service_type = dictionary.attribute("Service-Type").unwrap();
    assert_eq!(service_type.value_number("Authorize-Only"), Some(17));
}

/// A copy-paste slip (two names, one number) would make one of them unprintable.
#[test]
fn no_number_is_defined_twice() {
    let dictionary = Dictionary::builtin();
    for attribute in dictionary.attributes() {
        let first = dictionary.attribute_by_number(attribute.vendor(), attribute.number());
        assert_eq!(first.map(|a| a.name()), Some(attribute.name()));
    }
}

#[test]
fn embeds_and_includes_every_file_of_the_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dictionary");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = builtin::FILES.iter().map(|(n, _)| n.to_string()).collect();
    embedded.sort();
    assert_eq!(
        embedded, on_disk,
        "list every file of dictionary/ in builtin.rs"
    );
    let (_, root) = builtin::FILES
        .iter()
        .find(|(n, _)| *n == builtin::ROOT)
        .unwrap();
    for name in on_disk.iter().filter(|n| *n != builtin::ROOT) {
        assert!(
            root.contains(&format!("$INCLUDE {name}\n")),
            "the root includes {name}"
        );
    }
}
