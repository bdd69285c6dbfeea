//! `[lockout]` → `store::LockoutPolicy` (whose bounds are the lock arithmetic's).

use serde::Deserialize;

use super::problems::Problems;
use crate::store::LockoutPolicy;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLockout {
    #[serde(default = "default_max_failures")]
    pub max_failures: u32,
    #[serde(default = "default_lock_base_secs")]
    pub base_secs: i64,
    #[serde(default = "default_lock_max_secs")]
    pub max_secs: i64,
    #[serde(default = "default_trusted_station_days")]
    pub trusted_station_days: u32,
}

impl Default for RawLockout {
    fn default() -> Self {
        Self {
            max_failures: default_max_failures(),
            base_secs: default_lock_base_secs(),
            max_secs: default_lock_max_secs(),
            trusted_station_days: default_trusted_station_days(),
        }
    }
}

fn default_max_failures() -> u32 {
    5
}

fn default_lock_base_secs() -> i64 {
    60
}

fn default_lock_max_secs() -> i64 {
    3600
}

fn default_trusted_station_days() -> u32 {
    90
}

pub(super) fn policy(raw: &RawLockout, problems: &mut Problems) -> LockoutPolicy {
    let policy = LockoutPolicy {
        max_failures: raw.max_failures,
        base_secs: raw.base_secs,
        max_secs: raw.max_secs,
        trusted_station_days: raw.trusted_station_days,
    };
    problems.extend("lockout", policy.check());
    policy
}
