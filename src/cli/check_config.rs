//! `radotp check-config`: validate the file, print `configuration OK` or every problem.

use std::path::Path;

use super::Failure;
use crate::config::Config;

pub(super) fn run(path: &Path) -> Result<(), Failure> {
    let config = Config::load(path)?;
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    println!("configuration OK");
    Ok(())
}
