//! Authentication: the pure decision core (`decision`, `split`, `otp`), password hashing
//! (`password`), and `Authenticator`, which runs one request through them against the store.

pub mod codes;
pub mod decision;
pub mod otp;
pub mod password;
pub mod split;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use decision::{Against, RejectReason, Verdict};
use password::DummyHash;

use crate::secret::SecretBytes;
use crate::store::{Store, StoreError};

/// What happened to one Access-Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    /// Time spent in the one argon2 verification.
    pub verify_time: Duration,
}

/// Runs the decision core against the store. Blocking: call it from a worker thread.
pub struct Authenticator {
    store: Arc<dyn Store>,
    window: u8,
    dummy: DummyHash,
    verifications: AtomicU64,
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>, window: u8, dummy: DummyHash) -> Self {
        Self {
            store,
            window,
            dummy,
            verifications: AtomicU64::new(0),
        }
    }

    /// argon2 verifications run so far (each request costs exactly one).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Decide one request: lookup, plan, one argon2 verification, then the atomic commit.
    /// A store error is returned as such: the caller drops the request rather than guess.
    pub fn authenticate(
        &self,
        user_name: &str,
        input: &SecretBytes,
        now_unix: u64,
    ) -> Result<Decision, StoreError> {
        let user = self.store.find_user(user_name)?;
        let plan = decision::plan(user.as_ref(), input.expose(), self.window, now_unix);
        let password = &input.expose()[..plan.password_len];

        let started = Instant::now();
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let verified = match (plan.against, &user) {
            (Against::User, Some(user)) => password::verify(password, &user.password_hash).ok(),
            _ => {
                self.dummy.verify(password);
                Some(false)
            }
        };
        let verify_time = started.elapsed();

        let mut verdict = decision::verdict(user.as_ref(), &plan, verified, now_unix);
        if let (Verdict::Accept { step }, Some(user)) = (verdict, &user) {
            let now = i64::try_from(now_unix).unwrap_or(i64::MAX);
            // Losing this race means another request used the step first: a replay.
            if !self.store.consume_totp_step(&user.name, step, now)? {
                verdict = Verdict::Reject(RejectReason::CodeAlreadyUsed);
            }
        }
        Ok(Decision {
            verdict,
            verify_time,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::otp::{Algorithm, TotpParams, code_at};
    use crate::store::{NewUser, SqliteStore, TotpSeed};

    const NOW: u64 = 1_700_000_015;

    fn setup() -> (tempfile::TempDir, Authenticator, TotpSeed) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(
                &dir.path().join("t.db"),
                crate::store::Keys::from_master(b"k"),
            )
            .unwrap(),
        );
        let seed = TotpSeed {
            secret: otp::generate_secret(),
            params: TotpParams {
                algorithm: Algorithm::Sha1,
                digits: 6,
                period: 30,
            },
        };
        let hash = password::hash(password::TEST_COST, b"hunter2").unwrap();
        store
            .add_users(&[NewUser {
                name: "alice",
                password_hash: &hash,
                totp: &seed,
                now: 0,
            }])
            .unwrap();
        let dummy = DummyHash::new(password::TEST_COST).unwrap();
        (dir, Authenticator::new(store, 1, dummy), seed)
    }

    fn attempt(auth: &Authenticator, user: &str, input: String) -> Verdict {
        let before = auth.verifications();
        let decision = auth
            .authenticate(user, &SecretBytes::new(input.into_bytes()), NOW)
            .unwrap();
        assert_eq!(
            auth.verifications(),
            before + 1,
            "exactly one argon2 verification"
        );
        decision.verdict
    }

    #[test]
    fn every_class_costs_one_verification_and_replays_fail() {
        let (_dir, auth, seed) = setup();
        let code = code_at(&seed.secret, seed.params, NOW);
        let step = otp::step_at(NOW, 30);
        use RejectReason::*;
        assert_eq!(
            attempt(&auth, "alice", format!("hunter2{code}")),
            Verdict::Accept { step }
        );
        assert_eq!(
            attempt(&auth, "alice", format!("hunter2{code}")),
            Verdict::Reject(CodeAlreadyUsed)
        );
        assert_eq!(
            attempt(&auth, "alice", format!("wrong{code}")),
            Verdict::Reject(WrongPassword)
        );
        assert_eq!(
            attempt(&auth, "alice", "hunter2".into()),
            Verdict::Reject(CodeMissing)
        );
        assert_eq!(
            attempt(&auth, "mallory", format!("hunter2{code}")),
            Verdict::Reject(UnknownUser)
        );
        let next = code_at(&seed.secret, seed.params, NOW + 30);
        assert_eq!(
            attempt(&auth, "alice", format!("hunter2{next}")),
            Verdict::Accept { step: step + 1 }
        );
    }
}
