//! `radotp check-config`: load the file and build everything `serve` would build — store
//! (opened read-only, never created), password source, delivery (the webhook client and its CA
//! file), clients, pipeline — then print `configuration OK` or every problem.

use std::path::Path;

use super::{Failure, build_failure, load_config};
use radotp_server::server;

pub(super) fn run(path: &Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    server::check(&config).map_err(|e| build_failure(path, e))?;
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    println!("configuration OK");
    Ok(())
}
