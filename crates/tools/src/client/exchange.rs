//! Sending a request and waiting for its answer as a NAS does: the same datagram again after
//! each timeout (RFC 5080 §2.2.1), and every datagram that is not a valid answer ignored, with
//! the reason kept for the report, until one is valid or the last try times out.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::{Reply, ReplyCheckError, Request, verify_reply};
use radotp_server::protocol::MAX_PACKET_LEN;

/// How long to wait for each try, and how many times to resend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub timeout: Duration,
    /// Retransmissions after the first try: `retries + 1` datagrams at most.
    pub retries: u32,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            timeout: Duration::from_secs(3),
            retries: 2,
        }
    }
}

impl Timing {
    pub fn tries(&self) -> u32 {
        self.retries.saturating_add(1)
    }
}

/// Why a received datagram was not taken as the answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreReason {
    #[error(
        "it came from {0}, not from the server's address (a multi-homed server answering from another address?)"
    )]
    WrongSource(SocketAddr),
    #[error(transparent)]
    Check(#[from] ReplyCheckError),
}

impl IgnoreReason {
    /// A stable short name for machine-readable output.
    pub fn kind(&self) -> &'static str {
        match self {
            IgnoreReason::WrongSource(_) => "wrong_source",
            IgnoreReason::Check(e) => e.kind(),
        }
    }
}

/// A datagram that was not the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub from: SocketAddr,
    pub reason: IgnoreReason,
}

/// Waiting for the answer to one request, without I/O: offer it each datagram received.
#[derive(Debug)]
pub struct Awaiting<'a> {
    request: &'a Request,
    server: SocketAddr,
    ignored: Vec<Ignored>,
}

impl<'a> Awaiting<'a> {
    pub fn new(request: &'a Request, server: SocketAddr) -> Self {
        Awaiting {
            request,
            server,
            ignored: Vec::new(),
        }
    }

    /// The reply, if `datagram` from `from` is a valid answer; otherwise it is noted as ignored.
    pub fn offer(
        &mut self,
        from: SocketAddr,
        datagram: &[u8],
        shared_secret: &[u8],
    ) -> Option<Reply> {
        let checked = if from == self.server {
            verify_reply(datagram, self.request, shared_secret).map_err(IgnoreReason::from)
        } else {
            Err(IgnoreReason::WrongSource(from))
        };
        match checked {
            Ok(reply) => Some(reply),
            Err(reason) => {
                self.ignored.push(Ignored { from, reason });
                None
            }
        }
    }

    /// Datagrams ignored so far, oldest first.
    pub fn ignored(&self) -> &[Ignored] {
        &self.ignored
    }

    pub fn into_ignored(self) -> Vec<Ignored> {
        self.ignored
    }
}

/// A valid answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub reply: Reply,
    /// From the last transmission to the answer (with retransmissions, the answer may be to an
    /// earlier copy, so this can understate).
    pub rtt: Duration,
    /// Datagrams sent, 1 when the first try was answered.
    pub attempts: u32,
    pub ignored: Vec<Ignored>,
}

/// No valid answer.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("cannot send to {server}: {source}")]
    Send {
        server: SocketAddr,
        source: io::Error,
    },
    #[error("cannot receive from the socket: {0}")]
    Receive(io::Error),
    /// The kernel reported ICMP (or ICMPv6) port unreachable for the server's address: nothing
    /// listens there, or a firewall rejects the port. Waiting longer would not help.
    #[error(
        "the server's port is closed: ICMP port unreachable from {server} (is the RADIUS server \
         running and listening on that port, and does no firewall reject it?)"
    )]
    PortUnreachable {
        server: SocketAddr,
        /// Datagrams sent before the refusal came back.
        attempts: u32,
        ignored: Vec<Ignored>,
    },
    #[error("{}", no_answer_message(*.server, .timing, .ignored))]
    NoAnswer {
        server: SocketAddr,
        timing: Timing,
        ignored: Vec<Ignored>,
    },
}

impl ExchangeError {
    /// A stable short name for machine-readable output: `timeout` when nothing came back,
    /// `port_unreachable` when the kernel said nothing listens, otherwise why the last datagram
    /// received was ignored.
    pub fn kind(&self) -> &'static str {
        match self {
            ExchangeError::Send { .. } => "send_failed",
            ExchangeError::Receive(_) => "receive_failed",
            ExchangeError::PortUnreachable { .. } => "port_unreachable",
            ExchangeError::NoAnswer { ignored, .. } => {
                ignored.last().map_or("timeout", |i| i.reason.kind())
            }
        }
    }
}

fn no_answer_message(server: SocketAddr, timing: &Timing, ignored: &[Ignored]) -> String {
    let tries = timing.tries();
    let waited = format!(
        "after {tries} {} of {} ms each",
        if tries == 1 { "try" } else { "tries" },
        timing.timeout.as_millis()
    );
    match ignored.last() {
        None => format!(
            "timeout: no answer from {server} {waited}; is the server running and reachable, and \
             is this machine one of its clients with this shared secret? (a server drops requests \
             with a wrong secret without answering, and a reply from any address but {server} \
             is dropped unseen)"
        ),
        Some(last) => format!(
            "no valid answer from {server} {waited}; {} {} ignored, the last because {}",
            ignored.len(),
            if ignored.len() == 1 {
                "reply was"
            } else {
                "replies were"
            },
            last.reason
        ),
    }
}

/// A socket on an ephemeral port of the server's address family.
pub fn bind_for(server: SocketAddr) -> io::Result<UdpSocket> {
    match server {
        SocketAddr::V4(_) => UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)),
    }
}

/// Send `request` to `server` and wait for a valid answer, resending the same bytes after
/// each timeout.
///
/// `socket` is connected to `server` first: only then does the kernel hand back ICMP port
/// unreachable (as `ECONNREFUSED` on the next send or receive), so a closed port ends the
/// exchange at once instead of after every timeout. The price is that the kernel drops
/// datagrams from any other address, so a multi-homed server answering from another address
/// looks like a timeout here; [`Awaiting`] still judges the source of each datagram it sees,
/// for callers with unconnected sockets (the load generator).
pub fn exchange(
    socket: &UdpSocket,
    server: SocketAddr,
    request: &Request,
    shared_secret: &[u8],
    timing: Timing,
) -> Result<Answer, ExchangeError> {
    socket
        .connect(server)
        .map_err(|source| ExchangeError::Send { server, source })?;
    let mut awaiting = Awaiting::new(request, server);
    let mut buffer = vec![0u8; MAX_PACKET_LEN];
    for attempt in 1..=timing.tries() {
        // A refusal can also surface here, when the ICMP came back after the last wait ended.
        if let Err(source) = socket.send(request.bytes()) {
            return Err(match source.kind() {
                io::ErrorKind::ConnectionRefused => ExchangeError::PortUnreachable {
                    server,
                    attempts: attempt - 1,
                    ignored: awaiting.into_ignored(),
                },
                _ => ExchangeError::Send { server, source },
            });
        }
        let sent = Instant::now();
        let deadline = sent + timing.timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            socket
                .set_read_timeout(Some(remaining))
                .map_err(ExchangeError::Receive)?;
            match socket.recv_from(&mut buffer) {
                Ok((len, from)) => {
                    if let Some(reply) = awaiting.offer(from, &buffer[..len], shared_secret) {
                        return Ok(Answer {
                            reply,
                            rtt: sent.elapsed(),
                            attempts: attempt,
                            ignored: awaiting.into_ignored(),
                        });
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    return Err(ExchangeError::PortUnreachable {
                        server,
                        attempts: attempt,
                        ignored: awaiting.into_ignored(),
                    });
                }
                Err(e) => return Err(ExchangeError::Receive(e)),
            }
        }
    }
    Err(ExchangeError::NoAnswer {
        server,
        timing,
        ignored: awaiting.into_ignored(),
    })
}
