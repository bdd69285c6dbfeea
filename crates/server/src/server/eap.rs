//! EAP over RADIUS (RFC 3579) in the pipeline: an authentic Access-Request carrying
//! EAP-Message from a NAS that may speak EAP becomes one round of a conversation (`eap`),
//! worked on a worker thread (TLS handshakes and the password check both cost CPU). Every
//! round but the last is an Access-Challenge whose State names the conversation; the inner
//! PAP or GTC credentials go through the same decision as a PAP request; the last round is an
//! Access-Accept with EAP-Success, the MS-MPPE keys and the reply attributes, or an
//! Access-Reject with EAP-Failure after the reject delay.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rustls::ServerConfig;

use super::dedup::InFlightGuard;
use super::log::{RequestContext, printable_user};
use super::outcome::DropReason;
use super::pipeline::{Pipeline, Reply, Snapshot, build_reply};
use super::request::AccessRequest;
use crate::auth::{self, AuthError, Decision, Mode, Outcome, Reason};
use crate::clients::Client;
use crate::dictionary::{WireAttribute, to_wire_all};
use crate::eap::conversation::{self, Conversation, InnerAnswer, Step};
use crate::eap::packet::{self, Code, Packet, types};
use crate::eap::table::{Entry, Table};
use crate::eap::tickets;
use crate::eap::{Method, Settings, keys};
use crate::protocol::precheck::Precheck;
use crate::protocol::{attr, code};
use crate::secret::random_bytes;
use crate::store::Store;

/// `[eap]` under one configuration snapshot: the settings, and the TLS configuration built
/// from them on first use (it needs the store, for the shared ticket keys).
pub struct EapSnapshot {
    pub settings: Settings,
    /// NASes that may speak EAP: each holds an equal share of the conversations.
    pub clients: usize,
    tls: OnceLock<Result<Arc<ServerConfig>, String>>,
}

impl std::fmt::Debug for EapSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EapSnapshot")
            .field("settings", &self.settings)
            .field("clients", &self.clients)
            .finish_non_exhaustive()
    }
}

impl EapSnapshot {
    pub fn new(settings: Settings, clients: usize) -> Self {
        Self {
            settings,
            clients,
            tls: OnceLock::new(),
        }
    }

    /// The TLS configuration: the certificate, TLS 1.3 and 1.2, no client certificate, and
    /// tickets and TLS 1.2 sessions sealed with the shared keys when resumption is on (never a
    /// session cache of one node's memory).
    fn tls(&self, store: &Arc<dyn Store>) -> Result<Arc<ServerConfig>, String> {
        self.tls
            .get_or_init(|| {
                let mut config = crate::radsec::server_config_without_client_auth(Arc::clone(
                    &self.settings.key,
                ))?;
                tickets::resumption(
                    &mut config,
                    Arc::clone(store),
                    self.settings.resumption_secs,
                );
                Ok(Arc::new(config))
            })
            .clone()
    }
}

/// The conversations in progress, kept across reloads.
#[derive(Debug, Default)]
pub struct EapState {
    table: Table,
    /// When resumable sessions older than the window were last forgotten.
    expired_at: AtomicI64,
}

impl EapState {
    /// Conversations in progress.
    pub fn conversations(&self) -> usize {
        self.table.len()
    }
}

/// An authentic Access-Request carrying EAP, waiting for a worker.
#[derive(Debug)]
pub struct PendingEap {
    pub(super) ctx: RequestContext,
    pub(super) snapshot: Arc<Snapshot>,
    pub(super) client: Arc<Client>,
    pub(super) check: Precheck,
    pub(super) guard: InFlightGuard,
    pub(super) request: AccessRequest,
    /// The EAP packet, joined from its EAP-Message attributes.
    pub(super) eap: Vec<u8>,
}

impl PendingEap {
    pub fn context(&self) -> &RequestContext {
        &self.ctx
    }

    /// Whether this round opens a conversation (an EAP-Response/Identity without State): no
    /// TLS and no store yet, an EAP-Request/Start to answer, so cheap enough to answer where
    /// it arrived, as a Status-Server is. Every later round goes to the workers.
    pub fn opens(&self) -> bool {
        self.request.state.is_none()
            && Packet::parse(&self.eap)
                .is_ok_and(|p| p.code == Code::Response && p.eap_type() == Some(types::IDENTITY))
    }
}

/// What one round answers.
enum Round {
    /// Access-Challenge; `decision` when the decision asked for the code (PEAP/GTC).
    Challenge {
        eap: Vec<u8>,
        state: [u8; crate::eap::table::STATE_LEN],
        decision: Option<Decision>,
    },
    Accept {
        eap: Vec<u8>,
        keys: Box<keys::Keys>,
        decision: Decision,
        user: String,
    },
    Reject {
        eap: Vec<u8>,
        decision: Decision,
    },
}

fn failed(why: String) -> Decision {
    let mut decision = Decision::unsupported(auth::Unsupported::Eap);
    decision.reason = Reason::EapFailed(why);
    decision
}

impl Pipeline {
    /// One EAP round: blocking (TLS, the password check, the store); run it on a worker.
    pub fn converse(&self, mut pending: PendingEap, now: u64) -> Result<Reply, DropReason> {
        let waited = pending.ctx.received.elapsed();
        self.events().queued(waited);
        let round = if waited > pending.snapshot.max_queue_wait {
            Err(DropReason::QueueTimeout(waited))
        } else {
            self.round(&mut pending, i64::try_from(now).unwrap_or(i64::MAX))
        };
        match round {
            Ok(round) => self.answer_round(pending, round),
            Err(reason) => {
                self.dropped(&pending.ctx, reason.clone());
                Err(reason)
            }
        }
    }

    fn round(&self, p: &mut PendingEap, now: i64) -> Result<Round, DropReason> {
        let Some(eap) = p.snapshot.eap.clone() else {
            return Err(DropReason::BadAttribute("EAP is not configured"));
        };
        let packet = Packet::parse(&p.eap)
            .map_err(|_| DropReason::BadAttribute("EAP-Message holds no valid EAP packet"))?;
        if packet.code != Code::Response {
            return Err(DropReason::BadAttribute(
                "EAP-Message holds no EAP-Response",
            ));
        }
        let at = Instant::now();
        let taken = p
            .request
            .state
            .as_deref()
            .and_then(|state| self.eap_state().table.take(state, &p.client.name, at));
        let Some(mut entry) = taken else {
            if packet.eap_type() == Some(types::IDENTITY) {
                return self.start(p, &eap, eap.settings.methods[0], packet.identifier, false);
            }
            let why = match p.request.state {
                Some(_) => format!(
                    "no EAP conversation has this State: idle more than {} s, from before a \
                     restart, or from another node",
                    crate::eap::IDLE_SECS
                ),
                None => "an EAP response that starts no conversation (not an Identity)".into(),
            };
            return Ok(Round::Reject {
                eap: Packet::failure(packet.identifier).encode(),
                decision: failed(why),
            });
        };
        if let Some(user) = entry.conversation.inner_user() {
            p.ctx.user = Some(printable_user(user.as_bytes()));
        }
        let step = entry.conversation.handle_response(&packet);
        self.follow(p, &eap, entry, step, packet.identifier, now)
    }

    /// A new conversation of `method`, answering the response of `identifier`.
    fn start(
        &self,
        p: &PendingEap,
        eap: &EapSnapshot,
        method: Method,
        identifier: u8,
        continuing: bool,
    ) -> Result<Round, DropReason> {
        let store = self.authenticator().store();
        let started = eap.tls(store).and_then(|tls| {
            Conversation::start(
                method,
                tls,
                eap.settings.fragment_size,
                identifier,
                random_bytes::<{ conversation::HANDLE_LEN }>(),
            )
            .map_err(|why| why.describe())
        });
        let (conversation, request) = match started {
            Ok(started) => started,
            Err(why) => {
                return Ok(Round::Reject {
                    eap: Packet::failure(identifier).encode(),
                    decision: failed(why),
                });
            }
        };
        let entry = Entry {
            conversation,
            client: p.client.name.clone(),
            challenge: None,
            challenge_decision: None,
            started: Instant::now(),
            decision: None,
            bind: None,
        };
        let state = self.keep(eap, entry, continuing)?;
        Ok(Round::Challenge {
            eap: request,
            state,
            decision: None,
        })
    }

    /// Carry out what the conversation said.
    fn follow(
        &self,
        p: &mut PendingEap,
        eap: &EapSnapshot,
        mut entry: Entry,
        step: Step,
        identifier: u8,
        now: i64,
    ) -> Result<Round, DropReason> {
        match step {
            Step::Request(request) => {
                let decision = entry.challenge_decision.take();
                let state = self.keep(eap, entry, true)?;
                Ok(Round::Challenge {
                    eap: request,
                    state,
                    decision,
                })
            }
            Step::Discard(why) => {
                // The NAS sends the answer to our last request again, under the same State.
                if let Some(state) = p.request.state.as_deref() {
                    self.eap_state().table.restore(state, entry, Instant::now());
                }
                Err(DropReason::EapDiscarded(why))
            }
            Step::Nak(desired) => {
                let current = entry.conversation.method();
                let other = desired
                    .iter()
                    .filter_map(|&t| Method::from_eap_type(t))
                    .find(|m| *m != current && eap.settings.methods.contains(m));
                match other {
                    Some(method) => self.start(p, eap, method, identifier, true),
                    None => Ok(Round::Reject {
                        eap: Packet::failure(identifier).encode(),
                        decision: failed(format!(
                            "the supplicant refused {} and asked for no method radotp serves \
                             ([eap] methods: {})",
                            current.name(),
                            eap.settings
                                .methods
                                .iter()
                                .map(|m| m.name())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    }),
                }
            }
            Step::Inner(credentials) => {
                p.ctx.user = Some(printable_user(credentials.user_name.as_bytes()));
                let mut decision = self.inner_decision(p, &mut entry, &credentials, now)?;
                decision.consequences.eap = Some(describe(&entry.conversation));
                match decision.outcome {
                    Outcome::Accept => {
                        entry.bind = Some((credentials.user_name.clone(), now));
                        entry.decision = Some(decision);
                        let next = entry.conversation.inner_answer(InnerAnswer::Accept);
                        self.follow(p, eap, entry, next, identifier, now)
                    }
                    Outcome::Challenge => {
                        entry.challenge = decision.state.clone();
                        let prompt = crate::server::pipeline::CHALLENGE_PROMPT.to_owned();
                        let next = entry
                            .conversation
                            .inner_answer(InnerAnswer::Challenge { prompt });
                        match next {
                            Step::Request(_) => {
                                entry.challenge_decision = Some(decision);
                                self.follow(p, eap, entry, next, identifier, now)
                            }
                            Step::Failure { eap, .. } => Ok(Round::Reject {
                                eap,
                                decision: refused_challenge(decision),
                            }),
                            other => self.follow(p, eap, entry, other, identifier, now),
                        }
                    }
                    Outcome::Reject => {
                        let eap = match entry.conversation.inner_answer(InnerAnswer::Reject) {
                            Step::Failure { eap, .. } => eap,
                            _ => Packet::failure(identifier).encode(),
                        };
                        Ok(Round::Reject { eap, decision })
                    }
                }
            }
            Step::Resumed(handle) => {
                let mut decision = self.resumption(p, eap, &handle, &mut entry, now)?;
                decision.consequences.eap = Some(describe(&entry.conversation));
                let stands = decision.outcome == Outcome::Accept;
                if stands {
                    entry.decision = Some(decision);
                    let next = entry.conversation.resumed(true);
                    self.follow(p, eap, entry, next, identifier, now)
                } else {
                    let eap = match entry.conversation.resumed(false) {
                        Step::Failure { eap, .. } => eap,
                        _ => Packet::failure(identifier).encode(),
                    };
                    Ok(Round::Reject { eap, decision })
                }
            }
            Step::Success { eap: success, keys } => {
                let Some(decision) = entry.decision.take() else {
                    return Ok(Round::Reject {
                        eap: Packet::failure(identifier).encode(),
                        decision: failed("EAP-Success without a decision".into()),
                    });
                };
                let user = entry
                    .bind
                    .as_ref()
                    .map(|(user, _)| user.clone())
                    .unwrap_or_default();
                // A resumed session is bound already (its handle is the login's).
                if let Some((user, created)) = &entry.bind
                    && eap.settings.resumption_secs > 0
                    && !entry.conversation.is_resumed()
                {
                    self.bind(eap, entry.conversation.handle(), user, *created, now);
                }
                Ok(Round::Accept {
                    eap: success,
                    keys,
                    decision,
                    user,
                })
            }
            Step::Failure { eap: failure, why } => {
                let mut decision = failed(why.describe());
                decision.consequences.eap = Some(describe(&entry.conversation));
                Ok(Round::Reject {
                    eap: failure,
                    decision,
                })
            }
        }
    }

    /// Keep the conversation for its next round; the State that names it. `continuing`: it
    /// was in the table before this round (`Table::put`).
    fn keep(
        &self,
        eap: &EapSnapshot,
        entry: Entry,
        continuing: bool,
    ) -> Result<[u8; crate::eap::table::STATE_LEN], DropReason> {
        self.eap_state()
            .table
            .put(
                entry,
                Instant::now(),
                eap.settings.max_conversations,
                eap.clients,
                continuing,
            )
            .map_err(DropReason::EapConversationsFull)
    }

    /// The inner credentials, decided as a PAP request from this NAS would be. TTLS cannot
    /// show a second prompt, so it is decided as append mode (a password alone is refused,
    /// and a code sent); PEAP/GTC follows the NAS's mode.
    fn inner_decision(
        &self,
        p: &PendingEap,
        entry: &mut Entry,
        credentials: &conversation::Credentials,
        now: i64,
    ) -> Result<Decision, DropReason> {
        let client = &p.client;
        let station =
            auth::decision::station(p.request.calling_station_id.as_deref(), &client.name);
        let mode = match entry.conversation.method() {
            Method::Ttls => Mode::Append,
            Method::Peap => client.mode,
        };
        let state = entry.challenge.take();
        let decided = self.authenticator().authenticate_with(
            &auth::Request {
                user_name: &credentials.user_name,
                input: &credentials.password,
                client: &client.name,
                mode,
                state: state.as_deref(),
                allowed_groups: client.allowed_groups.as_deref(),
                station: &station,
                unenrolled: client.unenrolled,
            },
            &p.snapshot.policy,
            u64::try_from(now).unwrap_or(0),
        );
        match decided {
            Ok(decision) => Ok(decision),
            Err(AuthError::Store(e)) => {
                self.health().failed(&e.to_string());
                Err(DropReason::StoreUnavailable(e.to_string()))
            }
            Err(AuthError::Source(e)) => Err(DropReason::SourceUnavailable(e.0)),
        }
    }

    /// May this resumed TLS session skip the code? Only if its handle names a session a full
    /// login bound, within the window, of a user who may still log in.
    fn resumption(
        &self,
        p: &mut PendingEap,
        eap: &EapSnapshot,
        handle: &[u8],
        entry: &mut Entry,
        now: i64,
    ) -> Result<Decision, DropReason> {
        let refused = |why: &str| {
            let mut decision = failed(String::new());
            decision.reason = Reason::ResumptionRefused(why.into());
            decision
        };
        if eap.settings.resumption_secs == 0 {
            return Ok(refused("resumption is off ([eap] resumption_hours = 0)"));
        }
        let store = self.authenticator().store();
        let unavailable = |e: crate::store::StoreError| {
            self.health().failed(&e.to_string());
            DropReason::StoreUnavailable(e.to_string())
        };
        let Some(session) = store.find_eap_session(handle).map_err(unavailable)? else {
            return Ok(refused(
                "the session it resumes was ended (user disable, reset-otp, remove or a new \
                 password) or expired",
            ));
        };
        p.ctx.user = Some(printable_user(session.user.as_bytes()));
        let user = store.find_user(&session.user).map_err(unavailable)?;
        let verdict = auth::decision::resumption(
            user.as_ref(),
            p.client.allowed_groups.as_deref(),
            &p.snapshot.policy,
            session.created,
            eap.settings.resumption_secs,
            now,
        );
        if verdict.outcome == Outcome::Accept {
            entry.bind = Some((session.user.clone(), session.created));
        }
        Ok(Decision::from_verdict(&verdict))
    }

    /// Remember that tickets of this session resume `user`'s login at `created`; forget,
    /// now and then, sessions older than the window.
    fn bind(&self, eap: &EapSnapshot, handle: &[u8], user: &str, created: i64, now: i64) {
        let store = self.authenticator().store();
        if let Err(e) = store.bind_eap_session(handle, user, created) {
            tracing::warn!(user, error = %e, "cannot remember the EAP session; its next login needs a code");
        }
        let expired_at = &self.eap_state().expired_at;
        let last = expired_at.load(Ordering::Relaxed);
        if now - last >= 60
            && expired_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            && let Err(e) = store.expire_eap_sessions(now - eap.settings.resumption_secs)
        {
            tracing::warn!(error = %e, "cannot forget expired EAP sessions");
        }
    }

    /// Build, sign, remember and log the round's reply.
    fn answer_round(&self, pending: PendingEap, round: Round) -> Result<Reply, DropReason> {
        let PendingEap {
            ctx,
            snapshot,
            client,
            check,
            guard,
            request,
            ..
        } = pending;
        let secret = client.secret.expose();
        let authenticator = &check.request_authenticator;
        let (reply_code, eap, mut decision, extra): (u8, Vec<u8>, Option<Decision>, Vec<Vec<u8>>) =
            match round {
                Round::Challenge {
                    eap,
                    state,
                    decision,
                } => (code::ACCESS_CHALLENGE, eap, decision, vec![state.to_vec()]),
                Round::Accept {
                    eap,
                    keys,
                    decision,
                    user,
                } => {
                    let [recv, send] = keys::mppe_attributes(&keys, secret, authenticator);
                    (
                        code::ACCESS_ACCEPT,
                        eap,
                        Some(decision),
                        vec![recv, send, user.into_bytes()],
                    )
                }
                Round::Reject { eap, decision } => {
                    (code::ACCESS_REJECT, eap, Some(decision), Vec::new())
                }
            };
        let wire = decision
            .as_ref()
            .filter(|_| reply_code == code::ACCESS_ACCEPT)
            .map(|d| to_wire_all(&d.attributes, secret, authenticator))
            .unwrap_or_default();
        let mut attributes: Vec<(u8, &[u8])> = packet::split_for_radius(&eap)
            .into_iter()
            .map(|part| (attr::EAP_MESSAGE, part))
            .collect();
        match reply_code {
            code::ACCESS_CHALLENGE => attributes.push((attr::STATE, &extra[0])),
            code::ACCESS_ACCEPT => {
                attributes.push((attr::VENDOR_SPECIFIC, &extra[0]));
                attributes.push((attr::VENDOR_SPECIFIC, &extra[1]));
                // The NAS learns the inner identity (for its accounting), unless the reply
                // attributes set one.
                let names_user = wire.iter().any(|w| w.as_pair().0 == attr::USER_NAME);
                if !names_user && !extra[2].is_empty() {
                    attributes.push((attr::USER_NAME, &extra[2]));
                }
                attributes.extend(wire.iter().map(WireAttribute::as_pair));
            }
            _ => {}
        }
        let built = build_reply(
            reply_code,
            &client,
            &check,
            &request.proxy_states,
            &attributes,
        );
        let bytes = match built {
            Ok(bytes) => Arc::<[u8]>::from(bytes),
            Err(reason) => {
                self.dropped(&ctx, reason.clone());
                return Err(reason);
            }
        };
        let send_at = match reply_code {
            code::ACCESS_REJECT => ctx.received + snapshot.reject_delay,
            _ => Instant::now(),
        };
        guard.answer(Arc::clone(&bytes), send_at);
        let outcome = match reply_code {
            code::ACCESS_ACCEPT => Outcome::Accept,
            code::ACCESS_REJECT => Outcome::Reject,
            _ => Outcome::Challenge,
        };
        match &decision {
            Some(decision) => self.events().decided(&ctx, decision, send_at),
            None => self.events().eap_round(&ctx),
        }
        Ok(Reply {
            bytes,
            peer: ctx.peer,
            send_at,
            outcome,
            code: decision.as_mut().and_then(|d| d.send.take()),
        })
    }
}

/// The method and TLS version, for the decision's log line.
fn describe(conversation: &Conversation) -> String {
    let method = match conversation.method() {
        Method::Ttls => "EAP-TTLS/PAP",
        Method::Peap => "PEAP/GTC",
    };
    match conversation.tls_version() {
        Some(version) => format!("{method} over {version}"),
        None => method.to_owned(),
    }
}

/// A code prompt the conversation could not show: the request is refused, and logged so.
fn refused_challenge(mut decision: Decision) -> Decision {
    decision.outcome = Outcome::Reject;
    decision.state = None;
    decision
}
