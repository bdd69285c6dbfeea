//! `src/server/pipeline.rs` without sockets: the same stages in the same order, through the
//! library's public API, each asserting what must hold on its way. `check` then judges the
//! outcome from the outside, with the independent checker in `wire`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use radius::core::packet::Packet;
use radius::core::rfc2865;
use radotp_server::auth::{AuthRequest, Decision, Mode, Outcome};
use radotp_server::dedup::{Lookup, RequestKey, ResponseCache};
use radotp_server::dictionary::{WireAttribute, to_wire_all};
use radotp_server::protocol::precheck::precheck;
use radotp_server::protocol::{attr, code, message_authenticator, password, reply};
use radotp_server::secret::SecretBytes;

use crate::wire;
use crate::world::{self, World};

/// As `server::pipeline` words it (the module is private).
const CHALLENGE_PROMPT: &str = "Enter your verification code";

/// The NAS the datagram comes from.
pub struct Client {
    pub name: &'static str,
    pub secret: &'static [u8],
    pub require_message_authenticator: bool,
    pub limit_proxy_state: bool,
    pub mode: Mode,
    pub allowed_groups: Option<Vec<String>>,
}

/// Where every datagram comes from.
const PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 1812);

/// A reply, and what led to it.
#[derive(Debug, Default)]
pub struct Answered {
    pub reply: Vec<u8>,
    /// Sent again from the response cache (RFC 5080 §2.2.2), not processed.
    pub resent: bool,
    pub user: Option<String>,
    /// The decrypted User-Password.
    pub input: Option<SecretBytes>,
    /// The State the request carried.
    pub state: Option<Vec<u8>>,
    /// The State an Access-Challenge hands out.
    pub challenge: Option<Vec<u8>>,
    /// A code the server would send out of band.
    pub sent: Option<SecretBytes>,
}

#[derive(Debug)]
pub enum Handled {
    Dropped(&'static str),
    Answered(Answered),
}

/// What earlier requests of the same input were answered with.
#[derive(Default)]
pub struct History {
    pub replies: Vec<Vec<u8>>,
    /// States handed out with Access-Challenge.
    pub challenges: Vec<Vec<u8>>,
}

impl History {
    pub fn add(&mut self, handled: &Handled) {
        if let Handled::Answered(a) = handled {
            self.replies.push(a.reply.clone());
            self.challenges.extend(a.challenge.clone());
        }
    }
}

/// One datagram through every stage.
pub fn handle(
    world: &mut Option<World>,
    cache: &ResponseCache,
    client: &Client,
    datagram: &[u8],
    now: u64,
) -> Handled {
    // 1 + 3. Size, Length, attribute framing, code.
    let Ok(check) = precheck(datagram) else {
        return Handled::Dropped("malformed");
    };
    let packet = &datagram[..check.length];
    // 4. Authenticity.
    match check.message_authenticator {
        Some(offset) => {
            let verified = message_authenticator::verify(packet, offset, client.secret);
            assert_eq!(
                verified,
                message_authenticator::verify(packet, offset, client.secret),
                "verification is not repeatable"
            );
            assert_eq!(
                verified,
                wire::request_ma_verifies(packet, offset, client.secret),
                "verify disagrees with an independent HMAC-MD5"
            );
            if !verified {
                return Handled::Dropped("bad Message-Authenticator");
            }
            // Every octet is covered: one flipped anywhere must fail.
            for at in [
                0,
                usize::from(check.identifier) % packet.len(),
                packet.len() - 1,
            ] {
                let mut flipped = packet.to_vec();
                flipped[at] ^= 0x01;
                assert!(
                    !message_authenticator::verify(&flipped, offset, client.secret),
                    "still verifies with octet {at} flipped"
                );
            }
        }
        None if check.code == code::STATUS_SERVER || client.require_message_authenticator => {
            return Handled::Dropped("missing Message-Authenticator");
        }
        None if check.has_proxy_state && client.limit_proxy_state => {
            return Handled::Dropped("Proxy-State without Message-Authenticator");
        }
        None => {}
    }
    let header = reply::RequestHeader {
        identifier: check.identifier,
        request_authenticator: &check.request_authenticator,
    };
    let answered = |reply: Vec<u8>| Answered {
        reply,
        ..Answered::default()
    };
    // 6. Status-Server → Access-Accept.
    if check.code == code::STATUS_SERVER {
        let proxy_states = if check.has_proxy_state {
            match Packet::decode(packet, b"") {
                Ok(decoded) => rfc2865::lookup_all_proxy_state(&decoded),
                Err(_) => return Handled::Dropped("attribute framing"),
            }
        } else {
            Vec::new()
        };
        return match build(code::ACCESS_ACCEPT, header, &proxy_states, &[], client) {
            Some(bytes) => Handled::Answered(answered(bytes)),
            None => Handled::Dropped("reply too long"),
        };
    }
    // 5. Retransmissions.
    let key = RequestKey {
        peer: PEER,
        identifier: check.identifier,
        request_authenticator: check.request_authenticator,
    };
    let guard = match cache.lookup(key, Instant::now()) {
        Lookup::New(guard) => guard,
        Lookup::Resend(bytes) => {
            return Handled::Answered(Answered {
                resent: true,
                ..answered(bytes.to_vec())
            });
        }
        // One request at a time, each answered or forgotten before the next.
        Lookup::InFlight => panic!("in flight after its handling ended"),
        Lookup::Full => panic!("a cache for 64 is full after four requests"),
    };
    // 7. The Access-Request's attributes.
    let Ok(decoded) = Packet::decode(packet, b"") else {
        return Handled::Dropped("attribute framing");
    };
    let Ok(names) = rfc2865::lookup_all_user_name(&decoded) else {
        return Handled::Dropped("User-Name is not UTF-8");
    };
    let [user_name] = names.as_slice() else {
        return Handled::Dropped("not one User-Name");
    };
    let proxy_states = rfc2865::lookup_all_proxy_state(&decoded);
    let state = match rfc2865::lookup_all_state(&decoded).as_slice() {
        [] => None,
        [state] => Some(state.clone()),
        _ => return Handled::Dropped("more than one State"),
    };
    let hidden = decoded.lookup_all(attr::USER_PASSWORD);
    let decision = match hidden.as_slice() {
        [one] => {
            let hidden = one.encode_bytes();
            let input =
                match password::decrypt(&hidden, &check.request_authenticator, client.secret) {
                    Ok(input) => input,
                    Err(_) => return Handled::Dropped("bad User-Password"),
                };
            // Hiding again gives the same ciphertext, up to extra padding blocks.
            let again =
                password::encrypt(input.expose(), &check.request_authenticator, client.secret)
                    .expect("a decrypted password re-encrypts");
            assert_eq!(again[..], hidden[..again.len()], "decrypt/encrypt disagree");
            let world = world.get_or_insert_with(World::new);
            // What the store "found", for the decision core's direct checks: any combination.
            let found = check.request_authenticator[0] & 3;
            crate::decision::check(world, user_name, input.expose(), found, now);
            let request = AuthRequest {
                user_name,
                input: &input,
                client: client.name,
                mode: client.mode,
                state: state.as_deref(),
                allowed_groups: client.allowed_groups.as_deref(),
                now,
            };
            let decision = world
                .authenticator
                .authenticate(&request)
                .unwrap_or_else(|e| panic!("store error for user {user_name:?}: {e}"));
            (decision, Some(input))
        }
        [] => (Decision::unsupported("no PAP"), None),
        _ => return Handled::Dropped("more than one User-Password"),
    };
    let (mut decision, input) = decision;
    // 10. The reply.
    let wire = to_wire_all(
        &decision.attributes,
        client.secret,
        &check.request_authenticator,
    );
    let accept_attributes: Vec<(u8, &[u8])> = wire.iter().map(WireAttribute::as_pair).collect();
    let challenge_attributes;
    let (reply_code, attributes): (u8, &[(u8, &[u8])]) = match &decision.outcome {
        Outcome::Accept => (code::ACCESS_ACCEPT, &accept_attributes),
        Outcome::Reject => (code::ACCESS_REJECT, &[]),
        Outcome::Challenge { state } => {
            challenge_attributes = [
                (attr::REPLY_MESSAGE, CHALLENGE_PROMPT.as_bytes()),
                (attr::STATE, state.as_slice()),
            ];
            (code::ACCESS_CHALLENGE, &challenge_attributes)
        }
    };
    let Some(bytes) = build(reply_code, header, &proxy_states, attributes, client) else {
        return Handled::Dropped("reply too long");
    };
    guard.answer(Arc::from(bytes.as_slice()), Instant::now());
    Handled::Answered(Answered {
        reply: bytes,
        resent: false,
        user: Some(user_name.clone()),
        input,
        state,
        challenge: match decision.outcome {
            Outcome::Challenge { state } => Some(state),
            _ => None,
        },
        sent: decision.send.take().map(|s| s.code),
    })
}

fn build(
    reply_code: u8,
    header: reply::RequestHeader<'_>,
    proxy_states: &[Vec<u8>],
    attributes: &[(u8, &[u8])],
    client: &Client,
) -> Option<Vec<u8>> {
    let proxy_states: Vec<&[u8]> = proxy_states.iter().map(Vec::as_slice).collect();
    reply::build(reply_code, header, &proxy_states, attributes, client.secret).ok()
}

/// Judge an outcome from the outside: nothing unauthenticated or malformed is answered, every
/// reply verifies like a NAS checks it, and only the right password opens an account.
pub fn check(client: &Client, datagram: &[u8], handled: &Handled, history: &History) {
    let Handled::Answered(a) = handled else {
        return;
    };
    let check = precheck(datagram).expect("answered what the precheck refuses");
    let packet = &datagram[..check.length];
    match check.message_authenticator {
        Some(at) => assert!(
            wire::request_ma_verifies(packet, at, client.secret),
            "answered a bad Message-Authenticator"
        ),
        None => assert!(
            check.code == code::ACCESS_REQUEST && !client.require_message_authenticator,
            "answered without a required Message-Authenticator"
        ),
    }
    let attrs = wire::check_reply(&a.reply, packet, client.secret)
        .unwrap_or_else(|e| panic!("reply does not verify: {e}"));
    Packet::decode(&a.reply, client.secret).expect("the codec reads our reply");
    let reply_code = a.reply[0];
    if a.resent {
        assert!(
            history.replies.contains(&a.reply),
            "resent a reply never sent"
        );
        return;
    }
    if check.code == code::STATUS_SERVER {
        assert_eq!(reply_code, code::ACCESS_ACCEPT);
        return;
    }
    let user = a
        .user
        .as_deref()
        .expect("an answered Access-Request has a user");
    let spec = world::spec(user);
    let input = a.input.as_ref().map(|i| i.expose()).unwrap_or_default();
    match reply_code {
        code::ACCESS_ACCEPT => {
            let spec = spec.unwrap_or_else(|| panic!("unknown user {user:?} accepted"));
            assert!(spec.may_log_in, "{user} may not log in, but is accepted");
            assert!(
                client.allowed_groups.is_none() || spec.name == "alice",
                "{user} accepted through a NAS for group {}",
                world::GROUP
            );
            // Alice's Accept carries her group's and her own attributes; Dave's nothing.
            let kinds: Vec<u8> = attrs.iter().map(|(t, _)| *t).collect();
            let granted = [27, 26, 11].iter().all(|k| kinds.contains(k));
            let nothing = kinds.iter().all(|k| matches!(*k, 80 | 33));
            assert!(
                if spec.name == "alice" {
                    granted
                } else {
                    nothing
                },
                "{user}'s Accept has attributes {kinds:?}"
            );
            match &a.state {
                // A challenge answer: the State must be one this execution handed out.
                Some(state) => assert!(
                    history.challenges.contains(state),
                    "accepted an unknown State"
                ),
                None => assert!(
                    input.starts_with(spec.password) && input.len() > spec.password.len(),
                    "accepted {user} without the password and a code"
                ),
            }
        }
        code::ACCESS_CHALLENGE => {
            assert_eq!(client.mode, Mode::Challenge, "challenge in append mode");
            let spec = spec.unwrap_or_else(|| panic!("unknown user {user:?} challenged"));
            assert_eq!(input, spec.password, "challenged without the bare password");
            assert!(a.state.is_none(), "a challenge answered with a challenge");
            let state = a.challenge.as_ref().expect("challenge State");
            assert!(attrs.iter().any(|(t, v)| *t == attr::STATE && v == state));
        }
        code::ACCESS_REJECT => {}
        other => panic!("reply code {other}"),
    }
}
