//! One request, in order (DESIGN "One datagram, in order"): cheap checks first, nothing
//! expensive before authenticity. Sans I/O: a transport hands in the bytes, the peer and
//! itself (`receive`), gets back what to do (`Step`), runs `decide` on a worker when asked,
//! and sends what `answer` returns when it says. The UDP server, the fuzz targets and the
//! tests all drive this one implementation.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::dedup::{self, InFlightGuard, Lookup, RequestKey, ResponseCache};
use super::events::Events;
use super::health::Health;
use super::log::{RequestContext, printable_user};
use super::outcome::DropReason;
use super::rate::RateLimits;
use super::request::{self, AccessRequest};
use crate::accounting::{self, Record, Status};
use crate::auth::{self, AuthError, Authenticator, CodeToSend, Decision, Outcome, Policy};
use crate::clients::Client;
use crate::clients::ClientTable;
use crate::delivery::Dispatcher;
use crate::dictionary::{WireAttribute, to_wire_all};
use crate::protocol::precheck::{Malformed, Precheck, precheck};
use crate::protocol::{attr, code, message_authenticator, reply};
use crate::store::{Session, SessionChange};

/// Reply-Message of an Access-Challenge.
pub const CHALLENGE_PROMPT: &str = "Enter your verification code";

/// How a request reached the server. Part of the duplicate-detection key: the same Identifier
/// and authenticator on another transport is another request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A datagram on the UDP socket bound to `local`.
    Udp { local: SocketAddr },
    /// A packet on a RadSec (TLS) connection accepted on `local`; the peer's port tells one
    /// connection from another.
    Radsec { local: SocketAddr },
    /// A datagram on an `[accounting]` socket bound to `local`.
    Accounting { local: SocketAddr },
}

impl Transport {
    /// The name in log lines.
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Udp { .. } | Transport::Accounting { .. } => "udp",
            Transport::Radsec { .. } => "radsec",
        }
    }
}

/// One request as it arrived.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    pub transport: Transport,
    pub peer: SocketAddr,
    pub at: Instant,
}

/// What the transport does next.
#[derive(Debug)]
pub enum Step {
    /// Nothing to send: the request was dropped, for this reason (already logged and counted).
    Dropped(DropReason),
    /// Send these bytes now: a Status-Server answer, or a cached reply resent.
    Send(Arc<[u8]>),
    /// Run `Pipeline::decide` on a worker, then `Pipeline::answer`.
    Decide(Box<Pending>),
    /// Send this reply at its time (a request refused without deciding, e.g. CHAP).
    Answer(Reply),
    /// Record this accounting record (`Pipeline::account`, blocking), then send its answer.
    Account(Box<PendingRecord>),
    /// Work this EAP round on a worker (`Pipeline::converse`, blocking), then send its reply
    /// at its time.
    Converse(Box<super::eap::PendingEap>),
}

/// An authenticated Accounting-Request waiting to be recorded.
#[derive(Debug)]
pub struct PendingRecord {
    ctx: RequestContext,
    client: Arc<Client>,
    check: Precheck,
    guard: InFlightGuard,
    record: Record,
    proxy_states: Vec<Vec<u8>>,
    max_sessions: u64,
}

/// What a reload changes, taken whole by each request when it arrives: the request is
/// decided and answered under the configuration it started with.
#[derive(Debug)]
pub struct Snapshot {
    pub clients: ClientTable,
    /// Open sessions kept at most, when `[accounting]` is configured.
    pub max_sessions: Option<u64>,
    pub policy: Arc<Policy>,
    pub delivery: Option<Dispatcher>,
    pub reject_delay: Duration,
    pub max_queue_wait: Duration,
    /// EAP for Wi-Fi, when `[eap]` is configured.
    pub eap: Option<Arc<super::eap::EapSnapshot>>,
}

/// An authenticated Access-Request waiting for its decision.
#[derive(Debug)]
pub struct Pending {
    ctx: RequestContext,
    snapshot: Arc<Snapshot>,
    client: Arc<Client>,
    check: Precheck,
    guard: InFlightGuard,
    request: AccessRequest,
}

impl Pending {
    /// What the request's log line knows (for a transport that loses the request, e.g. a
    /// worker that failed).
    pub fn context(&self) -> &RequestContext {
        &self.ctx
    }
}

/// A signed reply, held in the reply cache, to be sent at `send_at`.
#[derive(Debug)]
pub struct Reply {
    pub bytes: Arc<[u8]>,
    pub peer: SocketAddr,
    /// Rejects leave `reject_delay` after the request arrived, whatever work they took.
    pub send_at: Instant,
    /// The outcome that was logged, for callers that judge it.
    pub outcome: Outcome,
    /// A code to send out of band once the reply has gone (`Pipeline::deliver`).
    pub code: Option<CodeToSend>,
}

/// Everything the stages need, shared by every transport and worker.
#[derive(Debug)]
pub struct Pipeline {
    /// The reloadable part; replaced whole by `replace`.
    current: RwLock<Arc<Snapshot>>,
    cache: ResponseCache,
    rate_limits: RateLimits,
    authenticator: Authenticator,
    events: Events,
    health: Arc<Health>,
    eap: super::eap::EapState,
}

/// The parts a pipeline is built from.
#[derive(Debug)]
pub struct Parts {
    pub authenticator: Authenticator,
    /// The reloadable part, as the configuration has it now.
    pub snapshot: Snapshot,
}

impl Pipeline {
    pub fn new(parts: Parts) -> Self {
        Self {
            current: RwLock::new(Arc::new(parts.snapshot)),
            cache: ResponseCache::new(dedup::DEFAULT_LIFETIME, dedup::DEFAULT_CAPACITY),
            rate_limits: RateLimits::default(),
            authenticator: parts.authenticator,
            events: Events::default(),
            health: Arc::default(),
            eap: super::eap::EapState::default(),
        }
    }

    /// The configuration requests arriving now are served under.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Serve requests arriving from now on under `snapshot`; those in flight finish under the
    /// one they started with. The reply cache and the rate limits' state are kept.
    pub fn replace(&self, snapshot: Snapshot) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
    }

    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    pub fn events(&self) -> &Events {
        &self.events
    }

    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// The EAP conversations in progress.
    pub fn eap_state(&self) -> &super::eap::EapState {
        &self.eap
    }

    /// Steps 1–7 for one request; never blocks.
    pub fn receive(&self, bytes: &[u8], arrival: Arrival) -> Step {
        self.events.received();
        let mut ctx = RequestContext::new(arrival.peer, arrival.transport.name(), arrival.at);
        match self.stages(bytes, &arrival, &mut ctx) {
            Ok(step) => step,
            Err(reason) => {
                self.events.dropped(&ctx, &reason);
                Step::Dropped(reason)
            }
        }
    }

    fn stages(
        &self,
        bytes: &[u8],
        arrival: &Arrival,
        ctx: &mut RequestContext,
    ) -> Result<Step, DropReason> {
        let snapshot = self.snapshot();
        // 2. Who is it? Unknown sources are not even parsed.
        let client = snapshot
            .clients
            .lookup(arrival.peer.ip())
            .cloned()
            .ok_or(DropReason::UnknownClient)?;
        ctx.client = Some(client.name.clone());
        // A NAS is reachable one way only: a RadSec client's address sending UDP is not it.
        if client.transport.name() != arrival.transport.name() {
            return Err(DropReason::WrongTransport {
                configured: client.transport.name(),
            });
        }
        if let Some(rate) = client.rate_limit
            && !self.rate_limits.allow(&client.name, rate, arrival.at)
        {
            return Err(DropReason::RateLimited);
        }
        // 1 + 3. Size, Length, attribute framing, code.
        let check = precheck(bytes).map_err(DropReason::Malformed)?;
        let packet = &bytes[..check.length];
        ctx.id = Some(check.identifier);
        ctx.code = Some(check.code);
        ctx.user = check.user_name(packet).map(printable_user);
        self.events.request(check.code);
        if check.code == code::ACCOUNTING_REQUEST
            || matches!(arrival.transport, Transport::Accounting { .. })
        {
            return self.accounting(packet, check, client, &snapshot, arrival, ctx);
        }
        // 4. Authenticity.
        verify_message_authenticator(&client, &check, packet)?;
        // A node that cannot decide answers nothing new: NASes then fail over (RFC 5997 §4).
        let unavailable = || DropReason::StoreUnavailable("the database is unavailable".into());
        // 6. Status-Server → Access-Accept, nothing else; cheap, so answered every time.
        if check.code == code::STATUS_SERVER {
            if !self.health.is_up() {
                return Err(unavailable());
            }
            let proxy_states = request::proxy_states(packet, check.has_proxy_state)?;
            let bytes = build_reply(code::ACCESS_ACCEPT, &client, &check, &proxy_states, &[])?;
            self.events.status_server(ctx);
            return Ok(Step::Send(bytes.into()));
        }
        // 5. Retransmissions (RFC 5080 §2.2.2): the same bytes again, not a second decision.
        let guard = match self.remembered(arrival, &check, ctx)? {
            Ok(guard) => guard,
            Err(resend) => return Ok(resend),
        };
        if !self.health.is_up() {
            return Err(unavailable());
        }
        // 7. The Access-Request's attributes.
        let request = request::parse(packet, &check.request_authenticator, client.secret.expose())?;
        ctx.user = Some(printable_user(request.user_name.as_bytes()));
        let unsupported = request.password.as_ref().err().copied();
        if unsupported == Some(auth::Unsupported::Eap)
            && client.eap
            && snapshot.eap.is_some()
            && let Some(eap) = request.eap.clone()
        {
            // RFC 3579 §3.2: every EAP request carries a Message-Authenticator.
            if check.message_authenticator.is_none() {
                return Err(DropReason::MissingMessageAuthenticator {
                    status_server: false,
                });
            }
            return Ok(Step::Converse(Box::new(super::eap::PendingEap {
                ctx: ctx.clone(),
                snapshot,
                client,
                check,
                guard,
                request,
                eap,
            })));
        }
        let pending = Pending {
            ctx: ctx.clone(),
            snapshot,
            client,
            check,
            guard,
            request,
        };
        Ok(match unsupported {
            // Nothing to decide: refused after the reject delay, like any reject.
            Some(method) => match self.answer(pending, Ok(Decision::unsupported(method))) {
                Ok(reply) => Step::Answer(reply),
                Err(reason) => Step::Dropped(reason),
            },
            None => Step::Decide(Box::new(pending)),
        })
    }

    /// Step 5: a request seen before gets the bytes already sent (`Err(Step::Send)`), or is
    /// dropped while its first copy is still being decided; a new one gets its in-flight mark.
    fn remembered(
        &self,
        arrival: &Arrival,
        check: &Precheck,
        ctx: &RequestContext,
    ) -> Result<Result<InFlightGuard, Step>, DropReason> {
        let key = RequestKey {
            transport: arrival.transport,
            peer: arrival.peer,
            identifier: check.identifier,
            request_authenticator: check.request_authenticator,
        };
        match self.cache.lookup(key, arrival.at) {
            Lookup::New(guard) => Ok(Ok(guard)),
            Lookup::Resend(bytes) => {
                self.events.resent(ctx);
                Ok(Err(Step::Send(bytes)))
            }
            Lookup::InFlight => Err(DropReason::DuplicateInFlight),
            Lookup::Full => Err(DropReason::CacheFull),
        }
    }

    /// An accounting socket's packet, or an Accounting-Request on another transport: answered
    /// (Status-Server), handed on to be recorded, or dropped.
    fn accounting(
        &self,
        packet: &[u8],
        check: Precheck,
        client: Arc<Client>,
        snapshot: &Snapshot,
        arrival: &Arrival,
        ctx: &mut RequestContext,
    ) -> Result<Step, DropReason> {
        let served = match (arrival.transport, snapshot.max_sessions) {
            (Transport::Udp { .. }, Some(_)) => {
                Err("accounting goes to an [accounting] listen address (port 1813)")
            }
            (_, None) => Err("no [accounting] section: radotp does not serve accounting"),
            (_, Some(max)) => Ok(max),
        };
        let unavailable = || DropReason::StoreUnavailable("the database is unavailable".into());
        match check.code {
            code::ACCOUNTING_REQUEST => {
                let max_sessions = served.map_err(DropReason::AccountingNotServed)?;
                let secret = client.secret.expose();
                if !accounting::request_is_authentic(packet, check.message_authenticator, secret) {
                    return Err(DropReason::BadRequestAuthenticator);
                }
                let guard = match self.remembered(arrival, &check, ctx)? {
                    Ok(guard) => guard,
                    Err(resend) => return Ok(resend),
                };
                if !self.health.is_up() {
                    return Err(unavailable());
                }
                let decoded = request::decode(packet)?;
                let record =
                    Record::parse(&decoded).map_err(|e| DropReason::BadAttribute(e.as_str()))?;
                if let Some(user) = &record.user {
                    ctx.user = Some(printable_user(user.as_bytes()));
                }
                let proxy_states = request::proxy_states(packet, check.has_proxy_state)?;
                Ok(Step::Account(Box::new(PendingRecord {
                    ctx: ctx.clone(),
                    client,
                    check,
                    guard,
                    record,
                    proxy_states,
                    max_sessions,
                })))
            }
            // RFC 5997 §4: on an accounting port, Status-Server gets an Accounting-Response.
            code::STATUS_SERVER => {
                verify_message_authenticator(&client, &check, packet)?;
                if !self.health.is_up() {
                    return Err(unavailable());
                }
                let proxy_states = request::proxy_states(packet, check.has_proxy_state)?;
                let bytes = build_reply(
                    code::ACCOUNTING_RESPONSE,
                    &client,
                    &check,
                    &proxy_states,
                    &[],
                )?;
                self.events.status_server(ctx);
                Ok(Step::Send(bytes.into()))
            }
            other => Err(DropReason::Malformed(Malformed::UnsupportedCode(other))),
        }
    }

    /// Record an accounting record in the store and build its Accounting-Response; blocking
    /// (run it off the runtime). A record that cannot be recorded gets no answer (RFC 2866 §2:
    /// the NAS sends it again, or to another server).
    pub fn account(&self, pending: PendingRecord, now: u64) -> Result<Arc<[u8]>, DropReason> {
        let PendingRecord {
            ctx,
            client,
            check,
            guard,
            record,
            proxy_states,
            max_sessions,
        } = pending;
        let at = i64::try_from(now).unwrap_or(i64::MAX);
        let session = record.session_id.as_ref().map(|id| Session {
            nas: client.name.clone(),
            session_id: id.clone(),
            user: record.user.clone().unwrap_or_default(),
            address: record.framed_ip.map(|ip| ip.to_string()),
            since: at - i64::from(record.duration.unwrap_or(0)),
            updated: at,
        });
        let change = match (record.status, &session) {
            (Status::Start | Status::InterimUpdate, Some(session)) => {
                Some(SessionChange::Open(session))
            }
            (Status::Stop, Some(session)) => Some(SessionChange::Close {
                nas: &session.nas,
                session_id: &session.session_id,
            }),
            (Status::AccountingOn | Status::AccountingOff, _) => {
                Some(SessionChange::ClearNas { nas: &client.name })
            }
            _ => None,
        };
        let recorded = change.map_or(Ok(()), |change| {
            self.authenticator
                .store()
                .record_session(change, max_sessions)
        });
        if let Err(e) = recorded {
            self.health.failed(&e.to_string());
            let reason = DropReason::StoreUnavailable(e.to_string());
            self.events.dropped(&ctx, &reason);
            return Err(reason);
        }
        let proxy_states: Vec<&[u8]> = proxy_states.iter().map(Vec::as_slice).collect();
        let built = reply::accounting_response(
            reply::RequestHeader {
                identifier: check.identifier,
                request_authenticator: &check.request_authenticator,
            },
            &proxy_states,
            client.secret.expose(),
        )
        .map_err(|e| DropReason::ReplyTooLong(e.to_string()));
        let bytes = match built {
            Ok(bytes) => Arc::<[u8]>::from(bytes),
            Err(reason) => {
                self.events.dropped(&ctx, &reason);
                return Err(reason);
            }
        };
        guard.answer(Arc::clone(&bytes), Instant::now());
        self.events.accounted(&ctx, &record);
        Ok(bytes)
    }

    /// Steps 8–9: the decision, against the store. Blocking: run it on a worker thread. `now`
    /// is the wall clock in unix seconds.
    pub fn decide(&self, pending: &Pending, now: u64) -> Result<Decision, DropReason> {
        // Answering after the NAS gave up is wasted work: skip it before hashing.
        let waited = pending.ctx.received.elapsed();
        self.events.queued(waited);
        if waited > pending.snapshot.max_queue_wait {
            return Err(DropReason::QueueTimeout(waited));
        }
        let request = &pending.request;
        let input = match &request.password {
            Ok(input) => input,
            Err(method) => return Ok(Decision::unsupported(*method)),
        };
        let client = &pending.client;
        let station = auth::decision::station(request.calling_station_id.as_deref(), &client.name);
        let decided = self.authenticator.authenticate_with(
            &auth::Request {
                user_name: &request.user_name,
                input,
                client: &client.name,
                mode: client.mode,
                state: request.state.as_deref(),
                allowed_groups: client.allowed_groups.as_deref(),
                station: &station,
                unenrolled: client.unenrolled,
            },
            &pending.snapshot.policy,
            now,
        );
        match decided {
            Ok(decision) => Ok(decision),
            Err(AuthError::Store(e)) => {
                self.health.failed(&e.to_string());
                Err(DropReason::StoreUnavailable(e.to_string()))
            }
            Err(AuthError::Source(e)) => Err(DropReason::SourceUnavailable(e.0)),
        }
    }

    /// Step 10: build and sign the reply, keep it for retransmissions, log and count the
    /// decision; or, when the request is dropped instead, log and count why.
    pub fn answer(
        &self,
        pending: Pending,
        decided: Result<Decision, DropReason>,
    ) -> Result<Reply, DropReason> {
        let Pending {
            ctx,
            snapshot,
            client,
            check,
            guard,
            request,
        } = pending;
        let mut decision = match decided {
            Ok(decision) => decision,
            Err(reason) => {
                self.events.dropped(&ctx, &reason);
                return Err(reason);
            }
        };
        let secret = client.secret.expose();
        let wire = to_wire_all(&decision.attributes, secret, &check.request_authenticator);
        let accept: Vec<(u8, &[u8])> = wire.iter().map(WireAttribute::as_pair).collect();
        let state = decision.state.clone().unwrap_or_default();
        // radotp's own prompt, or the upstream server's relayed.
        let mut challenge: Vec<(u8, &[u8])> = match decision.attributes.is_empty() {
            true => vec![(attr::REPLY_MESSAGE, CHALLENGE_PROMPT.as_bytes())],
            false => accept.clone(),
        };
        challenge.push((attr::STATE, state.as_slice()));
        let (reply_code, attributes): (u8, &[(u8, &[u8])]) = match decision.outcome {
            Outcome::Accept => (code::ACCESS_ACCEPT, &accept),
            Outcome::Reject => (code::ACCESS_REJECT, &[]),
            Outcome::Challenge => (code::ACCESS_CHALLENGE, &challenge),
        };
        let built = build_reply(
            reply_code,
            &client,
            &check,
            &request.proxy_states,
            attributes,
        );
        let bytes = match built {
            Ok(bytes) => Arc::<[u8]>::from(bytes),
            Err(reason) => {
                self.events.dropped(&ctx, &reason);
                return Err(reason);
            }
        };
        let send_at = match decision.outcome {
            Outcome::Reject => ctx.received + snapshot.reject_delay,
            Outcome::Accept | Outcome::Challenge => Instant::now(),
        };
        guard.answer(Arc::clone(&bytes), send_at);
        self.events.decided(&ctx, &decision, send_at);
        Ok(Reply {
            bytes,
            peer: ctx.peer,
            send_at,
            outcome: decision.outcome,
            code: decision.send.take(),
        })
    }

    /// A request a transport could not hand to a worker (queue full) or that a worker lost.
    pub fn dropped(&self, ctx: &RequestContext, reason: DropReason) {
        self.events.dropped(ctx, &reason);
    }

    /// Send a code out of band, after its reply went. Must be called inside the tokio runtime.
    pub fn deliver(&self, code: CodeToSend) {
        match &self.snapshot().delivery {
            Some(dispatcher) => dispatcher.dispatch(code),
            None => tracing::warn!(user = %code.user, "no [delivery] configured; code not sent"),
        }
    }
}

fn verify_message_authenticator(
    client: &Client,
    check: &Precheck,
    packet: &[u8],
) -> Result<(), DropReason> {
    let status_server = check.code == code::STATUS_SERVER;
    match check.message_authenticator {
        Some(offset) => {
            if message_authenticator::verify(packet, offset, client.secret.expose()) {
                Ok(())
            } else {
                Err(DropReason::BadMessageAuthenticator)
            }
        }
        // RFC 5997 §3: always on Status-Server. BlastRADIUS: by default on Access-Request too.
        None if status_server || client.require_message_authenticator => {
            Err(DropReason::MissingMessageAuthenticator { status_server })
        }
        // BlastRADIUS: an attacker on path forges replies by steering Proxy-State content.
        None if check.has_proxy_state && client.limit_proxy_state => {
            Err(DropReason::ProxyStateWithoutMessageAuthenticator)
        }
        None => Ok(()),
    }
}

pub(super) fn build_reply(
    reply_code: u8,
    client: &Client,
    check: &Precheck,
    proxy_states: &[Vec<u8>],
    attributes: &[(u8, &[u8])],
) -> Result<Vec<u8>, DropReason> {
    let proxy_states: Vec<&[u8]> = proxy_states.iter().map(Vec::as_slice).collect();
    reply::build(
        reply_code,
        reply::RequestHeader {
            identifier: check.identifier,
            request_authenticator: &check.request_authenticator,
        },
        &proxy_states,
        attributes,
        client.secret.expose(),
    )
    .map_err(|e| DropReason::ReplyTooLong(e.to_string()))
}
