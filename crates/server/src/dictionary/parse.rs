//! The FreeRADIUS dictionary file format: one directive a line, `#` comments, `$INCLUDE`
//! relative to the including file (cycle-safe). Field syntax and the rules for adding a
//! definition (duplicates, aliases) are in `define`; reading files is `source`'s.

use std::path::Path;

use super::define::{check_name, parse_flags, parse_format, parse_number};
use super::error::{DictionaryError, LineError, Location};
use super::source::{Opened, Source};
use super::{Attribute, DataType, Dictionary, Vendor, VendorFormat};

/// Parse `path` and everything it includes into `dictionary`.
pub(super) fn load(
    dictionary: &mut Dictionary,
    source: &Source<'_>,
    path: &Path,
) -> Result<(), DictionaryError> {
    let opened = source.open(path).map_err(|reason| DictionaryError::Read {
        file: path.display().to_string(),
        reason,
    })?;
    let mut parser = Parser {
        dictionary,
        source,
        stack: Vec::new(),
    };
    parser.file(path, opened)
}

struct Parser<'d, 's> {
    dictionary: &'d mut Dictionary,
    source: &'d Source<'s>,
    /// The files being parsed, outermost first: (identity, shown).
    stack: Vec<(String, String)>,
}

/// An open `BEGIN-VENDOR` block.
struct Block {
    vendor: usize,
    at: Location,
}

fn line_error(at: &Location, problem: LineError) -> DictionaryError {
    DictionaryError::Line {
        at: at.clone(),
        problem,
    }
}

impl Parser<'_, '_> {
    fn file(&mut self, path: &Path, opened: Opened) -> Result<(), DictionaryError> {
        self.stack.push((opened.identity, opened.shown.clone()));
        let mut block: Option<Block> = None;
        for (index, raw) in opened.text.lines().enumerate() {
            let at = Location {
                file: opened.shown.clone(),
                line: index + 1,
            };
            let content = raw.split('#').next().unwrap_or_default();
            let fields: Vec<&str> = content.split_whitespace().collect();
            let Some((&directive, args)) = fields.split_first() else {
                continue;
            };
            let result = match directive.to_ascii_uppercase().as_str() {
                "$INCLUDE" => self.include(path, args, false)?,
                "$INCLUDE-" => self.include(path, args, true)?,
                "ATTRIBUTE" => self.attribute(args, block.as_ref(), &at),
                "VALUE" => self.value(args),
                "VENDOR" => self.vendor(args, &at),
                "BEGIN-VENDOR" => self.begin_vendor(args, &mut block, &at),
                "END-VENDOR" => self.end_vendor(args, &mut block),
                _ => Err(LineError::UnknownDirective(directive.to_string())),
            };
            result.map_err(|problem| line_error(&at, problem))?;
        }
        if let Some(open) = block {
            let name = self.dictionary.vendors[open.vendor].name.clone();
            return Err(line_error(&open.at, LineError::UnclosedVendor(name)));
        }
        self.stack.pop();
        Ok(())
    }

    /// `$INCLUDE file`: relative to the including file. `$INCLUDE-` skips a missing file.
    fn include(
        &mut self,
        from: &Path,
        args: &[&str],
        optional: bool,
    ) -> Result<Result<(), LineError>, DictionaryError> {
        let [target] = args else {
            return Ok(Err(LineError::Usage {
                directive: "$INCLUDE",
                usage: "$INCLUDE file",
            }));
        };
        let path = from.parent().unwrap_or(Path::new("")).join(target);
        let opened = match self.source.open(&path) {
            Ok(opened) => opened,
            Err(_) if optional => return Ok(Ok(())),
            Err(reason) => {
                return Ok(Err(LineError::Include {
                    path: target.to_string(),
                    reason,
                }));
            }
        };
        if let Some(start) = self.stack.iter().position(|(id, _)| *id == opened.identity) {
            let mut chain: Vec<String> = self.stack[start..]
                .iter()
                .map(|(_, shown)| shown.clone())
                .collect();
            chain.push(opened.shown);
            return Ok(Err(LineError::IncludeCycle(chain)));
        }
        self.file(&path, opened).map(Ok)
    }

    /// `ATTRIBUTE name number type [flags]`
    fn attribute(
        &mut self,
        args: &[&str],
        block: Option<&Block>,
        at: &Location,
    ) -> Result<(), LineError> {
        let (name, number, type_name, flags) = match args {
            [name, number, type_name] => (name, number, type_name, None),
            [name, number, type_name, flags] => (name, number, type_name, Some(*flags)),
            _ => {
                return Err(LineError::Usage {
                    directive: "ATTRIBUTE",
                    usage: "ATTRIBUTE name number type [has_tag,encrypt=N]",
                });
            }
        };
        check_name("attribute", name)?;
        let (vendor, vendor_format) = match block {
            Some(block) => {
                let vendor = &self.dictionary.vendors[block.vendor];
                (vendor.id, vendor.format)
            }
            None => (0, VendorFormat::default()),
        };
        let max = if vendor == 0 {
            0xff
        } else {
            vendor_format.max_type()
        };
        let number = parse_number("attribute number", number, 1, max)? as u32;
        let data_type =
            DataType::from_name(type_name).ok_or(LineError::UnknownType(type_name.to_string()))?;
        let (has_tag, encrypt) = parse_flags(flags, data_type)?;
        self.dictionary.insert_attribute(Attribute {
            name: name.to_string(),
            vendor,
            number,
            data_type,
            has_tag,
            encrypt,
            vendor_format,
            values: Vec::new(),
            defined_at: at.clone(),
        })
    }

    /// `VALUE attribute name number`
    fn value(&mut self, args: &[&str]) -> Result<(), LineError> {
        let [attribute, name, number] = args else {
            return Err(LineError::Usage {
                directive: "VALUE",
                usage: "VALUE attribute name number",
            });
        };
        let index = *self
            .dictionary
            .by_name
            .get(&attribute.to_ascii_lowercase())
            .ok_or(LineError::ValueForUnknownAttribute(attribute.to_string()))?;
        let definition = &mut self.dictionary.attributes[index];
        if !definition.data_type.is_integer() {
            return Err(LineError::ValueNotInteger {
                attribute: definition.name.clone(),
                data_type: definition.data_type,
            });
        }
        let max = super::value::integer_max(definition);
        let number = parse_number("value", number, 0, max)?;
        if let Some(previous) = definition.value_number(name) {
            if previous == number {
                return Ok(()); // the same line again, e.g. a file included twice
            }
            return Err(LineError::DuplicateValue {
                attribute: definition.name.clone(),
                value: name.to_string(),
                number: previous,
            });
        }
        definition.values.push((name.to_string(), number));
        Ok(())
    }

    /// `VENDOR name number [format=T,L]`
    fn vendor(&mut self, args: &[&str], at: &Location) -> Result<(), LineError> {
        let (name, number, format) = match args {
            [name, number] => (name, number, None),
            [name, number, format] => (name, number, Some(*format)),
            _ => {
                return Err(LineError::Usage {
                    directive: "VENDOR",
                    usage: "VENDOR name number [format=T,L]",
                });
            }
        };
        check_name("vendor", name)?;
        // RFC 2865 §5.26: the high-order octet of the Vendor-Id is 0.
        let id = parse_number("vendor number", number, 1, 0x00ff_ffff)? as u32;
        let format = match format {
            None => VendorFormat::default(),
            Some(text) => parse_format(text)?,
        };
        self.dictionary.insert_vendor(Vendor {
            name: name.to_string(),
            id,
            format,
            defined_at: at.clone(),
        })
    }

    fn begin_vendor(
        &mut self,
        args: &[&str],
        block: &mut Option<Block>,
        at: &Location,
    ) -> Result<(), LineError> {
        let [name] = args else {
            return Err(LineError::Usage {
                directive: "BEGIN-VENDOR",
                usage: "BEGIN-VENDOR name",
            });
        };
        if let Some(open) = block {
            let open = self.dictionary.vendors[open.vendor].name.clone();
            return Err(LineError::NestedVendor(open));
        }
        let vendor = *self
            .dictionary
            .vendor_by_name
            .get(&name.to_ascii_lowercase())
            .ok_or(LineError::UnknownVendor(name.to_string()))?;
        *block = Some(Block {
            vendor,
            at: at.clone(),
        });
        Ok(())
    }

    fn end_vendor(&mut self, args: &[&str], block: &mut Option<Block>) -> Result<(), LineError> {
        let [name] = args else {
            return Err(LineError::Usage {
                directive: "END-VENDOR",
                usage: "END-VENDOR name",
            });
        };
        let Some(open) = block else {
            return Err(LineError::EndVendorWithoutBegin(name.to_string()));
        };
        let open = &self.dictionary.vendors[open.vendor].name;
        if !open.eq_ignore_ascii_case(name) {
            return Err(LineError::EndVendorMismatch {
                open: open.clone(),
                end: name.to_string(),
            });
        }
        *block = None;
        Ok(())
    }
}
