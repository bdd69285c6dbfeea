//! The admin API's endpoints, `/api/v1/…`: JSON over HTTPS with a bearer token (`radotp api-token create
//! NAME`). Every handler calls the same `admin` operation as the command line, so the rules
//! and the errors are the same; one audit line per call names the token, the action and the
//! user — never a secret.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::api_body::{Body, BodyError};
use super::api_calls::{Answer, Caller, Failure, json_response, respond};
use super::app::App;
use crate::admin::{self, AdminError, invitations, users, view};
use crate::auth::otp;
use crate::secret::SecretBytes;
use crate::store::{NewToken, PasswordSource, TotpSeed};

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/users", get(list_users).post(add_user))
        .route("/users/{name}", get(show_user).delete(remove_user))
        .route("/users/{name}/disable", post(disable))
        .route("/users/{name}/enable", post(enable))
        .route("/users/{name}/unlock", post(unlock))
        .route("/users/{name}/temporary-password", post(temporary_password))
        .route("/users/{name}/invitation", post(invite))
        .route("/users/{name}/recovery-codes", post(recovery_codes))
        .route("/sessions", get(sessions))
        .fallback(unknown_endpoint)
}

fn now() -> i64 {
    crate::clock::unix_now_signed()
}

/// An operation's result as the API answers it.
fn answered(status: StatusCode, result: Result<Value, AdminError>) -> Result<Answer, Failure> {
    result.map(|value| (status, value)).map_err(Failure::from)
}

async fn openapi() -> Response {
    json_response(StatusCode::OK, &super::openapi::document())
}

async fn unknown_endpoint(caller: Caller) -> Response {
    respond(
        &caller,
        "unknown",
        None,
        Err(Failure {
            status: StatusCode::NOT_FOUND,
            message: "no such endpoint; see /api/v1/openapi.json".into(),
            field: None,
        }),
    )
}

async fn list_users(State(app): State<Arc<App>>, caller: Caller) -> Response {
    let result = app
        .blocking(|app| {
            let config = app.config.current();
            let users = app.store().list_users()?;
            let now = now();
            Ok(users
                .iter()
                .map(|u| view::user(u, config.lockout, None, now))
                .collect::<Vec<_>>())
        })
        .await;
    respond(
        &caller,
        "user.list",
        None,
        result
            .map(|list| (StatusCode::OK, Value::Array(list)))
            .map_err(Failure::from),
    )
}

fn show(app: &App, name: &str) -> Result<Value, AdminError> {
    let config = app.config.current();
    let store = app.store().as_ref();
    let user = admin::find_user(store, name)?;
    let invitation = store.invitation_for_user(name)?;
    Ok(view::user(
        &user,
        config.lockout,
        invitation.as_ref(),
        now(),
    ))
}

async fn show_user(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Response {
    let result = {
        let name = name.clone();
        app.blocking(move |app| show(app, &name)).await
    };
    respond(
        &caller,
        "user.show",
        Some(&name),
        answered(StatusCode::OK, result),
    )
}

const ADD_FIELDS: [&str; 8] = [
    "name",
    "password",
    "password_source",
    "totp",
    "groups",
    "reply",
    "email",
    "sms",
];

async fn add_user(State(app): State<Arc<App>>, caller: Caller, body: Bytes) -> Response {
    let parsed = Body::parse(&body, &ADD_FIELDS);
    let name = parsed
        .as_ref()
        .ok()
        .and_then(|b| b.string("name").ok().flatten())
        .map(str::to_owned);
    let result = match parsed {
        Err(e) => Err(Failure::from(e)),
        Ok(body) => add(&app, body).await,
    };
    respond(&caller, "user.add", name.as_deref(), result)
}

async fn add(app: &Arc<App>, body: Body) -> Result<Answer, Failure> {
    let name = body.required("name")?.to_owned();
    let source = match body.string("password_source")? {
        None => None,
        Some(text) => Some(PasswordSource::parse(text).ok_or_else(|| BodyError {
            field: "password_source".into(),
            message: format!(
                "password_source: \"{text}\" is not one of local, directory, upstream"
            ),
        })?),
    };
    let password = body
        .string("password")?
        .map(|p| SecretBytes::new(p.as_bytes().to_vec()));
    let totp = body.bool("totp")?;
    let groups = body.strings("groups")?;
    let reply = body.strings("reply")?;
    let delivery = match (body.string("email")?, body.string("sms")?) {
        (Some(_), Some(_)) => {
            return Err(Failure::from(BodyError {
                field: "sms".into(),
                message: "sms: give email or sms, not both".into(),
            }));
        }
        (Some(address), None) => Some(users::email_delivery(address)?),
        (None, Some(number)) => Some(users::sms_delivery(number)?),
        (None, None) => None,
    };
    let created = app
        .blocking(move |app| {
            let config = app.config.current();
            let seed = totp.then(|| TotpSeed {
                secret: otp::generate_secret(),
                params: config.otp.defaults,
            });
            let shown = match &seed {
                Some(seed) => Some(json!({
                    "secret": otp::to_base32(&seed.secret),
                    "otpauth_uri": otp::otpauth_uri(&config.otp.issuer, &name, &seed.secret, seed.params)
                        .map_err(|e| AdminError::invalid("name", e))?,
                })),
                None => None,
            };
            let account = users::NewAccount {
                name: &name,
                source: source.unwrap_or(config.password_source),
                password: password.as_ref(),
                token: seed.map(NewToken::app),
                delivery,
                groups: &groups,
                reply: &reply,
            };
            users::add(&config, app.store().as_ref(), account, now())?;
            Ok(json!({ "user": show(app, &name)?, "totp": shown }))
        })
        .await?;
    Ok((StatusCode::CREATED, created))
}

async fn remove_user(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Response {
    let result = {
        let name = name.clone();
        app.blocking(move |app| users::remove(app.store().as_ref(), &name))
            .await
    };
    respond(
        &caller,
        "user.remove",
        Some(&name),
        result
            .map(|()| (StatusCode::OK, json!({ "removed": name })))
            .map_err(Failure::from),
    )
}

/// A change that answers with the user as they are after it.
async fn change(
    app: Arc<App>,
    caller: Caller,
    name: String,
    action: &'static str,
    work: fn(&App, &str) -> Result<(), AdminError>,
) -> Response {
    let result = {
        let name = name.clone();
        app.blocking(move |app| {
            work(app, &name)?;
            show(app, &name)
        })
        .await
    };
    respond(
        &caller,
        action,
        Some(&name),
        answered(StatusCode::OK, result),
    )
}

async fn disable(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Response {
    change(app, caller, name, "user.disable", |app, name| {
        users::set_disabled(app.store().as_ref(), name, true)
    })
    .await
}

async fn enable(State(app): State<Arc<App>>, caller: Caller, Path(name): Path<String>) -> Response {
    change(app, caller, name, "user.enable", |app, name| {
        users::set_disabled(app.store().as_ref(), name, false)
    })
    .await
}

async fn unlock(State(app): State<Arc<App>>, caller: Caller, Path(name): Path<String>) -> Response {
    change(app, caller, name, "user.unlock", |app, name| {
        users::unlock(app.store().as_ref(), name)
    })
    .await
}

async fn temporary_password(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let body = Body::parse(&body, &["ttl"])?;
        let ttl = match body.string("ttl")? {
            None => 86_400,
            Some(text) => users::parse_duration(text).map_err(|e| BodyError {
                field: "ttl".into(),
                message: format!("ttl: {e}"),
            })?,
        };
        let name = name.clone();
        let made = app
            .blocking(move |app| {
                let config = app.config.current();
                let made =
                    users::temporary_password(&config, app.store().as_ref(), &name, ttl, now())?;
                Ok(view::temporary_password(&name, &made))
            })
            .await?;
        Ok::<_, Failure>((StatusCode::OK, made))
    }
    .await;
    respond(&caller, "user.temporary-password", Some(&name), result)
}

async fn invite(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let body = Body::parse(&body, &["send"])?;
        let send = body.bool("send")?;
        let name = name.clone();
        let made = app
            .blocking(move |app| {
                let config = app.config.current();
                let store = app.store().as_ref();
                let now = now();
                let link = invitations::invite(&config, store, &name, now)?;
                let sent_to = match send {
                    true => Some(invitations::send(&config, store, &link, now)?),
                    false => None,
                };
                Ok(view::invitation_link(&link, sent_to.as_deref()))
            })
            .await?;
        Ok::<_, Failure>((StatusCode::CREATED, made))
    }
    .await;
    respond(&caller, "user.invite", Some(&name), result)
}

async fn recovery_codes(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Response {
    let result = {
        let name = name.clone();
        app.blocking(move |app| {
            let codes = users::recovery_codes(app.store().as_ref(), &name)?;
            Ok(view::recovery_codes(&name, &codes))
        })
        .await
    };
    respond(
        &caller,
        "user.recovery-codes",
        Some(&name),
        answered(StatusCode::OK, result),
    )
}

async fn sessions(State(app): State<Arc<App>>, caller: Caller) -> Response {
    let result = app
        .blocking(|app| {
            let sessions = app.store().list_sessions()?;
            Ok(Value::Array(sessions.iter().map(view::session).collect()))
        })
        .await;
    respond(
        &caller,
        "session.list",
        None,
        answered(StatusCode::OK, result),
    )
}
