//! The datagrams of the property test: a seeded xorshift, valid requests and the mutations of
//! them, noise, and an independent judge of what the server may authenticate.

use super::common::SECRET;
use super::common::client::*;

/// xorshift64*: small, fast and good enough to pick mutations reproducibly.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub(crate) fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }

    pub(crate) fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub(crate) fn authenticator(&mut self) -> [u8; 16] {
        self.bytes(16).try_into().unwrap()
    }
}

pub(crate) fn length_field(p: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([p[2], p[3]]))
}

pub(crate) fn set_length(p: &mut [u8], len: usize) {
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
}

/// Attribute offsets of `p[20..end]`, as far as the framing holds.
pub(crate) fn attribute_offsets(p: &[u8], end: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 20;
    while i + 2 <= end && p[i + 1] >= 2 && i + usize::from(p[i + 1]) <= end {
        out.push(i);
        i += usize::from(p[i + 1]);
    }
    out
}

/// Re-sign the Message-Authenticator(s) over `p[..Length]` with the right secret.
pub(crate) fn resign(p: &mut [u8]) {
    if p.len() >= 20 && (20..=p.len()).contains(&length_field(p)) {
        let end = length_field(p);
        sign_request_ma(&mut p[..end], SECRET.as_bytes());
    }
}

/// Could the server authenticate this datagram? Written from RFC 2865 §3, RFC 3579 §3.2 and the
/// documented limits, independently of `src/`. `false` is certain: such a datagram must get
/// no reply. `true` only means a reply is allowed (the server may still drop it).
pub(crate) fn authentic(p: &[u8]) -> bool {
    if p.len() < 20 || p.len() > 4096 || !matches!(p[0], ACCESS_REQUEST | STATUS_SERVER) {
        return false;
    }
    let end = length_field(p);
    if !(20..=p.len()).contains(&end) {
        return false;
    }
    let (mut i, mut count, mut ma) = (20, 0, Vec::new());
    while i < end {
        count += 1;
        if count > 255 || i + 2 > end || p[i + 1] < 2 || i + usize::from(p[i + 1]) > end {
            return false;
        }
        if p[i] == MESSAGE_AUTHENTICATOR {
            if p[i + 1] != 18 {
                return false;
            }
            ma.push(i + 2);
        }
        i += usize::from(p[i + 1]);
    }
    let [at] = ma[..] else {
        return false; // none (required by default) or several
    };
    let mut copy = p[..end].to_vec();
    copy[at..at + 16].fill(0);
    hmac_md5(SECRET.as_bytes(), &copy)[..] == p[at..at + 16]
}

/// A request with its identifier and authenticator from the seed (so replays are exact), and
/// a Message-Authenticator placeholder first.
pub(crate) fn seeded(rng: &mut Rng, code: u8) -> Request {
    let mut r = Request::new(code, SECRET);
    r.id = rng.byte();
    r.authenticator = rng.authenticator();
    r.ma()
}

/// A valid Access-Request (the password is hidden with the seeded authenticator).
pub(crate) fn access(rng: &mut Rng, user: &str, password: &[u8]) -> Request {
    seeded(rng, ACCESS_REQUEST).user(user).password(password)
}

/// The bases of mutations: valid requests of users who can never log in with them.
pub(crate) fn base(rng: &mut Rng) -> (Vec<u8>, &'static str) {
    let (r, what) = match rng.below(6) {
        0 => (seeded(rng, STATUS_SERVER), "Status-Server"),
        1 => (access(rng, "bob", b"wrong"), "bob, wrong password"),
        2 => (
            access(rng, "bob", b"x")
                .attr(PROXY_STATE, b"proxy-1")
                .attr(PROXY_STATE, &[0; 40]),
            "bob with Proxy-States",
        ),
        3 => (
            seeded(rng, ACCESS_REQUEST).user("bob").attr(3, &[7; 17]),
            "bob with CHAP-Password",
        ),
        4 => (
            seeded(rng, ACCESS_REQUEST)
                .user("bob")
                .attr(EAP_MESSAGE, &[2, 1, 0, 5, 1]),
            "bob with EAP-Message",
        ),
        _ => (access(rng, "nobody", b"whatever123456"), "unknown user"),
    };
    (r.encode(), what)
}

/// One mutation of a valid datagram.
pub(crate) fn mutate(rng: &mut Rng, p: &mut Vec<u8>) -> String {
    let len = p.len();
    match rng.below(8) {
        0 => {
            let flips = 1 + rng.below(4);
            for _ in 0..flips {
                let at = rng.below(len);
                p[at] ^= 1 << rng.below(8);
            }
            format!("{flips} bit flip(s)")
        }
        1 => {
            let keep = rng.below(len);
            p.truncate(keep);
            if rng.chance(2) && keep >= 20 {
                set_length(p, keep);
                format!("truncated to {keep}, Length fixed")
            } else {
                format!("truncated to {keep}")
            }
        }
        2 => {
            let new = match rng.below(3) {
                0 => rng.below(0x10000),
                1 => len.saturating_sub(1 + rng.below(20)),
                _ => len + 1 + rng.below(20),
            };
            set_length(p, new);
            format!("Length {len} -> {new}")
        }
        3 => {
            let offsets = attribute_offsets(p, len);
            let at = offsets
                .get(rng.below(offsets.len() + 1))
                .copied()
                .unwrap_or(len);
            let kind = match rng.below(4) {
                0 => MESSAGE_AUTHENTICATOR,
                1 => [USER_NAME, USER_PASSWORD, PROXY_STATE, 24, EAP_MESSAGE][rng.below(5)],
                _ => rng.byte(),
            };
            let value_len = if kind == MESSAGE_AUTHENTICATOR && rng.chance(2) {
                16
            } else {
                rng.below(60)
            };
            let mut attribute = vec![kind, (value_len + 2) as u8];
            attribute.extend(rng.bytes(value_len));
            p.splice(at..at, attribute);
            let n = p.len();
            set_length(p, n);
            format!("attribute {kind} ({value_len} octets) inserted at {at}")
        }
        4 => {
            let offsets = attribute_offsets(p, len);
            let Some(&at) = offsets.get(rng.below(offsets.len())) else {
                return "nothing".into();
            };
            let end = at + usize::from(p[at + 1]);
            let removed = p[at];
            if rng.chance(2) {
                let copy = p[at..end].to_vec();
                p.splice(end..end, copy);
                let n = p.len();
                set_length(p, n);
                return format!("attribute {removed} duplicated");
            }
            p.drain(at..end);
            let n = p.len();
            set_length(p, n);
            format!("attribute {removed} removed")
        }
        5 => {
            let offsets = attribute_offsets(p, len);
            let Some(&at) = offsets.get(rng.below(offsets.len())) else {
                return "nothing".into();
            };
            let new = rng.byte();
            p[at + 1] = new;
            format!("attribute at {at} gets length {new}")
        }
        6 => {
            let n = 1 + rng.below(40);
            p.extend(rng.bytes(n));
            format!("{n} octets after Length")
        }
        _ => {
            p[0] = [2, 3, 4, 5, 11, 40, 43, 0, 255][rng.below(9)];
            format!("code {}", p[0])
        }
    }
}

/// A datagram from nothing: noise, or something shaped like RADIUS.
pub(crate) fn arbitrary(rng: &mut Rng) -> Vec<u8> {
    let size = if rng.chance(20) {
        rng.below(4200)
    } else {
        rng.below(80)
    };
    let mut p = rng.bytes(size);
    if p.len() >= 20 && rng.chance(2) {
        p[0] = [ACCESS_REQUEST, STATUS_SERVER][rng.below(2)];
        let n = p.len();
        set_length(&mut p, n);
    }
    p
}
