//! The server the packet path runs through: the library's own `Pipeline`, over a fresh
//! in-memory SQLite store per execution (so a run replays identically: no lock, used step or
//! sent code leaks from one input into the next), with users whose password hashes are
//! computed once at a tiny argon2 cost, and one NAS whose settings the input chooses.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use radotp_server::auth::otp::{Algorithm, TotpParams};
use radotp_server::auth::password::PasswordCost;
use radotp_server::auth::password::{self, DummyHash};
use radotp_server::auth::{Authenticator, LocalHashes, Mode, Policy, codes};
use radotp_server::authz::{self, Authorization};
use radotp_server::clients::{self, ClientTable};
use radotp_server::dictionary::{AttributeValue, Dictionary};
use radotp_server::secret::SecretBytes;
use radotp_server::server::pipeline::{Parts, Pipeline, Snapshot};
use radotp_server::store::{
    Channel, Delivery, Keys, LockoutPolicy, NewToken, NewUser, SendLimits, SqliteStore, Store,
    TokenSecret, TotpSeed,
};

/// Alice's HOTP fob's secret.
pub const HOTP_SECRET: &[u8] = b"fuzzing hotp secret!";
/// Alice's YubiKey: public id, private id, AES key (the test vectors of `tokens::yubico`).
pub const YUBIKEY: (&str, [u8; 6], [u8; 16]) = (
    "vvccccrbjnkt",
    [0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
);

/// Per-execution cost stays in microseconds.
pub const COST: PasswordCost = PasswordCost {
    memory_kib: 8,
    iterations: 1,
    parallelism: 1,
};

/// The clock of every decision: a fixed instant, moved by whole steps by the input.
pub const NOW: u64 = 1_750_000_000;

pub const WINDOW: u8 = 1;

/// Who exists, and what the harness knows about them.
pub struct UserSpec {
    pub name: &'static str,
    pub password: &'static [u8],
    pub seed: &'static [u8],
    pub params: TotpParams,
    /// Can this user ever be accepted? (Disabled and expired accounts cannot.)
    pub may_log_in: bool,
}

pub const SHA1_6: TotpParams = TotpParams {
    algorithm: Algorithm::Sha1,
    digits: 6,
    period: 30,
};

pub const USERS: [UserSpec; 4] = [
    UserSpec {
        name: "alice",
        password: b"alice-pw",
        seed: b"12345678901234567890",
        params: SHA1_6,
        may_log_in: true,
    },
    UserSpec {
        name: "bob",
        password: b"bob-pw",
        seed: b"bob-seed-0123456789!",
        params: SHA1_6,
        may_log_in: false, // disabled
    },
    UserSpec {
        name: "carol",
        password: b"carol-pw",
        seed: b"carol-seed-012345678",
        params: SHA1_6,
        may_log_in: false, // temporary password, expired
    },
    UserSpec {
        name: "dave",
        password: b"dave-pw99",
        seed: b"dave-seed-0123456789",
        params: TotpParams {
            algorithm: Algorithm::Sha256,
            digits: 8,
            period: 60,
        },
        may_log_in: true, // also has an SMS number: codes are sent
    },
];

/// Alice's recovery codes, as typed.
pub const RECOVERY_CODES: [&str; 3] = ["abcde-fghjk", "mnpqr-stuvw", "xyz23-45678"];

pub fn spec(name: &str) -> Option<&'static UserSpec> {
    USERS.iter().find(|u| u.name == name)
}

pub fn seed(user: &UserSpec) -> TotpSeed {
    TotpSeed {
        secret: SecretBytes::from(user.seed),
        params: user.params,
    }
}

/// The TOTP code of `user` at `now`.
pub fn code_at(user: &UserSpec, now: u64) -> String {
    radotp_server::auth::otp::code_at(&SecretBytes::from(user.seed), user.params, now)
}

/// The group Alice is in; Dave's group is not configured and grants nothing.
pub const GROUP: &str = "vpn";

struct Hashes {
    users: Vec<String>,
    dummy: DummyHash,
    authorization: Arc<Authorization>,
}

fn hashes() -> &'static Hashes {
    static HASHES: OnceLock<Hashes> = OnceLock::new();
    HASHES.get_or_init(|| Hashes {
        users: USERS
            .iter()
            .map(|u| password::hash(COST, u.password).expect("hash"))
            .collect(),
        dummy: DummyHash::new(COST).expect("dummy hash"),
        authorization: Arc::new(authorization()),
    })
}

/// `[[group]] name = "vpn"` with Session-Timeout and a Cisco-AVPair (a Vendor-Specific).
fn authorization() -> Authorization {
    let dictionary = Dictionary::builtin();
    let mut attributes = authz::encode(
        &dictionary,
        "Session-Timeout",
        &[AttributeValue::from(3600)],
    )
    .expect("Session-Timeout");
    attributes.extend(
        authz::encode(
            &dictionary,
            "Cisco-AVPair",
            &[AttributeValue::from("shell:priv-lvl=15")],
        )
        .expect("Cisco-AVPair"),
    );
    let groups = HashMap::from([(GROUP.to_owned(), attributes)]);
    Authorization::new(dictionary, groups)
}

pub const SEND_LIMITS: SendLimits = SendLimits {
    ttl: 300,
    cooldown: 0,
    per_hour: 5,
};

/// The NAS the datagrams come from, as the input configures it.
pub struct Client {
    pub name: &'static str,
    pub secret: &'static [u8],
    pub require_message_authenticator: bool,
    pub limit_proxy_state: bool,
    pub mode: Mode,
    pub allowed_groups: Option<Vec<String>>,
}

impl Client {
    fn config(&self) -> clients::Client {
        clients::Client {
            name: self.name.to_owned(),
            network: "127.0.0.0/8".parse().expect("a prefix"),
            secret: SecretBytes::from(self.secret),
            require_message_authenticator: self.require_message_authenticator,
            mode: self.mode,
            rate_limit: None,
            limit_proxy_state: self.limit_proxy_state,
            allowed_groups: self.allowed_groups.clone(),
            unenrolled: radotp_server::auth::Unenrolled::Reject,
            transport: clients::ClientTransport::Udp,
            eap: false,
        }
    }
}

/// A fresh store holding `USERS`, and the server's pipeline over it.
pub struct World {
    pub store: Arc<SqliteStore>,
    pub pipeline: Pipeline,
    pub policy: Policy,
}

impl World {
    pub fn new(client: &Client) -> World {
        let hashes = hashes();
        let store = SqliteStore::open_in_memory(Keys::from_master(b"fuzzing master key"))
            .expect("in-memory store");
        let seeds: Vec<NewToken> = USERS.iter().map(|u| NewToken::app(seed(u))).collect();
        let new: Vec<NewUser<'_>> = USERS
            .iter()
            .zip(&hashes.users)
            .zip(&seeds)
            .map(|((u, hash), totp)| NewUser {
                name: u.name,
                password_hash: hash,
                password_source: radotp_server::store::PasswordSource::Local,
                token: Some(totp),
                now: NOW as i64 - 86_400,
            })
            .collect();
        store.add_users(&new).expect("add users");
        // Alice also has an 8-digit HOTP fob and a YubiKey (`HOTP_SECRET`, `YUBIKEY`), so the
        // fuzzer meets several tokens, each kind's tail and replay state.
        let fob = NewToken {
            label: "fob".into(),
            serial: None,
            secret: TokenSecret::Hotp {
                secret: SecretBytes::from(HOTP_SECRET),
                digits: 8,
            },
            last_used: Some(1),
        };
        let yubikey = NewToken {
            label: "yubikey".into(),
            serial: None,
            secret: TokenSecret::Yubico {
                public_id: YUBIKEY.0.into(),
                private_id: SecretBytes::from(&YUBIKEY.1[..]),
                aes_key: SecretBytes::from(&YUBIKEY.2[..]),
            },
            last_used: Some(256),
        };
        store
            .add_tokens(&[("alice", fob), ("alice", yubikey)], NOW as i64 - 86_400)
            .expect("alice's fob and YubiKey");
        store.set_disabled("bob", true).expect("disable bob");
        store
            .set_password("carol", &hashes.users[2], Some(NOW as i64 - 10))
            .expect("expire carol");
        let recovery: Vec<SecretBytes> = RECOVERY_CODES
            .iter()
            .map(|c| codes::normalize_recovery_code(c.as_bytes()).expect("recovery code"))
            .collect();
        store
            .replace_recovery_codes("alice", &recovery)
            .expect("recovery codes");
        let sms = Delivery {
            channel: Channel::Sms,
            destination: "+15550100".into(),
        };
        store.set_delivery("dave", Some(&sms)).expect("delivery");
        store
            .set_groups("alice", &[GROUP.to_owned()])
            .expect("alice's group");
        store
            .set_reply("alice", &["Filter-Id=alice".to_owned()])
            .expect("alice's reply attributes");
        store
            .set_groups("dave", &["staff".to_owned()])
            .expect("dave's group");
        let store = Arc::new(store);
        let policy = Policy {
            window: WINDOW,
            hotp_window: 10,
            send_limits: Some(SEND_LIMITS),
            lockout: LockoutPolicy {
                max_failures: 3,
                base_secs: 60,
                max_secs: 600,
                trusted_station_days: 90,
            },
            authorization: Arc::clone(&hashes.authorization),
        };
        let authenticator = Authenticator::new(
            Arc::clone(&store) as Arc<dyn Store>,
            Arc::new(LocalHashes::new(hashes.dummy.clone())),
            policy.clone(),
        );
        let snapshot = Snapshot {
            clients: ClientTable::new(&[client.config()]),
            max_sessions: None,
            policy: Arc::clone(authenticator.policy()),
            delivery: None,
            reject_delay: std::time::Duration::ZERO,
            max_queue_wait: std::time::Duration::from_secs(3600),
            eap: None,
        };
        let pipeline = Pipeline::new(Parts {
            authenticator,
            snapshot,
        });
        World {
            store,
            pipeline,
            policy,
        }
    }
}
