//! Passwords checked by an existing RADIUS server (`[upstream]`): Microsoft NPS in front of
//! Active Directory, an older FreeRADIUS, a vendor appliance. radotp keeps the code; the
//! upstream server sees one PAP Access-Request per login with the user's name and the password
//! part only.
//!
//! Each request goes to the servers in the configured order: `1 + retries` sends of the same
//! packet to one server (RFC 5080 §2.2.1: a retransmission is the identical packet), each
//! waiting `timeout_ms`, then the next server with a fresh packet. A server that did not answer
//! is passed over for a while ([`crate::failover`]). A reply counts only if its Identifier,
//! Response Authenticator (RFC 2865 §3) and Message-Authenticator (RFC 3579 §3.2; required
//! with `require_message_authenticator`) are right: anything else is treated as no reply.
//! Blocking: the password workers call it on their own threads.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::dictionary::{Dictionary, EncodedAttribute};
use crate::failover::{Latency, Servers};
use crate::protocol::{
    HEADER_LEN, MAX_PACKET_LEN, attr, code, message_authenticator, password, reply,
};
use crate::secret::{SecretBytes, random_bytes};

/// Bounds of `timeout_ms` and `retries`.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(100);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_RETRIES: u8 = 5;
/// More servers than this is a configuration mistake (and a login could wait minutes).
pub const MAX_SERVERS: usize = 8;

/// RFC 2865 §4.1: an Access-Request names its NAS; upstream policies can match on it.
pub const NAS_IDENTIFIER: &str = "radotp";
const NAS_IDENTIFIER_ATTR: u8 = 32;
const CHAP_CHALLENGE: u8 = 60;

/// `[upstream]`, checked.
#[derive(Clone)]
pub struct Settings {
    /// Tried in order.
    pub servers: Vec<SocketAddr>,
    /// The shared secret radotp and the upstream servers use.
    pub secret: SecretBytes,
    /// How long one send waits for the reply.
    pub timeout: Duration,
    /// Sends after the first to one server before the next is tried.
    pub retries: u8,
    /// A reply without Message-Authenticator counts as no reply.
    pub require_message_authenticator: bool,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("servers", &self.servers)
            .field("secret", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field(
                "require_message_authenticator",
                &self.require_message_authenticator,
            )
            .finish()
    }
}

/// What the upstream answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Access-Accept, with the reply attributes that may be passed to the NAS.
    Accept { attributes: Vec<EncodedAttribute> },
    /// Access-Reject, with its Reply-Message (for the log).
    Reject { message: Option<String> },
    /// Access-Challenge: its own question, to relay to the NAS. `server` must get the answer,
    /// with `state`.
    Challenge {
        server: u8,
        state: Vec<u8>,
        /// Its Reply-Message attributes: the prompt.
        prompt: Vec<EncodedAttribute>,
    },
}

/// No server gave a valid answer in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UpstreamError(pub String);

/// The upstream servers, as the password source sees them.
pub struct Upstream {
    settings: Settings,
    /// Decodes the replies' attributes (hidden ones are hidden again for the NAS).
    dictionary: Dictionary,
    health: Servers,
    /// How long an exchange takes lately: what a dummy check waits.
    exchanges: Latency,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A request on the wire, kept for its retransmissions and to check the reply.
struct Sent {
    packet: Vec<u8>,
    identifier: u8,
    authenticator: [u8; 16],
}

/// Why a datagram is not the reply: treated as none.
#[derive(Debug)]
struct Invalid(&'static str);

impl Upstream {
    pub fn new(settings: Settings, dictionary: Dictionary) -> Upstream {
        let health = Servers::new(
            "upstream RADIUS",
            settings.servers.iter().map(SocketAddr::to_string),
        );
        Upstream {
            settings,
            dictionary,
            health,
            exchanges: Latency::default(),
        }
    }

    /// Check `password` for `name`: one Access-Request, to the first server that answers. With
    /// `resume` — the server that asked and its State — the answer to an upstream challenge
    /// goes back to that server only (its State means nothing to the others).
    pub fn check(
        &self,
        name: &str,
        password: &[u8],
        resume: Option<(u8, &[u8])>,
    ) -> Result<Reply, UpstreamError> {
        if password.is_empty() {
            // Never sent: some servers take an empty password as an unauthenticated bind.
            return Ok(Reply::Reject {
                message: Some("empty password, not sent upstream".into()),
            });
        }
        let order = match resume {
            Some((server, _)) if usize::from(server) < self.settings.servers.len() => {
                vec![usize::from(server)]
            }
            Some(_) => {
                return Err(UpstreamError(
                    "the challenge came from an upstream server no longer configured".into(),
                ));
            }
            None => self.health.order(),
        };
        let state = resume.map(|(_, state)| state);
        let mut last = String::new();
        for i in order {
            let started = Instant::now();
            match self.exchange(i, name, password, state) {
                Ok(reply) => {
                    self.exchanges.record(started.elapsed());
                    self.health.answers(i);
                    return Ok(reply);
                }
                Err(why) => {
                    last = why;
                    self.health.fails(i, &last);
                }
            }
        }
        if resume.is_some() {
            // Only that server could take the answer; the others may be fine.
            return Err(UpstreamError(format!(
                "the upstream server that asked the question does not answer ({last})"
            )));
        }
        Err(UpstreamError(self.health.exhausted(&last)))
    }

    /// What `check` costs, for a user who will not be checked (unknown to radotp, locked,
    /// throttled): no request — the upstream learns nothing and counts no failure — but a wait
    /// as long as exchanges take lately; and dropped like `check` while no server answers, so
    /// that an outage looks the same for every name.
    pub fn dummy(&self, password: &[u8]) -> Result<(), UpstreamError> {
        if self.health.in_outage() {
            return Err(UpstreamError(
                "no upstream RADIUS server answers (outage)".into(),
            ));
        }
        if !password.is_empty() {
            self.exchanges.wait();
        }
        Ok(())
    }

    /// A Status-Server (RFC 5997) to each server: what `check-config` reports. A server that
    /// does not answer it may still answer logins (NPS ignores Status-Server).
    pub fn probe(&self) -> Vec<(SocketAddr, Result<Duration, String>)> {
        (0..self.settings.servers.len())
            .map(|i| {
                let started = Instant::now();
                let sent = self.status_server();
                let result = self
                    .send_and_wait(i, &sent)
                    .and_then(|reply| match reply[0] {
                        code::ACCESS_ACCEPT => Ok(started.elapsed()),
                        other => Err(format!("answered {}", code::name(other))),
                    });
                (self.settings.servers[i], result)
            })
            .collect()
    }

    /// One request to server `i`, with its retransmissions.
    fn exchange(
        &self,
        i: usize,
        name: &str,
        password: &[u8],
        state: Option<&[u8]>,
    ) -> Result<Reply, String> {
        let sent = self.access_request(name, password, state)?;
        let reply = self.send_and_wait(i, &sent)?;
        Ok(self.read(i, &reply, &sent))
    }

    /// Send `sent` to server `i` and wait for a valid reply: `1 + retries` sends, `timeout`
    /// each. The reply is returned verified (its length, Identifier and authenticators).
    fn send_and_wait(&self, i: usize, sent: &Sent) -> Result<Vec<u8>, String> {
        let server = self.settings.servers[i];
        let local: SocketAddr = match server {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let socket = UdpSocket::bind(local).map_err(|e| format!("cannot open a socket: {e}"))?;
        socket
            .connect(server)
            .map_err(|e| format!("cannot reach {server}: {e}"))?;
        let mut buf = vec![0u8; MAX_PACKET_LEN];
        let mut last = "no answer within timeout_ms".to_string();
        for _ in 0..=self.settings.retries {
            if let Err(e) = socket.send(&sent.packet) {
                last = format!("cannot send: {e}");
                std::thread::sleep(self.settings.timeout);
                continue;
            }
            let deadline = Instant::now() + self.settings.timeout;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                socket
                    .set_read_timeout(Some(left))
                    .map_err(|e| format!("cannot wait on the socket: {e}"))?;
                let len = match socket.recv(&mut buf) {
                    Ok(len) => len,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        break;
                    }
                    // ICMP port unreachable: nothing listens there; the next server, at once.
                    Err(e) => return Err(format!("{e} (is the server running?)")),
                };
                match self.verify(&buf[..len], sent) {
                    Ok(length) => return Ok(buf[..length].to_vec()),
                    Err(Invalid(why)) => {
                        tracing::warn!(server = %server, problem = why, "upstream reply ignored: it fails verification");
                        last = format!("its reply fails verification: {why}");
                    }
                }
            }
        }
        Err(last)
    }

    fn access_request(
        &self,
        name: &str,
        password: &[u8],
        state: Option<&[u8]>,
    ) -> Result<Sent, String> {
        let authenticator = random_bytes::<16>();
        let secret = self.settings.secret.expose();
        let hidden = password::encrypt(password, &authenticator, secret)
            .map_err(|e| format!("the password cannot be sent: {e}"))?;
        let mut attributes: Vec<(u8, &[u8])> = vec![
            (attr::USER_NAME, name.as_bytes()),
            (attr::USER_PASSWORD, &hidden),
            (NAS_IDENTIFIER_ATTR, NAS_IDENTIFIER.as_bytes()),
        ];
        if let Some(state) = state.filter(|s| !s.is_empty()) {
            attributes.push((attr::STATE, state));
        }
        self.request(code::ACCESS_REQUEST, authenticator, &attributes)
    }

    fn status_server(&self) -> Sent {
        let attributes = [(NAS_IDENTIFIER_ATTR, NAS_IDENTIFIER.as_bytes())];
        self.request(code::STATUS_SERVER, random_bytes::<16>(), &attributes)
            .expect("a Status-Server always fits")
    }

    /// A request with Message-Authenticator first (the BlastRADIUS advice), signed.
    fn request(
        &self,
        kind: u8,
        authenticator: [u8; 16],
        attributes: &[(u8, &[u8])],
    ) -> Result<Sent, String> {
        let identifier = random_bytes::<1>()[0];
        let secret = self.settings.secret.expose();
        let packet = reply::signed(kind, identifier, &authenticator, attributes, secret)
            .map_err(|e| format!("the request cannot be built: {e}"))?;
        Ok(Sent {
            packet,
            identifier,
            authenticator,
        })
    }

    /// Is `datagram` the signed reply to `sent`? Its length (without trailing octets) if so.
    fn verify(&self, datagram: &[u8], sent: &Sent) -> Result<usize, Invalid> {
        if datagram.len() < HEADER_LEN {
            return Err(Invalid("shorter than a RADIUS header"));
        }
        let length = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
        if !(HEADER_LEN..=datagram.len()).contains(&length) {
            return Err(Invalid("its Length field does not match the datagram"));
        }
        let packet = &datagram[..length];
        if packet[1] != sent.identifier {
            return Err(Invalid("another Identifier"));
        }
        let expected_codes: &[u8] = match sent.packet[0] {
            code::STATUS_SERVER => &[code::ACCESS_ACCEPT],
            _ => &[
                code::ACCESS_ACCEPT,
                code::ACCESS_REJECT,
                code::ACCESS_CHALLENGE,
            ],
        };
        if !expected_codes.contains(&packet[0]) {
            return Err(Invalid("not a reply to an Access-Request"));
        }
        let secret = self.settings.secret.expose();
        // Both authenticators are computed with the Request Authenticator in place.
        let mut with_request = packet.to_vec();
        with_request[4..HEADER_LEN].copy_from_slice(&sent.authenticator);
        let expected = reply::response_authenticator(&with_request, secret);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            &expected[..],
            &packet[4..HEADER_LEN],
        )) {
            return Err(Invalid(
                "wrong Response Authenticator (another shared secret?)",
            ));
        }
        let mut message_authenticator = None;
        for (offset, kind, value) in attributes(packet).ok_or(Invalid("malformed attributes"))? {
            if kind == attr::MESSAGE_AUTHENTICATOR {
                if value.len() != 16 || message_authenticator.is_some() {
                    return Err(Invalid("malformed Message-Authenticator"));
                }
                message_authenticator = Some(offset + 2);
            }
        }
        match message_authenticator {
            // RFC 3579 §3.2: computed with the Request Authenticator in place.
            Some(at) if !message_authenticator::verify(&with_request, at, secret) => {
                return Err(Invalid("wrong Message-Authenticator"));
            }
            Some(_) => {}
            None if self.settings.require_message_authenticator => {
                return Err(Invalid(
                    "no Message-Authenticator (require_message_authenticator = true)",
                ));
            }
            None => {}
        }
        Ok(length)
    }

    /// A verified reply from server `i` → what it says.
    fn read(&self, i: usize, packet: &[u8], sent: &Sent) -> Reply {
        let secret = self.settings.secret.expose();
        let all = attributes(packet).unwrap_or_default();
        let messages = || {
            all.iter()
                .filter(|(_, kind, _)| *kind == attr::REPLY_MESSAGE)
                .map(|(_, _, value)| *value)
        };
        match packet[0] {
            code::ACCESS_ACCEPT => {
                let mut attributes = Vec::new();
                for &(_, kind, value) in &all {
                    if is_protocol(kind) {
                        continue;
                    }
                    match self
                        .dictionary
                        .relay(kind, value, secret, &sent.authenticator)
                    {
                        Some(attribute) => attributes.push(attribute),
                        None => tracing::debug!(
                            attribute = kind,
                            "upstream reply attribute not passed on: it holds a value hidden for radotp alone"
                        ),
                    }
                }
                Reply::Accept { attributes }
            }
            code::ACCESS_CHALLENGE => Reply::Challenge {
                server: i as u8,
                state: all
                    .iter()
                    .find(|(_, kind, _)| *kind == attr::STATE)
                    .map(|(_, _, value)| value.to_vec())
                    .unwrap_or_default(),
                prompt: messages()
                    .filter_map(|value| {
                        self.dictionary.relay(
                            attr::REPLY_MESSAGE,
                            value,
                            secret,
                            &sent.authenticator,
                        )
                    })
                    .collect(),
            },
            _ => {
                let text: Vec<String> = messages()
                    .map(|m| String::from_utf8_lossy(m).into_owned())
                    .collect();
                Reply::Reject {
                    message: (!text.is_empty()).then(|| text.join(" ")),
                }
            }
        }
    }
}

/// Attributes radotp never copies from an upstream reply: they belong to that exchange.
fn is_protocol(kind: u8) -> bool {
    matches!(
        kind,
        attr::USER_NAME
            | attr::USER_PASSWORD
            | attr::CHAP_PASSWORD
            | attr::STATE
            | attr::PROXY_STATE
            | CHAP_CHALLENGE
            | attr::EAP_MESSAGE
            | attr::MESSAGE_AUTHENTICATOR
    )
}

/// The attributes of a packet: (offset, type, value); `None` if they do not parse.
fn attributes(packet: &[u8]) -> Option<Vec<(usize, u8, &[u8])>> {
    let mut out = Vec::new();
    let mut at = HEADER_LEN;
    while at < packet.len() {
        let kind = *packet.get(at)?;
        let len = usize::from(*packet.get(at + 1)?);
        if len < 2 || at + len > packet.len() {
            return None;
        }
        out.push((at, kind, &packet[at + 2..at + len]));
        at += len;
    }
    Some(out)
}

#[cfg(test)]
mod tests;
