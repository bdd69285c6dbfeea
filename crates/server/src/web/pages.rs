//! The enrollment page's templates and its refusals (askama: every value escaped unless marked safe — only the
//! QR code's SVG, which radotp draws itself) and the answers made from them.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::store::TotpSeed;

#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    title: &'a str,
    text: &'a str,
}

#[derive(Template)]
#[template(path = "enroll/password.html")]
pub(super) struct PasswordPage<'a> {
    pub title: &'a str,
    pub user: &'a str,
    pub prompt: &'a str,
    pub csrf: &'a str,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "enroll/secret.html")]
pub(super) struct SecretPage<'a> {
    pub title: &'a str,
    pub user: &'a str,
    pub qr_svg: String,
    pub uri: &'a str,
    pub secret: &'a str,
    pub digits: u8,
    pub period: u64,
    pub algorithm: &'a str,
    pub csrf: &'a str,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "enroll/done.html")]
pub(super) struct DonePage<'a> {
    pub title: &'a str,
    pub user: &'a str,
    pub digits: u8,
}

/// A rendered page with its status.
pub(super) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!("web: a page could not be rendered: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "internal error",
            )
                .into_response()
        }
    }
}

/// A page that only says something.
pub(super) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    render(status, &Message { title, text })
}

/// What the password field asks for, by where the user's password is checked.
pub(super) fn prompt(source: crate::store::PasswordSource, temporary: bool) -> &'static str {
    match (source, temporary) {
        (crate::store::PasswordSource::Local, true) => "Your temporary password",
        (crate::store::PasswordSource::Local, false) => "Your password",
        (crate::store::PasswordSource::Directory, _) => {
            "Your network password (as for e-mail or Windows)"
        }
        (crate::store::PasswordSource::Upstream, _) => "Your password",
    }
}

/// The secret step: QR code, `otpauth://` link, base32, and the form for the first code.
pub(super) fn secret_page(
    issuer: &str,
    user: &str,
    seed: &TotpSeed,
    csrf: &str,
    error: Option<String>,
) -> Response {
    let uri = match crate::auth::otp::otpauth_uri(issuer, user, &seed.secret, seed.params) {
        Ok(uri) => uri,
        Err(e) => {
            tracing::error!(user, "enrollment: no otpauth URI: {e}");
            return unavailable();
        }
    };
    let secret = crate::auth::otp::to_base32(&seed.secret);
    render(
        StatusCode::OK,
        &SecretPage {
            title: "Two-step login",
            user,
            qr_svg: qr_svg(&uri),
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

// The pages that refuse, each with its status.

pub(super) fn gone() -> Response {
    message(
        StatusCode::GONE,
        "Link not valid",
        "This link does not work (any more): it may have been used already, replaced by a \
         newer invitation, tried too often, or it expired. Ask your administrator for a new one.",
    )
}

pub(super) fn already_enrolled() -> Response {
    message(
        StatusCode::CONFLICT,
        "Already set up",
        "Your account already has an active authenticator. A link cannot add another: ask your \
         administrator to reset it first.",
    )
}

pub(super) fn unavailable() -> Response {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again later",
        "Your password cannot be checked right now. Nothing was counted against you; try again \
         in a few minutes.",
    )
}

pub(super) fn no_enrollment() -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "No enrollment in progress",
        "Open the link you were sent again (an enrollment left for 15 minutes is forgotten).",
    )
}

pub(super) fn too_fast(wait: u64) -> Response {
    let mut response = message(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many tries",
        "Too many requests from your address; wait a minute and try again.",
    );
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub(super) fn closed() -> Response {
    message(
        StatusCode::GONE,
        "Link closed",
        "Too many wrong tries: this link no longer works. Ask your administrator for a new \
         invitation.",
    )
}

pub(super) fn forged() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form did not come from this enrollment (or it expired). Open the link you were \
         sent again.",
    )
}

pub(super) fn store_trouble(
    e: &crate::admin::AdminError,
    address: std::net::SocketAddr,
) -> Response {
    tracing::error!(address = %address.ip(), "enrollment: the store cannot answer: {e}");
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again later",
        "The server cannot complete this right now. Try again in a few minutes.",
    )
}

/// The QR code of `uri` as an SVG element (black on white, with the quiet zone scanners need).
pub(super) fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(256, 256)
                .quiet_zone(true)
                .dark_color(qrcode::render::svg::Color("#000000"))
                .light_color(qrcode::render::svg::Color("#ffffff"))
                .build();
            // The renderer writes a whole document; the page wants only the element.
            match svg.find("<svg") {
                Some(start) => svg[start..].to_owned(),
                None => svg,
            }
        }
        Err(e) => format!("<p>(no QR code: {e})</p>"),
    }
}
