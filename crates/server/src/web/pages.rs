//! The enrollment page's templates (askama: every value escaped unless marked safe — only the
//! QR code's SVG, which radotp draws itself) and the answers made from them.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

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
