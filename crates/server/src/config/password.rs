//! `[password]` → `auth::password::PasswordCost` (whose bounds are the verifier's).

use serde::Deserialize;

use super::problems::Problems;
use crate::auth::password::PasswordCost;
use crate::store::PasswordSource;

/// argon2id cost for new hashes; the defaults are OWASP's recommendation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPassword {
    #[serde(default = "default_memory_kib")]
    pub memory_kib: u32,
    #[serde(default = "default_iterations")]
    pub iterations: u32,
    #[serde(default = "default_parallelism")]
    pub parallelism: u32,
    /// Where new users' passwords are checked: `"local"`, `"directory"` or `"upstream"`.
    pub source: Option<String>,
}

impl Default for RawPassword {
    fn default() -> Self {
        Self {
            memory_kib: default_memory_kib(),
            iterations: default_iterations(),
            parallelism: default_parallelism(),
            source: None,
        }
    }
}

fn default_memory_kib() -> u32 {
    PasswordCost::RECOMMENDED.memory_kib
}

fn default_iterations() -> u32 {
    PasswordCost::RECOMMENDED.iterations
}

fn default_parallelism() -> u32 {
    PasswordCost::RECOMMENDED.parallelism
}

pub(super) fn cost(
    raw: &RawPassword,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> PasswordCost {
    let cost = PasswordCost {
        memory_kib: raw.memory_kib,
        iterations: raw.iterations,
        parallelism: raw.parallelism,
    };
    problems.extend("password", cost.check());
    if cost.is_weak() {
        let recommended = PasswordCost::RECOMMENDED;
        warnings.push(format!(
            "password: memory_kib = {}, iterations = {} is below the recommended {} KiB and {} \
             iterations; new password hashes will be easier to crack",
            raw.memory_kib, raw.iterations, recommended.memory_kib, recommended.iterations
        ));
    }
    cost
}

/// `[password] source`: where new users' passwords are checked. `directory` and `upstream`
/// say whether `[directory]` and `[upstream]` are configured.
pub(super) fn source(
    raw: &RawPassword,
    directory: bool,
    upstream: bool,
    problems: &mut Problems,
) -> PasswordSource {
    let Some(text) = raw.source.as_deref() else {
        return PasswordSource::Local;
    };
    match PasswordSource::parse(text) {
        Some(PasswordSource::Directory) if !directory => {
            problems.add(
                "password.source",
                "is \"directory\" but there is no [directory] section; add one, or use \"local\"",
            );
            PasswordSource::Local
        }
        Some(PasswordSource::Upstream) if !upstream => {
            problems.add(
                "password.source",
                "is \"upstream\" but there is no [upstream] section; add one, or use \"local\"",
            );
            PasswordSource::Local
        }
        Some(source) => source,
        None => {
            problems.add(
                "password.source",
                format!("\"{text}\" is not a source; use \"local\", \"directory\" or \"upstream\""),
            );
            PasswordSource::Local
        }
    }
}
