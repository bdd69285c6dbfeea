//! The whole packet path without sockets: the server's `Pipeline` (precheck, Message-
//! Authenticator, reply cache, decode, User-Password, the decision core and the authenticator
//! against an in-memory store, the signed reply), judged from the outside.
//!
//! Input: one flags octet, then either a raw datagram or a recipe for up to four requests.
//!
//! flags: bit 0 re-sign the raw datagram's Message-Authenticator with the right secret (so
//! mutations get past authenticity), bit 1 the client requires Message-Authenticator, bit 2
//! challenge mode, bit 3 recipe instead of raw datagram, bits 4-5 clock moved 0-3 steps, bit 6
//! the client has `limit_proxy_state`, bit 7 the client admits only group "vpn".
//!
//! A recipe request: identifier, user, password, code (and its arguments), layout (Message-
//! Authenticator first, last, unsigned; Proxy-State; State; CHAP; wrong hiding secret; trailing
//! octets) — see `Session::request`. User octet 6 resends the previous datagram unchanged.

use crate::pipeline::{self, Handled, History};
use crate::world::{self, Client, RECOVERY_CODES, USERS, World};
use crate::{Cursor, wire};
use radotp_server::auth::Mode;
use radotp_server::protocol::{code, password};
use radotp_server::secret::SecretBytes;

const SECRET: &[u8] = b"fuzzing-secret";

/// One fuzzing input: panics on a bug.
pub fn run(data: &[u8]) {
    let mut input = Cursor::new(data);
    let flags = input.byte();
    let client = Client {
        name: "nas",
        secret: SECRET,
        require_message_authenticator: flags & 2 != 0,
        limit_proxy_state: flags & 0x40 != 0,
        allowed_groups: (flags & 0x80 != 0).then(|| vec![world::GROUP.to_owned()]),
        mode: if flags & 4 != 0 {
            Mode::Challenge
        } else {
            Mode::Append
        },
    };
    let now = world::NOW + u64::from((flags >> 4) & 3) * 30;
    let world = World::new(&client);
    if flags & 8 == 0 {
        let mut datagram = input.rest().to_vec();
        if flags & 1 != 0 && datagram.len() >= 20 {
            let length = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
            let end = length.clamp(20, datagram.len());
            wire::sign_request(&mut datagram[..end], SECRET);
        }
        let handled = pipeline::handle(&world, &client, &datagram, now);
        trace(0, false, &handled);
        pipeline::check(&client, &datagram, &handled, &History::default());
        return;
    }
    let mut session = Session::default();
    let mut previous: Option<(Vec<u8>, Option<Vec<u8>>)> = None;
    for index in 0..4u8 {
        if input.is_empty() {
            break;
        }
        // User choice 6: the previous datagram again, as a NAS retransmits it.
        let retransmission = previous.is_some() && input.peek() == Some(6);
        let (datagram, clean) = match &previous {
            Some((datagram, _)) if retransmission => {
                input.byte();
                (datagram.clone(), false)
            }
            _ => session.request(&mut input, index, now, &client),
        };
        let handled = pipeline::handle(&world, &client, &datagram, now);
        trace(index, clean, &handled);
        pipeline::check(&client, &datagram, &handled, &session.history);
        let reply = match &handled {
            Handled::Answered(a) => Some(a.reply.clone()),
            Handled::Dropped(_) => None,
        };
        if retransmission
            && let Some((_, Some(first))) = &previous
            && datagram[0] == code::ACCESS_REQUEST
        {
            // RFC 5080 §2.2.2: the same bytes again, not a second decision.
            assert_eq!(
                reply.as_ref(),
                Some(first),
                "a retransmission got another answer"
            );
        }
        session.history.add(&handled);
        if let Handled::Answered(a) = &handled
            && let Some(sent) = &a.sent
        {
            session.sent = Some(sent.clone());
        }
        previous = Some((datagram, reply));
        if clean {
            let reply_code = match &handled {
                Handled::Answered(a) => a.reply[0],
                Handled::Dropped(why) => panic!("a clean first login was dropped: {why}"),
            };
            assert_eq!(
                reply_code,
                code::ACCESS_ACCEPT,
                "a clean first login failed"
            );
        }
    }
}

/// `RADOTP_FUZZ_TRACE=1 …/packet_path FILE` shows what happened to each request of an input.
fn trace(index: u8, clean: bool, handled: &Handled) {
    if std::env::var_os("RADOTP_FUZZ_TRACE").is_some() {
        let what = match handled {
            Handled::Dropped(why) => format!("dropped: {why}"),
            Handled::Answered(a) if a.resent => format!("resent code {}", a.reply[0]),
            Handled::Answered(a) => format!("answered with code {}", a.reply[0]),
        };
        eprintln!(
            "request {index}{}: {what}",
            if clean { " (clean)" } else { "" }
        );
    }
}

/// What earlier requests of one input left behind.
#[derive(Default)]
struct Session {
    history: History,
    sent: Option<SecretBytes>,
}

impl Session {
    /// Build one Access-Request from the recipe. `clean`: the first request, signed, a right
    /// password and a current code, nothing odd: it must be accepted.
    fn request(
        &self,
        input: &mut Cursor<'_>,
        index: u8,
        now: u64,
        client: &Client,
    ) -> (Vec<u8>, bool) {
        let identifier = input.byte();
        let user_choice = input.byte();
        let user: Vec<u8> = match user_choice {
            0..=3 => USERS[usize::from(user_choice)].name.as_bytes().to_vec(),
            4 => b"nobody".to_vec(),
            5 => {
                let n = usize::from(input.byte() % 32);
                input.bytes(n).to_vec()
            }
            _ => USERS[usize::from(user_choice % 4)].name.as_bytes().to_vec(),
        };
        let spec = std::str::from_utf8(&user).ok().and_then(world::spec);
        let password: Vec<u8> = match input.byte() % 4 {
            0 => spec.map_or(b"x".to_vec(), |s| s.password.to_vec()),
            1 => b"wrong-pw".to_vec(),
            2 => Vec::new(),
            _ => {
                let n = usize::from(input.byte() % 40);
                input.bytes(n).to_vec()
            }
        };
        let code_choice = input.byte() % 8;
        let code: Vec<u8> = match (code_choice, spec) {
            (0, Some(s)) => {
                let steps = i64::from(input.byte() as i8 % 3);
                let at = (now as i64 + steps * s.params.period as i64) as u64;
                world::code_at(s, at).into_bytes()
            }
            (1, _) => RECOVERY_CODES[usize::from(input.byte() % 3)]
                .as_bytes()
                .to_vec(),
            (2, _) => Vec::new(),
            (3, _) => (0..input.byte() % 10)
                .map(|_| b'0' + input.byte() % 10)
                .collect(),
            (4, _) => self
                .sent
                .as_ref()
                .map(|s| s.expose().to_vec())
                .unwrap_or_default(),
            (5, _) => RECOVERY_CODES[usize::from(input.byte() % 3)]
                .to_ascii_uppercase()
                .into_bytes(),
            _ => {
                let n = usize::from(input.byte() % 16);
                input.bytes(n).to_vec()
            }
        };
        let layout = input.byte();
        let state: Option<Vec<u8>> =
            (layout & 0x10 != 0).then(|| match self.history.challenges.last() {
                Some(state) => state.clone(),
                None => {
                    let n = usize::from(input.byte() % 40);
                    input.bytes(n).to_vec()
                }
            });
        // A challenge is answered with the code alone.
        let typed = if state.is_some() {
            code.clone()
        } else {
            [password.as_slice(), code.as_slice()].concat()
        };
        let authenticator = wire::md5(&[&[identifier, index], &user, &typed]);
        let hiding_secret: &[u8] = if layout & 0x40 != 0 {
            b"not-the-secret"
        } else {
            SECRET
        };
        let mut attrs: Vec<(u8, Vec<u8>)> = vec![(1, user.clone())];
        if layout & 0x20 != 0 {
            attrs.push((3, [&[identifier][..], &authenticator].concat())); // CHAP-Password
        } else if let Ok(hidden) = password::encrypt(&typed, &authenticator, hiding_secret) {
            attrs.push((2, hidden));
        }
        if layout & 0x08 != 0 {
            let n = usize::from(input.byte() % 40);
            attrs.push((33, input.bytes(n).to_vec()));
        }
        if let Some(state) = &state {
            attrs.push((24, state.clone()));
        }
        if layout & 0x01 != 0 {
            let ma = (wire::MESSAGE_AUTHENTICATOR, vec![0; 16]);
            if layout & 0x02 != 0 {
                attrs.push(ma);
            } else {
                attrs.insert(0, ma);
            }
        }
        let mut datagram = vec![code::ACCESS_REQUEST, identifier, 0, 0];
        datagram.extend_from_slice(&authenticator);
        for (kind, value) in &attrs {
            let value = &value[..value.len().min(253)];
            datagram.push(*kind);
            datagram.push((value.len() + 2) as u8);
            datagram.extend_from_slice(value);
        }
        if layout & 0x80 != 0 {
            let n = usize::from(input.byte());
            datagram.extend_from_slice(input.bytes(n));
        }
        let length = datagram.len().min(4096) as u16;
        datagram[2..4].copy_from_slice(&length.to_be_bytes());
        if layout & 0x04 == 0 {
            let end = usize::from(length);
            wire::sign_request(&mut datagram[..end], SECRET);
        }
        let clean = index == 0
            && layout & 0xF4 == 0
            && layout & 0x01 != 0
            && password.len() + code.len() <= 128
            && (user_choice == 0 || (user_choice == 3 && client.allowed_groups.is_none()))
            && spec.is_some_and(|s| password == s.password)
            && ((code_choice == 0 && code.len() == 6 + 2 * usize::from(user_choice == 3))
                || (code_choice == 1 && user_choice == 0));
        (datagram, clean && self.code_is_current(spec, &code, now))
    }

    /// Is `code` the TOTP code of the step of `now` or a recovery code (not an older step)?
    fn code_is_current(&self, spec: Option<&world::UserSpec>, code: &[u8], now: u64) -> bool {
        let Some(spec) = spec else { return false };
        RECOVERY_CODES.iter().any(|c| c.as_bytes() == code)
            || (0..=i64::from(world::WINDOW)).any(|k| {
                world::code_at(spec, (now as i64 + k * spec.params.period as i64) as u64).as_bytes()
                    == code
            })
    }
}
