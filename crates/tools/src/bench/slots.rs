//! The 256 Identifiers of one socket (RFC 2865 §3: the Identifier matches a reply to its
//! request, per source port), without I/O: which are free, which request each outstanding one
//! belongs to, and what a received datagram is.
//!
//! Identifiers are reused oldest-freed first, and each remembers the request it last carried,
//! so an answer that arrives after its request timed out (or a duplicate) is told apart from a
//! bad one: it verifies against the previous request, not the current one.

use std::collections::VecDeque;
use std::net::SocketAddr;

use crate::client::{Awaiting, Reply, Request};

/// What a received datagram turned out to be.
#[derive(Debug)]
pub enum Offered<T> {
    /// The valid answer to an outstanding request; here is its token.
    Answer { token: T, reply: Reply },
    /// A valid answer to a request that timed out or was already answered.
    Late,
    /// Not a valid answer to anything sent: the reason's short name.
    Bad(&'static str),
}

struct Outstanding<T> {
    request: Request,
    token: T,
}

struct Entry<T> {
    current: Option<Outstanding<T>>,
    previous: Option<Request>,
}

impl<T> std::fmt::Debug for Slots<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots")
            .field("free", &self.free.len())
            .finish_non_exhaustive()
    }
}

/// The Identifier table of one socket; `T` is whatever the waiting side needs back.
pub struct Slots<T> {
    entries: Vec<Entry<T>>,
    free: VecDeque<u8>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slots<T> {
    pub fn new() -> Self {
        Slots {
            entries: (0..256)
                .map(|_| Entry {
                    current: None,
                    previous: None,
                })
                .collect(),
            free: (0..=255).collect(),
        }
    }

    /// A free Identifier, the one freed longest ago.
    pub fn allocate(&mut self) -> Option<u8> {
        self.free.pop_front()
    }

    /// Give back an Identifier that was allocated but not used.
    pub fn release(&mut self, identifier: u8) {
        self.free.push_back(identifier);
    }

    /// The request now carrying its (allocated) Identifier is on its way.
    pub fn register(&mut self, request: Request, token: T) {
        let entry = &mut self.entries[usize::from(request.identifier())];
        debug_assert!(entry.current.is_none(), "identifier registered twice");
        entry.current = Some(Outstanding { request, token });
    }

    /// The request with this Identifier timed out: its token, if it was still outstanding
    /// (`None`: the answer came first). The Identifier is free again.
    pub fn expire(&mut self, identifier: u8) -> Option<T> {
        let entry = &mut self.entries[usize::from(identifier)];
        let outstanding = entry.current.take()?;
        entry.previous = Some(outstanding.request);
        self.free.push_back(identifier);
        Some(outstanding.token)
    }

    /// Requests sent and not yet answered or expired.
    pub fn outstanding(&self) -> usize {
        self.entries.iter().filter(|e| e.current.is_some()).count()
    }

    /// Classify a datagram received from `from`; a valid answer frees its Identifier.
    pub fn offer(
        &mut self,
        from: SocketAddr,
        server: SocketAddr,
        datagram: &[u8],
        shared_secret: &[u8],
    ) -> Offered<T> {
        let Some(&identifier) = datagram.get(1) else {
            return Offered::Bad("malformed_reply");
        };
        let entry = &mut self.entries[usize::from(identifier)];
        let mut reason = "unexpected_identifier";
        if let Some(current) = &entry.current {
            let mut awaiting = Awaiting::new(&current.request, server);
            if let Some(reply) = awaiting.offer(from, datagram, shared_secret) {
                let outstanding = entry.current.take().expect("checked above");
                entry.previous = Some(outstanding.request);
                self.free.push_back(identifier);
                return Offered::Answer {
                    token: outstanding.token,
                    reply,
                };
            }
            reason = awaiting
                .ignored()
                .last()
                .map_or(reason, |i| i.reason.kind());
        }
        if let Some(previous) = &entry.previous {
            let mut awaiting = Awaiting::new(previous, server);
            if awaiting.offer(from, datagram, shared_secret).is_some() {
                return Offered::Late;
            }
            if entry.current.is_none() {
                reason = awaiting
                    .ignored()
                    .last()
                    .map_or(reason, |i| i.reason.kind());
            }
        }
        Offered::Bad(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::RequestBuilder;
    use radotp_server::protocol::reply::sign_response_authenticator;
    use radotp_server::protocol::{HEADER_LEN, code};

    const SECRET: &[u8] = b"testing123";

    fn server() -> SocketAddr {
        "127.0.0.1:1812".parse().unwrap()
    }

    fn status(identifier: u8) -> Request {
        RequestBuilder::status_server()
            .identifier(identifier)
            .build(SECRET)
            .unwrap()
    }

    /// A signed Access-Accept (without Message-Authenticator) answering `request`.
    fn answer(request: &Request, secret: &[u8]) -> Vec<u8> {
        let mut reply = vec![
            code::ACCESS_ACCEPT,
            request.identifier(),
            0,
            HEADER_LEN as u8,
        ];
        reply.extend_from_slice(request.request_authenticator());
        sign_response_authenticator(&mut reply, secret);
        reply
    }

    #[test]
    fn identifiers_are_handed_out_once_and_reused_oldest_first() {
        let mut slots: Slots<()> = Slots::new();
        let ids: Vec<u8> = std::iter::from_fn(|| slots.allocate()).collect();
        assert_eq!(ids.len(), 256);
        assert_eq!(ids[..3], [0, 1, 2]);
        slots.release(9);
        slots.release(4);
        assert_eq!(slots.allocate(), Some(9));
        assert_eq!(slots.allocate(), Some(4));
        assert_eq!(slots.allocate(), None);
    }

    #[test]
    fn answers_late_answers_and_bad_datagrams_are_told_apart() {
        let mut slots: Slots<&str> = Slots::new();
        let id = slots.allocate().unwrap();
        let first = status(id);
        let first_answer = answer(&first, SECRET);
        slots.register(first.clone(), "first");
        assert_eq!(slots.outstanding(), 1);

        // Signed with another secret: bad, and the request stays outstanding.
        let forged = answer(&first, b"other");
        let got = slots.offer(server(), server(), &forged, SECRET);
        assert!(matches!(got, Offered::Bad("bad_response_authenticator")));
        // From another address: bad.
        let elsewhere: SocketAddr = "127.0.0.2:1812".parse().unwrap();
        let got = slots.offer(elsewhere, server(), &first_answer, SECRET);
        assert!(matches!(got, Offered::Bad("wrong_source")));
        assert_eq!(slots.outstanding(), 1);

        let got = slots.offer(server(), server(), &first_answer, SECRET);
        assert!(
            matches!(got, Offered::Answer { token: "first", ref reply } if reply.code == code::ACCESS_ACCEPT)
        );
        assert_eq!(slots.outstanding(), 0);
        // The same answer again is a duplicate: late, not bad.
        assert!(matches!(
            slots.offer(server(), server(), &first_answer, SECRET),
            Offered::Late
        ));

        // Every Identifier once more, so `id` comes around again for a second request.
        let mut others = Vec::new();
        while let Some(other) = slots.allocate() {
            if other == id {
                break;
            }
            others.push(other);
        }
        let second = status(id);
        slots.register(second.clone(), "second");
        // The first request's answer arriving now is late; the second's is the answer.
        assert!(matches!(
            slots.offer(server(), server(), &first_answer, SECRET),
            Offered::Late
        ));
        let got = slots.offer(server(), server(), &answer(&second, SECRET), SECRET);
        assert!(matches!(
            got,
            Offered::Answer {
                token: "second",
                ..
            }
        ));
        // An Identifier nothing was sent with, and a runt.
        let stray = status(others[0]);
        assert!(matches!(
            slots.offer(server(), server(), &answer(&stray, SECRET), SECRET),
            Offered::Bad("unexpected_identifier")
        ));
        assert!(matches!(
            slots.offer(server(), server(), &[2], SECRET),
            Offered::Bad("malformed_reply")
        ));
    }

    #[test]
    fn a_timed_out_request_frees_its_identifier_and_its_answer_is_late() {
        let mut slots: Slots<u32> = Slots::new();
        let id = slots.allocate().unwrap();
        let request = status(id);
        slots.register(request.clone(), 7);
        assert_eq!(slots.expire(id), Some(7));
        assert_eq!(slots.expire(id), None);
        assert_eq!(slots.outstanding(), 0);
        assert!(matches!(
            slots.offer(server(), server(), &answer(&request, SECRET), SECRET),
            Offered::Late
        ));
        // Freed: it comes back after the other 255.
        let ids: Vec<u8> = std::iter::from_fn(|| slots.allocate()).collect();
        assert_eq!(ids.last(), Some(&id));
    }
}
