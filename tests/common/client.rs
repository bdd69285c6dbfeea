//! A small RADIUS client written from RFC 2865 / RFC 3579, independent of `src/`.
//!
//! Builds Access-Request and Status-Server packets, hides User-Password (RFC 2865 §5.2), signs
//! Message-Authenticator (RFC 3579 §3.2), and verifies replies: Response Authenticator,
//! Message-Authenticator, and that Message-Authenticator is the reply's first attribute.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};

pub const ACCESS_REQUEST: u8 = 1;
pub const ACCESS_ACCEPT: u8 = 2;
pub const ACCESS_REJECT: u8 = 3;
pub const ACCESS_CHALLENGE: u8 = 11;
pub const STATUS_SERVER: u8 = 12;

pub const USER_NAME: u8 = 1;
pub const USER_PASSWORD: u8 = 2;
pub const PROXY_STATE: u8 = 33;
pub const EAP_MESSAGE: u8 = 79;
pub const MESSAGE_AUTHENTICATOR: u8 = 80;

/// Longest wait for one reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// 16 unpredictable-enough bytes (MD5 of time, pid and a counter): good for test authenticators.
pub fn random16() -> [u8; 16] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut h = Md5::new();
    h.update(nanos.to_be_bytes());
    h.update(std::process::id().to_be_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    h.finalize().into()
}

pub fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

pub fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// RFC 2865 §5.2: pad with NULs to a multiple of 16 (at least 16), then chain MD5 XORs.
pub fn hide_password(password: &[u8], secret: &[u8], authenticator: &[u8; 16]) -> Vec<u8> {
    let mut padded = password.to_vec();
    let len = password.len().div_ceil(16).max(1) * 16;
    padded.resize(len, 0);
    let mut out = Vec::with_capacity(len);
    let mut prev: Vec<u8> = authenticator.to_vec();
    for chunk in padded.chunks(16) {
        let b = md5(&[secret, &prev]);
        let c: Vec<u8> = chunk.iter().zip(b.iter()).map(|(p, k)| p ^ k).collect();
        out.extend_from_slice(&c);
        prev = c;
    }
    out
}

/// Serialise attributes as type, length, value.
pub fn encode_attrs(attrs: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (t, v) in attrs {
        assert!(v.len() <= 253, "attribute {t} too long for the builder");
        out.push(*t);
        out.push((v.len() + 2) as u8);
        out.extend_from_slice(v);
    }
    out
}

/// Fill every 18-byte Message-Authenticator of an encoded request (all zeroed while signing).
pub fn sign_request_ma(packet: &mut [u8], secret: &[u8]) {
    let positions = ma_positions(packet);
    for &p in &positions {
        packet[p..p + 16].fill(0);
    }
    let mac = hmac_md5(secret, packet);
    for &p in &positions {
        packet[p..p + 16].copy_from_slice(&mac);
    }
}

/// Offsets of the values of the 18-byte Message-Authenticators in a well-formed packet.
fn ma_positions(packet: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 20;
    while i + 2 <= packet.len() {
        let len = packet[i + 1] as usize;
        if len < 2 {
            break;
        }
        if packet[i] == MESSAGE_AUTHENTICATOR && len == 18 && i + 18 <= packet.len() {
            out.push(i + 2);
        }
        i += len;
    }
    out
}

/// A request under construction. `Request::access` gives [Message-Authenticator, User-Name,
/// User-Password]; the Message-Authenticator placeholder is signed by `encode`.
#[derive(Clone, Debug)]
pub struct Request {
    pub code: u8,
    pub id: u8,
    pub authenticator: [u8; 16],
    pub attrs: Vec<(u8, Vec<u8>)>,
    pub secret: Vec<u8>,
}

impl Request {
    pub fn new(code: u8, secret: &str) -> Self {
        let authenticator = random16();
        Request {
            code,
            id: authenticator[0],
            authenticator,
            attrs: Vec::new(),
            secret: secret.into(),
        }
    }

    /// Access-Request with Message-Authenticator first, then User-Name and hidden User-Password.
    pub fn access(secret: &str, user: &str, password: &[u8]) -> Self {
        Request::new(ACCESS_REQUEST, secret)
            .ma()
            .user(user)
            .password(password)
    }

    /// Status-Server with Message-Authenticator.
    pub fn status(secret: &str) -> Self {
        Request::new(STATUS_SERVER, secret).ma()
    }

    pub fn attr(mut self, typ: u8, value: &[u8]) -> Self {
        self.attrs.push((typ, value.to_vec()));
        self
    }

    pub fn user(self, name: &str) -> Self {
        self.attr(USER_NAME, name.as_bytes())
    }

    /// User-Password hidden with this request's secret and authenticator.
    pub fn password(self, password: &[u8]) -> Self {
        let hidden = hide_password(password, &self.secret, &self.authenticator);
        self.attr(USER_PASSWORD, &hidden)
    }

    /// A Message-Authenticator placeholder, signed by `encode`.
    pub fn ma(self) -> Self {
        self.attr(MESSAGE_AUTHENTICATOR, &[0; 16])
    }

    pub fn without_ma(mut self) -> Self {
        self.attrs.retain(|(t, _)| *t != MESSAGE_AUTHENTICATOR);
        self
    }

    pub fn with_id(mut self, id: u8) -> Self {
        self.id = id;
        self
    }

    /// The datagram: header, attributes, Message-Authenticator(s) signed.
    pub fn encode(&self) -> Vec<u8> {
        let attrs = encode_attrs(&self.attrs);
        let mut p = vec![self.code, self.id];
        p.extend_from_slice(&((20 + attrs.len()) as u16).to_be_bytes());
        p.extend_from_slice(&self.authenticator);
        p.extend_from_slice(&attrs);
        sign_request_ma(&mut p, &self.secret);
        p
    }
}

/// A parsed, verified reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub raw: Vec<u8>,
    pub code: u8,
    pub id: u8,
    pub attrs: Vec<(u8, Vec<u8>)>,
}

impl Reply {
    pub fn types(&self) -> Vec<u8> {
        self.attrs.iter().map(|(t, _)| *t).collect()
    }

    pub fn values(&self, typ: u8) -> Vec<Vec<u8>> {
        self.attrs
            .iter()
            .filter(|(t, _)| *t == typ)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Parse `raw` as a reply to `request` (the request's bytes) and check everything a NAS must:
/// Length, Identifier, Response Authenticator, Message-Authenticator (present once, first, valid).
pub fn check_reply(raw: &[u8], request: &[u8], secret: &[u8]) -> Result<Reply, String> {
    if raw.len() < 20 {
        return Err(format!("reply of {} bytes", raw.len()));
    }
    let len = u16::from_be_bytes([raw[2], raw[3]]) as usize;
    if len != raw.len() {
        return Err(format!(
            "Length field {len} but datagram {} bytes",
            raw.len()
        ));
    }
    if raw[1] != request[1] {
        return Err(format!(
            "Identifier {} but request had {}",
            raw[1], request[1]
        ));
    }
    let mut attrs = Vec::new();
    let mut i = 20;
    while i < len {
        if i + 2 > len || (raw[i + 1] as usize) < 2 || i + raw[i + 1] as usize > len {
            return Err(format!("malformed attribute at offset {i}"));
        }
        let l = raw[i + 1] as usize;
        attrs.push((raw[i], raw[i + 2..i + l].to_vec()));
        i += l;
    }
    let req_auth = &request[4..20];
    let expected = md5(&[&raw[..4], req_auth, &raw[20..], secret]);
    if raw[4..20] != expected {
        return Err("Response Authenticator does not verify".into());
    }
    let mas = attrs
        .iter()
        .filter(|(t, _)| *t == MESSAGE_AUTHENTICATOR)
        .count();
    if mas != 1 {
        return Err(format!("{mas} Message-Authenticators in the reply"));
    }
    if attrs[0].0 != MESSAGE_AUTHENTICATOR || attrs[0].1.len() != 16 {
        return Err(format!(
            "first attribute is type {} (len {})",
            attrs[0].0,
            attrs[0].1.len()
        ));
    }
    let mut copy = raw.to_vec();
    copy[4..20].copy_from_slice(req_auth);
    copy[22..38].fill(0);
    if hmac_md5(secret, &copy)[..] != raw[22..38] {
        return Err("Message-Authenticator does not verify".into());
    }
    Ok(Reply {
        raw: raw.to_vec(),
        code: raw[0],
        id: raw[1],
        attrs,
    })
}

/// A UDP socket talking to one server.
pub struct Client {
    pub sock: UdpSocket,
    pub server: SocketAddr,
}

impl Client {
    /// Bound to the loopback address of the server's family.
    pub fn new(server: SocketAddr) -> Self {
        let local = if server.is_ipv6() {
            "[::1]:0"
        } else {
            "127.0.0.1:0"
        };
        Client::bind(local, server)
    }

    pub fn bind(local: &str, server: SocketAddr) -> Self {
        let sock = UdpSocket::bind(local).unwrap_or_else(|e| panic!("bind {local}: {e}"));
        Client { sock, server }
    }

    pub fn send(&self, datagram: &[u8]) {
        self.sock.send_to(datagram, self.server).expect("send_to");
    }

    /// The next datagram from the server within `timeout`, or None.
    pub fn recv(&self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 65536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.sock.set_read_timeout(Some(left)).unwrap();
            match self.sock.recv_from(&mut buf) {
                Ok((n, from)) if from == self.server => return Some(buf[..n].to_vec()),
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None;
                }
                Err(e) => panic!("recv_from: {e}"),
            }
        }
    }

    /// Send raw bytes and return the verified reply (panics on silence or a bad reply).
    pub fn exchange_raw(&self, datagram: &[u8], secret: &str) -> Reply {
        self.send(datagram);
        let raw = self
            .recv(REPLY_TIMEOUT)
            .unwrap_or_else(|| panic!("no reply within {REPLY_TIMEOUT:?} from {}", self.server));
        check_reply(&raw, datagram, secret.as_bytes())
            .unwrap_or_else(|e| panic!("bad reply: {e}: {raw:02x?}"))
    }

    pub fn exchange(&self, req: &Request) -> Reply {
        self.exchange_raw(&req.encode(), std::str::from_utf8(&req.secret).unwrap())
    }

    /// Send `bad`, then a valid Status-Server (signed with `secret`) from the same socket: the
    /// first datagram back must be the Status-Server's Accept, and nothing else may follow soon.
    pub fn expect_no_reply(&self, bad: &[u8], secret: &str) {
        self.send(bad);
        let status = Request::status(secret)
            .with_id(bad.get(1).copied().unwrap_or(0).wrapping_add(1))
            .encode();
        self.send(&status);
        let first = self
            .recv(REPLY_TIMEOUT)
            .expect("the server did not answer the Status-Server sent after the bad datagram");
        let reply = check_reply(&first, &status, secret.as_bytes()).unwrap_or_else(|e| {
            panic!("expected no reply to the bad datagram, got a datagram ({e}): {first:02x?}")
        });
        assert_eq!(
            reply.code, ACCESS_ACCEPT,
            "Status-Server answered with code {}",
            reply.code
        );
        if let Some(extra) = self.recv(Duration::from_millis(300)) {
            panic!("expected no reply to the bad datagram, got {extra:02x?}");
        }
    }

    /// Plain wait: nothing may arrive within `timeout`.
    pub fn expect_silence(&self, timeout: Duration) {
        if let Some(got) = self.recv(timeout) {
            panic!("expected no reply, got {got:02x?}");
        }
    }
}
