//! A RADIUS client: what `radotp test` (and later a load generator) sends and how it checks what
//! comes back.
//!
//! The pieces are small and separable so a caller with its own sockets can reuse them:
//!
//! - [`RequestBuilder`] → [`Request`]: Access-Request (RFC 2865 §4.1) or Status-Server
//!   (RFC 5997), User-Password hidden, Message-Authenticator first and signed.
//! - [`verify_reply`]: framing, Identifier, code, Response Authenticator and
//!   Message-Authenticator, in that order; a [`Reply`] or a [`ReplyCheckError`] saying which
//!   check failed.
//! - [`Awaiting`]: the sans-I/O part of waiting, which datagrams count as the answer and why
//!   the others were ignored; [`exchange`] drives it over a blocking UDP socket with
//!   timeout and retransmissions.
//! - [`ServerAddress`]: `HOST[:PORT]` as an administrator types it.
//! - [`display`]: attribute names and values for people, until the dictionary replaces it.
//!
//! The cryptography itself lives in [`radotp_server::protocol`]; nothing here re-implements it.

pub mod display;
mod exchange;
mod reply;
mod request;
mod server_address;
#[cfg(test)]
mod tests;

pub use exchange::{
    Answer, Awaiting, ExchangeError, IgnoreReason, Ignored, Timing, bind_for, exchange,
};
pub use reply::{Attribute, MalformedReply, Reply, ReplyCheckError, verify_reply};
pub use request::{BuildError, Request, RequestBuilder};
pub use server_address::{ServerAddress, ServerAddressError};

/// The RADIUS authentication port (RFC 2865 §3).
pub const DEFAULT_PORT: u16 = 1812;

/// What `radotp test` puts in NAS-Identifier, so its requests stand out in the server's log.
pub const TEST_NAS_IDENTIFIER: &str = "radotp-test";
