//! The shell around the decision core: it reads what the core needs from the store, runs the
//! one password check the plan asks for, and applies the verdict's effects in order. It decides
//! nothing itself. Blocking: call it from a worker thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::check::{Answer, Checked, PasswordCheck, SourceError, Subject};
use super::codes;
use super::decision::{
    self, Check, Consume, Effect, Inputs, Outcome, Plan, Policy, Request, Seen, Verdict,
};
use super::reason::{Reason, Unsupported};
use super::tails::Tails;
use super::{CHALLENGE_TTL_SECS, CodeToSend, STATE_LEN};
use crate::dictionary::EncodedAttribute;
use crate::secret::random_bytes;
use crate::store::{Channel, Gate, IssueOutcome, RecoveryCodeState, Store, StoreError, UserRecord};

/// Why a request could not be decided: it is dropped, never guessed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// What became of a code to send out of band.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryNote {
    Sent(Channel),
    /// Another code was sent less than the cooldown ago.
    Cooldown,
    HourlyLimit,
}

/// What applying the effects found out, for the log line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consequences {
    /// This failure locked the user (or found them locked) until then.
    pub locked_until: Option<i64>,
    /// Recovery codes left after one was used.
    pub recovery_left: Option<u32>,
    pub delivery: Option<DeliveryNote>,
    /// What the password source said (why a directory refused the bind).
    pub source_note: Option<String>,
    /// The EAP method and TLS version the login came through (`EAP-TTLS, TLSv1_3`).
    pub eap: Option<String>,
}

/// What happened to one Access-Request.
#[derive(Debug)]
pub struct Decision {
    pub outcome: Outcome,
    pub reason: Reason,
    pub consequences: Consequences,
    /// Reply attributes of an Accept (groups', then the user's own).
    pub attributes: Vec<EncodedAttribute>,
    /// The State of an Access-Challenge.
    pub state: Option<Vec<u8>>,
    /// A code to send out of band, after the reply has gone.
    pub send: Option<CodeToSend>,
    /// Time spent in the password check (none when answering a challenge).
    pub check_time: Option<Duration>,
}

impl Decision {
    pub(crate) fn from_verdict(verdict: &Verdict) -> Self {
        Decision {
            outcome: verdict.outcome,
            reason: verdict.reason.clone(),
            consequences: Consequences::default(),
            attributes: verdict.attributes.clone(),
            state: None,
            send: None,
            check_time: None,
        }
    }

    /// A request that cannot be checked at all (CHAP, MS-CHAP, EAP, no User-Password).
    pub fn unsupported(method: Unsupported) -> Self {
        Decision {
            outcome: Outcome::Reject,
            reason: Reason::Unsupported(method),
            consequences: Consequences::default(),
            attributes: Vec::new(),
            state: None,
            send: None,
            check_time: None,
        }
    }

    /// The log's `detail`: the reason's, then what the effects found.
    pub fn detail(&self) -> Option<String> {
        let c = &self.consequences;
        let parts: Vec<String> = [
            self.reason.detail(),
            c.recovery_left.map(|left| format!("{left} left")),
            c.locked_until
                .map(|until| format!("locked until {}", crate::timefmt::rfc3339(until))),
            c.source_note.clone(),
            c.eap.clone(),
            c.delivery.map(|note| match note {
                DeliveryNote::Sent(channel) => format!("code sent by {}", channel.as_str()),
                DeliveryNote::Cooldown => "no code sent: one was sent moments ago".into(),
                DeliveryNote::HourlyLimit => "no code sent: hourly limit reached".into(),
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Whether an Accept's commit won.
enum Committed {
    Won { recovery_left: Option<u32> },
    Lost,
}

/// Runs the decision core against the store and a password source.
pub struct Authenticator {
    store: Arc<dyn Store>,
    passwords: Arc<dyn PasswordCheck>,
    /// The policy given at construction; a running server passes the one of its current
    /// configuration to `authenticate_with` (reload swaps it).
    policy: Arc<Policy>,
    checks: AtomicU64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("passwords", &self.passwords)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(
        store: Arc<dyn Store>,
        passwords: Arc<dyn PasswordCheck>,
        policy: impl Into<Arc<Policy>>,
    ) -> Self {
        Self {
            store,
            passwords,
            policy: policy.into(),
            checks: AtomicU64::new(0),
        }
    }

    /// The store, for callers that report on it (metrics, health).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Password checks run so far (each request with a password costs exactly one).
    pub fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// The policy given at construction.
    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    /// Check a known user's password with their source, outside a RADIUS request (the
    /// enrollment page). It costs what a login's check costs and counts as one; a temporary
    /// password that has expired is `Wrong`, as at login.
    pub fn check_password(
        &self,
        user: &UserRecord,
        password: &[u8],
        now: i64,
    ) -> Result<Answer, SourceError> {
        self.checks.fetch_add(1, Ordering::Relaxed);
        let answer = self.passwords.check(Subject::User(user), password)?;
        Ok(match user.password_expires_at {
            Some(at) if now >= at => Answer {
                checked: Checked::Wrong,
                note: Some("the temporary password has expired".into()),
                ..Answer::default()
            },
            _ => answer,
        })
    }

    /// Decide one request at `now` (unix seconds) under the policy given at construction.
    pub fn authenticate(&self, request: &Request<'_>, now: u64) -> Result<Decision, AuthError> {
        self.authenticate_with(request, &self.policy, now)
    }

    /// Decide one request at `now` (unix seconds) under `policy`. A store or source error is
    /// returned as such: the caller drops the request rather than guess.
    pub fn authenticate_with(
        &self,
        request: &Request<'_>,
        policy: &Policy,
        now: u64,
    ) -> Result<Decision, AuthError> {
        let at = i64::try_from(now).unwrap_or(i64::MAX);
        let mut seen = Seen::default();
        if let Some(state) = request.state {
            // Taken before anything else: a State is answerable once, right or wrong.
            if let Some(taken) = self.store.take_challenge(state, request.client, at)? {
                seen.challenge_owner = Some(taken.owner);
                seen.challenge_groups = taken.groups;
                seen.relay = taken.relay;
            }
        }
        let user = self.store.find_user(request.user_name)?;
        let tails = decision::tails(request, user.as_ref());
        if let Some(user) = &user
            && decision::locked_until(user, at).is_none()
        {
            self.look_up(user, &tails, at, policy, &mut seen)?;
        }
        if decision::needs_claim(request, user.as_ref(), now) {
            // Counted before it is judged: a burst cannot outrun the gate.
            seen.claim = Some(self.store.claim_guess(
                request.user_name,
                request.station,
                at,
                policy.lockout,
            )?);
        }
        let inputs = Inputs {
            request,
            user: user.as_ref(),
            tails: &tails,
            seen: &seen,
            policy,
            now,
        };
        let plan = decision::plan(&inputs);
        let (answer, check_time) = self.check(&plan, user.as_ref(), request, &seen)?;
        let verdict = decision::verdict(&inputs, &plan, answer.as_ref());
        let mut decision = self.execute(user.as_ref(), request, verdict, policy, at)?;
        decision.check_time = check_time;
        decision.consequences.source_note = answer.and_then(|a| a.note);
        Ok(decision)
    }

    /// What the store knows of the candidate codes: indexed reads, no hashing.
    fn look_up(
        &self,
        user: &UserRecord,
        tails: &Tails,
        now: i64,
        policy: &Policy,
        seen: &mut Seen,
    ) -> Result<(), StoreError> {
        if policy.send_limits.is_some()
            && let Some(code) = tails.sent_code()
        {
            seen.sent = self.store.sent_code_exists(&user.name, &code, now)?;
        }
        if let Some((_, code)) = &tails.recovery {
            seen.recovery = self.store.recovery_code_state(&user.name, code)?;
        } else {
            seen.recovery = RecoveryCodeState::NotFound;
        }
        Ok(())
    }

    /// The one check the plan asks for.
    fn check(
        &self,
        plan: &Plan,
        user: Option<&UserRecord>,
        request: &Request<'_>,
        seen: &Seen,
    ) -> Result<(Option<Answer>, Option<Duration>), SourceError> {
        let name = request.user_name;
        let (subject, len) = match (plan.check, user, &seen.relay) {
            (Check::None, ..) => return Ok((None, None)),
            (Check::User { len }, Some(user), _) => (Subject::User(user), len),
            (Check::Relay { len }, Some(user), Some(relay)) => {
                (Subject::Relayed { user, relay }, len)
            }
            (Check::Relay { .. }, ..) => return Ok((None, None)),
            (Check::Unenrolled { len }, ..) => (Subject::Unenrolled(name), len),
            (Check::Dummy { len } | Check::User { len }, user, _) => {
                (Subject::Dummy { name, user }, len)
            }
        };
        let started = Instant::now();
        self.checks.fetch_add(1, Ordering::Relaxed);
        let password = &request.input.expose()[..len];
        let answer = self.passwords.check(subject, password)?;
        Ok((Some(answer), Some(started.elapsed())))
    }

    /// Apply the verdict's effects in order; a commit that loses its race turns the verdict
    /// into the core's verdict for a replay.
    fn execute(
        &self,
        user: Option<&UserRecord>,
        request: &Request<'_>,
        verdict: Verdict,
        policy: &Policy,
        now: i64,
    ) -> Result<Decision, AuthError> {
        let mut decision = Decision::from_verdict(&verdict);
        let Some(user) = user else {
            debug_assert!(verdict.effects.is_empty(), "effects without a user");
            return Ok(decision);
        };
        let name = &user.name;
        // A guess given back for the gate that the login's trust resets anyway: the reset
        // makes the refund moot, so it is held back (a statement less per accept) and made
        // only if the login does not get as far as a written trust.
        let reset = verdict.effects.iter().find_map(|effect| match effect {
            Effect::Trust { reset: Some(gate) } => Some(*gate),
            _ => None,
        });
        let mut held_back = None;
        for effect in &verdict.effects {
            match effect {
                Effect::Consume(consume) => match self.consume(name, consume, now)? {
                    Committed::Won { recovery_left } => {
                        decision.consequences.recovery_left = recovery_left;
                    }
                    Committed::Lost => {
                        if let Some(gate) = held_back.take() {
                            self.store.refund_guess(name, request.station, gate)?;
                        }
                        // Locked meanwhile, or a replay: the user as the store has it now says.
                        let again = self.store.find_user(name)?;
                        let now_u = u64::try_from(now).unwrap_or(0);
                        let verdict = decision::lost_race(consume, again.as_ref(), now_u);
                        return self.execute(Some(user), request, verdict, policy, now);
                    }
                },
                Effect::RecordFailure => {
                    decision.consequences.locked_until =
                        self.store.record_failure(name, now, policy.lockout)?;
                }
                Effect::CountCodeAttempt => self.store.count_code_attempt(name, now)?,
                Effect::Refund(gate) if reset == Some(*gate) => held_back = Some(*gate),
                Effect::Refund(gate) => self.store.refund_guess(name, request.station, *gate)?,
                Effect::Trust { reset } => {
                    // Bookkeeping after the Accept is committed: if it cannot be written, the
                    // login stands and the station stays as trusted as it was.
                    let gate = reset.unwrap_or(Gate::Station);
                    let lockout = policy.lockout;
                    if let Err(e) =
                        self.store
                            .trust_station(name, request.station, gate, now, lockout)
                    {
                        tracing::warn!(user = %name, error = %e, "cannot record the station of a login");
                        if let Some(gate) = held_back.take()
                            && let Err(e) = self.store.refund_guess(name, request.station, gate)
                        {
                            tracing::warn!(user = %name, error = %e, "cannot give back the guess of a login");
                        }
                    } else {
                        held_back = None;
                    }
                }
                Effect::IssueCode { digits } => {
                    self.issue(user, *digits, now, policy, &mut decision)?
                }
                Effect::OpenChallenge { groups, relay } => {
                    let state = random_bytes::<STATE_LEN>().to_vec();
                    let expires_at = now + CHALLENGE_TTL_SECS;
                    self.store.create_challenge(
                        &state,
                        name,
                        request.client,
                        groups,
                        relay.as_ref(),
                        expires_at,
                        now,
                    )?;
                    decision.state = Some(state);
                }
            }
        }
        Ok(decision)
    }

    /// One atomic conditional statement: whoever wins it owns the code.
    fn consume(&self, name: &str, consume: &Consume, now: i64) -> Result<Committed, StoreError> {
        let won = match consume {
            Consume::Token { id, value, drift } => self
                .store
                .consume_token(name, *id, *value, *drift, now)?
                .then_some(None),
            Consume::SentCode(code) => self
                .store
                .consume_sent_code(name, code, now)?
                .then_some(None),
            Consume::RecoveryCode(code) => {
                self.store.consume_recovery_code(name, code, now)?.map(Some)
            }
        };
        Ok(match won {
            Some(recovery_left) => Committed::Won { recovery_left },
            None => Committed::Lost,
        })
    }

    /// Issue a fresh code, if the send limits allow; the pipeline sends it after the reply.
    fn issue(
        &self,
        user: &UserRecord,
        digits: u8,
        now: i64,
        policy: &Policy,
        decision: &mut Decision,
    ) -> Result<(), StoreError> {
        let (Some(delivery), Some(limits)) = (&user.delivery, policy.send_limits) else {
            return Ok(());
        };
        let code = codes::generate_numeric_code(digits);
        let note = match self.store.issue_code(&user.name, &code, now, limits)? {
            IssueOutcome::Issued => {
                decision.send = Some(CodeToSend {
                    user: user.name.clone(),
                    delivery: delivery.clone(),
                    code,
                    expires_in: limits.ttl,
                });
                DeliveryNote::Sent(delivery.channel)
            }
            IssueOutcome::Cooldown => DeliveryNote::Cooldown,
            IssueOutcome::HourlyLimit => DeliveryNote::HourlyLimit,
        };
        decision.consequences.delivery = Some(note);
        Ok(())
    }
}

#[cfg(test)]
#[path = "authenticator_tests.rs"]
mod tests;
