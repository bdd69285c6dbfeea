//! The file's sections → one `Config`, with every problem named by its key. Each section is
//! parsed into the type of the module that uses it, and checked against that module's bounds.

use std::path::Path;
use std::sync::Arc;

use super::problems::Problems;
use super::raw::RawConfig;
use super::{
    Config, Problem, accounting, clients, database, delivery, directory, eap, groups, lockout, otp,
    password, radsec, server, upstream, web,
};

pub(super) fn validate(raw: RawConfig, base_dir: &Path) -> Result<Config, Vec<Problem>> {
    let mut problems = Problems::default();
    let mut warnings = Vec::new();
    let server = server::settings(&raw.server, raw.metrics.as_ref(), &mut problems);
    let database = database::database(raw.database.as_ref(), base_dir, &mut problems);
    let otp = otp::policy(&raw.otp, &mut problems);
    let password = password::cost(&raw.password, &mut problems, &mut warnings);
    let accounting = raw
        .accounting
        .as_ref()
        .map(|a| accounting::settings(a, &server.listen, &mut problems));
    let directory_configured = raw.directory.is_some();
    let radsec = raw
        .radsec
        .as_ref()
        .and_then(|r| radsec::settings(r, base_dir, &mut problems, &mut warnings));
    let web = raw
        .web
        .as_ref()
        .and_then(|w| web::settings(w, base_dir, &mut problems, &mut warnings));
    let eap = raw
        .eap
        .as_ref()
        .and_then(|e| eap::settings(e, base_dir, &mut problems, &mut warnings));
    if raw.server.listen.is_empty() && raw.radsec.is_none() {
        problems.add(
            "server.listen",
            "at least one address is required, e.g. [\"127.0.0.1:1812\"] (it may be empty \
             only when [radsec] serves the NASes)",
        );
    }
    let clients = clients::clients(
        &raw.clients,
        base_dir,
        directory_configured,
        raw.radsec.is_some(),
        raw.eap.is_some(),
        &mut problems,
        &mut warnings,
    );
    let lockout = lockout::policy(&raw.lockout, &mut problems);
    let authorization = groups::authorization(
        &raw.groups,
        raw.server.dictionary.as_deref(),
        base_dir,
        &mut problems,
    );
    for (i, client) in raw.clients.iter().enumerate() {
        for group in client.allowed_groups.iter().flatten() {
            if !authorization.has_group(group) {
                problems.add(
                    format!("client[{i}].allowed_groups"),
                    format!("group \"{group}\" is not declared; add [[group]] name = \"{group}\""),
                );
            }
        }
    }
    let directory = raw.directory.as_ref().and_then(|d| {
        let declared = |group: &str| authorization.has_group(group);
        directory::settings(d, base_dir, &declared, &mut problems, &mut warnings)
    });
    let upstream = raw
        .upstream
        .as_ref()
        .and_then(|u| upstream::settings(u, base_dir, &mut problems, &mut warnings));
    let password_source = password::source(
        &raw.password,
        directory_configured,
        raw.upstream.is_some(),
        &mut problems,
    );
    let delivery = raw
        .delivery
        .as_ref()
        .and_then(|d| delivery::settings(d, base_dir, &mut problems));
    match (database, otp) {
        (Some(database), Some(otp)) if problems.list.is_empty() => Ok(Config {
            server,
            database,
            otp,
            password,
            password_source,
            directory,
            upstream,
            clients,
            radsec,
            accounting,
            web,
            eap,
            delivery,
            lockout,
            authorization: Arc::new(authorization),
            warnings,
        }),
        _ => Err(problems.list),
    }
}
