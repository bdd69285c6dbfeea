use super::*;
use crate::bench::TEST_COST;
use crate::bench::users::{Setup, setup};
use radotp_server::auth::otp::{Algorithm, TotpParams};
use radotp_server::protocol::{HEADER_LEN, attr, message_authenticator, password};
use radotp_server::store::{Keys, SqliteStore};

const SECRET: &[u8] = b"testing123";
const NOW: u64 = 1_700_000_010;

#[test]
fn the_mixed_blend_is_1_status_4_rejects_15_accepts_in_20() {
    for start in [0, 20, 400] {
        let kinds: Vec<Kind> = (start..start + 20)
            .map(|n| Scenario::Mixed.kind(n))
            .collect();
        let count = |k: Kind| kinds.iter().filter(|&&x| x == k).count();
        assert_eq!(
            (
                count(Kind::Status),
                count(Kind::Reject),
                count(Kind::Accept)
            ),
            (1, 4, 15)
        );
    }
    for (scenario, kind) in [
        (Scenario::Status, Kind::Status),
        (Scenario::Reject, Kind::Reject),
        (Scenario::Accept, Kind::Accept),
    ] {
        assert!((0..50).all(|n| scenario.kind(n) == kind));
    }
}

/// Every attribute of a built request.
fn attributes(packet: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = HEADER_LEN;
    while at < packet.len() {
        let len = usize::from(packet[at + 1]);
        out.push((packet[at], packet[at + 2..at + len].to_vec()));
        at += len;
    }
    out
}

fn typed_password(request: &Request) -> String {
    let hidden = attributes(request.bytes())
        .into_iter()
        .find(|(kind, _)| *kind == attr::USER_PASSWORD)
        .expect("User-Password")
        .1;
    let plain = password::decrypt(&hidden, request.request_authenticator(), SECRET).unwrap();
    String::from_utf8(plain.expose().to_vec()).unwrap()
}

fn factory(scenario: Scenario, users: u64) -> (Factory, BenchUsers, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db.bench.json");
    let store = Arc::new(SqliteStore::open_in_memory(Keys::from_master(&[1; 32])).unwrap());
    let ask = Setup {
        count: users,
        prefix: "bench".into(),
        password: Some(SecretBytes::from(b"pw".as_slice())),
        params: TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        },
        cost: TEST_COST,
        now: NOW as i64,
        source: radotp_server::store::PasswordSource::Local,
        tokens: 1,
    };
    setup(store.as_ref(), &file, ask, &mut |_, _| {}).unwrap();
    let bench = BenchUsers::load(&file).unwrap().unwrap();
    let factory = Factory::new(
        scenario,
        SecretBytes::from(SECRET),
        Some((bench.clone(), store, 5)),
    );
    (factory, bench, dir)
}

#[test]
fn status_requests_are_signed_and_carry_the_identifier() {
    let factory = Factory::new(Scenario::Status, SecretBytes::from(SECRET), None);
    let Made::Request(request, kind) = factory.make(0, 42, NOW).unwrap() else {
        panic!("no request")
    };
    assert_eq!(kind, Kind::Status);
    assert_eq!(request.code(), code::STATUS_SERVER);
    assert_eq!(request.identifier(), 42);
    assert!(message_authenticator::verify(
        request.bytes(),
        HEADER_LEN + 2,
        SECRET
    ));
}

#[test]
fn accepts_carry_the_password_and_the_current_code_once_per_user_and_step() {
    let (factory, bench, _dir) = factory(Scenario::Accept, 2);
    let mut names = Vec::new();
    for id in 0..2 {
        let Made::Request(request, Kind::Accept) = factory.make(id, id as u8, NOW).unwrap() else {
            panic!("no accept")
        };
        let attrs = attributes(request.bytes());
        let name = attrs.iter().find(|(k, _)| *k == attr::USER_NAME).unwrap();
        let name = String::from_utf8(name.1.clone()).unwrap();
        let typed = typed_password(&request);
        let (password, code) = typed.split_at(typed.len() - 6);
        assert_eq!(password, "pw");
        let seed = bench.seed(&name);
        assert_eq!(
            otp::matching_step(&seed, bench.params(), code, NOW, 0),
            Some(NOW / 30)
        );
        names.push(name);
    }
    assert_eq!(names, vec!["bench-0000000", "bench-0000001"]);
    // Both users logged in at this step: the third accept must wait for the next one.
    assert!(matches!(
        factory.make(2, 2, NOW).unwrap(),
        Made::NoUser(Pick::NextStep)
    ));
    assert!(matches!(
        factory.make(3, 3, NOW + 30).unwrap(),
        Made::Request(_, Kind::Accept)
    ));
}

#[test]
fn rejects_carry_the_password_and_a_code_valid_at_no_nearby_step() {
    let (factory, bench, _dir) = factory(Scenario::Reject, 3);
    for n in 0..12 {
        let Made::Request(request, Kind::Reject) = factory.make(n, 0, NOW).unwrap() else {
            panic!("no reject")
        };
        let typed = typed_password(&request);
        let (password, code) = typed.split_at(typed.len() - 6);
        assert_eq!(password, "pw");
        let seed = bench.seed(&bench.name(n % 3));
        assert_eq!(
            otp::matching_step(&seed, bench.params(), code, NOW, 2),
            None
        );
    }
    // Three users, five failures lock: four rejects each, then no more.
    assert!(matches!(
        factory.make(12, 0, NOW).unwrap(),
        Made::NoUser(Pick::LockoutLimit)
    ));
}
