//! Races: two nodes (two handles on one database), several threads each, all released at
//! once on the same security state. Exactly one may win each time; every failure counts.

use std::sync::Barrier;

use super::*;
use crate::store::{IssueOutcome, LockoutPolicy, SendLimits};

const NODES: usize = 2;
const THREADS_PER_NODE: usize = 4;
const ROUNDS: u64 = 10;

/// Run `attempt(store, thread)` on every thread of every node at once; the results.
pub(super) fn race<T: Send>(
    nodes: &[Box<dyn Store>],
    attempt: impl Fn(&dyn Store, usize) -> T + Sync,
) -> Vec<T> {
    let barrier = Barrier::new(nodes.len() * THREADS_PER_NODE);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..nodes.len() * THREADS_PER_NODE)
            .map(|thread| {
                let store = &*nodes[thread % nodes.len()];
                let (barrier, attempt) = (&barrier, &attempt);
                scope.spawn(move || {
                    barrier.wait();
                    attempt(store, thread)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

pub(super) fn nodes(backend: &dyn Backend) -> Vec<Box<dyn Store>> {
    (0..NODES).map(|_| open(backend)).collect()
}

pub(crate) fn racing_nodes_use_a_step_once(backend: &dyn Backend) {
    let nodes = nodes(backend);
    add(&*nodes[0], "ivan", &seed(1));
    for step in 1..=ROUNDS {
        let wins = race(&nodes, |store, _| {
            store.consume_token("ivan", 1, step, 0, 1_000).unwrap()
        });
        assert_eq!(
            wins.iter().filter(|&&w| w).count(),
            1,
            "step {step}: {wins:?}"
        );
    }
    assert_eq!(
        nodes[1].find_user("ivan").unwrap().unwrap().tokens[0].last_used,
        Some(ROUNDS)
    );
}

pub(crate) fn racing_nodes_take_a_challenge_once(backend: &dyn Backend) {
    let nodes = nodes(backend);
    add(&*nodes[0], "judy", &seed(2));
    for round in 0..ROUNDS {
        let state = format!("state-{round}");
        nodes[(round % 2) as usize]
            .create_challenge(state.as_bytes(), "judy", "vpn", &[], None, 2_000, 1_000)
            .unwrap();
        let takers = race(&nodes, |store, _| {
            store
                .take_challenge(state.as_bytes(), "vpn", 1_001)
                .unwrap()
                .map(|c| c.owner)
        });
        let taken: Vec<_> = takers.iter().flatten().collect();
        assert_eq!(taken, ["judy"], "round {round}: {takers:?}");
    }
}

pub(crate) fn failures_from_racing_nodes_all_count(backend: &dyn Backend) {
    let nodes = nodes(backend);
    add(&*nodes[0], "kim", &seed(3));
    let no_lock = LockoutPolicy {
        max_failures: 1_000,
        base_secs: 60,
        max_secs: 3_600,
        trusted_station_days: 90,
    };
    race(&nodes, |store, _| {
        for _ in 0..5 {
            store.record_failure("kim", 1_000, no_lock).unwrap();
        }
    });
    let total = (NODES * THREADS_PER_NODE * 5) as u32;
    assert_eq!(nodes[1].find_user("kim").unwrap().unwrap().failures, total);
    // With locking: every fifth failure locks, and the locks agree with the count.
    nodes[0].unlock("kim").unwrap();
    let policy = LockoutPolicy {
        max_failures: 5,
        base_secs: 60,
        max_secs: 1 << 40,
        trusted_station_days: 90,
    };
    race(&nodes, |store, _| {
        for _ in 0..5 {
            store.record_failure("kim", 1_000, policy).unwrap();
        }
    });
    let kim = nodes[0].find_user("kim").unwrap().unwrap();
    let locks = total / 5;
    assert_eq!((kim.failures, kim.locks), (total, locks));
    assert_eq!(kim.locked_until, Some(1_000 + 60 * (1 << (locks - 1))));
}

pub(crate) fn racing_nodes_send_one_code(backend: &dyn Backend) {
    let nodes = nodes(backend);
    add(&*nodes[0], "lena", &seed(4));
    let limits = SendLimits {
        ttl: 300,
        cooldown: 60,
        per_hour: 100,
    };
    for round in 0..ROUNDS as i64 {
        let now = 10_000 + round * 61;
        let outcomes = race(&nodes, |store, thread| {
            let code = code(&format!("{round}-{thread}"));
            store.issue_code("lena", &code, now, limits).unwrap()
        });
        let issued = outcomes
            .iter()
            .filter(|&&o| o == IssueOutcome::Issued)
            .count();
        assert_eq!(issued, 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|&o| matches!(o, IssueOutcome::Issued | IssueOutcome::Cooldown)),
            "{outcomes:?}"
        );
    }
}

pub(crate) fn racing_nodes_use_a_recovery_code_once(backend: &dyn Backend) {
    let nodes = nodes(backend);
    add(&*nodes[0], "mia", &seed(5));
    let codes: Vec<SecretBytes> = (0..ROUNDS).map(|i| code(&format!("rc-{i}"))).collect();
    nodes[1].replace_recovery_codes("mia", &codes).unwrap();
    for (round, recovery) in codes.iter().enumerate() {
        let uses = race(&nodes, |store, _| {
            store.consume_recovery_code("mia", recovery, 1_000).unwrap()
        });
        let left = ROUNDS as u32 - 1 - round as u32;
        let wins: Vec<_> = uses.iter().flatten().collect();
        assert_eq!(wins, [&left], "round {round}: {uses:?}");
    }
}

pub(crate) fn racing_nodes_use_a_sent_code_once(backend: &dyn Backend) {
    let nodes = nodes(backend);
    add(&*nodes[0], "noor", &seed(6));
    let limits = SendLimits {
        ttl: 300,
        cooldown: 0,
        per_hour: 100,
    };
    for round in 0..ROUNDS as i64 {
        let now = 20_000 + round * 10;
        let sent = code(&format!("sent-{round}"));
        assert_eq!(
            nodes[0].issue_code("noor", &sent, now, limits).unwrap(),
            IssueOutcome::Issued
        );
        let uses = race(&nodes, |store, _| {
            store.consume_sent_code("noor", &sent, now + 1).unwrap()
        });
        assert_eq!(
            uses.iter().filter(|&&u| u).count(),
            1,
            "round {round}: {uses:?}"
        );
    }
}
