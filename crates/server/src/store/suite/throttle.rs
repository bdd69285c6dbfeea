//! The throttle of wrong passwords: counted before judged, the wait growing, forgotten after a
//! quiet day, the user's own stations with gates of their own; racing nodes get no more than
//! the gate allows; and no code is accepted while the account is locked.

use super::*;
use crate::store::{Claim, Gate, LockoutPolicy, SendLimits};

const POLICY: LockoutPolicy = LockoutPolicy {
    max_failures: 3,
    base_secs: 60,
    max_secs: 200,
    trusted_station_days: 1,
};

fn claim(store: &dyn Store, station: &str, now: i64) -> Claim {
    store.claim_guess("tess", station, now, POLICY).unwrap()
}

fn guesses(store: &dyn Store) -> u32 {
    store.find_user("tess").unwrap().unwrap().guesses
}

/// What `user show` reports of the user's gate at `now`.
fn standing(store: &dyn Store, now: i64) -> (u32, Option<i64>) {
    let user = store.find_user("tess").unwrap().unwrap();
    POLICY.standing(user.guesses, user.guessed_at, now)
}

pub(crate) fn wrong_passwords_wait_longer_and_longer(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "tess", &seed(21));
    let user = Claim::Granted(Gate::User);
    for _ in 0..3 {
        assert_eq!(claim(&*store, "id:a", 1_000), user);
    }
    let throttled = |until| Claim::Throttled {
        gate: Gate::User,
        until,
    };
    assert_eq!(standing(&*store, 1_000), (3, Some(1_060)));
    assert_eq!(claim(&*store, "id:a", 1_000), throttled(1_060));
    assert_eq!(
        claim(&*store, "id:b", 1_059),
        throttled(1_060),
        "every station alike"
    );
    assert_eq!(standing(&*store, 1_060), (3, None));
    assert_eq!(claim(&*store, "id:a", 1_060), user);
    assert_eq!(
        claim(&*store, "id:a", 1_061),
        throttled(1_180),
        "twice as long"
    );
    assert_eq!(claim(&*store, "id:a", 1_180), user);
    assert_eq!(
        claim(&*store, "id:a", 1_181),
        throttled(1_380),
        "capped at max_secs"
    );
    assert_eq!(guesses(&*store), 5);
    assert_eq!(standing(&*store, 1_181), (5, Some(1_380)));
    assert_eq!(standing(&*store, 1_180 + 86_400), (0, None), "forgotten");
    // A right password gives its guess back, never below zero.
    store.refund_guess("tess", "id:a", Gate::User).unwrap();
    assert_eq!(guesses(&*store), 4);
    // A quiet day and the count is forgotten.
    assert_eq!(claim(&*store, "id:a", 1_180 + 86_400), user);
    assert_eq!(guesses(&*store), 1);
    for _ in 0..3 {
        store.refund_guess("tess", "id:a", Gate::User).unwrap();
    }
    assert_eq!(guesses(&*store), 0);
    // `user unlock` clears it all.
    for _ in 0..4 {
        claim(&*store, "id:a", 100_000);
    }
    store.unlock("tess").unwrap();
    assert_eq!(guesses(&*store), 0);
    assert_eq!(claim(&*store, "id:a", 100_000), user);
}

pub(crate) fn a_station_the_user_logged_in_from_has_its_own_gate(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "tess", &seed(22));
    // Someone fills the user's gate from elsewhere.
    for _ in 0..3 {
        claim(&*store, "id:evil", 1_000);
    }
    assert!(matches!(
        claim(&*store, "id:home", 1_000),
        Claim::Throttled { .. }
    ));
    // A login from home (admitted by the user's gate, say after the wait) trusts home and
    // starts that gate again.
    store
        .trust_station("tess", "id:home", Gate::User, 1_100, POLICY)
        .unwrap();
    assert_eq!(guesses(&*store), 0);
    for _ in 0..3 {
        claim(&*store, "id:evil", 1_200);
    }
    assert!(matches!(
        claim(&*store, "id:evil", 1_200),
        Claim::Throttled {
            gate: Gate::User,
            ..
        }
    ));
    // Home still gets its passwords judged, on its own count.
    let station = Claim::Granted(Gate::Station);
    for _ in 0..3 {
        assert_eq!(claim(&*store, "id:home", 1_200), station);
    }
    assert_eq!(
        claim(&*store, "id:home", 1_200),
        Claim::Throttled {
            gate: Gate::Station,
            until: 1_260
        }
    );
    store
        .refund_guess("tess", "id:home", Gate::Station)
        .unwrap();
    assert_eq!(claim(&*store, "id:home", 1_200), station);
    // A login from a trusted station resets its own gate, not the user's.
    store
        .trust_station("tess", "id:home", Gate::Station, 1_300, POLICY)
        .unwrap();
    assert_eq!(claim(&*store, "id:home", 1_300), station);
    assert_eq!(guesses(&*store), 3, "the user's gate is left as it was");
    // Trust runs out after trusted_station_days.
    assert_eq!(
        claim(&*store, "id:home", 1_300 + 86_400),
        Claim::Granted(Gate::User)
    );
    // A login forgets the stations whose trust ran out, and keeps the one it trusts.
    store
        .trust_station("tess", "id:work", Gate::User, 1_301 + 86_400, POLICY)
        .unwrap();
    assert_eq!(
        backend.count_rows("stations"),
        1,
        "home forgotten, work kept"
    );
    assert_eq!(
        claim(&*store, "id:work", 1_302 + 86_400),
        Claim::Granted(Gate::Station)
    );
    // With trusted_station_days = 0 no station is trusted, and none is kept.
    let untrusting = LockoutPolicy {
        trusted_station_days: 0,
        ..POLICY
    };
    store
        .trust_station("tess", "id:home", Gate::Station, 200_000, untrusting)
        .unwrap();
    assert_eq!(backend.count_rows("stations"), 0);
    assert_eq!(
        store
            .claim_guess("tess", "id:home", 200_000, untrusting)
            .unwrap(),
        Claim::Granted(Gate::User)
    );
}

pub(crate) fn racing_nodes_get_no_more_guesses_than_the_gate_allows(backend: &dyn Backend) {
    let nodes = nodes(backend);
    add(&*nodes[0], "tess", &seed(23));
    for (round, now) in [1_000, 1_000 + 86_400, 1_000 + 2 * 86_400]
        .into_iter()
        .enumerate()
    {
        let granted = race(&nodes, |store, _| {
            (0..4)
                .filter(|_| matches!(claim(store, "id:x", now), Claim::Granted(_)))
                .count()
        });
        let total: usize = granted.iter().sum();
        assert_eq!(total, 3, "round {round}: {granted:?}");
    }
}

pub(crate) fn no_code_is_accepted_while_the_account_is_locked(backend: &dyn Backend) {
    let store = open(backend);
    add(&*store, "tess", &seed(24));
    let recovery = code("abcdefghjk");
    store
        .replace_recovery_codes("tess", std::slice::from_ref(&recovery))
        .unwrap();
    let limits = SendLimits {
        ttl: 300,
        cooldown: 0,
        per_hour: 5,
    };
    let sent = code("424242");
    assert_eq!(
        store.issue_code("tess", &sent, 990, limits).unwrap(),
        crate::store::IssueOutcome::Issued
    );
    let lock = LockoutPolicy {
        max_failures: 1,
        ..POLICY
    };
    assert_eq!(
        store.record_failure("tess", 1_000, lock).unwrap(),
        Some(1_060)
    );
    assert!(!store.consume_token("tess", 1, 7, 0, 1_030).unwrap());
    assert_eq!(
        store
            .consume_recovery_code("tess", &recovery, 1_030)
            .unwrap(),
        None
    );
    assert!(!store.consume_sent_code("tess", &sent, 1_030).unwrap());
    // The lock over, each works once again.
    assert!(store.consume_token("tess", 1, 7, 0, 1_060).unwrap());
    assert_eq!(
        store
            .consume_recovery_code("tess", &recovery, 1_061)
            .unwrap(),
        Some(0)
    );
    assert!(store.consume_sent_code("tess", &sent, 1_062).unwrap());
}
