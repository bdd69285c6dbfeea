//! What each benchmark request is, and building it.
//!
//! - `status`: Status-Server (RFC 5997), the server's cheapest answer: packet handling only.
//! - `reject`: an existing bench user, the right password and a wrong code: the full path with
//!   one argon2 verification, answered Access-Reject.
//! - `accept`: an existing bench user, the right password and the current code: the full path
//!   with one argon2 verification and the replay-guarding database update, answered
//!   Access-Accept.
//! - `mixed`: of every 20 requests, 1 Status-Server, 4 rejects and 15 accepts — a morning
//!   rush where most logins succeed, one in five is mistyped, and NASes keep probing.

use std::sync::{Arc, Mutex};

use super::BenchError;
use super::pool::{Pick, UserPool, UserState};
use super::users::BenchUsers;
use crate::client::{Request, RequestBuilder};
use radotp_server::auth::otp;
use radotp_server::protocol::code;
use radotp_server::secret::SecretBytes;
use radotp_server::store::Store;

/// The `--scenario` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    Status,
    Reject,
    Accept,
    Mixed,
}

impl Scenario {
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Status => "status",
            Scenario::Reject => "reject",
            Scenario::Accept => "accept",
            Scenario::Mixed => "mixed",
        }
    }

    /// The kind of the `n`th request.
    pub fn kind(self, n: u64) -> Kind {
        match self {
            Scenario::Status => Kind::Status,
            Scenario::Reject => Kind::Reject,
            Scenario::Accept => Kind::Accept,
            Scenario::Mixed => match n % 20 {
                0 => Kind::Status,
                1 | 6 | 11 | 16 => Kind::Reject,
                _ => Kind::Accept,
            },
        }
    }

    /// Whether the scenario logs in as bench users.
    pub fn needs_users(self) -> bool {
        self != Scenario::Status
    }
}

/// One request's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Status,
    Reject,
    Accept,
}

impl Kind {
    /// The answer a correct server gives.
    pub fn expected_code(self) -> u8 {
        match self {
            Kind::Status | Kind::Accept => code::ACCESS_ACCEPT,
            Kind::Reject => code::ACCESS_REJECT,
        }
    }
}

/// A request to send, or why none could be made.
#[derive(Debug)]
pub enum Made {
    Request(Request, Kind),
    NoUser(Pick),
}

/// Bench users and who logs in next.
struct Users {
    bench: BenchUsers,
    pool: Mutex<UserPool>,
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Factory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factory")
            .field("scenario", &self.scenario)
            .finish_non_exhaustive()
    }
}

/// Builds the requests of a scenario.
pub struct Factory {
    scenario: Scenario,
    shared_secret: SecretBytes,
    users: Option<Users>,
    /// Logins carry the password and a code; without, the password alone.
    codes: bool,
}

impl Factory {
    /// `store` is where the pool reads what each user's last login and failures were; it is
    /// needed with bench users only.
    pub fn new(
        scenario: Scenario,
        shared_secret: SecretBytes,
        users: Option<(BenchUsers, Arc<dyn Store>, u32)>,
    ) -> Self {
        let users = users.map(|(bench, store, max_failures)| Users {
            pool: Mutex::new(UserPool::new(bench.count(), max_failures)),
            bench,
            store,
        });
        Factory {
            scenario,
            shared_secret,
            users,
            codes: true,
        }
    }

    /// Logins carry the bench password alone, no code: to drive a server that checks only
    /// passwords (an upstream RADIUS server) with the same generator as radotp.
    pub fn without_codes(mut self) -> Self {
        self.codes = false;
        self
    }

    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    pub fn shared_secret(&self) -> &[u8] {
        self.shared_secret.expose()
    }

    /// Bench users available, if the scenario has them.
    pub fn user_count(&self) -> Option<u64> {
        self.users.as_ref().map(|u| u.bench.count())
    }

    /// TOTP step length of the bench users (30 s unless they were made otherwise).
    pub fn period(&self) -> u64 {
        self.users.as_ref().map_or(30, |u| u.bench.params().period)
    }

    /// The `n`th request, with `identifier`, at unix time `now`.
    pub fn make(&self, n: u64, identifier: u8, now: u64) -> Result<Made, BenchError> {
        let kind = self.scenario.kind(n);
        let builder = match kind {
            Kind::Status => RequestBuilder::status_server(),
            Kind::Accept | Kind::Reject => {
                let users = self
                    .users
                    .as_ref()
                    .expect("scenarios with logins are built with users");
                let pick = users.pick(kind, now)?;
                let Pick::User(index) = pick else {
                    return Ok(Made::NoUser(pick));
                };
                let code = match kind {
                    Kind::Accept => users.bench.code(index, now),
                    _ => wrong_code(&users.bench, index, now),
                };
                let mut typed = users.bench.password().expose().to_vec();
                if self.codes {
                    typed.extend_from_slice(code.as_bytes());
                }
                RequestBuilder::access_request()
                    .user_name(&users.bench.name(index))
                    .user_password(SecretBytes::new(typed))
            }
        };
        let request = builder
            .identifier(identifier)
            .nas_identifier(super::NAS_IDENTIFIER)
            .build(self.shared_secret.expose())?;
        Ok(Made::Request(request, kind))
    }
}

impl Users {
    fn pick(&self, kind: Kind, now: u64) -> Result<Pick, BenchError> {
        let mut load = |index: u64| {
            let record = self.store.find_user(&self.bench.name(index))?;
            Ok(UserState::from_record(record.as_ref()))
        };
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        let now_secs = i64::try_from(now).unwrap_or(i64::MAX);
        let pick = match kind {
            Kind::Accept => {
                let step = otp::step_at(now, self.bench.params().period);
                pool.pick_accept(step, now_secs, &mut load)?
            }
            _ => pool.pick_reject(now_secs, &mut load)?,
        };
        Ok(pick)
    }
}

/// A code of the right length that is none of the user's codes within two steps of `now`, so
/// no window or learned drift makes it valid.
pub fn wrong_code(users: &BenchUsers, index: u64, now: u64) -> String {
    let period = users.params().period;
    let digits = u32::from(users.params().digits);
    let valid: Vec<String> = (0..5)
        .map(|i| users.code(index, (now + i * period).saturating_sub(2 * period)))
        .collect();
    let modulus = 10u64.pow(digits);
    let start: u64 = valid[2].parse().unwrap_or(0);
    (1..)
        .map(|k: u64| {
            format!(
                "{:0width$}",
                (start + k * 7919) % modulus,
                width = digits as usize
            )
        })
        .find(|candidate| !valid.contains(candidate))
        .expect("five codes cannot cover every candidate")
}

#[cfg(test)]
#[path = "scenario_tests.rs"]
mod tests;
