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
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::app::App;
use super::limits::Bucket;
use super::pages::{
    self, DonePage, PasswordPage, already_enrolled, closed, forged, gone, no_enrollment,
    store_trouble, too_fast, unavailable,
};
use super::sessions::{Enrollment, Stage, session_id, with_cookie};
use crate::admin::{AdminError, invitations};
use crate::auth::{Checked, otp};
use crate::secret::SecretBytes;
use crate::store::{INVITATION_MAX_FAILURES, NewToken, StoreError, TotpSeed};

const TITLE: &str = "Two-step login";

fn now() -> i64 {
    crate::clock::unix_now_signed()
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
                tracing::warn!(user, address = %peer.ip(), step = "link refused", "enrollment: too many enrollments in progress");
                return pages::message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Try again later",
                    "Too many enrollments are in progress; try again in a few minutes.",
                );
            };
            tracing::info!(user, address = %peer.ip(), step = "link opened", "enrollment: link opened");
            with_cookie(app.https(), Redirect::to("/enroll").into_response(), &id)
        }
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
    let Some(id) = session_id(app.https(), &headers) else {
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
        Some(seed) => {
            pages::secret_page(&app.config.current().otp.issuer, &user, &seed, &csrf, None)
        }
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
            prompt: pages::prompt(record.password_source, temporary),
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
    let id = session_id(app.https(), headers).ok_or_else(|| Box::new(no_enrollment()))?;
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

/// Before a password or code is checked: the user may still enroll, and one of the
/// invitation's tries is claimed — at most `INVITATION_MAX_FAILURES` checks however many
/// requests arrive at once, and none when the claim cannot be recorded. The user and the
/// failures counting this one; else the page to answer.
fn begin_try(
    app: &App,
    user: &str,
    secret: &SecretBytes,
) -> Result<Result<(crate::store::UserRecord, u32), Refusal>, AdminError> {
    let store = app.store().as_ref();
    let record = crate::admin::find_user(store, user)?;
    if let Some(refusal) = stopped(&record) {
        return Ok(Err(refusal));
    }
    Ok(match store.count_invitation_failure(secret, now())? {
        Some(failures) => Ok((record, failures)),
        None => Err((gone(), "the link is no longer valid")),
    })
}

/// A page refused, and the reason its log line gives.
type Refusal = (Response, &'static str);

/// The page after a wrong password or code (its try is already counted): the form again with
/// what is left, or the closed link.
fn wrong(
    app: &App,
    id: &str,
    user: &str,
    failures: u32,
    what: &'static str,
    peer: SocketAddr,
) -> Result<String, Box<Response>> {
    if failures >= INVITATION_MAX_FAILURES {
        app.sessions.end(id);
        tracing::warn!(user, address = %peer.ip(), step = "link closed", failures, "enrollment: {what} wrong; the link is closed after {INVITATION_MAX_FAILURES} wrong tries");
        return Err(Box::new(closed()));
    }
    let left = INVITATION_MAX_FAILURES - failures;
    tracing::info!(user, address = %peer.ip(), step = "refused", failures, "enrollment: {what} wrong");
    Ok(format!(
        "That {what} is not right. {left} {} left before this link closes.",
        if left == 1 { "try" } else { "tries" }
    ))
}

/// Why the user named cannot go on enrolling now, if they cannot.
fn stopped(record: &crate::store::UserRecord) -> Option<Refusal> {
    if invitations::check_invitable(record).is_err() {
        return Some((already_enrolled(), "the user has an active token now"));
    }
    if record.disabled {
        return Some((
            pages::message(
                StatusCode::FORBIDDEN,
                "Account disabled",
                "Your account is disabled. Ask your administrator.",
            ),
            "the user is disabled",
        ));
    }
    None
}

/// What a password check came to, its try claimed.
enum Outcome {
    Right,
    Wrong(u32),
    /// The source could not answer, or asked a question: the try was given back.
    Unchecked(Response, String),
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
        let (secret, user) = (secret.clone(), user.clone());
        app.blocking(move |app| {
            let store = app.store().as_ref();
            let (record, failures) = match begin_try(app, &user, &secret)? {
                Ok(begun) => begun,
                Err(refusal) => return Ok(Err(refusal)),
            };
            let answer =
                app.pipeline
                    .authenticator()
                    .check_password(&record, password.expose(), now());
            let outcome = match answer {
                Ok(answer) if answer.checked == Checked::Right => Outcome::Right,
                Ok(answer) if answer.checked == Checked::Challenged => Outcome::Unchecked(
                    pages::message(
                        StatusCode::CONFLICT,
                        "Cannot check here",
                        "Your password server asks a further question that this page cannot \
                         pass on. Ask your administrator to enroll your authenticator app for \
                         you.",
                    ),
                    "the upstream server asked a question the page cannot relay".into(),
                ),
                Ok(_) => Outcome::Wrong(failures),
                Err(e) => Outcome::Unchecked(unavailable(), e.to_string()),
            };
            if !matches!(outcome, Outcome::Wrong(_)) {
                store.refund_invitation_try(&secret)?;
            }
            Ok(Ok(outcome))
        })
        .await
    };
    let outcome = match checked {
        Err(e) => return store_trouble(&e, peer),
        Ok(Err((response, reason))) => {
            tracing::info!(user, address = %peer.ip(), step = "refused", reason, "enrollment: password step refused");
            app.sessions.end(&id);
            return response;
        }
        Ok(Ok(outcome)) => outcome,
    };
    match outcome {
        Outcome::Unchecked(response, reason) => {
            tracing::warn!(user, address = %peer.ip(), step = "password unchecked", reason, "enrollment: the password could not be checked; not counted");
            response
        }
        Outcome::Wrong(failures) => match wrong(&app, &id, &user, failures, "password", peer) {
            Ok(error) => password_page(&app, &user, &csrf, Some(error), peer).await,
            Err(response) => *response,
        },
        Outcome::Right => {
            let config = app.config.current();
            let seed = TotpSeed {
                secret: otp::generate_secret(),
                params: config.otp.defaults,
            };
            // A new id from here on: a cookie planted before the password was typed does not
            // see the secret.
            let Some(new_id) = app.sessions.advance(&id, Stage::Code { seed }) else {
                return no_enrollment();
            };
            tracing::info!(user, address = %peer.ip(), step = "password accepted", "enrollment: password right; secret shown");
            with_cookie(
                app.https(),
                Redirect::to("/enroll").into_response(),
                &new_id,
            )
        }
    }
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
    let step = otp::matching_step(
        &seed.secret,
        seed.params,
        &code,
        now_unix,
        config.otp.window,
    );
    let token = step.map(|step| NewToken {
        last_used: Some(step),
        ..NewToken::app(seed.clone())
    });
    let completed = {
        let user = user.clone();
        app.blocking(move |app| {
            let store = app.store().as_ref();
            let failures = match begin_try(app, &user, &secret)? {
                Ok((_, failures)) => failures,
                Err(refusal) => return Ok(Err(refusal)),
            };
            let Some(token) = token else {
                return Ok(Ok(Err(failures)));
            };
            store.refund_invitation_try(&secret)?;
            Ok(Ok(Ok(store.complete_invitation(&secret, &token, now())?)))
        })
        .await
    };
    let completed = match completed {
        Ok(Err((response, reason))) => {
            tracing::info!(user, address = %peer.ip(), step = "refused", reason, "enrollment: code step refused");
            app.sessions.end(&id);
            return response;
        }
        Ok(Ok(Err(failures))) => {
            return match wrong(&app, &id, &user, failures, "code", peer) {
                Ok(error) => pages::secret_page(
                    &app.config.current().otp.issuer,
                    &user,
                    &seed,
                    &form.csrf,
                    Some(error),
                ),
                Err(response) => *response,
            };
        }
        Ok(Ok(Ok(done))) => Ok(done),
        Err(e) => Err(e),
    };
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
