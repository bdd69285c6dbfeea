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

use decision::{Against, Factor, Found, RejectReason, Tails, Verdict};
use password::DummyHash;

use crate::authz::Authorization;
use crate::dictionary::EncodedAttribute;
use crate::secret::{SecretBytes, random_bytes};
use crate::store::{
    Delivery, IssueOutcome, LockoutPolicy, SendLimits, Store, StoreError, UserRecord,
};

/// May `user` log in through a NAS restricted to `allowed` groups?
fn member(user: &UserRecord, allowed: Option<&[String]>) -> bool {
    allowed.is_none_or(|allowed| user.groups.iter().any(|g| allowed.contains(g)))
}

/// The lock in force at `now`, if any.
fn locked_until(user: &UserRecord, now: i64) -> Option<i64> {
    user.locked_until.filter(|&until| until > now)
}

/// `2026-11-25T17:30:00Z` for log reasons.
fn unix_time(t: i64) -> String {
    crate::timefmt::rfc3339(t)
}

/// How a NAS asks for the second factor (per client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `password + code` in one field; a password alone is refused (and a code is sent).
    Append,
    /// A password alone is answered with Access-Challenge; the next request carries the code.
    Challenge,
}

/// Seconds a challenge's State stays answerable.
pub const CHALLENGE_TTL_SECS: i64 = 120;
/// Octets of random State (RFC 2865 §5.24 leaves the size to us; 16 is the floor we promise).
pub const STATE_LEN: usize = 32;

/// Fixed inputs of every decision.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// TOTP steps accepted either side of the (drift-corrected) current one.
    pub window: u8,
    /// Codes are sent out of band only when delivery is configured.
    pub send_limits: Option<SendLimits>,
    pub lockout: LockoutPolicy,
}

/// One Access-Request, as far as authentication is concerned.
#[derive(Debug)]
pub struct AuthRequest<'a> {
    pub user_name: &'a str,
    /// The decrypted User-Password.
    pub input: &'a SecretBytes,
    /// The NAS's name: challenges are bound to it.
    pub client: &'a str,
    pub mode: Mode,
    /// The State attribute, when the request answers a challenge.
    pub state: Option<&'a [u8]>,
    /// Only members of these groups may log in through this NAS.
    pub allowed_groups: Option<&'a [String]>,
    pub now: u64,
}

/// What to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Accept,
    Reject,
    Challenge { state: Vec<u8> },
}

/// A code to send out of band, after the reply has gone.
#[derive(Debug)]
pub struct CodeToSend {
    pub user: String,
    pub delivery: Delivery,
    pub code: SecretBytes,
    pub expires_in: i64,
}

/// What happened to one Access-Request.
#[derive(Debug)]
pub struct Decision {
    pub outcome: Outcome,
    /// For the log: which factor was accepted, or why the request was refused.
    pub reason: String,
    /// Time spent in the argon2 verification (none when answering a challenge).
    pub verify_time: Option<Duration>,
    pub send: Option<CodeToSend>,
    /// Reply attributes of an Accept (groups', then the user's own).
    pub attributes: Vec<EncodedAttribute>,
    /// The reason without details, for metrics labels (a small fixed set).
    pub label: &'static str,
}

impl Decision {
    /// A request that cannot be checked at all (CHAP, EAP, no User-Password).
    pub fn unsupported(why: &'static str) -> Self {
        Self::reject(RejectReason::Unsupported(why))
    }

    fn reject(reason: RejectReason) -> Self {
        Self::rejected(reason.as_str(), reason.as_str().to_owned())
    }

    fn rejected(label: &'static str, reason: String) -> Self {
        Self {
            outcome: Outcome::Reject,
            reason,
            verify_time: None,
            send: None,
            attributes: Vec::new(),
            label,
        }
    }
}

/// Runs the decision core against the store. Blocking: call it from a worker thread.
pub struct Authenticator {
    store: Arc<dyn Store>,
    policy: Policy,
    authorization: Arc<Authorization>,
    dummy: DummyHash,
    verifications: AtomicU64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(
        store: Arc<dyn Store>,
        policy: Policy,
        authorization: Arc<Authorization>,
        dummy: DummyHash,
    ) -> Self {
        Self {
            store,
            policy,
            authorization,
            dummy,
            verifications: AtomicU64::new(0),
        }
    }

    /// The store, for callers that report on it (metrics).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// argon2 verifications run so far (each request with a password costs exactly one).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Decide one request. A store error is returned as such: the caller drops the request
    /// rather than guess.
    pub fn authenticate(&self, request: &AuthRequest<'_>) -> Result<Decision, StoreError> {
        match request.state {
            Some(state) => self.answer_challenge(request, state),
            None => self.password_and_code(request),
        }
    }

    /// Store lookups for the candidate tails (no argon2; an indexed read each).
    fn found(&self, user: &UserRecord, tails: &Tails, now: i64) -> Result<Found, StoreError> {
        let sent = match (&tails.numeric, self.policy.send_limits) {
            (Some((_, code)), Some(_)) => {
                self.store
                    .sent_code_exists(&user.name, &SecretBytes::from(code.as_bytes()), now)?
            }
            _ => false,
        };
        let recovery = match &tails.recovery {
            Some((_, code)) if user.recovery_codes_left > 0 => {
                self.store.recovery_code_exists(&user.name, code)?
            }
            _ => false,
        };
        Ok(Found { sent, recovery })
    }

    /// Steps 8–9: lookup, plan, one argon2 verification, then the atomic commit.
    fn password_and_code(&self, request: &AuthRequest<'_>) -> Result<Decision, StoreError> {
        let now = i64::try_from(request.now).unwrap_or(i64::MAX);
        let input = request.input.expose();
        let user = self.store.find_user(request.user_name)?;
        if let Some(locked) = user.as_ref().and_then(|u| locked_until(u, now)) {
            // A locked account costs no argon2: guessing against it is free to refuse.
            return Ok(Decision::rejected(
                "locked",
                format!("locked until {}", unix_time(locked)),
            ));
        }
        let (tails, found) = match &user {
            Some(u) => {
                let tails = Tails::of(u, input, false);
                let found = self.found(u, &tails, now)?;
                (tails, found)
            }
            None => (Tails::default(), Found::default()),
        };
        let plan = decision::plan(
            user.as_ref(),
            input,
            &tails,
            found,
            self.policy.window,
            request.now,
        );

        let started = Instant::now();
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let password = &input[..plan.password_len];
        let verified = match (plan.against, &user) {
            (Against::User, Some(user)) => password::verify(password, &user.password_hash).ok(),
            _ => {
                self.dummy.verify(password);
                Some(false)
            }
        };
        let verify_time = started.elapsed();

        let mut verdict = decision::verdict(user.as_ref(), &plan, verified, request.now);
        if let Some(user) = &user
            && matches!(
                verdict,
                Verdict::Accept(_) | Verdict::Reject(RejectReason::CodeMissing)
            )
            && !member(user, request.allowed_groups)
        {
            verdict = Verdict::Reject(RejectReason::NotInAllowedGroups);
        }
        let mut decision = match (verdict, &user) {
            (Verdict::Accept(factor), Some(user)) => self.commit(user, factor, &tails, now)?,
            (Verdict::Reject(RejectReason::CodeMissing), Some(user)) => {
                self.password_only(request, user, now)?
            }
            (Verdict::Reject(reason), Some(user)) => {
                if reason == RejectReason::WrongPasswordOrCode && tails.numeric.is_some() {
                    // A wrong code counts against any code we sent: they die after a few.
                    self.store.count_code_attempt(&user.name, now)?;
                }
                self.failed(user, reason, now)?
            }
            (verdict, None) => Decision::reject(match verdict {
                Verdict::Reject(reason) => reason,
                Verdict::Accept(_) => RejectReason::UnknownUser,
            }),
        };
        decision.verify_time = Some(verify_time);
        Ok(decision)
    }

    /// The answer to an Access-Challenge: State identifies the user; the input is the code.
    fn answer_challenge(
        &self,
        request: &AuthRequest<'_>,
        state: &[u8],
    ) -> Result<Decision, StoreError> {
        let now = i64::try_from(request.now).unwrap_or(i64::MAX);
        let Some(owner) = self.store.take_challenge(state, request.client, now)? else {
            return Ok(Decision::rejected(
                "unknown State",
                "unknown, used or expired State".into(),
            ));
        };
        if owner != request.user_name {
            return Ok(Decision::rejected(
                "unknown State",
                "State belongs to another user".into(),
            ));
        }
        let Some(user) = self.store.find_user(&owner)? else {
            return Ok(Decision::reject(RejectReason::UnknownUser));
        };
        if let Some(locked) = locked_until(&user, now) {
            return Ok(Decision::rejected(
                "locked",
                format!("locked until {}", unix_time(locked)),
            ));
        }
        let input = request.input.expose();
        let tails = Tails::of(&user, input, true);
        let found = self.found(&user, &tails, now)?;
        match decision::respond(&user, &tails, found, self.policy.window, request.now) {
            Verdict::Accept(_) if !member(&user, request.allowed_groups) => {
                Ok(Decision::reject(RejectReason::NotInAllowedGroups))
            }
            Verdict::Accept(factor) => self.commit(&user, factor, &tails, now),
            Verdict::Reject(reason) => {
                if reason == RejectReason::WrongCode && tails.numeric.is_some() {
                    self.store.count_code_attempt(&user.name, now)?;
                }
                self.failed(&user, reason, now)
            }
        }
    }

    /// A refused login: guesses count towards a lock; a right password without a code, a
    /// disabled account or an expired password do not.
    fn failed(
        &self,
        user: &UserRecord,
        reason: RejectReason,
        now: i64,
    ) -> Result<Decision, StoreError> {
        use RejectReason::*;
        if !matches!(
            reason,
            WrongPassword | WrongPasswordOrCode | CodeAlreadyUsed | WrongCode
        ) {
            return Ok(Decision::reject(reason));
        }
        Ok(
            match self
                .store
                .record_failure(&user.name, now, self.policy.lockout)?
            {
                Some(until) => Decision::rejected(
                    reason.as_str(),
                    format!("{}; locked until {}", reason.as_str(), unix_time(until)),
                ),
                None => Decision::reject(reason),
            },
        )
    }

    /// Consume the accepted factor in one atomic statement; losing the race is a replay.
    fn commit(
        &self,
        user: &UserRecord,
        factor: Factor,
        tails: &Tails,
        now: i64,
    ) -> Result<Decision, StoreError> {
        let name = &user.name;
        // Fail closed: an Accept without the policy the administrator wrote would grant more.
        let attributes = match self.authorization.reply_for(&user.groups, &user.reply) {
            Ok(attributes) => attributes,
            Err(e) => {
                return Ok(Decision::rejected(
                    "invalid reply attributes",
                    format!("invalid reply attributes: {e}"),
                ));
            }
        };
        let accepted = |label: &'static str, reason: String| Decision {
            outcome: Outcome::Accept,
            reason,
            verify_time: None,
            send: None,
            attributes: attributes.clone(),
            label,
        };
        match factor {
            Factor::Totp { step, drift } => {
                if self.store.consume_totp_step(name, step, drift, now)? {
                    let note = if drift == 0 {
                        String::new()
                    } else {
                        format!(" (clock drift {drift:+} steps)")
                    };
                    return Ok(accepted("TOTP code", format!("TOTP code{note}")));
                }
            }
            Factor::Sent => {
                let code = tails
                    .numeric
                    .as_ref()
                    .map(|(_, c)| SecretBytes::from(c.as_bytes()));
                if let Some(code) = code
                    && self.store.consume_sent_code(name, &code, now)?
                {
                    return Ok(accepted("sent code", "code sent out of band".into()));
                }
            }
            Factor::Recovery => {
                if let Some((_, code)) = &tails.recovery
                    && let Some(left) = self.store.consume_recovery_code(name, code, now)?
                {
                    return Ok(accepted(
                        "recovery code",
                        format!("recovery code ({left} left)"),
                    ));
                }
            }
            Factor::UsedTotp { .. } | Factor::None => {}
        }
        self.failed(user, RejectReason::CodeAlreadyUsed, now)
    }

    /// Right password, no code: challenge (challenge mode), or send a code (append mode, when
    /// the user has an address). Never an accept.
    fn password_only(
        &self,
        request: &AuthRequest<'_>,
        user: &UserRecord,
        now: i64,
    ) -> Result<Decision, StoreError> {
        let (send, note) = self.maybe_send(user, now)?;
        if request.mode == Mode::Challenge {
            let state = random_bytes::<STATE_LEN>().to_vec();
            self.store.create_challenge(
                &state,
                &user.name,
                request.client,
                now + CHALLENGE_TTL_SECS,
                now,
            )?;
            return Ok(Decision {
                outcome: Outcome::Challenge { state },
                reason: format!("password right, code requested{note}"),
                verify_time: None,
                send,
                attributes: Vec::new(),
                label: "challenge",
            });
        }
        Ok(Decision {
            outcome: Outcome::Reject,
            reason: format!("{}{note}", RejectReason::CodeMissing.as_str()),
            verify_time: None,
            send,
            attributes: Vec::new(),
            label: RejectReason::CodeMissing.as_str(),
        })
    }

    /// Issue a code for out-of-band delivery if the user has an address and the limits allow.
    fn maybe_send(
        &self,
        user: &UserRecord,
        now: i64,
    ) -> Result<(Option<CodeToSend>, String), StoreError> {
        let (Some(delivery), Some(limits)) = (&user.delivery, self.policy.send_limits) else {
            return Ok((None, String::new()));
        };
        let digits = user.totp.as_ref().map_or(6, |s| s.params.digits);
        let code = codes::generate_numeric_code(digits);
        Ok(
            match self.store.issue_code(&user.name, &code, now, limits)? {
                IssueOutcome::Issued => (
                    Some(CodeToSend {
                        user: user.name.clone(),
                        delivery: delivery.clone(),
                        code,
                        expires_in: limits.ttl,
                    }),
                    format!("; code sent by {}", delivery.channel.as_str()),
                ),
                IssueOutcome::Cooldown => (None, "; no code sent: one was sent moments ago".into()),
                IssueOutcome::HourlyLimit => (None, "; no code sent: hourly limit reached".into()),
            },
        )
    }
}

#[cfg(test)]
#[path = "authenticator_tests.rs"]
mod tests;
