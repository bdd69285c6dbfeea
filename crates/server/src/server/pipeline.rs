//! One datagram, in order (DESIGN "One datagram, in order"): cheap checks first, nothing
//! expensive before authenticity. Each stage returns `Result<_, DropReason>`; `?` is the drop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use radius::core::packet::Packet;
use radius::core::rfc2865;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::ServerState;
use super::log::{RequestContext, printable_user};
use super::outcome::{DropReason, Stats};
use crate::auth::{AuthRequest, Decision, Outcome};
use crate::config::ClientConfig;
use crate::dedup::{InFlightGuard, Lookup, RequestKey};
use crate::dictionary::{WireAttribute, to_wire_all};
use crate::protocol::precheck::{Precheck, precheck};
use crate::protocol::{attr, code, message_authenticator, password, reply};
use crate::secret::SecretBytes;
use crate::store::StoreError;

/// What to do once the synchronous stages are through.
enum Action {
    /// Send these bytes now (Status-Server answer, or a cached reply resent).
    Send(Arc<[u8]>),
    /// Verify credentials on the worker pool, then answer.
    Authenticate(Request),
    /// Refuse without verification (e.g. CHAP, which we cannot check), after the reject delay.
    Reject {
        request: Request,
        reason: &'static str,
    },
}

/// An authenticated, parsed Access-Request.
struct Request {
    client: Arc<ClientConfig>,
    check: Precheck,
    guard: InFlightGuard,
    user_name: String,
    password: SecretBytes,
    /// State, when this request answers an Access-Challenge.
    state: Option<Vec<u8>>,
    proxy_states: Vec<Vec<u8>>,
}

/// Handle one datagram. Never blocks: verification runs on the pool and replies that wait go to
/// spawned tasks, each holding a clone of `tracker` until it is done.
pub(super) fn handle(
    state: &Arc<ServerState>,
    socket: &Arc<UdpSocket>,
    datagram: &[u8],
    peer: SocketAddr,
    tracker: &mpsc::Sender<()>,
) {
    Stats::count(&state.stats.received);
    let now = Instant::now();
    let mut ctx = RequestContext::new(peer);
    match stages(state, datagram, peer, &mut ctx, now) {
        Err(reason) => drop_request(state, &ctx, &reason),
        Ok(Action::Send(bytes)) => {
            if let Err(e) = socket.try_send_to(&bytes, peer) {
                tracing::warn!(peer = %peer, error = %e, "cannot send a reply");
            }
        }
        Ok(Action::Authenticate(request)) => authenticate(state, socket, request, ctx, tracker),
        Ok(Action::Reject { request, reason }) => {
            let state = Arc::clone(state);
            let socket = Arc::clone(socket);
            let token = tracker.clone();
            tokio::spawn(async move {
                answer(
                    &state,
                    &socket,
                    request,
                    &ctx,
                    Decision::unsupported(reason),
                )
                .await;
                drop(token);
            });
        }
    }
}

fn drop_request(state: &ServerState, ctx: &RequestContext, reason: &DropReason) {
    state.stats.count_drop(reason.kind());
    state.metrics.dropped(reason.label());
    state.drop_log.log(ctx, reason, Instant::now());
}

/// Steps 1–7: everything up to the decision.
fn stages(
    state: &ServerState,
    datagram: &[u8],
    peer: SocketAddr,
    ctx: &mut RequestContext,
    now: Instant,
) -> Result<Action, DropReason> {
    // 2. Who is it? Unknown sources are not even parsed.
    let client = state
        .clients
        .lookup(peer.ip())
        .cloned()
        .ok_or(DropReason::UnknownClient)?;
    ctx.client = Some(client.name.clone());
    if let Some(rate) = client.rate_limit
        && !state.rate_limits.allow(&client.name, rate, now)
    {
        return Err(DropReason::RateLimited);
    }
    // 1 + 3. Size, Length, attribute framing, code.
    let check = precheck(datagram).map_err(DropReason::Malformed)?;
    ctx.id = Some(check.identifier);
    ctx.code = Some(check.code);
    state.metrics.request(code::name(check.code));
    let packet = &datagram[..check.length];
    // 4. Authenticity.
    verify_message_authenticator(&client, &check, packet)?;
    // A node without its database answers nothing new: NASes then fail over (RFC 5997 §4).
    let unavailable = || DropReason::StoreUnavailable("database unreachable".into());
    // 5. Retransmissions (RFC 5080 §2.2.2). Status-Server is cheap and answered every time.
    if check.code == code::STATUS_SERVER {
        if !state.health.is_up() {
            return Err(unavailable());
        }
        return status_server(state, &client, &check, packet, ctx);
    }
    let key = RequestKey {
        peer,
        identifier: check.identifier,
        request_authenticator: check.request_authenticator,
    };
    let guard = match state.cache.lookup(key, now) {
        Lookup::New(guard) => guard,
        Lookup::Resend(bytes) => {
            Stats::count(&state.stats.resent);
            state.metrics.resent.inc();
            tracing::debug!(client = %client.name, peer = %peer, id = check.identifier, "retransmission: resending the cached reply");
            return Ok(Action::Send(bytes));
        }
        Lookup::InFlight => return Err(DropReason::DuplicateInFlight),
        Lookup::Full => return Err(DropReason::CacheFull),
    };
    if !state.health.is_up() {
        return Err(unavailable());
    }
    // 7. The Access-Request's attributes.
    access_request(client, check, guard, packet, ctx)
}

fn verify_message_authenticator(
    client: &ClientConfig,
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

/// 6. Status-Server → Access-Accept, nothing else (RFC 5997 §3).
fn status_server(
    state: &ServerState,
    client: &ClientConfig,
    check: &Precheck,
    packet: &[u8],
    ctx: &RequestContext,
) -> Result<Action, DropReason> {
    let proxy_states = proxy_states(packet, check)?;
    let bytes = build_reply(code::ACCESS_ACCEPT, client, check, &proxy_states, &[])?;
    Stats::count(&state.stats.status_server);
    state.metrics.decision("accept", "status-server");
    ctx.decision("accept", "status-server", None);
    Ok(Action::Send(bytes.into()))
}

fn decode(packet: &[u8]) -> Result<Packet, DropReason> {
    // The codec keeps the secret only for encoding; decoding needs none.
    Packet::decode(packet, b"").map_err(|_| DropReason::BadAttribute("attribute framing"))
}

fn proxy_states(packet: &[u8], check: &Precheck) -> Result<Vec<Vec<u8>>, DropReason> {
    if !check.has_proxy_state {
        return Ok(Vec::new());
    }
    Ok(rfc2865::lookup_all_proxy_state(&decode(packet)?))
}

fn access_request(
    client: Arc<ClientConfig>,
    check: Precheck,
    guard: InFlightGuard,
    packet: &[u8],
    ctx: &mut RequestContext,
) -> Result<Action, DropReason> {
    let decoded = decode(packet)?;
    let names = rfc2865::lookup_all_user_name(&decoded)
        .map_err(|_| DropReason::BadAttribute("User-Name is not UTF-8"))?;
    let user_name = match names.as_slice() {
        [name] => name.clone(),
        [] => return Err(DropReason::BadAttribute("no User-Name")),
        _ => return Err(DropReason::BadAttribute("more than one User-Name")),
    };
    ctx.user = Some(printable_user(&user_name));
    let proxy_states = rfc2865::lookup_all_proxy_state(&decoded);
    let state = match rfc2865::lookup_all_state(&decoded).as_slice() {
        [] => None,
        [state] => Some(state.clone()),
        _ => return Err(DropReason::BadAttribute("more than one State")),
    };
    let hidden = decoded.lookup_all(attr::USER_PASSWORD);
    let (password, unsupported) = match hidden.as_slice() {
        [one] => {
            let plain = password::decrypt(
                &one.encode_bytes(),
                &check.request_authenticator,
                client.secret.expose(),
            )
            .map_err(DropReason::BadUserPassword)?;
            (plain, None)
        }
        [] if decoded.lookup(attr::CHAP_PASSWORD).is_some() => (
            SecretBytes::default(),
            Some("CHAP is not supported: configure the NAS for PAP"),
        ),
        [] if decoded.lookup(attr::EAP_MESSAGE).is_some() => (
            SecretBytes::default(),
            Some("EAP is not supported: configure the NAS for PAP"),
        ),
        [] => (SecretBytes::default(), Some("no User-Password")),
        _ => return Err(DropReason::BadAttribute("more than one User-Password")),
    };
    let request = Request {
        client,
        check,
        guard,
        user_name,
        password,
        state,
        proxy_states,
    };
    Ok(match unsupported {
        Some(reason) => Action::Reject { request, reason },
        None => Action::Authenticate(request),
    })
}

/// Steps 8–9 on the worker pool, then step 10.
fn authenticate(
    state: &Arc<ServerState>,
    socket: &Arc<UdpSocket>,
    request: Request,
    ctx: RequestContext,
    tracker: &mpsc::Sender<()>,
) {
    let authenticator = Arc::clone(&state.authenticator);
    let user_name = request.user_name.clone();
    let password = request.password.clone();
    let client = request.client.name.clone();
    let mode = request.client.mode;
    let challenge_state = request.state.clone();
    let client_config = Arc::clone(&request.client);
    let enqueued = Instant::now();
    let max_wait = state.max_queue_wait;
    let job = move || -> Result<(Decision, Duration), JobError> {
        // Answering after the NAS gave up is wasted work: skip it before hashing.
        let waited = enqueued.elapsed();
        if waited > max_wait {
            return Err(JobError::Stale(waited));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        authenticator
            .authenticate(&AuthRequest {
                user_name: &user_name,
                input: &password,
                client: &client,
                mode,
                state: challenge_state.as_deref(),
                allowed_groups: client_config.allowed_groups.as_deref(),
                now,
            })
            .map(|decision| (decision, waited))
            .map_err(JobError::Store)
    };
    let receiver = match state.pool.try_submit(job) {
        Ok(receiver) => receiver,
        Err(_) => return drop_request(state, &ctx, &DropReason::Overloaded),
    };
    let state = Arc::clone(state);
    let socket = Arc::clone(socket);
    let token = tracker.clone();
    tokio::spawn(async move {
        match receiver.await {
            Ok(Ok((decision, waited))) => {
                state.health.succeeded();
                state.metrics.queue_wait.observe(waited.as_secs_f64());
                if let Some(t) = decision.verify_time {
                    state.metrics.verify_seconds.observe(t.as_secs_f64());
                }
                answer(&state, &socket, request, &ctx, decision).await
            }
            Ok(Err(JobError::Stale(waited))) => {
                state.metrics.queue_wait.observe(waited.as_secs_f64());
                drop_request(&state, &ctx, &DropReason::QueueTimeout(waited))
            }
            Ok(Err(JobError::Store(e))) => {
                state.health.failed(&e.to_string());
                drop_request(&state, &ctx, &DropReason::StoreUnavailable(e.to_string()))
            }
            Err(_) => drop_request(&state, &ctx, &DropReason::WorkerFailed),
        }
        drop(token);
    });
}

/// Why a verification job ended without a decision.
enum JobError {
    Stale(Duration),
    Store(StoreError),
}

/// Step 10: build, sign, cache, hold back a reject, send; then hand any code to delivery.
async fn answer(
    state: &ServerState,
    socket: &UdpSocket,
    request: Request,
    ctx: &RequestContext,
    mut decision: Decision,
) {
    let challenge_attributes;
    let wire = to_wire_all(
        &decision.attributes,
        request.client.secret.expose(),
        &request.check.request_authenticator,
    );
    let accept_attributes: Vec<(u8, &[u8])> = wire.iter().map(WireAttribute::as_pair).collect();
    let (reply_code, outcome, attributes): (u8, &str, &[(u8, &[u8])]) = match &decision.outcome {
        Outcome::Accept => (code::ACCESS_ACCEPT, "accept", &accept_attributes),
        Outcome::Reject => (code::ACCESS_REJECT, "reject", &[]),
        Outcome::Challenge { state } => {
            challenge_attributes = [
                (attr::REPLY_MESSAGE, CHALLENGE_PROMPT.as_bytes()),
                (attr::STATE, state.as_slice()),
            ];
            (code::ACCESS_CHALLENGE, "challenge", &challenge_attributes)
        }
    };
    let bytes = match build_reply(
        reply_code,
        &request.client,
        &request.check,
        &request.proxy_states,
        attributes,
    ) {
        Ok(bytes) => Arc::<[u8]>::from(bytes),
        Err(reason) => return drop_request(state, ctx, &reason),
    };
    let delay = if reply_code == code::ACCESS_REJECT {
        state.reject_delay
    } else {
        Duration::ZERO
    };
    let ready_at = Instant::now() + delay;
    request.guard.answer(Arc::clone(&bytes), ready_at);
    let verify_ms = decision.verify_time.map(|t| t.as_secs_f64() * 1000.0);
    ctx.decision(outcome, &decision.reason, verify_ms);
    state.metrics.decision(outcome, decision.label);
    Stats::count(match reply_code {
        code::ACCESS_ACCEPT => &state.stats.accepted,
        code::ACCESS_CHALLENGE => &state.stats.challenged,
        _ => &state.stats.rejected,
    });
    tokio::time::sleep_until(ready_at.into()).await;
    if let Err(e) = socket.send_to(&bytes, ctx.peer).await {
        tracing::warn!(peer = %ctx.peer, error = %e, "cannot send a reply");
    }
    state
        .metrics
        .request_seconds
        .observe(ctx.received.elapsed().as_secs_f64());
    if let Some(code) = decision.send.take() {
        match &state.delivery {
            Some(dispatcher) => dispatcher.dispatch(code),
            None => tracing::warn!(user = %code.user, "no [delivery] configured; code not sent"),
        }
    }
}

/// Reply-Message of an Access-Challenge.
pub(super) const CHALLENGE_PROMPT: &str = "Enter your verification code";

fn build_reply(
    reply_code: u8,
    client: &ClientConfig,
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
