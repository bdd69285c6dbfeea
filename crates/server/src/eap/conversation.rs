//! One EAP-TTLS or PEAPv0 conversation, sans I/O: EAP responses in (already joined from their
//! EAP-Message attributes), the next EAP request, the inner credentials to decide, or the end
//! out. The TLS session is rustls' own `ServerConnection`, fed from memory; its records travel
//! in L/M/S fragments both ways (`frames`).
//!
//! The rounds: our Start; the peer's ClientHello; our flight (in fragments the peer ACKs); the
//! peer's Finished (TLS 1.2) or ours then its (TLS 1.3); whatever TLS still has to say (TLS 1.3
//! session tickets) goes out before the inner method starts, so the peer can resume later.
//! Then TTLS: the peer's PAP AVPs → `Step::Inner`. PEAP: our inner Identity request, the
//! peer's identity, our GTC prompt, its answer → `Step::Inner`; an Accept is confirmed by the
//! Result TLV both ways before EAP-Success. A resumed TLS session skips the inner method:
//! `Step::Resumed` asks the caller whether the session it resumes still stands.

use std::io::{Read, Write};
use std::sync::Arc;

use rustls::{HandshakeKind, ServerConfig, ServerConnection};

use super::Method;
use super::frames::{self, Fragmenter, Reassembler};
use super::keys::Keys;
use super::packet::{Code, Packet, types};
use super::{peap, ttls};
use crate::secret::SecretBytes;

/// Rounds one conversation may take: a handshake in 300-octet fragments takes about 20.
pub const MAX_ROUNDS: u32 = 64;
/// Octets of the random handle a session's tickets carry (`set_resumption_data`).
pub const HANDLE_LEN: usize = 16;
/// The PEAP flags octet's version bits: we speak PEAPv0 only.
const PEAP_VERSION: u8 = 0;

/// The password + code the inner method carried, to decide like a PAP request.
pub struct Credentials {
    /// The inner identity: it decides, whatever the outer one said.
    pub user_name: String,
    pub password: SecretBytes,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user_name", &self.user_name)
            .finish_non_exhaustive()
    }
}

/// Why a conversation ended in EAP-Failure before any decision (for the log; never sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// The peer refused our methods (Nak), or asked for one we do not serve.
    NoCommonMethod,
    /// TLS failed: the peer's certificate check, a protocol error, garbage in the tunnel.
    Tls(String),
    /// The EAP framing broke its rules (fragments, lengths, flags).
    Framing(String),
    /// The inner method sent what it may not (no User-Name, inner EAP in TTLS, ...).
    Inner(String),
    TooManyRounds,
}

impl Why {
    pub fn describe(&self) -> String {
        match self {
            Why::NoCommonMethod => "the peer refused the EAP methods offered".into(),
            Why::Tls(e) => format!("TLS: {e}"),
            Why::Framing(e) => format!("EAP framing: {e}"),
            Why::Inner(e) => format!("inner method: {e}"),
            Why::TooManyRounds => format!("more than {MAX_ROUNDS} rounds"),
        }
    }
}

/// What to do after one EAP response.
#[derive(Debug)]
pub enum Step {
    /// Send this EAP request in an Access-Challenge.
    Request(Vec<u8>),
    /// Decide these credentials, then call `inner_answer`.
    Inner(Credentials),
    /// The TLS session resumed one with this handle: check it stands, then call `resumed`.
    Resumed(Vec<u8>),
    /// Access-Accept with this EAP-Success and the session's keys.
    Success { eap: Vec<u8>, keys: Box<Keys> },
    /// Access-Reject with this EAP-Failure.
    Failure { eap: Vec<u8>, why: Why },
    /// The peer refused our method in answer to the Start and asks for these instead (a
    /// Nak's types): the caller may start another conversation.
    Nak(Vec<u8>),
    /// Not an answer to our last request (a stale identifier): no reply.
    Discard(&'static str),
}

/// What the decision said of the inner credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InnerAnswer {
    Accept,
    Reject,
    /// Ask for the code (PEAP/GTC's second prompt); the next response is decided as the
    /// challenge's answer.
    Challenge {
        prompt: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Start sent; the ClientHello (perhaps in fragments) comes next.
    Handshake,
    /// TTLS: waiting for the AVPs.
    TtlsAvps,
    /// PEAP: inner Identity request sent.
    PeapIdentity,
    /// PEAP: GTC prompt sent.
    PeapGtc,
    /// Waiting for the caller's decision (`inner_answer` / `resumed`).
    Deciding,
    /// PEAP: Result TLV sent; the peer's Result comes next.
    PeapResult,
    Done,
}

/// One conversation in progress.
pub struct Conversation {
    method: Method,
    tls: ServerConnection,
    fragment_size: usize,
    reassembler: Reassembler,
    /// Our TLS data still to send, in fragments the peer ACKs one by one.
    outgoing: Option<Fragmenter>,
    /// The Identifier of the last request we sent.
    identifier: u8,
    phase: Phase,
    rounds: u32,
    handle: [u8; HANDLE_LEN],
    /// PEAP: the inner identity, once the peer gave it.
    inner_user: Option<String>,
    /// TTLS: credentials that arrived with TLS data we still had to send first.
    stashed: Option<Credentials>,
    /// PEAP: the inner packets' Identifier.
    inner_identifier: u8,
    resumed: bool,
    /// The handle of the session a ticket (or cached session) resumed.
    opened: Option<[u8; HANDLE_LEN]>,
}

impl std::fmt::Debug for Conversation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conversation")
            .field("method", &self.method)
            .field("phase", &self.phase)
            .field("rounds", &self.rounds)
            .finish_non_exhaustive()
    }
}

impl Conversation {
    /// A conversation answering an EAP-Response/Identity of `identifier`: it and the
    /// EAP-Request/Start to send. `handle` goes into every session ticket this session issues.
    pub fn start(
        method: Method,
        config: Arc<ServerConfig>,
        fragment_size: usize,
        identifier: u8,
        handle: [u8; HANDLE_LEN],
    ) -> Result<(Conversation, Vec<u8>), Why> {
        let mut tls = ServerConnection::new(config).map_err(|e| Why::Tls(e.to_string()))?;
        tls.set_resumption_data(&handle);
        let mut conversation = Conversation {
            method,
            tls,
            fragment_size: fragment_size.clamp(frames::MIN_FRAGMENT, frames::MAX_FRAGMENT),
            reassembler: Reassembler::new(),
            outgoing: None,
            identifier,
            phase: Phase::Handshake,
            rounds: 0,
            handle,
            inner_user: None,
            stashed: None,
            inner_identifier: 0,
            resumed: false,
            opened: None,
        };
        let start = conversation.frame(frames::FLAG_START, None, &[]);
        Ok((conversation, start))
    }

    pub fn method(&self) -> Method {
        self.method
    }

    /// The handle this session's tickets carry.
    pub fn handle(&self) -> &[u8; HANDLE_LEN] {
        &self.handle
    }

    /// Whether the TLS session resumed an earlier one.
    pub fn is_resumed(&self) -> bool {
        self.resumed
    }

    /// The TLS version in use, once negotiated ("TLSv1.3").
    pub fn tls_version(&self) -> Option<String> {
        self.tls.protocol_version().map(|v| format!("{v:?}"))
    }

    /// The inner identity, when the inner method gave one.
    pub fn inner_user(&self) -> Option<&str> {
        self.inner_user.as_deref()
    }

    /// The next step after the peer's EAP response `packet`.
    pub fn handle_response(&mut self, packet: &Packet) -> Step {
        if packet.code != Code::Response || packet.identifier != self.identifier {
            return Step::Discard("not a response to the last request");
        }
        self.rounds += 1;
        if self.rounds > MAX_ROUNDS {
            return self.fail(Why::TooManyRounds);
        }
        match packet.eap_type() {
            Some(t) if t == self.method.eap_type() => {}
            Some(types::NAK) if self.rounds == 1 => {
                self.phase = Phase::Done;
                return Step::Nak(super::packet::nak_desired(packet.type_data()).to_vec());
            }
            Some(types::NAK) => return self.fail(Why::NoCommonMethod),
            Some(t) => {
                return self.fail(Why::Framing(format!(
                    "a response of EAP type {t} in a {} conversation",
                    self.method.name()
                )));
            }
            None => return self.fail(Why::Framing("a response without a type".into())),
        }
        if self.phase == Phase::Deciding || self.phase == Phase::Done {
            return Step::Discard("a response while the last one is being decided");
        }
        let frame = match frames::parse_frame(packet.type_data()) {
            Ok(frame) => frame,
            Err(e) => return self.fail(Why::Framing(e.to_string())),
        };
        // The peer ACKs a fragment of ours: the next one.
        if let Some(outgoing) = &mut self.outgoing {
            if !frame.data.is_empty() || frame.more {
                return self.fail(Why::Framing(
                    "data from the peer while our fragments were being sent".into(),
                ));
            }
            if !outgoing.is_done() {
                return self.send_fragment();
            }
            self.outgoing = None;
            return self.after_flight();
        }
        let data = match self.reassembler.push(&frame) {
            Ok(Some(data)) => data,
            // More fragments to come: ACK this one.
            Ok(None) => return Step::Request(self.frame(0, None, &[])),
            Err(e) => return self.fail(Why::Framing(e.to_string())),
        };
        if data.is_empty() {
            // An ACK with nothing of ours outstanding (after our last flight): go on.
            return self.after_flight();
        }
        if let Err(why) = self.feed(&data) {
            return self.fail(why);
        }
        self.after_input()
    }

    /// The caller's decision on the inner credentials.
    pub fn inner_answer(&mut self, answer: InnerAnswer) -> Step {
        if self.phase != Phase::Deciding {
            return self.fail(Why::Inner("a decision nobody asked for".into()));
        }
        match (answer, self.method) {
            (InnerAnswer::Accept, Method::Ttls) => self.succeed(),
            (InnerAnswer::Accept, Method::Peap) => self.peap_result(true),
            (InnerAnswer::Challenge { prompt }, Method::Peap) => {
                self.phase = Phase::PeapGtc;
                self.send_inner(types::GTC, prompt.as_bytes())
            }
            (InnerAnswer::Challenge { .. }, Method::Ttls) | (InnerAnswer::Reject, _) => {
                self.phase = Phase::Done;
                Step::Failure {
                    eap: Packet::failure(self.identifier).encode(),
                    why: Why::Inner("refused".into()),
                }
            }
        }
    }

    /// The caller's judgement of a resumed session: it stands, or a full login is needed.
    pub fn resumed(&mut self, stands: bool) -> Step {
        self.inner_answer(match stands {
            true => InnerAnswer::Accept,
            false => InnerAnswer::Reject,
        })
    }

    /// TLS records from the peer.
    fn feed(&mut self, data: &[u8]) -> Result<(), Why> {
        let tls = &mut self.tls;
        let (fed, opened) = super::tickets::with_handle(&self.handle, || {
            let mut data = data;
            // Never hand rustls an empty slice: it reads that as the end of the stream.
            while !data.is_empty() {
                tls.read_tls(&mut data)
                    .map_err(|e| Why::Tls(e.to_string()))?;
                tls.process_new_packets()
                    .map_err(|e| Why::Tls(e.to_string()))?;
            }
            Ok(())
        });
        if let Some(handle) = opened {
            // A resumed session keeps the handle of the login it resumes: the tickets it
            // issues now resume that login too, and nothing new is bound.
            self.opened = Some(handle);
            self.handle = handle;
            self.tls.set_resumption_data(&handle);
        }
        fed
    }

    /// After the peer's TLS data was processed: send what TLS has to say, or go on with the
    /// tunnel.
    fn after_input(&mut self) -> Step {
        if !self.handshake_done() {
            return self.flush_or_ack();
        }
        let plain = match self.read_plain() {
            Ok(plain) => plain,
            Err(why) => return self.fail(why),
        };
        if !plain.is_empty() {
            match self.inner_input(&plain) {
                Ok(Some(step)) => return step,
                Ok(None) => {}
                Err(why) => return self.fail(why),
            }
        }
        self.after_flight()
    }

    /// Whether the handshake is over (noting whether it resumed a session).
    fn handshake_done(&mut self) -> bool {
        if self.tls.is_handshaking() {
            return false;
        }
        if self.tls.handshake_kind() == Some(HandshakeKind::Resumed) {
            self.resumed = true;
        }
        true
    }

    /// Nothing of ours outstanding and the peer has nothing new: the tunnel's next move.
    fn after_flight(&mut self) -> Step {
        if !self.handshake_done() {
            return self.flush_or_ack();
        }
        // What TLS still has to say (TLS 1.3 session tickets) goes first.
        match self.pending_output() {
            Ok(out) if !out.is_empty() => return self.send_output(out),
            Ok(_) => {}
            Err(why) => return self.fail(why),
        }
        if let Some(credentials) = self.stashed.take() {
            self.phase = Phase::Deciding;
            return Step::Inner(credentials);
        }
        if self.resumed && matches!(self.phase, Phase::Handshake | Phase::TtlsAvps) {
            return self.ask_resumed();
        }
        match (self.method, self.phase) {
            (Method::Ttls, Phase::Handshake) => {
                self.phase = Phase::TtlsAvps;
                // The peer sends its AVPs in answer to any request of ours.
                Step::Request(self.frame(0, None, &[]))
            }
            (Method::Ttls, Phase::TtlsAvps) => {
                self.fail(Why::Inner("the peer sent no PAP credentials".into()))
            }
            (Method::Peap, Phase::Handshake) => {
                self.phase = Phase::PeapIdentity;
                self.send_inner(types::IDENTITY, &[])
            }
            (Method::Peap, _) => self.fail(Why::Inner(
                "the peer answered without an inner packet".into(),
            )),
            (_, _) => self.fail(Why::Inner("an unexpected round".into())),
        }
    }

    fn ask_resumed(&mut self) -> Step {
        self.phase = Phase::Deciding;
        // The envelope's handle (both TLS versions), else what a TLS 1.3 ticket carried.
        match (self.opened, self.tls.received_resumption_data()) {
            (Some(handle), _) => Step::Resumed(handle.to_vec()),
            (None, Some(handle)) => Step::Resumed(handle.to_vec()),
            _ => Step::Resumed(Vec::new()),
        }
    }

    /// Plaintext from the tunnel: the inner method's packet.
    fn inner_input(&mut self, plain: &[u8]) -> Result<Option<Step>, Why> {
        match self.method {
            Method::Ttls => {
                if self.resumed {
                    // A resumed session needs no inner method; anything sent is ignored.
                    return Ok(None);
                }
                let avps = ttls::parse_avps(plain).map_err(|e| Why::Inner(e.to_string()))?;
                let pap = ttls::pap_credentials(&avps).map_err(|e| Why::Inner(e.to_string()))?;
                self.inner_user = Some(pap.user_name.clone());
                let credentials = Credentials {
                    user_name: pap.user_name,
                    password: pap.password,
                };
                if self.tls.wants_write() {
                    // TLS 1.3 tickets: they go out first, the decision after the peer's ACK.
                    self.stashed = Some(credentials);
                    return Ok(None);
                }
                self.phase = Phase::Deciding;
                Ok(Some(Step::Inner(credentials)))
            }
            Method::Peap => self.peap_input(plain).map(Some),
        }
    }

    fn peap_input(&mut self, plain: &[u8]) -> Result<Step, Why> {
        let inner = peap::decode_inner(plain).map_err(|e| Why::Inner(e.to_string()))?;
        match (self.phase, inner.eap_type) {
            (Phase::PeapIdentity, types::IDENTITY) => {
                let name = String::from_utf8(inner.type_data)
                    .map_err(|_| Why::Inner("the inner identity is not UTF-8".into()))?;
                if name.is_empty() || name.len() > 253 {
                    return Err(Why::Inner("the inner identity is empty or too long".into()));
                }
                self.inner_user = Some(name);
                self.phase = Phase::PeapGtc;
                Ok(self.send_inner(
                    types::GTC,
                    crate::server::pipeline::CHALLENGE_PROMPT.as_bytes(),
                ))
            }
            (Phase::PeapGtc, types::GTC) => {
                let user_name = self
                    .inner_user
                    .clone()
                    .ok_or_else(|| Why::Inner("GTC before the identity".into()))?;
                if inner.type_data.is_empty() || inner.type_data.len() > 253 {
                    return Err(Why::Inner("the GTC answer is empty or too long".into()));
                }
                self.phase = Phase::Deciding;
                Ok(Step::Inner(Credentials {
                    user_name,
                    password: SecretBytes::from(inner.type_data),
                }))
            }
            (Phase::PeapGtc | Phase::PeapIdentity, types::NAK) => Err(Why::Inner(
                "the peer refused EAP-GTC inside PEAP (radotp takes the password + code by \
                 GTC; MSCHAPv2 cannot carry a code)"
                    .into(),
            )),
            (Phase::PeapResult, types::EXTENSIONS) => {
                match peap::result_response(&inner.type_data) {
                    Ok(true) => Ok(self.succeed()),
                    Ok(false) => Err(Why::Inner(
                        "the peer answered the Result TLV with failure".into(),
                    )),
                    Err(e) => Err(Why::Inner(e.to_string())),
                }
            }
            (phase, t) => Err(Why::Inner(format!(
                "an inner packet of EAP type {t} where {} was expected",
                match phase {
                    Phase::PeapIdentity => "the identity",
                    Phase::PeapGtc => "the GTC answer",
                    Phase::PeapResult => "the Result TLV",
                    _ => "nothing",
                }
            ))),
        }
    }

    fn peap_result(&mut self, success: bool) -> Step {
        self.phase = Phase::PeapResult;
        self.inner_identifier = self.inner_identifier.wrapping_add(1);
        let packet = peap::result_request(self.inner_identifier, success);
        self.send_plain(&packet)
    }

    /// An inner EAP request, header-less as PEAPv0 sends them.
    fn send_inner(&mut self, eap_type: u8, type_data: &[u8]) -> Step {
        self.inner_identifier = self.inner_identifier.wrapping_add(1);
        let packet = peap::encode_inner(self.inner_identifier, Code::Request, eap_type, type_data);
        self.send_plain(&packet)
    }

    fn send_plain(&mut self, plain: &[u8]) -> Step {
        if let Err(e) = self.tls.writer().write_all(plain) {
            return self.fail(Why::Tls(e.to_string()));
        }
        self.flush_or_ack()
    }

    /// Send what TLS has queued (in fragments), or ACK the peer when it has nothing.
    fn flush_or_ack(&mut self) -> Step {
        match self.pending_output() {
            Ok(out) if out.is_empty() => Step::Request(self.frame(0, None, &[])),
            Ok(out) => self.send_output(out),
            Err(why) => self.fail(why),
        }
    }

    /// The TLS records rustls has queued.
    fn pending_output(&mut self) -> Result<Vec<u8>, Why> {
        let mut out = Vec::new();
        while self.tls.wants_write() {
            let n = self
                .tls
                .write_tls(&mut out)
                .map_err(|e| Why::Tls(e.to_string()))?;
            if n == 0 {
                break;
            }
        }
        Ok(out)
    }

    fn send_output(&mut self, out: Vec<u8>) -> Step {
        self.outgoing = Some(Fragmenter::new(out, self.fragment_size));
        self.send_fragment()
    }

    fn send_fragment(&mut self) -> Step {
        let version = self.version();
        let Some(outgoing) = &mut self.outgoing else {
            return self.fail(Why::Framing("no fragment to send".into()));
        };
        let Some(type_data) = outgoing.next(version) else {
            return self.fail(Why::Framing("no fragment to send".into()));
        };
        if outgoing.is_done() {
            // The last fragment: the peer's next response is its own data, not an ACK.
            self.outgoing = None;
        }
        self.identifier = self.identifier.wrapping_add(1);
        Step::Request(Packet::request(self.identifier, self.method.eap_type(), &type_data).encode())
    }

    fn version(&self) -> u8 {
        match self.method {
            Method::Ttls => 0,
            Method::Peap => PEAP_VERSION,
        }
    }

    /// A request of our type with these flags and data (no fragmenting: small frames only).
    fn frame(&mut self, flags: u8, total: Option<u32>, data: &[u8]) -> Vec<u8> {
        self.identifier = self.identifier.wrapping_add(1);
        let type_data = frames::encode_frame(flags | self.version(), total, data);
        Packet::request(self.identifier, self.method.eap_type(), &type_data).encode()
    }

    fn read_plain(&mut self) -> Result<Vec<u8>, Why> {
        let mut plain = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.tls.reader().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    plain.extend_from_slice(&buf[..n]);
                    if plain.len() > frames::MAX_MESSAGE {
                        return Err(Why::Inner("more tunnel data than a message holds".into()));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(Why::Tls(e.to_string())),
            }
        }
        Ok(plain)
    }

    fn succeed(&mut self) -> Step {
        self.phase = Phase::Done;
        let version = self.tls.protocol_version();
        let tls = &self.tls;
        let derived = version
            .ok_or_else(|| rustls::Error::General("no TLS version".into()))
            .and_then(|version| {
                Keys::derive(self.method.keys_method(), version, |out, label, context| {
                    tls.export_keying_material(out, label, context).map(|_| ())
                })
            });
        match derived {
            Ok(keys) => Step::Success {
                eap: Packet::success(self.identifier).encode(),
                keys: Box::new(keys),
            },
            Err(e) => self.fail(Why::Tls(format!("cannot derive the keys: {e}"))),
        }
    }

    fn fail(&mut self, why: Why) -> Step {
        self.phase = Phase::Done;
        Step::Failure {
            eap: Packet::failure(self.identifier).encode(),
            why,
        }
    }
}

#[cfg(test)]
#[path = "conversation_tests.rs"]
mod tests;
