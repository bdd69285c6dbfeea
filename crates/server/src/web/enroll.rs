//! The enrollment page: an invitation link → the user's password → the new TOTP secret (QR
//! code, `otpauth://` link, base32) → its first code, which activates the token and is marked
//! used. The link's secret is in the first request's URL only: it is exchanged at once for a
//! server-side enrollment (an HttpOnly cookie holds its id) and every form carries that
//! enrollment's CSRF token. Wrong passwords and codes count against the invitation (five and it
//! is closed) and against the address (`limits`). One log line per step.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::app::App;
use super::limits::Bucket;
use super::pages::{self, DonePage, PasswordPage, SecretPage};
use super::sessions::{Enrollment, LIFETIME, Stage};
use crate::admin::{AdminError, invitations};
use crate::auth::{Checked, otp};
use crate::secret::SecretBytes;
use crate::store::{INVITATION_MAX_FAILURES, NewToken, PasswordSource, StoreError, TotpSeed};

const COOKIE: &str = "radotp_enroll";
const TITLE: &str = "Two-step login";

fn now() -> i64 {
    crate::clock::unix_now_signed()
}

fn gone() -> Response {
    pages::message(
        StatusCode::GONE,
        "Link not valid",
        "This link does not work (any more): it may have been used already, replaced by a \
         newer invitation, tried too often, or it expired. Ask your administrator for a new one.",
    )
}

fn already_enrolled() -> Response {
    pages::message(
        StatusCode::CONFLICT,
        "Already set up",
        "Your account already has an active authenticator. A link cannot add another: ask your \
         administrator to reset it first.",
    )
}

fn unavailable() -> Response {
    pages::message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again later",
        "Your password cannot be checked right now. Nothing was counted against you; try again \
         in a few minutes.",
    )
}

fn no_enrollment() -> Response {
    pages::message(
        StatusCode::BAD_REQUEST,
        "No enrollment in progress",
        "Open the link you were sent again (an enrollment left for 15 minutes is forgotten).",
    )
}

fn too_fast(wait: u64) -> Response {
    let mut response = pages::message(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many tries",
        "Too many requests from your address; wait a minute and try again.",
    );
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn closed() -> Response {
    pages::message(
        StatusCode::GONE,
        "Link closed",
        "Too many wrong tries: this link no longer works. Ask your administrator for a new \
         invitation.",
    )
}

fn forged() -> Response {
    pages::message(
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form did not come from this enrollment (or it expired). Open the link you were \
         sent again.",
    )
}

fn store_trouble(e: &AdminError, address: SocketAddr) -> Response {
    tracing::error!(address = %address.ip(), "enrollment: the store cannot answer: {e}");
    pages::message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again later",
        "The server cannot complete this right now. Try again in a few minutes.",
    )
}

/// The enrollment id the browser holds, if any.
fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE && value.len() == 32).then(|| value.to_owned())
        })
}

/// `/`: nothing to do without a link.
pub(super) async fn index() -> Response {
    pages::message(
        StatusCode::OK,
        TITLE,
        "To set up two-step login, open the invitation link your administrator sent you.",
    )
}

/// `GET /enroll/{secret}`: check the link, start an enrollment, and send the browser on to
/// `/enroll` so the secret leaves the address bar (and the history) at once.
pub(super) async fn open(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(text): Path<String>,
) -> Response {
    if let Err(wait) = app.limits.take(peer.ip(), Bucket::Page) {
        return too_fast(wait);
    }
    let Some(secret) = invitations::decode_secret(&text) else {
        tracing::info!(address = %peer.ip(), step = "link refused", "enrollment: a link that cannot be one");
        return gone();
    };
    let looked_up = {
        let secret = secret.clone();
        app.blocking(move |app| {
            let store = app.store().as_ref();
            let Some(invitation) = store.find_invitation(&secret, now())? else {
                return Ok(None);
            };
            let user = crate::admin::find_user(store, &invitation.name)?;
            Ok(Some((
                invitation.name,
                invitations::check_invitable(&user).is_ok(),
            )))
        })
        .await
    };
    match looked_up {
        Err(e) => store_trouble(&e, peer),
        Ok(None) => {
            tracing::info!(address = %peer.ip(), step = "link refused", "enrollment: an unknown, used, expired or closed link");
            gone()
        }
        Ok(Some((user, false))) => {
            tracing::info!(user, address = %peer.ip(), step = "link refused", "enrollment: the user already has an active token");
            already_enrolled()
        }
        Ok(Some((user, true))) => {
            let Some(id) = app.sessions.start(Enrollment::new(secret, user.clone())) else {
                return store_trouble(
                    &AdminError::Unavailable("too many enrollments in progress".into()),
                    peer,
                );
            };
            tracing::info!(user, address = %peer.ip(), step = "link opened", "enrollment: link opened");
            let secure = if app.https() { "; Secure" } else { "" };
            let cookie = format!(
                "{COOKIE}={id}; Path=/enroll; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
                LIFETIME.as_secs()
            );
            let mut response = Redirect::to("/enroll").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
    }
}

/// What the password field asks for, by where the user's password is checked.
fn prompt(source: PasswordSource, temporary: bool) -> &'static str {
    match (source, temporary) {
        (PasswordSource::Local, true) => "Your temporary password",
        (PasswordSource::Local, false) => "Your password",
        (PasswordSource::Directory, _) => "Your network password (as for e-mail or Windows)",
        (PasswordSource::Upstream, _) => "Your password",
    }
}

/// `GET /enroll`: the step the enrollment is at.
pub(super) async fn page(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(wait) = app.limits.take(peer.ip(), Bucket::Page) {
        return too_fast(wait);
    }
    let Some(id) = session_id(&headers) else {
        return no_enrollment();
    };
    let Some((user, csrf, seed)) = app.sessions.with(&id, |e| {
        let seed = match &e.stage {
            Stage::Password => None,
            Stage::Code { seed } => Some(seed.clone()),
        };
        (e.user.clone(), e.csrf.clone(), seed)
    }) else {
        return no_enrollment();
    };
    match seed {
        Some(seed) => secret_page(&app, &user, &seed, &csrf, None),
        None => password_page(&app, &user, &csrf, None, peer).await,
    }
}

async fn password_page(
    app: &Arc<App>,
    user: &str,
    csrf: &str,
    error: Option<String>,
    peer: SocketAddr,
) -> Response {
    let name = user.to_owned();
    let record = app
        .blocking(move |app| crate::admin::find_user(app.store().as_ref(), &name))
        .await;
    let record = match record {
        Ok(record) => record,
        Err(e) => return store_trouble(&e, peer),
    };
    let temporary = record.password_expires_at.is_some();
    pages::render(
        StatusCode::OK,
        &PasswordPage {
            title: TITLE,
            user,
            prompt: prompt(record.password_source, temporary),
            csrf,
            error,
        },
    )
}

fn secret_page(
    app: &App,
    user: &str,
    seed: &TotpSeed,
    csrf: &str,
    error: Option<String>,
) -> Response {
    let config = app.config.current();
    let uri = match otp::otpauth_uri(&config.otp.issuer, user, &seed.secret, seed.params) {
        Ok(uri) => uri,
        Err(e) => {
            tracing::error!(user, "enrollment: no otpauth URI: {e}");
            return unavailable();
        }
    };
    let secret = otp::to_base32(&seed.secret);
    pages::render(
        StatusCode::OK,
        &SecretPage {
            title: TITLE,
            user,
            qr_svg: pages::qr_svg(&uri),
            uri: &uri,
            secret: &secret,
            digits: seed.params.digits,
            period: seed.params.period,
            algorithm: seed.params.algorithm.as_str(),
            csrf,
            error,
        },
    )
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// The live enrollment a form belongs to, if its CSRF token is right: (user, link secret).
fn checked_session(
    app: &App,
    headers: &HeaderMap,
    csrf: &str,
    peer: SocketAddr,
) -> Result<(String, String, SecretBytes), Box<Response>> {
    let id = session_id(headers).ok_or_else(|| Box::new(no_enrollment()))?;
    let found = app
        .sessions
        .with(&id, |e| {
            (e.csrf_matches(csrf), e.user.clone(), e.secret.clone())
        })
        .ok_or_else(|| Box::new(no_enrollment()))?;
    match found {
        (true, user, secret) => Ok((id, user, secret)),
        (false, user, _) => {
            tracing::warn!(user, address = %peer.ip(), step = "form refused", "enrollment: a form without this enrollment's CSRF token");
            Err(Box::new(forged()))
        }
    }
}

/// A wrong password or code: counted against the invitation. The page to show next, or the
/// closed link.
async fn wrong(
    app: &Arc<App>,
    id: &str,
    user: &str,
    secret: SecretBytes,
    what: &'static str,
    peer: SocketAddr,
) -> Result<String, Box<Response>> {
    let counted = app
        .blocking(move |app| Ok(app.store().count_invitation_failure(&secret, now())?))
        .await;
    match counted {
        Err(e) => Err(Box::new(store_trouble(&e, peer))),
        Ok(None) => {
            tracing::info!(user, address = %peer.ip(), step = "refused", reason = "the link is no longer valid", "enrollment: {what} not counted");
            app.sessions.end(id);
            Err(Box::new(gone()))
        }
        Ok(Some(failures)) if failures >= INVITATION_MAX_FAILURES => {
            app.sessions.end(id);
            tracing::warn!(user, address = %peer.ip(), step = "link closed", failures, "enrollment: {what} wrong; the link is closed after {INVITATION_MAX_FAILURES} wrong tries");
            Err(Box::new(closed()))
        }
        Ok(Some(failures)) => {
            let left = INVITATION_MAX_FAILURES - failures;
            tracing::info!(user, address = %peer.ip(), step = "refused", failures, "enrollment: {what} wrong");
            Ok(format!(
                "That {what} is not right. {left} {} left before this link closes.",
                if left == 1 { "try" } else { "tries" }
            ))
        }
    }
}

/// `POST /enroll/password`.
pub(super) async fn password(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let PasswordForm { csrf, password } = form;
    let password = SecretBytes::new(password.into_bytes());
    if let Err(wait) = app.limits.take(peer.ip(), Bucket::Attempt) {
        return too_fast(wait);
    }
    let (id, user, secret) = match checked_session(&app, &headers, &csrf, peer) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    if app
        .sessions
        .with(&id, |e| matches!(e.stage, Stage::Code { .. }))
        == Some(true)
    {
        return Redirect::to("/enroll").into_response();
    }
    let checked = {
        let secret = secret.clone();
        app.blocking(move |app| {
            let store = app.store().as_ref();
            let Some(invitation) = store.find_invitation(&secret, now())? else {
                return Ok(Err((gone(), "the link is no longer valid")));
            };
            let record = crate::admin::find_user(store, &invitation.name)?;
            if invitations::check_invitable(&record).is_err() {
                return Ok(Err((
                    already_enrolled(),
                    "the user has an active token now",
                )));
            }
            if record.disabled {
                return Ok(Err((
                    pages::message(
                        StatusCode::FORBIDDEN,
                        "Account disabled",
                        "Your account is disabled. Ask your administrator.",
                    ),
                    "the user is disabled",
                )));
            }
            let answer =
                app.pipeline
                    .authenticator()
                    .check_password(&record, password.expose(), now());
            Ok(Ok(answer))
        })
        .await
    };
    let answer = match checked {
        Err(e) => return store_trouble(&e, peer),
        Ok(Err((response, reason))) => {
            tracing::info!(user, address = %peer.ip(), step = "refused", reason, "enrollment: password step refused");
            app.sessions.end(&id);
            return response;
        }
        Ok(Ok(Err(e))) => {
            tracing::warn!(user, address = %peer.ip(), step = "password unchecked", "enrollment: {e}");
            return unavailable();
        }
        Ok(Ok(Ok(answer))) => answer,
    };
    if answer.checked == Checked::Challenged {
        tracing::info!(user, address = %peer.ip(), step = "password unchecked", "enrollment: the upstream server asked a question the page cannot relay");
        return pages::message(
            StatusCode::CONFLICT,
            "Cannot check here",
            "Your password server asks a further question that this page cannot pass on. Ask \
             your administrator to enroll your authenticator app for you.",
        );
    }
    if answer.checked != Checked::Right {
        let csrf = csrf.clone();
        return match wrong(&app, &id, &user, secret, "password", peer).await {
            Ok(error) => password_page(&app, &user, &csrf, Some(error), peer).await,
            Err(response) => *response,
        };
    }
    let config = app.config.current();
    let seed = TotpSeed {
        secret: otp::generate_secret(),
        params: config.otp.defaults,
    };
    app.sessions.with(&id, |e| e.stage = Stage::Code { seed });
    tracing::info!(user, address = %peer.ip(), step = "password accepted", "enrollment: password right; secret shown");
    Redirect::to("/enroll").into_response()
}

/// `POST /enroll/code`.
pub(super) async fn code(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Err(wait) = app.limits.take(peer.ip(), Bucket::Attempt) {
        return too_fast(wait);
    }
    let (id, user, secret) = match checked_session(&app, &headers, &form.csrf, peer) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let Some(Some(seed)) = app.sessions.with(&id, |e| match &e.stage {
        Stage::Code { seed } => Some(seed.clone()),
        Stage::Password => None,
    }) else {
        return Redirect::to("/enroll").into_response();
    };
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    let config = app.config.current();
    let now_unix = u64::try_from(now()).unwrap_or(0);
    let Some(step) = otp::matching_step(
        &seed.secret,
        seed.params,
        &code,
        now_unix,
        config.otp.window,
    ) else {
        return match wrong(&app, &id, &user, secret, "code", peer).await {
            Ok(error) => secret_page(&app, &user, &seed, &form.csrf, Some(error)),
            Err(response) => *response,
        };
    };
    let token = NewToken {
        last_used: Some(step),
        ..NewToken::app(seed.clone())
    };
    let completed = app
        .blocking(move |app| Ok(app.store().complete_invitation(&secret, &token, now())?))
        .await;
    app.sessions.end(&id);
    match completed {
        Ok((name, token)) => {
            tracing::info!(user = name, address = %peer.ip(), step = "enrolled", token, "enrollment: first code right; token {token} (totp) active");
            pages::render(
                StatusCode::OK,
                &DonePage {
                    title: "All set",
                    user: &name,
                    digits: seed.params.digits,
                },
            )
        }
        Err(AdminError::Store(StoreError::InvitationGone)) => {
            tracing::info!(user, address = %peer.ip(), step = "refused", reason = "the link is no longer valid", "enrollment: not completed");
            gone()
        }
        Err(AdminError::Store(StoreError::HasActiveToken(_))) => {
            tracing::info!(user, address = %peer.ip(), step = "refused", reason = "the user has an active token now", "enrollment: not completed");
            already_enrolled()
        }
        Err(e) => store_trouble(&e, peer),
    }
}
