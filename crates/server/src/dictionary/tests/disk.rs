//! Administrators' files on disk: relative includes, built-in vendors, cycles, atomicity.

use std::path::Path;

use crate::dictionary::{Dictionary, DictionaryError, LineError};

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn extra_file_includes_its_own_files_and_uses_builtin_vendors() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "site/dictionary",
        "$INCLUDE local/cisco-extra\n",
    );
    write(
        dir.path(),
        "site/local/cisco-extra",
        "BEGIN-VENDOR Cisco\nATTRIBUTE Cisco-Site-Thing 200 string\nEND-VENDOR Cisco\n\
         VALUE Service-Type Site-Special 200\n",
    );
    let dictionary = Dictionary::load(&dir.path().join("site/dictionary")).unwrap();
    let thing = dictionary.attribute("Cisco-Site-Thing").unwrap();
    assert_eq!((thing.vendor(), thing.number()), (9, 200));
    assert!(
        dictionary.attribute("Cisco-AVPair").is_some(),
        "built-ins stay"
    );
    let service_type = dictionary.attribute("Service-Type").unwrap();
    assert_eq!(service_type.value_number("site-special"), Some(200));
}

#[test]
fn a_cycle_on_disk_names_the_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a", "$INCLUDE sub/b\n");
    write(dir.path(), "sub/b", "# b\n$INCLUDE ../a\n");
    let error = Dictionary::load(&dir.path().join("a")).unwrap_err();
    let DictionaryError::Line {
        at,
        problem: LineError::IncludeCycle(chain),
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!(at.line, 2);
    assert!(at.file.ends_with("sub/b"), "{at}");
    assert_eq!(chain.len(), 3, "{chain:?}");
    assert!(error.to_string().contains("includes"), "{error}");
}

#[test]
fn a_missing_file_is_named() {
    let error = Dictionary::load(Path::new("/nonexistent/radotp/dictionary")).unwrap_err();
    let DictionaryError::Read { file, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(file, "/nonexistent/radotp/dictionary");
    assert!(
        error
            .to_string()
            .starts_with("cannot read dictionary file /nonexistent/")
    );
}

#[test]
fn a_failed_extension_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "extra",
        "ATTRIBUTE Site-One 250 string\nATTRIBUTE Class 25 integer\n",
    );
    let mut dictionary = Dictionary::builtin();
    let error = dictionary
        .extend_from_file(&dir.path().join("extra"))
        .unwrap_err();
    assert!(
        error.to_string().contains("extra:2: attribute `Class` is already defined differently at <built-in>/dictionary.rfc2865:"),
        "{error}"
    );
    assert!(dictionary.attribute("Site-One").is_none());
}
