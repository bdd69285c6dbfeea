//! The pure decision core called directly, beside the pipeline: `tails`, `plan` and `verdict`
//! for every answer the store could give about the candidate codes, and every result of the
//! password check, with invariants that hold for any input.

use radotp_server::auth::decision::{self, Check, Effect, Inputs, Outcome, Request, Seen};
use radotp_server::auth::tails::Factor;
use radotp_server::auth::{Answer, Checked, Reason, Unenrolled};
use radotp_server::dictionary::{AttributeValue, Dictionary};
use radotp_server::secret::SecretBytes;
use radotp_server::store::{
    Claim, Gate, Proven, RecoveryCodeState, Relay, Store, TokenKind, UserRecord,
};

use crate::pipeline::View;
use crate::world::{Client, World};

/// Every combination of what the store could say, judged with every check result.
pub fn check(world: &World, view: &View, client: &Client, now: u64) {
    let Some(input) = &view.input else {
        return;
    };
    let user: Option<UserRecord> = world.store.find_user(&view.user).expect("find_user");
    for unenrolled in [Unenrolled::Reject, Unenrolled::PasswordOnly] {
        let request = Request {
            user_name: &view.user,
            input,
            client: client.name,
            mode: client.mode,
            state: view.state.as_deref(),
            allowed_groups: client.allowed_groups.as_deref(),
            station: "nas:nas",
            unenrolled,
        };
        decide_all(world, &request, user.as_ref(), input, now);
    }
}

/// Every combination of what the store may have said, for one request.
fn decide_all(
    world: &World,
    request: &Request<'_>,
    user: Option<&UserRecord>,
    input: &SecretBytes,
    now: u64,
) {
    let tails = decision::tails(request, user);
    for (at, code) in &tails.numeric {
        assert_eq!(
            &input.expose()[*at..],
            code.as_bytes(),
            "numeric tail is not the end"
        );
    }
    if let Some(otp) = &tails.yubico {
        assert_eq!(otp.at + 44, input.len(), "the Yubico tail is not the end");
    }
    for sent in [false, true] {
        for recovery in [
            RecoveryCodeState::NotFound,
            RecoveryCodeState::Unused,
            RecoveryCodeState::Used,
        ] {
            for (owner, claim) in [
                (None, None),
                (
                    Some(request.user_name.to_owned()),
                    Some(Claim::Granted(Gate::User)),
                ),
                (
                    Some("someone else".into()),
                    Some(Claim::Granted(Gate::Station)),
                ),
                (
                    None,
                    Some(Claim::Throttled {
                        gate: Gate::User,
                        until: 0,
                    }),
                ),
            ] {
                // A challenge of radotp's own, or one relaying an upstream question, with or
                // without a code proven before it.
                let relays = [
                    None,
                    Some(Relay {
                        server: 0,
                        state: b"up".to_vec(),
                        proven: Some(Proven::Token {
                            id: 1,
                            kind: TokenKind::Totp,
                            drift: 0,
                        }),
                        gate: Some(Gate::User),
                    }),
                    Some(Relay {
                        server: 1,
                        state: Vec::new(),
                        proven: None,
                        gate: None,
                    }),
                ];
                for relay in relays {
                    let seen = Seen {
                        sent,
                        recovery,
                        challenge_owner: owner.clone(),
                        challenge_groups: vec!["granted".into()],
                        relay,
                        claim,
                    };
                    let inputs = Inputs {
                        request,
                        user,
                        tails: &tails,
                        seen: &seen,
                        policy: &world.policy,
                        now,
                    };
                    judge(&inputs, input.len());
                }
            }
        }
    }
}

fn judge(inputs: &Inputs<'_>, input_len: usize) {
    let plan = decision::plan(inputs);
    match plan.check {
        Check::User { len } | Check::Dummy { len } | Check::Unenrolled { len } => {
            assert!(len <= input_len)
        }
        Check::Relay { len } => {
            assert_eq!(len, input_len, "the whole answer goes upstream");
            assert!(inputs.seen.relay.is_some() && inputs.request.state.is_some());
            assert_eq!(
                inputs.seen.challenge_owner.as_deref(),
                Some(inputs.request.user_name),
                "an answer relayed for someone else"
            );
        }
        Check::None => assert!(
            inputs.request.state.is_some(),
            "no check for a request with a password"
        ),
    }
    if inputs.user.is_none() && inputs.request.state.is_none() {
        assert!(
            match inputs.request.unenrolled {
                Unenrolled::Reject => matches!(plan.check, Check::Dummy { .. }),
                Unenrolled::PasswordOnly => plan.check == Check::Unenrolled { len: input_len },
            },
            "unknown user: {plan:?}"
        );
    }
    if inputs.user.is_some() {
        assert!(
            !matches!(plan.check, Check::Unenrolled { .. }),
            "a known user checked as unenrolled"
        );
    }
    let results: Vec<Option<Answer>> = match plan.check {
        Check::None => vec![None],
        _ => {
            let dictionary = Dictionary::builtin();
            let upstream = vec![
                dictionary
                    .encode("Filter-Id", &AttributeValue::from("upstream"))
                    .expect("Filter-Id"),
            ];
            [
                Checked::Wrong,
                Checked::Unusable,
                Checked::Unknown,
                Checked::Right,
                Checked::Rejected,
                Checked::Challenged,
            ]
            .into_iter()
            .map(|c| {
                Some(Answer {
                    checked: c,
                    groups: vec!["granted".into()],
                    attributes: upstream.clone(),
                    turn: (c == Checked::Challenged).then(|| (0, b"st".to_vec())),
                    ..Answer::default()
                })
            })
            .collect()
        }
    };
    for answer in &results {
        let checked = answer.as_ref().map(|a| a.checked);
        let verdict = decision::verdict(inputs, &plan, answer.as_ref());
        let counted = verdict.effects.contains(&Effect::RecordFailure);
        assert_eq!(
            counted,
            verdict.reason.locks_account(),
            "{:?} with effects {:?}",
            verdict.reason,
            verdict.effects
        );
        if verdict.outcome == Outcome::Challenge && verdict.reason == Reason::UpstreamChallenge {
            // The upstream's question, relayed: only when it asked one, never for a locked user.
            assert_eq!(checked, Some(Checked::Challenged));
            let user = inputs.user.expect("a relayed question for a known user");
            assert!(
                !user.disabled,
                "a disabled user is asked the upstream's question"
            );
            continue;
        }
        if verdict.outcome != Outcome::Accept {
            assert!(
                verdict.attributes.is_empty(),
                "attributes on a {:?}",
                verdict.outcome
            );
            continue;
        }
        // Without a user: only the directory password of an unenrolled user, where allowed.
        let Some(user) = inputs.user else {
            assert_eq!(verdict.reason, Reason::AcceptedNotEnrolled);
            assert_eq!(inputs.request.unenrolled, Unenrolled::PasswordOnly);
            assert_eq!(
                checked,
                Some(Checked::Right),
                "unenrolled accepted with {checked:?}"
            );
            assert!(verdict.effects.is_empty(), "{:?}", verdict.effects);
            continue;
        };
        // An Accept: a right password (or a challenge answer), a live code, a usable account.
        assert!(!user.disabled, "a disabled user is accepted");
        assert!(
            matches!(checked, Some(Checked::Right) | None),
            "accepted with {checked:?}"
        );
        assert!(
            matches!(
                plan.check,
                Check::User { .. } | Check::None | Check::Relay { .. }
            ),
            "accepted after a dummy check"
        );
        let commits: Vec<&Effect> = verdict
            .effects
            .iter()
            .filter(|e| matches!(e, Effect::Consume(_)))
            .collect();
        // An Accept commits one factor, or, answering an upstream question, the factor proven
        // (and committed) when the question was relayed.
        let expected = match plan.check {
            Check::Relay { .. } => {
                let relay = inputs.seen.relay.as_ref().expect("a relay");
                assert!(relay.proven.is_some(), "accepted without a code proven");
                0
            }
            _ => 1,
        };
        assert_eq!(
            commits.len(),
            expected,
            "an Accept's commits: {:?}",
            verdict.effects
        );
        assert!(
            !matches!(inputs.seen.claim, Some(Claim::Throttled { .. })),
            "accepted while throttled"
        );
        assert!(matches!(verdict.reason, Reason::Accepted { .. }));
        if inputs.request.state.is_none() {
            assert!(
                !matches!(
                    plan.factor,
                    Factor::None | Factor::UsedToken { .. } | Factor::UsedRecovery
                ),
                "accepted on {:?}",
                plan.factor
            );
        } else {
            assert_eq!(
                inputs.seen.challenge_owner.as_deref(),
                Some(inputs.request.user_name),
                "accepted on a State of someone else"
            );
        }
    }
}
