//! The pure decision core (DESIGN step 8): from the request, the user record, what the store
//! said about candidate codes, the policy and `now`, choose the one password check to run
//! (`plan`); then, from its result, the answer, its reason and the effects the shell must apply
//! to the store (`verdict`). No clocks, sockets or database: every rule of the login lives here
//! and is table-tested (`decision_tests.rs`).

use std::sync::Arc;

use super::check::{Answer, Checked};
use super::reason::{AcceptedBy, Reason, StateProblem};
use super::tails::{Factor, Tails, Windows, classify};
use super::{Mode, Unenrolled};
use crate::authz::Authorization;
use crate::dictionary::EncodedAttribute;
use crate::secret::SecretBytes;
use crate::store::RecoveryCodeState;
use crate::store::{Claim, Gate, LockoutPolicy, Proven, Relay, SendLimits, UserRecord};

/// The configuration's share of every decision.
#[derive(Clone, Debug)]
pub struct Policy {
    /// TOTP steps accepted either side of the (drift-corrected) current one.
    pub window: u8,
    /// HOTP counters looked at ahead of a token's last used one.
    pub hotp_window: u8,
    /// Codes are sent out of band only when delivery is configured.
    pub send_limits: Option<SendLimits>,
    pub lockout: LockoutPolicy,
    /// Groups' reply attributes, for every Accept.
    pub authorization: Arc<Authorization>,
}

/// One Access-Request, as far as the decision is concerned.
#[derive(Debug)]
pub struct Request<'a> {
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
    /// Where the user is: the NAS's Calling-Station-Id, or the NAS itself when it sends none
    /// (see `station`). Wrong passwords are throttled per station.
    pub station: &'a str,
    /// What this NAS does with a directory user radotp has no token for.
    pub unenrolled: Unenrolled,
}

/// The station of a request, as the throttle keys it: the Calling-Station-Id the NAS sent (a
/// MAC address, a VPN client's address), or, without one, the NAS — every user behind it then
/// shares one station.
pub fn station(calling_station_id: Option<&str>, client: &str) -> String {
    match calling_station_id
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        Some(id) => format!("id:{}", id.to_ascii_lowercase()),
        None => format!("nas:{client}"),
    }
}

/// What the store said before the decision: about the candidate codes, and for a challenge
/// answer, whose State it took.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// The numeric tail is a live code we sent.
    pub sent: bool,
    pub recovery: RecoveryCodeState,
    /// A challenge answer: the owner of the State taken (`None`: no live State matched).
    pub challenge_owner: Option<String>,
    /// The groups the password granted when the challenge was issued.
    pub challenge_groups: Vec<String>,
    /// The challenge relayed an upstream server's question: where the answer goes.
    pub relay: Option<Relay>,
    /// Whether the password may be judged (asked of the store when `needs_claim` says so).
    pub claim: Option<Claim>,
}

/// The one password check a request costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The first `len` octets of the input, with the user's password source.
    User { len: usize },
    /// The same cost, against nothing: the user is unknown, locked or throttled, and timing
    /// must not say which.
    Dummy { len: usize },
    /// The whole input against the directory, for a name radotp does not know, on a NAS that
    /// lets unenrolled directory users in on their password alone.
    Unenrolled { len: usize },
    /// The whole input, back to the upstream server whose question it answers (`Seen::relay`).
    Relay { len: usize },
    /// None at all: a challenge answer carries only the code (the password was checked when
    /// the challenge was issued).
    None,
}

/// What to check, and which factor the input carries if the check succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub check: Check,
    pub factor: Factor,
}

/// A commit that must win for an Accept to stand: one atomic conditional statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consume {
    /// Mark `value` used by token `id` (and remember `drift`), if it is newer than the
    /// token's last used one.
    Token {
        id: u32,
        value: u64,
        drift: i64,
    },
    SentCode(SecretBytes),
    RecoveryCode(SecretBytes),
}

/// A change the shell makes in the store, in order, for a verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The Accept stands only if this wins; if it loses, the shell asks `lost_race`.
    Consume(Consume),
    /// The password was right: the guess counted at `claim_guess` is given back.
    Refund(Gate),
    /// A login: its station becomes trusted; `reset`, the gate that admitted it, starts again.
    Trust { reset: Option<Gate> },
    /// Count a wrong code after a right password towards the user's lock.
    RecordFailure,
    /// A wrong code counts against any code sent to the user: they die after a few.
    CountCodeAttempt,
    /// Send a fresh code of `digits` digits, if the send limits allow.
    IssueCode { digits: u8 },
    /// Remember a fresh State, bound to the user and the NAS, for the Access-Challenge, with
    /// the groups the password granted (the answer's Accept carries their policy) and, when it
    /// relays an upstream server's question, where the answer goes.
    OpenChallenge {
        groups: Vec<String>,
        relay: Option<Relay>,
    },
}

/// The answer on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Accept,
    Reject,
    Challenge,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accept => "accept",
            Outcome::Reject => "reject",
            Outcome::Challenge => "challenge",
        }
    }
}

/// What to answer, why, and what to change first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub reason: Reason,
    pub effects: Vec<Effect>,
    /// The reply attributes of an Accept (groups', then the user's own, then the upstream's
    /// that neither has); of a relayed challenge, the upstream's prompt.
    pub attributes: Vec<EncodedAttribute>,
}

impl Verdict {
    fn reject(reason: Reason) -> Verdict {
        let effects = if reason.locks_account() {
            vec![Effect::RecordFailure]
        } else {
            Vec::new()
        };
        Verdict {
            outcome: Outcome::Reject,
            reason,
            effects,
            attributes: Vec::new(),
        }
    }

    /// A wrong code also counts against the codes sent to the user.
    fn reject_code(reason: Reason, tails: &Tails) -> Verdict {
        let mut verdict = Verdict::reject(reason);
        if tails.sent_code().is_some() {
            verdict.effects.insert(0, Effect::CountCodeAttempt);
        }
        verdict
    }
}

/// The lock in force at `now`, if any.
pub fn locked_until(user: &UserRecord, now: i64) -> Option<i64> {
    user.locked_until.filter(|&until| until > now)
}

fn member(groups: &[String], allowed: Option<&[String]>) -> bool {
    allowed.is_none_or(|allowed| groups.iter().any(|g| allowed.contains(g)))
}

/// The user's groups: radotp's, then those the password source granted for this login (at
/// the password, or when the challenge was issued), each once.
fn groups_of(user: &UserRecord, granted: &[String]) -> Vec<String> {
    let mut groups = user.groups.clone();
    for group in granted {
        if !groups.contains(group) {
            groups.push(group.clone());
        }
    }
    groups
}

/// The candidate tails of the request's input: which codes the store should be asked about.
pub fn tails(request: &Request<'_>, user: Option<&UserRecord>) -> Tails {
    user.map_or_else(Tails::default, |u| {
        Tails::of(u, request.input.expose(), request.state.is_some())
    })
}

/// Everything a decision depends on.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    pub request: &'a Request<'a>,
    /// The user named by User-Name (or, for a challenge answer, by the State); `None`: unknown.
    pub user: Option<&'a UserRecord>,
    pub tails: &'a Tails,
    pub seen: &'a Seen,
    pub policy: &'a Policy,
    /// Unix seconds.
    pub now: u64,
}

impl Inputs<'_> {
    fn now(&self) -> i64 {
        i64::try_from(self.now).unwrap_or(i64::MAX)
    }

    /// The factor a tail proves, and where the password then ends.
    fn factor(&self, user: &UserRecord) -> Option<(usize, Factor)> {
        let seen = self.seen;
        classify(
            user,
            self.tails,
            seen.sent,
            seen.recovery,
            Windows {
                totp: self.policy.window,
                hotp: self.policy.hotp_window,
            },
            self.now,
        )
    }
}

/// Must the store count a guess before the password is checked (`Store::claim_guess`)? For
/// every request that would check a real password: a known user, not locked, not a challenge
/// answer. Counting first is what holds a burst to the gate's allowance.
pub fn needs_claim(request: &Request<'_>, user: Option<&UserRecord>, now: u64) -> bool {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    request.state.is_none() && user.is_some_and(|u| locked_until(u, now).is_none())
}

/// Step 8, before any hashing: the one check to run, and the factor it would prove.
pub fn plan(inputs: &Inputs<'_>) -> Plan {
    if inputs.request.state.is_some() {
        // Only the answer to an upstream question is checked, and only for the user it was
        // asked of: a code alone needs no password check.
        let seen = inputs.seen;
        let relayed = seen.relay.is_some()
            && seen.challenge_owner.as_deref() == Some(inputs.request.user_name)
            && inputs
                .user
                .is_some_and(|u| locked_until(u, inputs.now()).is_none());
        let check = match relayed {
            true => Check::Relay {
                len: inputs.request.input.len(),
            },
            false => Check::None,
        };
        return Plan {
            check,
            factor: Factor::None,
        };
    }
    let (len, factor) = inputs
        .user
        .and_then(|u| inputs.factor(u))
        .unwrap_or((inputs.request.input.len(), Factor::None));
    // An unknown, locked or throttled user costs the same as anyone else: timing must not
    // tell which.
    let throttled = matches!(inputs.seen.claim, Some(Claim::Throttled { .. }));
    let check = match inputs.user {
        Some(u) if locked_until(u, inputs.now()).is_none() && !throttled => Check::User { len },
        None if inputs.request.unenrolled == Unenrolled::PasswordOnly => Check::Unenrolled { len },
        _ => Check::Dummy { len },
    };
    Plan { check, factor }
}

/// Step 8, after the check: the answer and the effects. `answer` is `None` exactly when the
/// plan asked for no check.
pub fn verdict(inputs: &Inputs<'_>, plan: &Plan, answer: Option<&Answer>) -> Verdict {
    let mut verdict = judge(inputs, plan, answer);
    // The guess was counted before the check; only a wrong password keeps it counted.
    let checked = answer.map(|a| a.checked);
    // An upstream challenge is not judged yet: its answer is.
    if let Some(Claim::Granted(gate)) = inputs.seen.claim
        && !matches!(
            checked,
            Some(Checked::Wrong | Checked::Unknown | Checked::Rejected | Checked::Challenged)
        )
    {
        verdict.effects.insert(0, Effect::Refund(gate));
    }
    verdict
}

fn judge(inputs: &Inputs<'_>, plan: &Plan, answer: Option<&Answer>) -> Verdict {
    if inputs.request.state.is_some() {
        return match (&inputs.seen.relay, answer) {
            (Some(relay), Some(answer)) => answer_relay(inputs, relay, answer),
            _ => answer_challenge(inputs),
        };
    }
    let checked = answer.map(|a| a.checked);
    let Some(user) = inputs.user else {
        return match (plan.check, checked) {
            (Check::Unenrolled { .. }, Some(Checked::Right)) => unenrolled(
                inputs,
                answer.map(|a| a.groups.as_slice()).unwrap_or_default(),
            ),
            (Check::Unenrolled { .. }, Some(Checked::Wrong)) => {
                Verdict::reject(Reason::WrongPassword)
            }
            _ => Verdict::reject(Reason::UnknownUser),
        };
    };
    if let Some(until) = locked_until(user, inputs.now()) {
        return Verdict::reject(Reason::Locked { until });
    }
    if let Some(Claim::Throttled { gate, until }) = inputs.seen.claim {
        return Verdict::reject(Reason::Throttled { gate, until });
    }
    let (Some(answer), Some(checked)) = (answer, checked) else {
        return Verdict::reject(Reason::UnusableHash);
    };
    // Account state is judged after the check, so that it costs the same; and a disabled
    // account says so whatever was typed.
    if user.disabled {
        return Verdict::reject(Reason::Disabled);
    }
    let wrong = match (checked, plan.factor) {
        (Checked::Right, _) => None,
        (Checked::Unusable, _) => return Verdict::reject(Reason::UnusableHash),
        (Checked::Challenged, _) => return relay_challenge(inputs, user, plan, answer),
        (_, Factor::None) => Some(Reason::WrongPasswordOrCode),
        (Checked::Rejected, _) => Some(Reason::UpstreamRejected),
        (Checked::Wrong | Checked::Unknown, _) => Some(Reason::WrongPassword),
    };
    if let Some(reason) = wrong {
        return match plan.factor {
            Factor::None => Verdict::reject_code(reason, inputs.tails),
            _ => Verdict::reject(reason),
        };
    }
    if let Err(reason) = account_allows(user, inputs.now()) {
        return Verdict::reject(reason);
    }
    let groups = groups_of(user, &answer.groups);
    match plan.factor {
        Factor::UsedToken { .. } => Verdict::reject(Reason::CodeAlreadyUsed),
        Factor::UsedRecovery => Verdict::reject(Reason::RecoveryCodeAlreadyUsed),
        factor => match commit_for(factor, inputs.tails) {
            Some((by, consume)) => {
                let effects = vec![Effect::Consume(consume)];
                let reset = granted_gate(inputs);
                accept(
                    inputs,
                    user,
                    &groups,
                    by,
                    effects,
                    reset,
                    &answer.attributes,
                )
            }
            None => password_only(inputs, user, &groups),
        },
    }
}

/// The upstream server asked a question of its own after the password part: relay it to the
/// NAS. A live code that came with the password is used now (it cannot be replayed while the
/// question is answered); the answer's Accept then needs only the upstream's last word.
fn relay_challenge(
    inputs: &Inputs<'_>,
    user: &UserRecord,
    plan: &Plan,
    answer: &Answer,
) -> Verdict {
    if let Err(reason) = account_allows(user, inputs.now()) {
        return Verdict::reject(reason);
    }
    // A used code can never be accepted: refused now, without asking the user the upstream's
    // question. An upstream asks its question of a password it accepted, so this counts
    // towards the lock as a replayed code after a right password does.
    match plan.factor {
        Factor::UsedToken { .. } => return Verdict::reject(Reason::CodeAlreadyUsed),
        Factor::UsedRecovery => return Verdict::reject(Reason::RecoveryCodeAlreadyUsed),
        _ => {}
    }
    let Some((server, state)) = answer.turn.clone() else {
        return Verdict::reject(Reason::UpstreamRejected);
    };
    let mut effects = Vec::new();
    let proven = commit_for(plan.factor, inputs.tails).map(|(by, consume)| {
        effects.push(Effect::Consume(consume));
        proven_by(by)
    });
    let gate = granted_gate(inputs);
    effects.push(Effect::OpenChallenge {
        groups: answer.groups.clone(),
        relay: Some(Relay {
            server,
            state,
            proven,
            gate,
        }),
    });
    Verdict {
        outcome: Outcome::Challenge,
        reason: Reason::UpstreamChallenge,
        effects,
        attributes: answer.attributes.clone(),
    }
}

/// The answer to a relayed upstream question, as the upstream judged it.
fn answer_relay(inputs: &Inputs<'_>, relay: &Relay, answer: &Answer) -> Verdict {
    let user = match challenge_user(inputs) {
        Ok(user) => user,
        Err(verdict) => return verdict,
    };
    match answer.checked {
        Checked::Right => {}
        Checked::Challenged => {
            let Some((server, state)) = answer.turn.clone() else {
                return Verdict::reject(Reason::UpstreamRejected);
            };
            // Another round: the same code proven, the same gate.
            return Verdict {
                outcome: Outcome::Challenge,
                reason: Reason::UpstreamChallenge,
                effects: vec![Effect::OpenChallenge {
                    groups: inputs.seen.challenge_groups.clone(),
                    relay: Some(Relay {
                        server,
                        state,
                        ..relay.clone()
                    }),
                }],
                attributes: answer.attributes.clone(),
            };
        }
        Checked::Unusable => return Verdict::reject(Reason::UnusableHash),
        Checked::Rejected | Checked::Wrong | Checked::Unknown => {
            return Verdict::reject(Reason::UpstreamRejected);
        }
    }
    let mut granted = inputs.seen.challenge_groups.clone();
    granted.extend(answer.groups.iter().cloned());
    let groups = groups_of(user, &granted);
    match relay.proven {
        Some(proven) => {
            // The gate that let the password be judged, at the first request, starts again.
            let by = accepted_by(proven);
            accept(
                inputs,
                user,
                &groups,
                by,
                Vec::new(),
                relay.gate,
                &answer.attributes,
            )
        }
        None => password_only(inputs, user, &groups),
    }
}

/// The gate this request's guess was counted at, if it was.
fn granted_gate(inputs: &Inputs<'_>) -> Option<Gate> {
    match inputs.seen.claim {
        Some(Claim::Granted(gate)) => Some(gate),
        _ => None,
    }
}

fn proven_by(by: AcceptedBy) -> Proven {
    match by {
        AcceptedBy::Token { id, kind, drift } => Proven::Token { id, kind, drift },
        AcceptedBy::SentCode => Proven::SentCode,
        AcceptedBy::RecoveryCode => Proven::RecoveryCode,
    }
}

fn accepted_by(proven: Proven) -> AcceptedBy {
    match proven {
        Proven::Token { id, kind, drift } => AcceptedBy::Token { id, kind, drift },
        Proven::SentCode => AcceptedBy::SentCode,
        Proven::RecoveryCode => AcceptedBy::RecoveryCode,
    }
}

/// The directory password of a user radotp has no token for, on a NAS that allows it: an
/// Accept without a second factor, with the policy of the groups the directory grants.
fn unenrolled(inputs: &Inputs<'_>, groups: &[String]) -> Verdict {
    if !member(groups, inputs.request.allowed_groups) {
        return Verdict::reject(Reason::NotInAllowedGroups);
    }
    match inputs.policy.authorization.reply_for(groups, &[]) {
        Ok(attributes) => Verdict {
            outcome: Outcome::Accept,
            reason: Reason::AcceptedNotEnrolled,
            effects: Vec::new(),
            attributes,
        },
        Err(why) => Verdict::reject(Reason::InvalidReplyAttributes(why)),
    }
}

/// The verdict once an Accept's commit lost its race: the user was locked at the moment of the
/// commit (`user` as read again afterwards), or another request — or node — used the code
/// first: a replay.
pub fn lost_race(consume: &Consume, user: Option<&UserRecord>, now: u64) -> Verdict {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    if let Some(until) = user.and_then(|u| locked_until(u, now)) {
        return Verdict::reject(Reason::Locked { until });
    }
    Verdict::reject(match consume {
        Consume::RecoveryCode(_) => Reason::RecoveryCodeAlreadyUsed,
        Consume::Token { .. } | Consume::SentCode(_) => Reason::CodeAlreadyUsed,
    })
}

/// Account checks that apply after any successful factor, in the same order every time.
fn account_allows(user: &UserRecord, now: i64) -> Result<(), Reason> {
    if user.disabled {
        return Err(Reason::Disabled);
    }
    if !user.has_active_token() {
        return Err(Reason::NoToken);
    }
    match user.password_expires_at {
        Some(at) if now >= at => Err(Reason::PasswordExpired { at }),
        _ => Ok(()),
    }
}

/// How a live factor is named and committed; `None` for a factor that proves nothing.
fn commit_for(factor: Factor, tails: &Tails) -> Option<(AcceptedBy, Consume)> {
    match factor {
        Factor::Token {
            id,
            kind,
            value,
            drift,
        } => Some((
            AcceptedBy::Token { id, kind, drift },
            Consume::Token { id, value, drift },
        )),
        Factor::Sent => tails
            .sent_code()
            .map(|code| (AcceptedBy::SentCode, Consume::SentCode(code))),
        Factor::Recovery => tails.recovery.as_ref().map(|(_, code)| {
            (
                AcceptedBy::RecoveryCode,
                Consume::RecoveryCode(code.clone()),
            )
        }),
        Factor::UsedToken { .. } | Factor::UsedRecovery | Factor::None => None,
    }
}

/// Right password, a live code: an Accept, if the NAS admits the user's groups and the reply
/// attributes can be built — never an Accept without the policy the administrator wrote.
/// `effects` come first (the commit that must win); `reset` is the gate that let the password
/// be judged, which starts again; `upstream` are the upstream server's reply attributes, passed
/// on where radotp's own do not set the same attribute.
fn accept(
    inputs: &Inputs<'_>,
    user: &UserRecord,
    groups: &[String],
    by: AcceptedBy,
    mut effects: Vec<Effect>,
    reset: Option<Gate>,
    upstream: &[EncodedAttribute],
) -> Verdict {
    if !member(groups, inputs.request.allowed_groups) {
        return Verdict::reject(Reason::NotInAllowedGroups);
    }
    let authorization = &inputs.policy.authorization;
    let attributes = match authorization.reply_for(groups, &user.reply) {
        Ok(attributes) => crate::authz::with_upstream(attributes, upstream),
        Err(why) => return Verdict::reject(Reason::InvalidReplyAttributes(why)),
    };
    // The station becomes trusted.
    effects.push(Effect::Trust { reset });
    Verdict {
        outcome: Outcome::Accept,
        reason: Reason::Accepted {
            by,
            temporary_until: user.password_expires_at,
        },
        effects,
        attributes,
    }
}

/// Right password, no code: a challenge (challenge mode) or a reject (append mode), with a code
/// sent when the user has an address. Never an Accept.
fn password_only(inputs: &Inputs<'_>, user: &UserRecord, groups: &[String]) -> Verdict {
    // A NAS for other groups neither challenges nor sends codes to this user.
    if !member(groups, inputs.request.allowed_groups) {
        return Verdict::reject(Reason::NotInAllowedGroups);
    }
    let mut effects = Vec::new();
    if inputs.policy.send_limits.is_some() && user.delivery.is_some() {
        effects.push(Effect::IssueCode {
            digits: user.code_digits(),
        });
    }
    let (outcome, reason) = match inputs.request.mode {
        Mode::Challenge => {
            effects.push(Effect::OpenChallenge {
                groups: groups.to_vec(),
                relay: None,
            });
            (Outcome::Challenge, Reason::CodeRequested)
        }
        Mode::Append => (Outcome::Reject, Reason::PasswordWithoutCode),
    };
    Verdict {
        outcome,
        reason,
        effects,
        attributes: Vec::new(),
    }
}

/// The user a challenge answer is for: the State's owner, who must be the one named, known
/// and not locked; and the account must allow a login.
fn challenge_user<'a>(inputs: &Inputs<'a>) -> Result<&'a UserRecord, Verdict> {
    match &inputs.seen.challenge_owner {
        None => {
            return Err(Verdict::reject(Reason::UnknownState(
                StateProblem::UnknownOrUsed,
            )));
        }
        Some(owner) if owner != inputs.request.user_name => {
            return Err(Verdict::reject(Reason::UnknownState(
                StateProblem::OtherUser,
            )));
        }
        Some(_) => {}
    }
    let Some(user) = inputs.user else {
        return Err(Verdict::reject(Reason::UnknownUser));
    };
    if let Some(until) = locked_until(user, inputs.now()) {
        return Err(Verdict::reject(Reason::Locked { until }));
    }
    account_allows(user, inputs.now()).map_err(Verdict::reject)?;
    Ok(user)
}

/// The answer to an Access-Challenge: the State names the user, the input is the code alone.
fn answer_challenge(inputs: &Inputs<'_>) -> Verdict {
    let user = match challenge_user(inputs) {
        Ok(user) => user,
        Err(verdict) => return verdict,
    };
    match inputs.factor(user).map(|(_, factor)| factor) {
        Some(Factor::UsedToken { .. }) => Verdict::reject(Reason::CodeAlreadyUsed),
        Some(Factor::UsedRecovery) => Verdict::reject(Reason::RecoveryCodeAlreadyUsed),
        Some(factor) => match commit_for(factor, inputs.tails) {
            Some((by, consume)) => {
                let groups = groups_of(user, &inputs.seen.challenge_groups);
                let effects = vec![Effect::Consume(consume)];
                // Let through by the request before it, already refunded: nothing to reset.
                accept(
                    inputs,
                    user,
                    &groups,
                    by,
                    effects,
                    granted_gate(inputs),
                    &[],
                )
            }
            None => Verdict::reject_code(Reason::WrongCode, inputs.tails),
        },
        None => Verdict::reject_code(Reason::WrongCode, inputs.tails),
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;

/// A resumed EAP (Wi-Fi) session of `user`, whose full password + code login was at
/// `created`: accepted without a new code only if that login is less than `window` seconds
/// old and the user may still log in — present, enabled, not locked, with an active token and
/// a password that has not expired, in a group the NAS admits. The reply attributes come from
/// today's groups, not the ones of the full login.
pub fn resumption(
    user: Option<&UserRecord>,
    allowed_groups: Option<&[String]>,
    policy: &Policy,
    created: i64,
    window: i64,
    now: i64,
) -> Verdict {
    let refuse = |why: String| Verdict::reject(Reason::ResumptionRefused(why));
    let Some(user) = user else {
        return refuse("the user was removed".into());
    };
    if now.saturating_sub(created) >= window {
        return refuse(format!(
            "the full login at {} is older than [eap] resumption_hours",
            crate::timefmt::rfc3339(created)
        ));
    }
    if user.disabled {
        return refuse("the user is disabled".into());
    }
    if let Some(until) = locked_until(user, now) {
        return refuse(format!(
            "the user is locked until {}",
            crate::timefmt::rfc3339(until)
        ));
    }
    if !user.has_active_token() {
        return refuse("the user has no active token".into());
    }
    if user.password_expires_at.is_some_and(|at| now >= at) {
        return refuse("the user's temporary password has expired".into());
    }
    if !member(&user.groups, allowed_groups) {
        return Verdict::reject(Reason::NotInAllowedGroups);
    }
    match policy.authorization.reply_for(&user.groups, &user.reply) {
        Ok(attributes) => Verdict {
            outcome: Outcome::Accept,
            reason: Reason::ResumedSession { created },
            effects: Vec::new(),
            attributes,
        },
        Err(why) => Verdict::reject(Reason::InvalidReplyAttributes(why)),
    }
}
