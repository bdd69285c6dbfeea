//! The pure decision core called directly, beside the pipeline: `tails`, `plan` and `verdict`
//! for every answer the store could give about the candidate codes, and every result of the
//! password check, with invariants that hold for any input.

use radotp_server::auth::decision::{self, Check, Effect, Inputs, Outcome, Request, Seen};
use radotp_server::auth::tails::Factor;
use radotp_server::auth::{Checked, Reason};
use radotp_server::store::{Claim, Gate, RecoveryCodeState, Store, UserRecord};

use crate::pipeline::View;
use crate::world::{Client, World};

/// Every combination of what the store could say, judged with every check result.
pub fn check(world: &World, view: &View, client: &Client, now: u64) {
    let Some(input) = &view.input else {
        return;
    };
    let user: Option<UserRecord> = world.store.find_user(&view.user).expect("find_user");
    let request = Request {
        user_name: &view.user,
        input,
        client: client.name,
        mode: client.mode,
        state: view.state.as_deref(),
        allowed_groups: client.allowed_groups.as_deref(),
        station: "nas:nas",
    };
    let tails = decision::tails(&request, user.as_ref());
    if let Some((at, code)) = &tails.numeric {
        assert_eq!(
            &input.expose()[*at..],
            code.as_bytes(),
            "numeric tail is not the end"
        );
    }
    for sent in [false, true] {
        for recovery in [
            RecoveryCodeState::NotFound,
            RecoveryCodeState::Unused,
            RecoveryCodeState::Used,
        ] {
            for (owner, claim) in [
                (None, None),
                (Some(view.user.clone()), Some(Claim::Granted(Gate::User))),
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
                let seen = Seen {
                    sent,
                    recovery,
                    challenge_owner: owner,
                    claim,
                };
                let inputs = Inputs {
                    request: &request,
                    user: user.as_ref(),
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

fn judge(inputs: &Inputs<'_>, input_len: usize) {
    let plan = decision::plan(inputs);
    match plan.check {
        Check::User { len } | Check::Dummy { len } => assert!(len <= input_len),
        Check::None => assert!(
            inputs.request.state.is_some(),
            "no check for a request with a password"
        ),
    }
    if inputs.user.is_none() && inputs.request.state.is_none() {
        assert!(
            matches!(plan.check, Check::Dummy { .. }),
            "unknown user: {plan:?}"
        );
    }
    let results: &[Option<Checked>] = match plan.check {
        Check::None => &[None],
        _ => &[
            Some(Checked::Wrong),
            Some(Checked::Unusable),
            Some(Checked::Right),
        ],
    };
    for &checked in results {
        let verdict = decision::verdict(inputs, &plan, checked);
        let counted = verdict.effects.contains(&Effect::RecordFailure);
        assert_eq!(
            counted,
            verdict.reason.locks_account(),
            "{:?} with effects {:?}",
            verdict.reason,
            verdict.effects
        );
        if verdict.outcome != Outcome::Accept {
            assert!(
                verdict.attributes.is_empty(),
                "attributes on a {:?}",
                verdict.outcome
            );
            continue;
        }
        // An Accept: a right password (or a challenge answer), a live code, a usable account.
        let user = inputs.user.expect("an Accept without a user");
        assert!(!user.disabled, "a disabled user is accepted");
        assert!(
            matches!(checked, Some(Checked::Right) | None),
            "accepted with {checked:?}"
        );
        assert!(
            matches!(plan.check, Check::User { .. } | Check::None),
            "accepted after a dummy check"
        );
        let commits: Vec<&Effect> = verdict
            .effects
            .iter()
            .filter(|e| matches!(e, Effect::Consume(_)))
            .collect();
        assert_eq!(
            commits.len(),
            1,
            "an Accept commits one factor: {:?}",
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
                    Factor::None | Factor::UsedTotp { .. } | Factor::UsedRecovery
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
