//! Unit tests of the dictionary module: the parser from tables of lines, encoding against
//! byte vectors, hiding against vectors computed outside this code, describing replies.

mod builtin;
mod describe;
mod disk;
mod encode;
mod hiding;
mod parse;
mod parse_errors;

use std::path::Path;

use super::parse::load;
use super::source::Source;
use super::{AttributeValue, Dictionary, DictionaryError, EncodedAttribute};

/// Parse in-memory files (shown as `test/NAME`); the first is the one parsed.
fn parse_files(files: &[(&str, &str)]) -> Result<Dictionary, DictionaryError> {
    let mut dictionary = Dictionary::empty();
    extend_files(&mut dictionary, files)?;
    Ok(dictionary)
}

fn extend_files(
    dictionary: &mut Dictionary,
    files: &[(&str, &str)],
) -> Result<(), DictionaryError> {
    let source = Source::Memory {
        label: "test",
        files,
    };
    load(dictionary, &source, Path::new(files[0].0))
}

fn parse_text(text: &str) -> Result<Dictionary, DictionaryError> {
    parse_files(&[("root", text)])
}

/// A vendor of each layout and the types no built-in attribute uses.
const TEST_DICTIONARY: &str = "\
ATTRIBUTE Test-Byte 240 byte
ATTRIBUTE Test-Short 241 short
ATTRIBUTE Test-Integer64 242 integer64
ATTRIBUTE Test-Ether 243 ether
ATTRIBUTE Test-Secret 244 string encrypt=3
ATTRIBUTE Test-Hidden 245 string encrypt=1
VENDOR Wide 4846 format=2,2
VENDOR Long 429 format=4,0
VENDOR Short-Type 8000 format=1,0
BEGIN-VENDOR Wide
ATTRIBUTE Wide-Text 0x0102 string
ATTRIBUTE Wide-Key 7 octets encrypt=2
END-VENDOR Wide
BEGIN-VENDOR Long
ATTRIBUTE Long-Number 0x9800 integer
END-VENDOR Long
BEGIN-VENDOR Short-Type
ATTRIBUTE Short-Type-Text 5 string
END-VENDOR Short-Type
";

/// The built-in dictionary plus [`TEST_DICTIONARY`].
fn test_dictionary() -> Dictionary {
    let mut dictionary = Dictionary::builtin();
    extend_files(&mut dictionary, &[("extra", TEST_DICTIONARY)]).unwrap();
    dictionary
}

fn text(value: &str) -> AttributeValue {
    AttributeValue::from(value)
}

fn encode(dictionary: &Dictionary, name: &str, value: AttributeValue) -> EncodedAttribute {
    dictionary
        .encode(name, &value)
        .unwrap_or_else(|e| panic!("{name} = {value}: {e}"))
}

fn unhex(hex: &str) -> Vec<u8> {
    let hex: String = hex.split_whitespace().collect();
    super::value::parse_hex(&hex).expect("test vector is hex")
}

const SECRET: &[u8] = b"testing123";
const AUTHENTICATOR: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
