//! One enrollment in progress, held by the server between the page's steps: which link it
//! came from (so the link's secret leaves the URL after the first request), whose it is, the
//! CSRF token its forms carry, and — after the password — the new TOTP secret until its first
//! code is confirmed. Short-lived and bounded; the browser holds only a random id (an
//! HttpOnly cookie, made and read here). Several nodes behind one address need the proxy to keep a browser on one
//! node for the few minutes an enrollment takes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use crate::secret::{SecretBytes, random_bytes};
use crate::store::TotpSeed;

/// An enrollment left this long is forgotten (the link stays valid: it can be opened again).
pub(super) const LIFETIME: Duration = Duration::from_secs(15 * 60);
const MAX_SESSIONS: usize = 10_000;

/// Where an enrollment stands.
pub(super) enum Stage {
    /// Waiting for the password.
    Password,
    /// The password was right; the secret was shown and waits for its first code.
    Code { seed: TotpSeed },
}

pub(super) struct Enrollment {
    /// The link's secret: the invitation is looked up (and completed) by it.
    pub secret: SecretBytes,
    pub user: String,
    /// The token every form of this enrollment must carry.
    pub csrf: String,
    pub stage: Stage,
    started: Instant,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment")
            .field("user", &self.user)
            .field("stage", &matches!(self.stage, Stage::Code { .. }))
            .finish_non_exhaustive()
    }
}

impl Enrollment {
    pub(super) fn new(secret: SecretBytes, user: String) -> Self {
        Self {
            secret,
            user,
            csrf: hex(&random_bytes::<16>()),
            stage: Stage::Password,
            started: Instant::now(),
        }
    }

    /// Is `token` this enrollment's CSRF token? (Constant time.)
    pub(super) fn csrf_matches(&self, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.csrf.as_bytes().ct_eq(token.as_bytes()).into()
    }
}

fn hex(bytes: &[u8]) -> String {
    crate::admin::invitations::encode_secret(bytes)
}

/// The enrollment cookie over plain HTTP (loopback, behind a proxy) …
const COOKIE: &str = "radotp_enroll";
/// … and over HTTPS, where the `__Host-` prefix makes browsers refuse one set by a sibling
/// domain or over HTTP (it must be Secure, with Path=/ and no Domain).
const HOST_COOKIE: &str = "__Host-radotp_enroll";

fn cookie_name(https: bool) -> &'static str {
    if https { HOST_COOKIE } else { COOKIE }
}

/// `response` with the cookie that holds enrollment `id`.
pub(super) fn with_cookie(https: bool, mut response: Response, id: &str) -> Response {
    let cookie = match https {
        true => format!(
            "{HOST_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}; Secure",
            LIFETIME.as_secs()
        ),
        false => format!(
            "{COOKIE}={id}; Path=/enroll; HttpOnly; SameSite=Lax; Max-Age={}",
            LIFETIME.as_secs()
        ),
    };
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
/// The enrollment id the browser holds, if any.
pub(super) fn session_id(https: bool, headers: &HeaderMap) -> Option<String> {
    let wanted = cookie_name(https);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == wanted && value.len() == 32).then(|| value.to_owned())
        })
}

#[derive(Default)]
pub(super) struct Sessions {
    live: Mutex<HashMap<String, Enrollment>>,
}

/// The ids are the browsers' credentials: `Debug` shows how many there are, never one.
impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let live = self.live.lock().map_or(0, |l| l.len());
        f.debug_struct("Sessions").field("live", &live).finish()
    }
}

impl Sessions {
    /// Keep `enrollment`, ending any other of the same link (one per invitation, so opening a
    /// link again and again holds no more memory); its id for the cookie, or `None` when too
    /// many are in progress.
    pub(super) fn start(&self, enrollment: Enrollment) -> Option<String> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|_, e| e.secret.expose() != enrollment.secret.expose());
        if live.len() >= MAX_SESSIONS {
            live.retain(|_, e| e.started.elapsed() < LIFETIME);
            if live.len() >= MAX_SESSIONS {
                return None;
            }
        }
        let id = hex(&random_bytes::<16>());
        live.insert(id.clone(), enrollment);
        Some(id)
    }

    /// Work on the live enrollment `id`, if there is one.
    pub(super) fn with<T>(&self, id: &str, work: impl FnOnce(&mut Enrollment) -> T) -> Option<T> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        match live.get_mut(id) {
            Some(e) if e.started.elapsed() < LIFETIME => Some(work(e)),
            Some(_) => {
                live.remove(id);
                None
            }
            None => None,
        }
    }

    /// Move the live enrollment `id` to `stage` under a new id (returned), so that whoever
    /// held the old one does not follow it into the next step.
    pub(super) fn advance(&self, id: &str, stage: Stage) -> Option<String> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let mut enrollment = live.remove(id).filter(|e| e.started.elapsed() < LIFETIME)?;
        enrollment.stage = stage;
        let new_id = hex(&random_bytes::<16>());
        live.insert(new_id.clone(), enrollment);
        Some(new_id)
    }

    /// Forget `id` (the enrollment ended).
    pub(super) fn end(&self, id: &str) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}
