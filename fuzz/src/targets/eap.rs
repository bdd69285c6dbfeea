//! One EAP-TTLS or PEAPv0 conversation (`eap::conversation`) fed whatever a supplicant could
//! send, and the EAP codecs beside it on the same bytes: `Packet::parse`/`encode`,
//! `frames::parse_frame` and the `Reassembler`, `ttls::parse_avps` and `pap_credentials`,
//! `peap::decode_inner` and `result_response`.
//!
//! Input: one octet (bit 0: TTLS or PEAP; bit 1: fragments of 64 octets or 1000; bit 2: a
//! TLS 1.2-only or TLS 1.3-only built-in supplicant), then chunks, each a mode octet, a
//! 2-octet length and that many octets. Modes (the octet modulo 4):
//! - 0: the chunk is a whole EAP packet (`Packet::parse`, then the conversation if it parses);
//! - 1: the type data of a response of the right Identifier and type (flags, length, TLS data);
//! - 2: TLS records, in a response of the right Identifier and type without flags;
//! - 3: the built-in supplicant (rustls' `ClientConnection`, as in the conversation's unit
//!   tests) answers the last request; once its handshake is done the chunk goes into its
//!   tunnel as plaintext, so mutations reach the AVP and PEAP layers inside real TLS.
//!
//! Assertions: no panic; every Inner is answered Reject and every Resumed `false`, and no
//! Success ever comes; after a Failure or a Nak the conversation sends no further request;
//! requests carry our type and the next Identifier; the codecs' round trips hold.

use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};

use radotp_server::eap::conversation::{Conversation, HANDLE_LEN, InnerAnswer, Step};
use radotp_server::eap::frames::{self, Fragmenter, Reassembler};
use radotp_server::eap::packet::{self, Code, Packet};
use radotp_server::eap::tickets::SharedTicketer;
use radotp_server::eap::{Method, peap, ttls};
use radotp_server::store::{Keys, SqliteStore};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig};

use crate::Cursor;

const SERVER_NAME: &str = "radius.example.org";

struct Tls {
    server: Arc<ServerConfig>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    roots: RootCertStore,
}

/// A CA, a server certificate it signs (rcgen, once per process), and the server's TLS
/// configuration as `EapSnapshot::tls` builds it, tickets sealed by the shared ticketer over
/// an in-memory store.
fn tls() -> &'static Tls {
    static TLS: OnceLock<Tls> = OnceLock::new();
    TLS.get_or_init(|| {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca: CertificateDer<'static> = ca_params.self_signed(&ca_key).unwrap().der().clone();
        let issuer = Issuer::new(ca_params, ca_key);
        let params = CertificateParams::new(vec![SERVER_NAME.to_owned()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let signing = provider.key_provider.load_private_key(der).unwrap();
        let certified = Arc::new(CertifiedKey::new(vec![cert.der().clone()], signing));
        let mut server =
            radotp_server::radsec::server_config_without_client_auth(certified).unwrap();
        server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        let store = SqliteStore::open_in_memory(Keys::from_master(b"fuzz")).unwrap();
        server.ticketer = Arc::new(SharedTicketer::new(Arc::new(store), 3600));
        server.send_tls13_tickets = 1;
        let mut roots = RootCertStore::empty();
        roots.add(ca).unwrap();
        Tls {
            server: Arc::new(server),
            provider,
            roots,
        }
    })
}

/// One fuzzing input: panics on a bug.
pub fn run(data: &[u8]) {
    let mut input = Cursor::new(data);
    let setup = input.byte();
    let method = if setup & 1 == 0 {
        Method::Ttls
    } else {
        Method::Peap
    };
    let fragment_size = if setup & 2 == 0 { 64 } else { 1000 };
    let tls = tls();
    let identity_id = 7;
    let (mut conversation, start) = Conversation::start(
        method,
        Arc::clone(&tls.server),
        fragment_size,
        identity_id,
        [0x42; HANDLE_LEN],
    )
    .expect("a conversation starts");
    let mut judge = Judge::new(method, identity_id);
    judge.request(&start);
    // A fresh supplicant configuration per input (no session kept from an earlier input:
    // every input runs the same way).
    let version = match setup & 4 {
        0 => &rustls::version::TLS12,
        _ => &rustls::version::TLS13,
    };
    let client = Arc::new(
        ClientConfig::builder_with_provider(Arc::clone(&tls.provider))
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(tls.roots.clone())
            .with_no_client_auth(),
    );
    let mut peer = Peer::new(method, &client);
    let mut reassembler = Reassembler::new();
    while !input.is_empty() {
        let mode = input.byte();
        let len = usize::from(u16::from_be_bytes([input.byte(), input.byte()]));
        let chunk = input.bytes(len);
        codecs(chunk, &mut reassembler);
        let response = match mode % 4 {
            0 => match Packet::parse(chunk) {
                Ok(packet) => packet,
                Err(_) => continue,
            },
            1 => Packet::response(judge.identifier, method.eap_type(), chunk),
            2 => Packet::response(
                judge.identifier,
                method.eap_type(),
                &frames::encode_frame(0, None, chunk),
            ),
            _ => match peer.respond(&judge.last_request, chunk) {
                Some(bytes) => Packet::parse(&bytes).expect("the peer's response parses"),
                None => continue,
            },
        };
        let step = conversation.handle_response(&response);
        judge.step(&mut conversation, step);
    }
}

/// Follows the conversation's steps and checks them.
struct Judge {
    method: Method,
    /// The Identifier of the last request.
    identifier: u8,
    last_request: Vec<u8>,
    /// A Failure or a Nak came: no request after it.
    ended: bool,
}

impl Judge {
    fn new(method: Method, identity_id: u8) -> Judge {
        Judge {
            method,
            identifier: identity_id,
            last_request: Vec::new(),
            ended: false,
        }
    }

    fn request(&mut self, bytes: &[u8]) {
        assert!(!self.ended, "a request after the conversation ended");
        let packet = Packet::parse(bytes).expect("our request parses");
        assert_eq!(packet.code, Code::Request);
        assert_eq!(packet.eap_type(), Some(self.method.eap_type()));
        assert_eq!(packet.identifier, self.identifier.wrapping_add(1));
        assert!(
            bytes.len() <= 5 + 5 + frames::MAX_FRAGMENT,
            "{}",
            bytes.len()
        );
        frames::parse_frame(packet.type_data()).expect("our frame parses");
        self.identifier = packet.identifier;
        self.last_request = bytes.to_vec();
    }

    fn step(&mut self, conversation: &mut Conversation, step: Step) {
        match step {
            Step::Request(bytes) => self.request(&bytes),
            Step::Inner(credentials) => {
                assert!(!self.ended, "Inner after the end");
                assert!(!credentials.user_name.is_empty());
                assert!(!credentials.password.is_empty());
                let next = conversation.inner_answer(InnerAnswer::Reject);
                self.must_fail(next);
            }
            Step::Resumed(_) => {
                assert!(!self.ended, "Resumed after the end");
                let next = conversation.resumed(false);
                self.must_fail(next);
            }
            Step::Success { .. } => panic!("EAP-Success without an Accept"),
            Step::Failure { eap, .. } => self.failure(&eap),
            Step::Nak(_) => {
                assert!(!self.ended, "Nak after the end");
                self.ended = true;
            }
            Step::Discard(_) => {}
        }
    }

    fn must_fail(&mut self, step: Step) {
        match step {
            Step::Failure { eap, .. } => self.failure(&eap),
            other => panic!("a refusal that did not end in Failure: {other:?}"),
        }
    }

    fn failure(&mut self, eap: &[u8]) {
        assert_eq!(
            Packet::parse(eap).expect("our Failure parses"),
            Packet::failure(self.identifier)
        );
        self.ended = true;
    }
}

/// The codecs on the chunk itself.
fn codecs(chunk: &[u8], reassembler: &mut Reassembler) {
    if let Ok(packet) = Packet::parse(chunk) {
        assert_eq!(packet.encode(), chunk);
        let parts = packet::split_for_radius(chunk);
        assert!(
            parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= packet::RADIUS_CHUNK)
        );
        assert_eq!(packet::join_from_radius(&parts), chunk);
        if packet.eap_type() == Some(packet::types::NAK) {
            let desired = packet::nak_desired(packet.type_data());
            assert!(desired.len() <= packet.type_data().len());
        }
    }
    if let Ok(frame) = frames::parse_frame(chunk) {
        let mut flags = frame.version;
        if frame.more {
            flags |= frames::FLAG_MORE;
        }
        if frame.start {
            flags |= frames::FLAG_START;
        }
        let again = frames::encode_frame(flags, frame.total_length, frame.data);
        assert_eq!(frames::parse_frame(&again).as_ref(), Ok(&frame));
        match reassembler.push(&frame) {
            Ok(Some(message)) => assert!(message.len() <= frames::MAX_MESSAGE),
            Ok(None) => assert!(reassembler.in_progress()),
            Err(_) => *reassembler = Reassembler::new(),
        }
    }
    if let Ok(avps) = ttls::parse_avps(chunk) {
        assert!(avps.len() <= ttls::MAX_AVPS);
        let again: Vec<u8> = avps
            .iter()
            .flat_map(|a| ttls::encode_avp(a.code, a.vendor, a.mandatory, a.data))
            .collect();
        assert_eq!(ttls::parse_avps(&again).as_deref(), Ok(&avps[..]));
        if let Ok(pap) = ttls::pap_credentials(&avps) {
            assert!(!pap.user_name.is_empty() && pap.user_name.len() <= ttls::MAX_USER_NAME);
            let password = pap.password.expose();
            assert!(!password.is_empty() && password.len() <= ttls::MAX_PASSWORD);
            assert_ne!(password.last(), Some(&0));
        }
    }
    if let Ok(inner) = peap::decode_inner(chunk) {
        if inner.full_header {
            assert_eq!(inner.eap_type, packet::types::EXTENSIONS);
            assert_eq!(inner.type_data.len() + 5, chunk.len());
            let _ = peap::result_response(&inner.type_data);
        } else {
            assert_eq!(inner.type_data, chunk[1..]);
        }
    }
    let _ = peap::result_response(chunk);
}

/// A supplicant on rustls, framing as wpa_supplicant does; it gives up (None) on anything
/// it cannot follow.
struct Peer {
    method: Method,
    tls: ClientConnection,
    reassembler: Reassembler,
    outgoing: Option<Fragmenter>,
    broken: bool,
}

impl Peer {
    fn new(method: Method, config: &Arc<ClientConfig>) -> Peer {
        let name = ServerName::try_from(SERVER_NAME).unwrap();
        Peer {
            method,
            tls: ClientConnection::new(Arc::clone(config), name).unwrap(),
            reassembler: Reassembler::new(),
            outgoing: None,
            broken: false,
        }
    }

    /// The response to `request`; once the handshake is done, `plain` goes into the tunnel.
    fn respond(&mut self, request: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
        if self.broken {
            return None;
        }
        let response = self.try_respond(request, plain);
        self.broken = response.is_none();
        response
    }

    fn try_respond(&mut self, request: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
        let request = Packet::parse(request).ok()?;
        let frame = frames::parse_frame(request.type_data()).ok()?;
        let respond = |type_data: &[u8]| {
            Some(Packet::response(request.identifier, self.method.eap_type(), type_data).encode())
        };
        if let Some(outgoing) = &mut self.outgoing {
            let next = outgoing.next(0)?;
            if outgoing.is_done() {
                self.outgoing = None;
            }
            return respond(&next);
        }
        if !frame.start {
            let Some(message) = self.reassembler.push(&frame).ok()? else {
                return respond(&frames::ack_frame(0));
            };
            let mut data = message.as_slice();
            while !data.is_empty() {
                self.tls.read_tls(&mut data).ok()?;
                self.tls.process_new_packets().ok()?;
            }
        }
        // What the server said in the tunnel; PEAP answers only that, TTLS speaks first.
        let mut said = Vec::new();
        let _ = self.tls.reader().read_to_end(&mut said);
        let speaks = self.method == Method::Ttls || !said.is_empty();
        if !self.tls.is_handshaking() && speaks && !plain.is_empty() {
            self.tls.writer().write_all(plain).ok()?;
        }
        let mut out = Vec::new();
        while self.tls.wants_write() {
            self.tls.write_tls(&mut out).ok()?;
        }
        if out.is_empty() {
            return respond(&frames::ack_frame(0));
        }
        let mut fragmenter = Fragmenter::new(out, 1000);
        let first = fragmenter.next(0)?;
        if !fragmenter.is_done() {
            self.outgoing = Some(fragmenter);
        }
        respond(&first)
    }
}
