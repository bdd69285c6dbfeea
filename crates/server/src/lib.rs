//! radotp: a RADIUS authentication server for password + one-time-code login on devices with a
//! single password field.
//!
//! # Layout
//!
//! - [`config`]: the TOML file → a validated [`config::Config`], every problem named by key.
//! - [`clients`]: the NAS table, source address → client settings (most specific prefix wins).
//! - [`protocol`]: the wire: raw prechecks, Message-Authenticator, User-Password hiding, signed
//!   replies.
//! - [`dedup`]: the RFC 5080 response cache (retransmissions get the same bytes back).
//! - [`dictionary`]: FreeRADIUS-format dictionaries and the typed encoding of reply attributes.
//! - [`auth`]: the pure decision core (split, TOTP, verdict) and password hashing; no sockets.
//! - [`authz`]: groups and reply attributes: what an accepted user gets.
//! - [`store`]: persistent users and replay state behind the [`store::Store`] trait: SQLite
//!   (embedded default) or PostgreSQL (several nodes).
//! - [`server`]: the UDP loop, the staged packet pipeline and the bounded argon2 worker pool.
//! - [`client`]: a RADIUS client: build requests, verify replies, send with retries.
//! - [`bench`]: the load generator (`radotp bench`), benchmark users and the argon2 calibration.
//! - [`metrics`]: Prometheus counters and histograms of what the server did.
//! - [`cli`]: the subcommands (`serve`, `check-config`, `user`).
//! - [`logging`]: the log subscriber: level filter and one line shape, logfmt or JSON.
//! - [`timefmt`]: UTC calendar times for logs and the CLI.
//! - [`secret`]: newtypes that keep secrets out of logs and zero them on drop.

// A library reports through its return values and the log, never by printing.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod auth;
pub mod authz;
pub mod clients;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod dictionary;
pub mod invalid;
pub mod logging;
pub mod metrics;
pub mod protocol;
pub mod secret;
pub mod server;
pub mod store;
pub mod timefmt;
