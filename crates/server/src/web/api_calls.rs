//! What every admin API call goes through: its bearer token (`Caller`, refused with 401 or,
//! after too many wrong ones from an address, 429), its one audit line, its JSON answer.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::api_body::BodyError;
use super::app::App;
use super::limits::Bucket;
use crate::admin::{AdminError, Kind, api_tokens};
use crate::secret::SecretBytes;

fn now() -> i64 {
    crate::clock::unix_now_signed()
}

/// An answer: status and JSON.
pub(super) type Answer = (StatusCode, Value);

/// An API failure: status, message, and the field it is about.
pub(super) struct Failure {
    pub(super) status: StatusCode,
    pub(super) message: String,
    pub(super) field: Option<String>,
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        let status = match e.kind() {
            Kind::Invalid => StatusCode::BAD_REQUEST,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        Failure {
            status,
            field: e.field().map(str::to_owned),
            message: e.to_string(),
        }
    }
}

impl From<BodyError> for Failure {
    fn from(e: BodyError) -> Self {
        Failure {
            status: StatusCode::BAD_REQUEST,
            message: e.message,
            field: Some(e.field),
        }
    }
}

pub(super) fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn error_body(message: &str, field: Option<&str>) -> Value {
    match field {
        Some(field) => json!({ "error": message, "field": field }),
        None => json!({ "error": message }),
    }
}

/// The token a call was made with (its name) and where from.
pub(super) struct Caller {
    token: String,
    address: SocketAddr,
}

/// A call refused before it reached its endpoint (no token, a wrong or revoked one).
pub(super) struct Refused(Response);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        self.0
    }
}

fn unauthorized(message: &str) -> Refused {
    let mut response = json_response(StatusCode::UNAUTHORIZED, &error_body(message, None));
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"radotp\""),
    );
    Refused(response)
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Refused> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
        let action = action_of(parts);
        let ip = address.ip();
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|v| SecretBytes::new(v.trim().as_bytes().to_vec()));
        let found = match presented {
            None => None,
            Some(presented) => {
                let found = app
                    .blocking(move |app| {
                        api_tokens::authenticate(app.store().as_ref(), presented.expose(), now())
                    })
                    .await;
                Some(match found {
                    Ok(found) => found.ok_or("the bearer token is unknown or was revoked"),
                    Err(e) => {
                        let reason = format!("tokens cannot be checked: {e}");
                        tracing::error!(address = %ip, action, status = 503, reason, "api call refused");
                        return Err(Refused(json_response(
                            StatusCode::SERVICE_UNAVAILABLE,
                            &error_body("the database cannot answer; try again", None),
                        )));
                    }
                })
            }
        };
        // A valid token is served whatever others sent from the same address (behind a reverse
        // proxy every caller has the proxy's); wrong ones are counted, and past the limit
        // refused without saying whether the token was right.
        let refusal = match found {
            Some(Ok(token)) => return Ok(Caller { token, address }),
            Some(Err(refusal)) => refusal,
            None => {
                "this API needs a bearer token: Authorization: Bearer <token> (make one with: \
                 radotp api-token create NAME)"
            }
        };
        if let Err(wait) = app.limits.take(ip, Bucket::BadToken) {
            let reason = "too many calls with a wrong token from this address";
            tracing::warn!(address = %ip, action, status = 429, reason, "api call refused");
            let mut response = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &error_body(&format!("{reason}; wait {wait} s"), None),
            );
            if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return Err(Refused(response));
        }
        tracing::warn!(address = %ip, action, status = 401, reason = refusal, "api call refused");
        Err(unauthorized(refusal))
    }
}

/// `GET /users/{name}` → `user.show`, for the audit line of a refused call. (The nested
/// router sees its paths without the `/api/v1` prefix.)
fn action_of(parts: &Parts) -> &'static str {
    let path = parts.uri.path();
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (parts.method.as_str(), segments.as_slice()) {
        ("GET", ["users"]) => "user.list",
        ("POST", ["users"]) => "user.add",
        ("GET", ["sessions"]) => "session.list",
        ("GET", ["users", _]) => "user.show",
        ("DELETE", ["users", _]) => "user.remove",
        ("POST", ["users", _, "disable"]) => "user.disable",
        ("POST", ["users", _, "enable"]) => "user.enable",
        ("POST", ["users", _, "unlock"]) => "user.unlock",
        ("POST", ["users", _, "temporary-password"]) => "user.temporary-password",
        ("POST", ["users", _, "invitation"]) => "user.invite",
        ("POST", ["users", _, "recovery-codes"]) => "user.recovery-codes",
        _ => "unknown",
    }
}

/// Log the call's audit line and make its answer.
pub(super) fn respond(
    caller: &Caller,
    action: &str,
    user: Option<&str>,
    result: Result<Answer, Failure>,
) -> Response {
    let token = caller.token.as_str();
    let address = caller.address.ip();
    match result {
        Ok((status, value)) => {
            tracing::info!(api_token = token, action, user, status = status.as_u16(), address = %address, "api call");
            json_response(status, &value)
        }
        Err(failure) => {
            tracing::info!(api_token = token, action, user, status = failure.status.as_u16(), address = %address, reason = failure.message.as_str(), "api call refused");
            json_response(
                failure.status,
                &error_body(&failure.message, failure.field.as_deref()),
            )
        }
    }
}
