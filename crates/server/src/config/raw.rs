//! The file's top level exactly as written; each section's keys and defaults are in that
//! section's module. Nothing here is trusted: `validate` turns it into a `Config`.

use serde::Deserialize;

use super::{
    accounting, clients, database, delivery, directory, eap, groups, lockout, otp, password,
    radsec, server, upstream, web,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub server: server::RawServer,
    pub database: Option<database::RawDatabase>,
    #[serde(default)]
    pub otp: otp::RawOtp,
    #[serde(default)]
    pub password: password::RawPassword,
    #[serde(default, rename = "client")]
    pub clients: Vec<clients::RawClient>,
    pub delivery: Option<delivery::RawDelivery>,
    #[serde(default)]
    pub lockout: lockout::RawLockout,
    #[serde(default, rename = "group")]
    pub groups: Vec<groups::RawGroup>,
    pub metrics: Option<server::RawMetrics>,
    pub directory: Option<directory::RawDirectory>,
    pub upstream: Option<upstream::RawUpstream>,
    pub radsec: Option<radsec::RawRadsec>,
    pub accounting: Option<accounting::RawAccounting>,
    pub web: Option<web::RawWeb>,
    pub eap: Option<eap::RawEap>,
}
