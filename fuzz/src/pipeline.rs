//! One datagram through the server's own pipeline (`radotp_server::server::Pipeline`), the
//! same function the UDP transport calls — no copy of its stages here. Around it, checks from
//! the outside: the Message-Authenticator code agrees with an independent HMAC-MD5, hiding is
//! the inverse of unhiding, the decision core keeps its invariants for any store answer
//! (`decision`), and `check` judges the reply with the independent checker in `wire`.

use std::net::SocketAddr;
use std::time::Instant;

use radius::core::packet::Packet;
use radius::core::rfc2865;
use radotp_server::auth::Mode;
use radotp_server::protocol::precheck::precheck;
use radotp_server::protocol::{attr, code, message_authenticator, password};
use radotp_server::secret::SecretBytes;
use radotp_server::server::outcome::DropReason;
use radotp_server::server::{Arrival, Step, Transport};

use crate::wire;
use crate::world::{self, Client, World};

/// Where every datagram comes from, and the socket it arrives on.
const PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 40000);
const LOCAL: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 1812);

/// A reply, and what led to it.
#[derive(Debug, Default)]
pub struct Answered {
    pub reply: Vec<u8>,
    /// Sent again from the response cache (RFC 5080 §2.2.2), not processed.
    pub resent: bool,
    /// A code the server would send out of band.
    pub sent: Option<SecretBytes>,
}

#[derive(Debug)]
pub enum Handled {
    Dropped(DropReason),
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
            if a.reply.first() == Some(&code::ACCESS_CHALLENGE) {
                self.challenges.extend(reply_state(&a.reply));
            }
        }
    }
}

/// One datagram through the pipeline, decided at `now`.
pub fn handle(world: &World, client: &Client, datagram: &[u8], now: u64) -> Handled {
    authenticity(client, datagram);
    let arrival = Arrival {
        transport: Transport::Udp { local: LOCAL },
        peer: PEER,
        at: Instant::now(),
    };
    let pipeline = &world.pipeline;
    let reply = match pipeline.receive(datagram, arrival) {
        Step::Dropped(reason) => return Handled::Dropped(reason),
        Step::Send(bytes) => {
            return Handled::Answered(Answered {
                reply: bytes.to_vec(),
                resent: datagram[0] == code::ACCESS_REQUEST,
                sent: None,
            });
        }
        Step::Answer(reply) => reply,
        Step::Account(pending) => {
            return match pipeline.account(*pending, now) {
                Ok(bytes) => Handled::Answered(Answered {
                    reply: bytes.to_vec(),
                    resent: false,
                    sent: None,
                }),
                Err(reason) => Handled::Dropped(reason),
            };
        }
        // The world serves no EAP (no [eap], no client with eap): never taken here; the eap
        // target drives the conversations.
        Step::Converse(pending) => match pipeline.converse(*pending, now) {
            Ok(reply) => reply,
            Err(reason) => return Handled::Dropped(reason),
        },
        Step::Decide(pending) => {
            if let Some(view) = view(datagram, client.secret) {
                crate::decision::check(world, &view, client, now);
            }
            let decided = pipeline.decide(&pending, now);
            match pipeline.answer(*pending, decided) {
                Ok(reply) => reply,
                Err(reason) => return Handled::Dropped(reason),
            }
        }
    };
    Handled::Answered(Answered {
        reply: reply.bytes.to_vec(),
        resent: false,
        sent: reply.code.map(|c| c.code),
    })
}

/// The Message-Authenticator code, from the outside: repeatable, in agreement with an
/// independent HMAC-MD5, and broken by any flipped octet.
fn authenticity(client: &Client, datagram: &[u8]) {
    let Ok(check) = precheck(datagram) else {
        return;
    };
    let Some(offset) = check.message_authenticator else {
        return;
    };
    let packet = &datagram[..check.length];
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
    if verified {
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
}

/// An Access-Request as the judge reads it, independently of the pipeline.
pub struct View {
    pub user: String,
    /// The decrypted User-Password, when there is exactly one that decrypts.
    pub input: Option<SecretBytes>,
    pub state: Option<Vec<u8>>,
}

/// Read an Access-Request's User-Name, User-Password and State (if it is well-formed).
pub fn view(datagram: &[u8], secret: &[u8]) -> Option<View> {
    let check = precheck(datagram).ok()?;
    let packet = &datagram[..check.length];
    let decoded = Packet::decode(packet, b"").ok()?;
    let user = match rfc2865::lookup_all_user_name(&decoded).ok()?.as_slice() {
        [name] => name.clone(),
        _ => return None,
    };
    let state = match rfc2865::lookup_all_state(&decoded).as_slice() {
        [] => None,
        [state] => Some(state.clone()),
        _ => return None,
    };
    let input = match decoded.lookup_all(attr::USER_PASSWORD).as_slice() {
        [one] => {
            let hidden = one.encode_bytes();
            password::decrypt(&hidden, &check.request_authenticator, secret)
                .ok()
                .inspect(|input| {
                    // Hiding again gives the same ciphertext, up to extra padding blocks.
                    let again =
                        password::encrypt(input.expose(), &check.request_authenticator, secret)
                            .expect("a decrypted password re-encrypts");
                    assert_eq!(again[..], hidden[..again.len()], "decrypt/encrypt disagree");
                })
        }
        _ => None,
    };
    Some(View { user, input, state })
}

fn reply_state(reply: &[u8]) -> Option<Vec<u8>> {
    let attrs = wire::attributes(reply)?;
    attrs
        .iter()
        .find(|(_, kind, _)| *kind == attr::STATE)
        .map(|(_, _, value)| value.to_vec())
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
    let request = view(datagram, client.secret).expect("an answered Access-Request reads");
    let user = request.user.as_str();
    let spec = world::spec(user);
    let input = request
        .input
        .as_ref()
        .map(|i| i.expose())
        .unwrap_or_default();
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
            match &request.state {
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
            assert!(
                request.state.is_none(),
                "a challenge answered with a challenge"
            );
            assert!(
                reply_state(&a.reply).is_some_and(|s| s.len() >= 16),
                "a challenge without a State of 16 octets or more"
            );
        }
        code::ACCESS_REJECT => {}
        other => panic!("reply code {other}"),
    }
}
