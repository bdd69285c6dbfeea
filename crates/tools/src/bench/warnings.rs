//! What would make a run measure something else than intended, said before it starts (from the
//! plan) and after it ends (from what happened):
//!
//! - too few bench users for the accept rate: each logs in at most once per TOTP step;
//! - more rejects than the users can take before `[lockout] max_failures` locks them (a locked
//!   account is refused without argon2, so rejects would look cheaper than they are);
//! - a server with `reject_delay_ms`: every reject is held back that long.

use super::generator::{Load, Plan};
use super::report::Tally;
use super::scenario::Scenario;
use radotp_server::config::Config;

/// Share of accepts and of rejects among a scenario's requests.
fn shares(scenario: Scenario) -> (f64, f64) {
    match scenario {
        Scenario::Status => (0.0, 0.0),
        Scenario::Accept => (1.0, 0.0),
        Scenario::Reject => (0.0, 1.0),
        Scenario::Mixed => (0.75, 0.2),
    }
}

/// Bench users as the warnings see them.
#[derive(Clone, Copy, Debug)]
pub struct UsersInfo {
    pub count: u64,
    /// TOTP step, seconds.
    pub period: u64,
    /// `[lockout] max_failures` of the configuration.
    pub max_failures: u32,
}

/// Before the run. `config` is the configuration the bench users come from; its server is
/// assumed to be the one loaded when `plan.server`'s port is one it listens on.
pub fn before(
    plan: &Plan,
    scenario: Scenario,
    users: Option<UsersInfo>,
    config: &Config,
) -> Vec<String> {
    let mut out = Vec::new();
    let (accept_share, reject_share) = shares(scenario);
    if let Some(users) = users {
        if let Load::Rate(rate) = plan.load
            && accept_share > 0.0
        {
            let needed = (rate * accept_share * users.period as f64).ceil() as u64;
            if needed > users.count {
                out.push(format!(
                    "{rate} req/s of the {} scenario needs {needed} bench users (each logs in \
                     once per {} s step), but {} exist: at most {:.1} accepts/s; add users with \
                     --setup-users {needed}",
                    scenario.as_str(),
                    users.period,
                    users.count,
                    users.count as f64 / users.period as f64
                ));
            }
        }
        let planned = match (plan.count, plan.load) {
            (Some(count), _) => Some(count as f64),
            (None, Load::Rate(rate)) => Some(rate * plan.duration.as_secs_f64()),
            (None, Load::Concurrency(_)) => None,
        };
        let room = users.count * u64::from(users.max_failures.saturating_sub(1));
        if let Some(planned) = planned
            && planned * reject_share > room as f64
        {
            out.push(format!(
                "up to {:.0} rejects are planned, but {} bench users take only {room} before \
                 [lockout] max_failures = {} locks them; the rest will not be sent. Add users, \
                 or raise max_failures on a test server",
                planned * reject_share,
                users.count,
                users.max_failures
            ));
        }
    }
    let delay = config.server.reject_delay;
    let same_server = config
        .server
        .listen
        .iter()
        .any(|l| plan.servers.iter().any(|s| s.port() == l.port()));
    if reject_share > 0.0 && !delay.is_zero() && same_server {
        out.push(format!(
            "the server holds each Access-Reject back for reject_delay_ms = {}: reject latency \
             includes it, and a closed loop does at most concurrency / delay rejects per second; \
             set reject_delay_ms = 0 on a test server to measure the work itself",
            delay.as_millis()
        ));
    }
    out
}

/// After the run.
pub fn after(tally: &Tally, users: Option<u64>, period: u64) -> Vec<String> {
    let mut out = Vec::new();
    let users = users.unwrap_or(0);
    if tally.no_user_this_step > 0 {
        out.push(format!(
            "{} times an accept was due but all {users} bench users had logged in at this step: \
             {users} users allow at most {:.1} accepts/s (one each per {period} s step); add \
             users with --setup-users",
            tally.no_user_this_step,
            users as f64 / period.max(1) as f64
        ));
    }
    if tally.no_user_below_lockout > 0 {
        out.push(format!(
            "{} rejects were not sent: every bench user was one failure away from [lockout] \
             max_failures. A login resets the count (run the accept scenario), or add users",
            tally.no_user_below_lockout
        ));
    }
    if tally.no_identifier > 0 {
        out.push(format!(
            "{} requests were due while every Identifier of every socket was in use: the server \
             is slower than the rate; more --sockets only queue more",
            tally.no_identifier
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;

    fn config(reject_delay_ms: u64) -> Config {
        let text = format!(
            "[server]\nlisten = [\"127.0.0.1:1812\"]\nreject_delay_ms = {reject_delay_ms}\n\
             [database]\npath = \"x.db\"\n\
             [[client]]\nname = \"l\"\naddress = \"127.0.0.1\"\nsecret = \"a-long-enough-secret\"\n"
        );
        Config::from_toml(&text, Path::new("/tmp")).unwrap()
    }

    fn plan(load: Load, count: Option<u64>) -> Plan {
        Plan {
            servers: vec!["127.0.0.1:1812".parse().unwrap()],
            load,
            duration: Duration::from_secs(10),
            count,
            timeout: Duration::from_secs(5),
            sockets: 1,
        }
    }

    const USERS: UsersInfo = UsersInfo {
        count: 100,
        period: 30,
        max_failures: 5,
    };

    #[test]
    fn before_a_run() {
        let quiet = config(0);
        // 3 accepts/s × 30 s needs 90 users: enough; 4/s needs 120: not.
        let ok = before(
            &plan(Load::Rate(3.0), None),
            Scenario::Accept,
            Some(USERS),
            &quiet,
        );
        assert!(ok.is_empty(), "{ok:?}");
        let few = before(
            &plan(Load::Rate(4.0), None),
            Scenario::Accept,
            Some(USERS),
            &quiet,
        );
        assert_eq!(few.len(), 1);
        assert!(few[0].contains("needs 120 bench users"), "{few:?}");
        // 100 users × 4 failures = 400 rejects.
        let fits = before(
            &plan(Load::Concurrency(8), Some(400)),
            Scenario::Reject,
            Some(USERS),
            &quiet,
        );
        assert!(fits.is_empty(), "{fits:?}");
        let locks = before(
            &plan(Load::Concurrency(8), Some(401)),
            Scenario::Reject,
            Some(USERS),
            &quiet,
        );
        assert!(locks[0].contains("max_failures = 5"), "{locks:?}");
        // The reject delay matters only when rejects are sent to the configured server.
        let delayed = config(1000);
        let status = before(
            &plan(Load::Concurrency(8), None),
            Scenario::Status,
            None,
            &delayed,
        );
        assert!(status.is_empty(), "{status:?}");
        let held = before(
            &plan(Load::Concurrency(8), Some(10)),
            Scenario::Mixed,
            Some(USERS),
            &delayed,
        );
        assert!(
            held.iter().any(|w| w.contains("reject_delay_ms = 1000")),
            "{held:?}"
        );
    }

    #[test]
    fn after_a_run() {
        let mut tally = Tally::default();
        assert!(after(&tally, Some(60), 30).is_empty());
        tally.no_user_this_step = 3;
        tally.no_user_below_lockout = 2;
        let said = after(&tally, Some(60), 30);
        assert!(said[0].contains("at most 2.0 accepts/s"), "{said:?}");
        assert!(said[1].contains("2 rejects were not sent"), "{said:?}");
    }
}
