//! Tools that talk to a RADIUS server from the outside, as a NAS would: they share the server
//! library's wire format, but are not part of the server.
//!
//! # Layout
//!
//! - [`client`]: a RADIUS client: build requests, verify replies, send with retries
//!   (`radotp test`).
//! - [`bench`](mod@bench): the load generator (`radotp bench`), benchmark users and the argon2 calibration.

// A library reports through its return values and the log, never by printing.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod bench;
pub mod client;
