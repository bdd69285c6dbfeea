//! The conversation against an in-memory supplicant: rustls' own `ClientConnection` framed
//! as wpa_supplicant frames it (src/eap_peer/eap_ttls.c, eap_peap.c: the Identifier and type
//! of our request, L on the first of several fragments, M on all but the last, an empty frame
//! as the ACK), the inner PAP AVPs or PEAPv0's header-less Identity/GTC answers and the full
//! Extensions response with the Result TLV. Over TLS 1.2 and 1.3, full and resumed.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, ClientConnection, HandshakeKind, ProtocolVersion, RootCertStore, ServerConfig,
    SupportedProtocolVersion,
};

use super::*;
use crate::eap::frames::FrameError;
use crate::eap::keys::{KEY_MATERIAL_LEN, TLS13_LABEL};

const SERVER_NAME: &str = "radius.example.org";
const USER: &str = "alice@example.org";
const PASSWORD: &[u8] = b"hunter2 123456";
const HANDLE: [u8; HANDLE_LEN] = [0xa5; HANDLE_LEN];
/// The Identifier of the peer's EAP-Response/Identity the conversation answers.
const IDENTITY_ID: u8 = 200;

struct Pki {
    key: Arc<CertifiedKey>,
    ca: CertificateDer<'static>,
}

/// A CA and a server certificate it signs for `SERVER_NAME`, made once per process.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "radotp test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let mut params = CertificateParams::new(vec![SERVER_NAME.to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, SERVER_NAME);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = rustls::crypto::ring::default_provider()
            .key_provider
            .load_private_key(der)
            .unwrap();
        Pki {
            key: Arc::new(CertifiedKey::new(vec![cert.der().clone()], signing)),
            ca: ca_cert.der().clone(),
        }
    })
}

/// As `EapSnapshot::tls` builds it: resumption (tickets, TLS 1.2 session ids) sealed by the
/// shared keys over an in-memory store when `tickets`, none otherwise.
fn server_config(tickets: bool) -> Arc<ServerConfig> {
    let mut config = crate::radsec::server_config_without_client_auth(Arc::clone(&pki().key))
        .expect("server config");
    let store = crate::store::SqliteStore::open_in_memory(crate::store::Keys::from_master(
        b"conversation tests",
    ))
    .unwrap();
    super::super::tickets::resumption(&mut config, Arc::new(store), if tickets { 3600 } else { 0 });
    Arc::new(config)
}

/// A supplicant's TLS configuration: one version only, the test CA; its default in-memory
/// session store keeps the tickets it receives.
fn client_config(version: &'static SupportedProtocolVersion) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki().ca.clone()).unwrap();
    Arc::new(
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

const VERSIONS: [&SupportedProtocolVersion; 2] = [&rustls::version::TLS12, &rustls::version::TLS13];

/// What the supplicant says inside the tunnel instead of the right thing.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Twist {
    None,
    /// TTLS: these bytes instead of the PAP AVPs.
    TtlsPlain(Vec<u8>),
    /// PEAP: this header-less packet in answer to the GTC request.
    PeapGtcAnswer(Vec<u8>),
}

/// The in-memory supplicant.
struct Peer {
    method: Method,
    tls: ClientConnection,
    fragment_size: usize,
    reassembler: Reassembler,
    /// Our fragments still to send, each after the server's ACK.
    outgoing: Option<Fragmenter>,
    user: String,
    /// GTC answers / the PAP password, in order.
    passwords: VecDeque<Vec<u8>>,
    sent_avps: bool,
    /// The GTC prompts the server showed.
    prompts: Vec<String>,
    /// The inner Identity requests the server sent.
    identity_requests: usize,
    /// The Result TLV the server sent (true: success).
    result: Option<bool>,
    twist: Twist,
    /// Octets of TLS data in the largest fragment each way.
    largest_in: usize,
    largest_out: usize,
}

impl Peer {
    fn new(method: Method, config: &Arc<ClientConfig>, fragment_size: usize) -> Peer {
        let name = ServerName::try_from(SERVER_NAME).unwrap();
        Peer {
            method,
            tls: ClientConnection::new(Arc::clone(config), name).unwrap(),
            fragment_size,
            reassembler: Reassembler::new(),
            outgoing: None,
            user: USER.to_owned(),
            passwords: VecDeque::from([PASSWORD.to_vec()]),
            sent_avps: false,
            prompts: Vec::new(),
            identity_requests: 0,
            result: None,
            twist: Twist::None,
            largest_in: 0,
            largest_out: 0,
        }
    }

    fn response(&self, request: &Packet, type_data: &[u8]) -> Vec<u8> {
        Packet::response(request.identifier, self.method.eap_type(), type_data).encode()
    }

    /// The EAP-Response to our EAP-Request `bytes`.
    fn respond(&mut self, bytes: &[u8]) -> Vec<u8> {
        let request = Packet::parse(bytes).expect("the server's request parses");
        assert_eq!(request.code, Code::Request);
        assert_eq!(request.eap_type(), Some(self.method.eap_type()));
        let frame = frames::parse_frame(request.type_data()).expect("the server's frame");
        assert_eq!(frame.version, 0);
        self.largest_in = self.largest_in.max(frame.data.len());
        if let Some(outgoing) = &mut self.outgoing {
            assert!(
                frame.is_ack(),
                "the server sent data while we were fragmenting"
            );
            let next = outgoing.next(0).expect("a fragment left");
            if outgoing.is_done() {
                self.outgoing = None;
            }
            return self.send(&request, next);
        }
        if frame.start {
            assert!(frame.data.is_empty());
            return self.flush(&request);
        }
        match self
            .reassembler
            .push(&frame)
            .expect("the server's fragments")
        {
            None => self.response(&request, &frames::ack_frame(0)),
            Some(data) => {
                self.feed(&data);
                self.tunnel(data.is_empty());
                self.flush(&request)
            }
        }
    }

    fn send(&mut self, request: &Packet, type_data: Vec<u8>) -> Vec<u8> {
        let frame = frames::parse_frame(&type_data).unwrap();
        self.largest_out = self.largest_out.max(frame.data.len());
        self.response(request, &type_data)
    }

    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            self.tls.read_tls(&mut data).unwrap();
            self.tls.process_new_packets().expect("the client's TLS");
        }
    }

    fn resumed(&self) -> bool {
        self.tls.handshake_kind() == Some(HandshakeKind::Resumed)
    }

    /// Read what the server said in the tunnel and write our answer. `bare`: the server's
    /// request carried no TLS data.
    fn tunnel(&mut self, bare: bool) {
        if self.tls.is_handshaking() {
            return;
        }
        let mut plain = Vec::new();
        match self.tls.reader().read_to_end(&mut plain) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("client reader: {e}"),
        }
        match self.method {
            Method::Ttls => {
                assert!(
                    plain.is_empty(),
                    "the server said something in the TTLS tunnel"
                );
                // On a resumed session, phase 2 only when the server asks for it with a bare
                // request (wpa_supplicant's implicit identity request), else skipped.
                if !self.sent_avps && (!self.resumed() || bare) {
                    self.sent_avps = true;
                    let avps = match &self.twist {
                        Twist::TtlsPlain(bytes) => bytes.clone(),
                        _ => pap_avps(&self.user, &self.passwords[0]),
                    };
                    self.tls.writer().write_all(&avps).unwrap();
                }
            }
            Method::Peap => {
                if !plain.is_empty() {
                    let answer = self.peap_answer(&plain);
                    self.tls.writer().write_all(&answer).unwrap();
                }
            }
        }
    }

    /// What wpa_supplicant answers an inner PEAPv0 request with.
    fn peap_answer(&mut self, plain: &[u8]) -> Vec<u8> {
        if let [1, identifier, high, low, types::EXTENSIONS, tlvs @ ..] = plain {
            assert_eq!(usize::from(u16::from_be_bytes([*high, *low])), plain.len());
            // The Result TLV: 80 03 00 02 status.
            assert_eq!(tlvs.len(), 6, "only the Result TLV");
            assert_eq!(tlvs[..4], [0x80, 0x03, 0, 2]);
            let status = u16::from_be_bytes([tlvs[4], tlvs[5]]);
            self.result = Some(status == peap::RESULT_SUCCESS);
            let [s0, s1] = status.to_be_bytes();
            return vec![2, *identifier, 0, 11, 33, 0x80, 0x03, 0, 2, s0, s1];
        }
        match plain.split_first() {
            Some((&types::IDENTITY, rest)) => {
                assert!(rest.is_empty());
                self.identity_requests += 1;
                [&[types::IDENTITY][..], self.user.as_bytes()].concat()
            }
            Some((&types::GTC, prompt)) => {
                self.prompts
                    .push(String::from_utf8(prompt.to_vec()).unwrap());
                if let Twist::PeapGtcAnswer(answer) = &self.twist {
                    return answer.clone();
                }
                let password = self.passwords.pop_front().expect("a password left");
                [&[types::GTC][..], &password].concat()
            }
            other => panic!("an inner request the peer does not know: {other:?}"),
        }
    }

    /// Send what TLS has to say (in fragments), or an ACK.
    fn flush(&mut self, request: &Packet) -> Vec<u8> {
        let mut out = Vec::new();
        while self.tls.wants_write() {
            self.tls.write_tls(&mut out).unwrap();
        }
        if out.is_empty() {
            return self.response(request, &frames::ack_frame(0));
        }
        let mut fragmenter = Fragmenter::new(out, self.fragment_size);
        let first = fragmenter.next(0).unwrap();
        if !fragmenter.is_done() {
            self.outgoing = Some(fragmenter);
        }
        self.send(request, first)
    }

    /// The keys as the supplicant derives them (eap_ttls_v0_derive_key, eap_peap_process).
    fn keys(&self) -> [u8; KEY_MATERIAL_LEN] {
        let mut material = [0u8; KEY_MATERIAL_LEN];
        let context = [self.method.eap_type()];
        let (label, context): (&[u8], Option<&[u8]>) = match self.tls.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => (TLS13_LABEL, Some(&context)),
            Some(ProtocolVersion::TLSv1_2) => match self.method {
                Method::Ttls => (b"ttls keying material", None),
                Method::Peap => (b"client EAP encryption", None),
            },
            other => panic!("TLS version {other:?}"),
        };
        self.tls
            .export_keying_material(&mut material, label, context)
            .unwrap();
        material
    }
}

/// wpa_supplicant's eap_ttls_phase2_request_pap: User-Name and User-Password with M set, the
/// password NUL-padded to a multiple of 16.
fn pap_avps(user: &str, password: &[u8]) -> Vec<u8> {
    let padded_len = password.len().div_ceil(16).max(1) * 16;
    let mut padded = password.to_vec();
    padded.resize(padded_len, 0);
    [
        ttls::encode_avp(ttls::USER_NAME, None, true, user.as_bytes()),
        ttls::encode_avp(ttls::USER_PASSWORD, None, true, &padded),
    ]
    .concat()
}

/// Where a run of rounds stopped.
struct Stop {
    step: Step,
    /// The last request the conversation sent.
    last_request: Vec<u8>,
}

/// Answer requests until the conversation says something else than a request.
fn drive(conversation: &mut Conversation, peer: &mut Peer, request: Vec<u8>) -> Stop {
    let mut request = request;
    loop {
        assert!(
            conversation.rounds <= MAX_ROUNDS,
            "more rounds than MAX_ROUNDS"
        );
        let response = peer.respond(&request);
        match conversation.handle_response(&Packet::parse(&response).unwrap()) {
            Step::Request(next) => request = next,
            step => {
                return Stop {
                    step,
                    last_request: request,
                };
            }
        }
    }
}

fn start(
    method: Method,
    config: &Arc<ServerConfig>,
    fragment_size: usize,
) -> (Conversation, Vec<u8>) {
    let (conversation, request) = Conversation::start(
        method,
        Arc::clone(config),
        fragment_size,
        IDENTITY_ID,
        HANDLE,
    )
    .unwrap();
    // The Start: S, version 0, no data, the next Identifier.
    let start = Packet::parse(&request).unwrap();
    assert_eq!(start.identifier, IDENTITY_ID.wrapping_add(1));
    assert_eq!(start.data, [method.eap_type(), frames::FLAG_START]);
    (conversation, request)
}

fn identifier_of(bytes: &[u8]) -> u8 {
    Packet::parse(bytes).unwrap().identifier
}

fn expect_inner(stop: &Stop) -> (&str, &[u8]) {
    match &stop.step {
        Step::Inner(credentials) => (&credentials.user_name, credentials.password.expose()),
        other => panic!("expected Inner, got {other:?}"),
    }
}

fn expect_success(step: Step, conversation: &Conversation, peer: &Peer, identifier: u8) {
    match step {
        Step::Success { eap, keys } => {
            assert_eq!(Packet::parse(&eap).unwrap(), Packet::success(identifier));
            let material = peer.keys();
            assert_eq!(keys.msk, material[..64]);
            assert_eq!(keys.emsk, material[64..]);
            assert_ne!(keys.msk, [0; 64]);
        }
        other => panic!("expected Success, got {other:?}"),
    }
    assert_eq!(conversation.phase, Phase::Done);
}

fn expect_failure(step: Step, identifier: u8) -> Why {
    match step {
        Step::Failure { eap, why } => {
            assert_eq!(Packet::parse(&eap).unwrap(), Packet::failure(identifier));
            assert_eq!(eap[0], 4);
            why
        }
        other => panic!("expected Failure, got {other:?}"),
    }
}

fn version_of(version: &SupportedProtocolVersion) -> String {
    format!("{:?}", version.version)
}

/// A full login: Inner with the inner user and exact password, Accept, Success with the keys
/// the peer derives. The PEAP one goes through the Result TLV round.
fn full_login(
    method: Method,
    server: &Arc<ServerConfig>,
    client: &Arc<ClientConfig>,
    fragment_size: usize,
) -> (Conversation, Peer) {
    let (mut conversation, request) = start(method, server, fragment_size);
    let mut peer = Peer::new(method, client, fragment_size);
    let stop = drive(&mut conversation, &mut peer, request);
    let (user, password) = expect_inner(&stop);
    assert_eq!(user, USER);
    assert_eq!(password, PASSWORD);
    assert_eq!(conversation.inner_user(), Some(USER));
    assert!(!conversation.is_resumed());
    assert!(!peer.resumed());
    let step = conversation.inner_answer(InnerAnswer::Accept);
    let step = match method {
        Method::Ttls => step,
        Method::Peap => {
            assert_eq!(peer.identity_requests, 1);
            assert_eq!(
                peer.prompts,
                [crate::server::pipeline::CHALLENGE_PROMPT.to_owned()]
            );
            // No Success before the Result TLV round.
            let Step::Request(request) = step else {
                panic!("expected the Result TLV request, got {step:?}");
            };
            assert_eq!(peer.result, None);
            let response = peer.respond(&request);
            assert_eq!(peer.result, Some(true));
            conversation.handle_response(&Packet::parse(&response).unwrap())
        }
    };
    let identifier = conversation.identifier;
    expect_success(step, &conversation, &peer, identifier);
    assert_eq!(conversation.handle(), &HANDLE);
    assert!(conversation.rounds <= MAX_ROUNDS);
    (conversation, peer)
}

#[test]
fn ttls_full_login_over_tls12_and_tls13() {
    for version in VERSIONS {
        let (conversation, _) = full_login(
            Method::Ttls,
            &server_config(false),
            &client_config(version),
            1000,
        );
        assert_eq!(conversation.tls_version(), Some(version_of(version)));
    }
}

#[test]
fn peap_full_login_over_tls12_and_tls13() {
    for version in VERSIONS {
        let (conversation, _) = full_login(
            Method::Peap,
            &server_config(false),
            &client_config(version),
            1000,
        );
        assert_eq!(conversation.tls_version(), Some(version_of(version)));
    }
}

#[test]
fn full_logins_with_tickets_on() {
    for method in [Method::Ttls, Method::Peap] {
        for version in VERSIONS {
            full_login(method, &server_config(true), &client_config(version), 1000);
        }
    }
}

#[test]
fn peap_challenge_asks_again_with_the_prompt() {
    for version in VERSIONS {
        let (mut conversation, request) = start(Method::Peap, &server_config(false), 1000);
        let mut peer = Peer::new(Method::Peap, &client_config(version), 1000);
        peer.passwords = VecDeque::from([b"hunter2".to_vec(), b"123456".to_vec()]);
        let stop = drive(&mut conversation, &mut peer, request);
        assert_eq!(expect_inner(&stop), (USER, &b"hunter2"[..]));
        let step = conversation.inner_answer(InnerAnswer::Challenge {
            prompt: "Code: ".into(),
        });
        let Step::Request(request) = step else {
            panic!("expected a second GTC request, got {step:?}");
        };
        let stop = drive(&mut conversation, &mut peer, request);
        assert_eq!(
            peer.prompts,
            [
                crate::server::pipeline::CHALLENGE_PROMPT.to_owned(),
                "Code: ".to_owned()
            ]
        );
        assert_eq!(expect_inner(&stop), (USER, &b"123456"[..]));
        let Step::Request(request) = conversation.inner_answer(InnerAnswer::Accept) else {
            panic!("expected the Result TLV request");
        };
        let response = peer.respond(&request);
        assert_eq!(peer.result, Some(true));
        let step = conversation.handle_response(&Packet::parse(&response).unwrap());
        let identifier = conversation.identifier;
        expect_success(step, &conversation, &peer, identifier);
    }
}

#[test]
fn reject_is_an_eap_failure_of_the_last_identifier() {
    for method in [Method::Ttls, Method::Peap] {
        for version in VERSIONS {
            let (mut conversation, request) = start(method, &server_config(false), 1000);
            let mut peer = Peer::new(method, &client_config(version), 1000);
            let stop = drive(&mut conversation, &mut peer, request);
            expect_inner(&stop);
            let step = conversation.inner_answer(InnerAnswer::Reject);
            let why = expect_failure(step, identifier_of(&stop.last_request));
            assert_eq!(why, Why::Inner("refused".into()));
            // Nothing more: a retransmitted response is not answered.
            let again = Packet::response(
                identifier_of(&stop.last_request),
                method.eap_type(),
                &frames::ack_frame(0),
            );
            assert!(matches!(
                conversation.handle_response(&again),
                Step::Discard(_)
            ));
        }
    }
}

#[test]
fn ttls_cannot_challenge() {
    let (mut conversation, request) = start(Method::Ttls, &server_config(false), 1000);
    let mut peer = Peer::new(Method::Ttls, &client_config(&rustls::version::TLS13), 1000);
    let stop = drive(&mut conversation, &mut peer, request);
    expect_inner(&stop);
    let step = conversation.inner_answer(InnerAnswer::Challenge {
        prompt: "Code: ".into(),
    });
    expect_failure(step, identifier_of(&stop.last_request));
}

#[test]
fn a_decision_nobody_asked_for_fails() {
    let (mut conversation, _) = start(Method::Ttls, &server_config(false), 1000);
    let step = conversation.inner_answer(InnerAnswer::Accept);
    assert!(matches!(
        expect_failure(step, IDENTITY_ID + 1),
        Why::Inner(_)
    ));
}

/// A full login with tickets on, then a second conversation with the same client
/// configuration: it resumes, naming the first conversation's handle.
fn resume(method: Method, version: &'static SupportedProtocolVersion, stands: bool) {
    let server = server_config(true);
    let client = client_config(version);
    full_login(method, &server, &client, 1000);
    let second = [0x5a; HANDLE_LEN];
    let (mut conversation, request) =
        Conversation::start(method, Arc::clone(&server), 1000, 7, second).unwrap();
    let mut peer = Peer::new(method, &client, 1000);
    let stop = drive(&mut conversation, &mut peer, request);
    assert!(peer.resumed(), "{method:?} {version:?}: the client resumed");
    let handle = match &stop.step {
        Step::Resumed(handle) => handle.clone(),
        other => panic!("{method:?} {version:?}: expected Resumed, got {other:?}"),
    };
    assert_eq!(handle, HANDLE, "the first conversation's handle");
    assert_eq!(
        conversation.handle(),
        &HANDLE,
        "a resumed session keeps the login's handle"
    );
    assert!(conversation.is_resumed());
    assert!(peer.resumed());
    assert_eq!(conversation.inner_user(), None);
    assert_eq!(conversation.tls_version(), Some(version_of(version)));
    let step = conversation.resumed(stands);
    if !stands {
        expect_failure(step, identifier_of(&stop.last_request));
        return;
    }
    let step = match method {
        Method::Ttls => step,
        Method::Peap => {
            assert_eq!(peer.identity_requests, 0);
            let Step::Request(request) = step else {
                panic!("expected the Result TLV request, got {step:?}");
            };
            let response = peer.respond(&request);
            assert_eq!(peer.result, Some(true));
            conversation.handle_response(&Packet::parse(&response).unwrap())
        }
    };
    let identifier = conversation.identifier;
    expect_success(step, &conversation, &peer, identifier);
}

#[test]
fn ttls_resumes_over_tls12_and_tls13() {
    for version in VERSIONS {
        resume(Method::Ttls, version, true);
        resume(Method::Ttls, version, false);
    }
}

#[test]
fn peap_resumes_over_tls12_and_tls13() {
    for version in VERSIONS {
        resume(Method::Peap, version, true);
        resume(Method::Peap, version, false);
    }
}

#[test]
fn without_tickets_nothing_resumes() {
    for version in VERSIONS {
        let server = server_config(false);
        let client = client_config(version);
        full_login(Method::Ttls, &server, &client, 1000);
        full_login(Method::Ttls, &server, &client, 1000);
    }
}

#[test]
fn smallest_fragments_both_ways() {
    for method in [Method::Ttls, Method::Peap] {
        for version in VERSIONS {
            let server = server_config(true);
            let client = client_config(version);
            let (conversation, peer) = full_login(method, &server, &client, frames::MIN_FRAGMENT);
            assert_eq!(peer.largest_in, frames::MIN_FRAGMENT);
            assert_eq!(peer.largest_out, frames::MIN_FRAGMENT);
            assert!(
                conversation.rounds < MAX_ROUNDS,
                "{method:?} {version:?}: {} rounds",
                conversation.rounds
            );
            // And a resumed session in small fragments.
            let (mut conversation, request) =
                Conversation::start(method, Arc::clone(&server), 10, 1, [1; HANDLE_LEN]).unwrap();
            let mut peer = Peer::new(method, &client, frames::MIN_FRAGMENT);
            let stop = drive(&mut conversation, &mut peer, request);
            assert!(peer.resumed());
            assert!(matches!(stop.step, Step::Resumed(ref h) if h == &HANDLE));
            assert!(conversation.rounds < MAX_ROUNDS);
        }
    }
}

#[test]
fn a_stale_identifier_is_discarded_and_the_conversation_goes_on() {
    for method in [Method::Ttls, Method::Peap] {
        let (mut conversation, request) = start(method, &server_config(false), 100);
        let mut peer = Peer::new(method, &client_config(&rustls::version::TLS13), 100);
        // Three rounds in (inside the fragments of our flight), a response with another
        // Identifier.
        let mut request = request;
        for _ in 0..3 {
            let response = peer.respond(&request);
            match conversation.handle_response(&Packet::parse(&response).unwrap()) {
                Step::Request(next) => request = next,
                other => panic!("{other:?}"),
            }
        }
        let rounds = conversation.rounds;
        let response = peer.respond(&request);
        let mut stale = Packet::parse(&response).unwrap();
        stale.identifier = stale.identifier.wrapping_sub(1);
        assert!(matches!(
            conversation.handle_response(&stale),
            Step::Discard(_)
        ));
        let mut request_code = stale.clone();
        request_code.code = Code::Request;
        request_code.identifier = identifier_of(&request);
        assert!(matches!(
            conversation.handle_response(&request_code),
            Step::Discard(_)
        ));
        assert_eq!(
            conversation.rounds, rounds,
            "a discarded response is no round"
        );
        // The right one, then on to the end.
        let Step::Request(next) = conversation.handle_response(&Packet::parse(&response).unwrap())
        else {
            panic!("the right response after a stale one");
        };
        let stop = drive(&mut conversation, &mut peer, next);
        assert_eq!(expect_inner(&stop), (USER, PASSWORD));
    }
}

#[test]
fn a_nak_to_the_start_names_the_desired_types() {
    for method in [Method::Ttls, Method::Peap] {
        let (mut conversation, request) = start(method, &server_config(false), 1000);
        let identifier = identifier_of(&request);
        let nak = Packet::response(identifier, types::NAK, &[types::PEAP, types::TTLS]);
        match conversation.handle_response(&nak) {
            Step::Nak(desired) => assert_eq!(desired, [types::PEAP, types::TTLS]),
            other => panic!("expected Nak, got {other:?}"),
        }
        // "No alternative".
        let (mut conversation, _) = start(method, &server_config(false), 1000);
        let nak = Packet::response(identifier, types::NAK, &[0]);
        assert!(matches!(conversation.handle_response(&nak), Step::Nak(d) if d.is_empty()));
    }
}

#[test]
fn a_nak_later_is_a_failure() {
    let (mut conversation, request) = start(Method::Ttls, &server_config(false), 100);
    let mut peer = Peer::new(Method::Ttls, &client_config(&rustls::version::TLS12), 100);
    let response = peer.respond(&request);
    let Step::Request(request) = conversation.handle_response(&Packet::parse(&response).unwrap())
    else {
        panic!("the first round");
    };
    let identifier = identifier_of(&request);
    let nak = Packet::response(identifier, types::NAK, &[types::MD5]);
    let why = expect_failure(conversation.handle_response(&nak), identifier);
    assert_eq!(why, Why::NoCommonMethod);
}

#[test]
fn garbage_tls_is_a_tls_failure() {
    for method in [Method::Ttls, Method::Peap] {
        let (mut conversation, request) = start(method, &server_config(false), 1000);
        let identifier = identifier_of(&request);
        let garbage = frames::encode_frame(0, None, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let response = Packet::response(identifier, method.eap_type(), &garbage);
        let why = expect_failure(conversation.handle_response(&response), identifier);
        assert!(matches!(why, Why::Tls(_)), "{why:?}");
        // After a Failure, no further request.
        assert!(matches!(
            conversation.handle_response(&response),
            Step::Discard(_)
        ));
    }
}

#[test]
fn garbage_avps_are_an_inner_failure() {
    for version in VERSIONS {
        for plain in [
            vec![0, 0, 0, 1, 0x40, 0, 0, 200],
            ttls::encode_avp(ttls::USER_NAME, None, true, USER.as_bytes()),
            [
                ttls::encode_avp(ttls::USER_NAME, None, true, USER.as_bytes()),
                ttls::encode_avp(ttls::EAP_MESSAGE, None, true, &[2, 0, 0, 5, 1]),
            ]
            .concat(),
        ] {
            let (mut conversation, request) = start(Method::Ttls, &server_config(true), 1000);
            let mut peer = Peer::new(Method::Ttls, &client_config(version), 1000);
            peer.twist = Twist::TtlsPlain(plain);
            let stop = drive(&mut conversation, &mut peer, request);
            let why = expect_failure(stop.step, identifier_of(&stop.last_request));
            assert!(matches!(why, Why::Inner(_)), "{why:?}");
        }
    }
}

#[test]
fn an_inner_mschapv2_nak_in_peap_fails() {
    for version in VERSIONS {
        let (mut conversation, request) = start(Method::Peap, &server_config(false), 1000);
        let mut peer = Peer::new(Method::Peap, &client_config(version), 1000);
        peer.twist = Twist::PeapGtcAnswer(vec![types::NAK, types::MSCHAPV2]);
        let stop = drive(&mut conversation, &mut peer, request);
        let why = expect_failure(stop.step, identifier_of(&stop.last_request));
        assert!(
            matches!(&why, Why::Inner(e) if e.contains("GTC")),
            "{why:?}"
        );
        // Other wrong inner answers: an empty GTC answer, an MD5 response.
        for answer in [vec![types::GTC], vec![types::MD5, 16]] {
            let (mut conversation, request) = start(Method::Peap, &server_config(false), 1000);
            let mut peer = Peer::new(Method::Peap, &client_config(version), 1000);
            peer.twist = Twist::PeapGtcAnswer(answer);
            let stop = drive(&mut conversation, &mut peer, request);
            let why = expect_failure(stop.step, identifier_of(&stop.last_request));
            assert!(matches!(why, Why::Inner(_)), "{why:?}");
        }
    }
}

#[test]
fn peap_result_failure_from_the_peer_fails() {
    let (mut conversation, request) = start(Method::Peap, &server_config(false), 1000);
    let mut peer = Peer::new(Method::Peap, &client_config(&rustls::version::TLS13), 1000);
    let stop = drive(&mut conversation, &mut peer, request);
    expect_inner(&stop);
    let Step::Request(request) = conversation.inner_answer(InnerAnswer::Accept) else {
        panic!("expected the Result TLV request");
    };
    // The peer answers the Result TLV with failure: written by hand into its tunnel.
    let packet = Packet::parse(&request).unwrap();
    let frame = frames::parse_frame(packet.type_data()).unwrap();
    peer.feed(frame.data);
    let mut plain = Vec::new();
    let _ = peer.tls.reader().read_to_end(&mut plain);
    assert_eq!(plain[4], types::EXTENSIONS);
    peer.tls
        .writer()
        .write_all(&[2, plain[1], 0, 11, 33, 0x80, 0x03, 0, 2, 0, 2])
        .unwrap();
    let response = peer.flush(&packet);
    let step = conversation.handle_response(&Packet::parse(&response).unwrap());
    let why = expect_failure(step, packet.identifier);
    assert!(matches!(why, Why::Inner(_)), "{why:?}");
}

#[test]
fn too_many_rounds_of_acks_fail() {
    for method in [Method::Ttls, Method::Peap] {
        let (mut conversation, request) = start(method, &server_config(false), 1000);
        let mut identifier = identifier_of(&request);
        for round in 1..=MAX_ROUNDS {
            let ack = Packet::response(identifier, method.eap_type(), &frames::ack_frame(0));
            match conversation.handle_response(&ack) {
                Step::Request(next) => {
                    let next = Packet::parse(&next).unwrap();
                    assert_eq!(next.type_data(), frames::ack_frame(0), "round {round}");
                    identifier = next.identifier;
                }
                other => panic!("round {round}: {other:?}"),
            }
        }
        let ack = Packet::response(identifier, method.eap_type(), &frames::ack_frame(0));
        let why = expect_failure(conversation.handle_response(&ack), identifier);
        assert_eq!(why, Why::TooManyRounds);
    }
}

#[test]
fn a_response_of_another_type_fails() {
    for (method, other) in [
        (Method::Ttls, types::PEAP),
        (Method::Peap, types::TTLS),
        (Method::Ttls, types::MD5),
        (Method::Peap, types::IDENTITY),
    ] {
        let (mut conversation, request) = start(method, &server_config(false), 1000);
        let mut peer = Peer::new(method, &client_config(&rustls::version::TLS12), 1000);
        let response = Packet::parse(&peer.respond(&request)).unwrap();
        let wrong = Packet::response(response.identifier, other, response.type_data());
        let why = expect_failure(conversation.handle_response(&wrong), response.identifier);
        assert!(matches!(why, Why::Framing(_)), "{why:?}");
    }
}

#[test]
fn data_while_our_fragments_go_out_is_a_framing_failure() {
    let (mut conversation, request) = start(Method::Ttls, &server_config(false), 64);
    let mut peer = Peer::new(Method::Ttls, &client_config(&rustls::version::TLS13), 1000);
    let response = peer.respond(&request);
    // Our flight's first fragment (M set): the peer answers with data instead of an ACK.
    let Step::Request(request) = conversation.handle_response(&Packet::parse(&response).unwrap())
    else {
        panic!("the first fragment");
    };
    let packet = Packet::parse(&request).unwrap();
    assert!(frames::parse_frame(packet.type_data()).unwrap().more);
    let data = Packet::response(
        packet.identifier,
        types::TTLS,
        &frames::encode_frame(0, None, &[0x16]),
    );
    let why = expect_failure(conversation.handle_response(&data), packet.identifier);
    assert!(matches!(why, Why::Framing(_)), "{why:?}");
}

#[test]
fn broken_peer_fragments_are_a_framing_failure() {
    let (mut conversation, request) = start(Method::Peap, &server_config(false), 1000);
    let identifier = identifier_of(&request);
    // Announces 10 octets, sends 6 and ends.
    let short = Packet::response(
        identifier,
        types::PEAP,
        &frames::encode_frame(0, Some(10), &[0; 6]),
    );
    let why = expect_failure(conversation.handle_response(&short), identifier);
    assert_eq!(
        why,
        Why::Framing(
            FrameError::ShortOfAnnounced {
                announced: 10,
                received: 6
            }
            .to_string()
        )
    );
    // No flags octet at all.
    let (mut conversation, _) = start(Method::Peap, &server_config(false), 1000);
    let empty = Packet::response(identifier, types::PEAP, &[]);
    assert!(matches!(
        expect_failure(conversation.handle_response(&empty), identifier),
        Why::Framing(_)
    ));
}
