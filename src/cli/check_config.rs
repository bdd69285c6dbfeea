//! `radotp check-config`: load the file and build everything `serve` would build — store
//! (opened read-only, never created), password source, delivery (the webhook client and its CA
//! file), clients, pipeline — then print `configuration OK` or every problem. With a
//! `[directory]`, each server is connected to and bound with the service account, and reported;
//! with an `[upstream]`, each server is sent a Status-Server (RFC 5997) and reported — only a
//! warning when it does not answer, since some servers (NPS) never answer Status-Server.

use std::path::Path;

use super::{Failure, build_failure, load_config};
use radotp_server::directory::Directory;
use radotp_server::server;
use radotp_server::upstream::Upstream;

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
    if let Some(settings) = &config.upstream {
        let upstream = Upstream::new(settings.clone(), config.authorization.dictionary().clone());
        for (server, result) in upstream.probe() {
            match result {
                Ok(took) => println!(
                    "upstream {server}: OK (answers Status-Server in {} ms)",
                    took.as_millis()
                ),
                Err(why) => eprintln!(
                    "warning: upstream {server}: no valid answer to Status-Server ({why}); \
                     check the address and the secret (a server that ignores Status-Server, \
                     such as NPS, may still answer logins)"
                ),
            }
        }
    }
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    println!("configuration OK");
    Ok(())
}
