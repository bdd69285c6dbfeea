//! `radotp check-config`: load the file and build everything `serve` would build — store
//! (opened read-only, never created), password source, delivery (the webhook client and its CA
//! file), clients, pipeline — then print `configuration OK` or every problem. With a
//! `[directory]`, each server is connected to and bound with the service account, and reported.

use std::path::Path;

use super::{Failure, build_failure, load_config};
use radotp_server::directory::Directory;
use radotp_server::server;

pub(super) fn run(path: &Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    server::check(&config).map_err(|e| build_failure(path, e))?;
    if let Some(settings) = &config.directory {
        let directory = Directory::new(settings.clone())
            .map_err(|e| Failure::Runtime(format!("directory: {e}")))?;
        let reports = directory.probe();
        for (url, result) in &reports {
            match result {
                Ok(()) => println!("directory {url}: OK (service account bound, base_dn found)"),
                Err(why) => eprintln!("warning: directory {url}: {why}"),
            }
        }
        if reports.iter().all(|(_, r)| r.is_err()) {
            return Err(Failure::Runtime(
                "no directory server answers: directory users could not log in".into(),
            ));
        }
    }
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    println!("configuration OK");
    Ok(())
}
