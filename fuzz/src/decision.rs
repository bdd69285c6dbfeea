//! The pure decision core called directly, beside the authenticator: `Tails`, `plan`, `verdict`
//! and `respond`, with invariants that hold for any input and any answer from the store.

use radotp_server::auth::decision::{self, Found, Tails, Verdict};
use radotp_server::store::{Store, UserRecord};

use crate::world::{self, World};

/// Tails, plan, verdict and respond called directly, with invariants that hold for any input.
pub fn check(world: &World, user_name: &str, input: &[u8], found: u8, now: u64) {
    let user: Option<UserRecord> = world.store.find_user(user_name).expect("find_user");
    let found = Found {
        sent: found & 1 != 0,
        recovery: found & 2 != 0,
    };
    let Some(user) = user else {
        let plan = decision::plan(None, input, &Tails::default(), found, world::WINDOW, now);
        assert_eq!(plan.password_len, input.len());
        assert!(matches!(
            decision::verdict(None, &plan, Some(true), now),
            Verdict::Reject(_)
        ));
        return;
    };
    let tails = Tails::of(&user, input, false);
    if let Some((at, code)) = &tails.numeric {
        assert_eq!(
            &input[*at..],
            code.as_bytes(),
            "numeric tail is not the end"
        );
    }
    let plan = decision::plan(Some(&user), input, &tails, found, world::WINDOW, now);
    assert!(plan.password_len <= input.len());
    for verified in [None, Some(false)] {
        let verdict = decision::verdict(Some(&user), &plan, verified, now);
        assert!(
            matches!(verdict, Verdict::Reject(_)),
            "{verdict:?} without a verified password"
        );
    }
    if let Verdict::Accept(factor) = decision::verdict(Some(&user), &plan, Some(true), now) {
        assert_eq!(factor, plan.factor);
        assert!(!user.disabled, "a disabled user is accepted");
    }
    let whole = Tails::of(&user, input, true);
    match decision::respond(&user, &whole, found, world::WINDOW, now) {
        Verdict::Accept(decision::Factor::Sent) => assert!(found.sent),
        Verdict::Accept(decision::Factor::Recovery) => {
            assert!(found.recovery && whole.recovery.is_some())
        }
        Verdict::Accept(decision::Factor::Totp { .. }) => {
            let seed = user.totp.as_ref().expect("TOTP accepted without a seed");
            assert_eq!(input.len(), usize::from(seed.params.digits));
        }
        Verdict::Accept(other) => panic!("respond accepted {other:?}"),
        Verdict::Reject(_) => {}
    }
}
