//! Which bench user the next accept or reject goes to, so that the server sees what real users
//! do and its guards do not distort the measurement:
//!
//! - an accept needs a user who has not logged in at this TOTP step yet (each step's code works
//!   once, RFC 6238 §5.2), so N users give at most N accepts per step;
//! - a reject must not be the one that locks the user out (`[lockout] max_failures`): a locked
//!   account is refused without argon2, which would make rejects look cheaper than they are.
//!
//! Users are taken round robin. What the database already says about a user (last step used,
//! failures, lock) is looked up the first time the user is picked, through `load`.

use radotp_server::store::{StoreError, UserRecord};

/// What the pool knows about one user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserState {
    /// False for users that are missing or disabled: never picked.
    pub usable: bool,
    pub last_step: Option<u64>,
    pub failures: u32,
    pub locked_until: Option<i64>,
}

impl UserState {
    /// A user nobody has logged in as yet.
    pub const FRESH: UserState = UserState {
        usable: true,
        last_step: None,
        failures: 0,
        locked_until: None,
    };

    pub fn from_record(record: Option<&UserRecord>) -> Self {
        match record {
            // The bench's TOTP token is the user's last (after any decoy fobs).
            Some(user) if !user.disabled && user.has_active_token() => UserState {
                usable: true,
                last_step: user.tokens.last().and_then(|t| t.last_used),
                failures: user.failures,
                locked_until: user.locked_until,
            },
            _ => UserState {
                usable: false,
                ..UserState::FRESH
            },
        }
    }

    fn locked(&self, now: i64) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// The pool's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Use the user with this index.
    User(u64),
    /// Every user has logged in at this step already: wait for the next one (or add users).
    NextStep,
    /// Every user is one failure away from a lock (or locked): no more rejects in this run.
    LockoutLimit,
}

/// Round-robin choice over `0..users`.
#[derive(Debug)]
pub struct UserPool {
    states: Vec<Option<UserState>>,
    max_failures: u32,
    accept_cursor: usize,
    reject_cursor: usize,
    /// The step at which every user was found used; no new scan until the step changes.
    accepts_exhausted_at: Option<u64>,
    rejects_exhausted: bool,
}

impl UserPool {
    /// `max_failures`: the server's `[lockout] max_failures`.
    pub fn new(users: u64, max_failures: u32) -> Self {
        UserPool {
            states: vec![None; usize::try_from(users).unwrap_or(usize::MAX)],
            max_failures,
            accept_cursor: 0,
            reject_cursor: 0,
            accepts_exhausted_at: None,
            rejects_exhausted: false,
        }
    }

    /// A user who may log in at `step` (unix time `now`); marked as logged in.
    pub fn pick_accept(
        &mut self,
        step: u64,
        now: i64,
        load: &mut dyn FnMut(u64) -> Result<UserState, StoreError>,
    ) -> Result<Pick, StoreError> {
        if self.accepts_exhausted_at == Some(step) || self.states.is_empty() {
            return Ok(Pick::NextStep);
        }
        for _ in 0..self.states.len() {
            let index = self.accept_cursor;
            self.accept_cursor = (index + 1) % self.states.len();
            let state = self.state(index, load)?;
            if state.usable && !state.locked(now) && state.last_step.is_none_or(|s| s < step) {
                state.last_step = Some(step);
                // A login resets the server's failure count.
                state.failures = 0;
                return Ok(Pick::User(index as u64));
            }
        }
        self.accepts_exhausted_at = Some(step);
        Ok(Pick::NextStep)
    }

    /// A user who can take one more failure without being locked; the failure is counted.
    pub fn pick_reject(
        &mut self,
        now: i64,
        load: &mut dyn FnMut(u64) -> Result<UserState, StoreError>,
    ) -> Result<Pick, StoreError> {
        if self.rejects_exhausted || self.states.is_empty() {
            return Ok(Pick::LockoutLimit);
        }
        for _ in 0..self.states.len() {
            let index = self.reject_cursor;
            self.reject_cursor = (index + 1) % self.states.len();
            let max_failures = self.max_failures;
            let state = self.state(index, load)?;
            if state.usable && !state.locked(now) && state.failures + 1 < max_failures {
                state.failures += 1;
                return Ok(Pick::User(index as u64));
            }
        }
        self.rejects_exhausted = true;
        Ok(Pick::LockoutLimit)
    }

    fn state(
        &mut self,
        index: usize,
        load: &mut dyn FnMut(u64) -> Result<UserState, StoreError>,
    ) -> Result<&mut UserState, StoreError> {
        let slot = &mut self.states[index];
        if slot.is_none() {
            *slot = Some(load(index as u64)?);
        }
        Ok(slot.as_mut().expect("filled above"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(_: u64) -> Result<UserState, StoreError> {
        Ok(UserState::FRESH)
    }

    fn picks(
        pool: &mut UserPool,
        n: usize,
        mut pick: impl FnMut(&mut UserPool) -> Result<Pick, StoreError>,
    ) -> Vec<Pick> {
        (0..n).map(|_| pick(pool).unwrap()).collect()
    }

    #[test]
    fn accepts_use_each_user_once_per_step() {
        let mut pool = UserPool::new(3, 5);
        let got = picks(&mut pool, 4, |p| p.pick_accept(100, 0, &mut fresh));
        use Pick::*;
        assert_eq!(got, vec![User(0), User(1), User(2), NextStep]);
        let got = picks(&mut pool, 4, |p| p.pick_accept(101, 0, &mut fresh));
        assert_eq!(got, vec![User(0), User(1), User(2), NextStep]);
    }

    #[test]
    fn rejects_stop_one_failure_short_of_a_lock() {
        use Pick::*;
        let mut pool = UserPool::new(2, 3);
        let got = picks(&mut pool, 5, |p| p.pick_reject(0, &mut fresh));
        assert_eq!(got, vec![User(0), User(1), User(0), User(1), LockoutLimit]);
        // A login resets the count, as it does on the server.
        let mut pool = UserPool::new(1, 3);
        let mut got = picks(&mut pool, 2, |p| p.pick_reject(0, &mut fresh));
        got.push(pool.pick_accept(7, 0, &mut fresh).unwrap());
        got.extend(picks(&mut pool, 3, |p| p.pick_reject(0, &mut fresh)));
        assert_eq!(
            got,
            vec![User(0), User(0), User(0), User(0), User(0), LockoutLimit]
        );
    }

    #[test]
    fn what_the_database_says_is_respected() {
        use Pick::*;
        let states = [
            // 0: logged in at step 100 already.
            UserState {
                last_step: Some(100),
                ..UserState::FRESH
            },
            // 1: locked until t=50.
            UserState {
                locked_until: Some(50),
                ..UserState::FRESH
            },
            // 2: missing or disabled.
            UserState::from_record(None),
            // 3: four failures, max 5.
            UserState {
                failures: 4,
                ..UserState::FRESH
            },
            UserState::FRESH,
        ];
        let mut loads = 0;
        let mut load = |i: u64| {
            loads += 1;
            Ok(states[i as usize])
        };
        let mut pool = UserPool::new(5, 5);
        assert_eq!(pool.pick_accept(100, 10, &mut load).unwrap(), User(3));
        assert_eq!(pool.pick_accept(100, 10, &mut load).unwrap(), User(4));
        assert_eq!(pool.pick_accept(100, 10, &mut load).unwrap(), NextStep);
        // Later: the lock is over and step 101 begins; user 3's failures were reset by its login.
        assert_eq!(pool.pick_accept(101, 60, &mut load).unwrap(), User(0));
        assert_eq!(pool.pick_accept(101, 60, &mut load).unwrap(), User(1));
        assert_eq!(pool.pick_reject(60, &mut load).unwrap(), User(0));
        assert_eq!(pool.pick_reject(60, &mut load).unwrap(), User(1));
        assert_eq!(pool.pick_reject(60, &mut load).unwrap(), User(3));
        // Each user's state was read from the database once.
        assert_eq!(loads, 5);
    }

    #[test]
    fn an_empty_pool_picks_nobody() {
        let mut pool = UserPool::new(0, 5);
        assert_eq!(pool.pick_accept(1, 0, &mut fresh).unwrap(), Pick::NextStep);
        assert_eq!(pool.pick_reject(0, &mut fresh).unwrap(), Pick::LockoutLimit);
    }
}
