//! radotp's server: everything the `radotp` binary builds and runs, and nothing that talks to a
//! server from outside (the RADIUS client and the load generator are `radotp-tools`).
//!
//! # Layout
//!
//! How a request flows: a transport ([`server`]'s UDP loop) hands the bytes to the
//! [`server::Pipeline`] — [`protocol`] prechecks and Message-Authenticator, the client table
//! ([`clients`]), the reply cache, the Access-Request's attributes — which asks the decision
//! core ([`auth`]) on a worker thread, and signs and sends what it decides.
//!
//! - [`server`]: the composition root (`server::build`), the pipeline shared by every transport,
//!   the UDP and RadSec transports, reload (SIGHUP), systemd's notifications, the worker pool,
//!   the events (one log shape, one count each), health and `/metrics`.
//! - [`auth`]: the pure decision core (`decision`: plan, then verdict and effects; `reason`;
//!   `tails`), the `PasswordCheck` seam with the local argon2 source, and the shell that executes
//!   a verdict against the store (`authenticator`); TOTP, hashes, generated codes. A user's
//!   tokens are tried by the shape of the code (`tails`).
//! - [`tokens`]: the pure parts of hardware tokens — HOTP (RFC 4226), Yubico OTP and YubiKey
//!   Manager's CSV, PSKC files (RFC 6030); the store keeps each user's tokens (`store::token`).
//! - [`store`]: users and replay state behind the [`store::Store`] trait: SQLite (embedded
//!   default) or PostgreSQL (several nodes), one row mapping, the key file, and the storage
//!   checks `check-config` and `serve` share. Its API is blocking and safe on every thread
//!   (the PostgreSQL pool and the directory wait for their own I/O runtime, `io_runtime`);
//!   async code calls it through [`store::call`].
//! - [`config`]: the TOML file parsed once, section by section, into the types below.
//! - [`directory`], [`upstream`], [`failover`]: the LDAP directory and the upstream RADIUS
//!   servers that check passwords radotp does not store, and the failover they share.
//! - [`clients`], [`delivery`], [`authz`]: the NAS table; codes sent by command or webhook;
//!   groups and reply attributes, encoded with the [`dictionary`].
//! - [`radsec`]: `[radsec]`, the TLS identity and the NAS certificate checks of RADIUS over TLS
//!   (its transport is in [`server`]); [`accounting`]: `[accounting]`, the Accounting-Request's
//!   authenticator and record (the pipeline answers it, the store keeps the open sessions).
//! - [`protocol`]: the wire: raw prechecks, Message-Authenticator, User-Password hiding, signed
//!   replies.
//! - [`web`]: `[web]`, the enrollment page opened from an invitation link and the admin HTTP
//!   API; [`admin`]: the user, invitation, API-token and session operations the CLI and the
//!   API both call (each returns a value or a typed error; the shells print or answer).
//! - [`metrics`], [`logging`]: Prometheus series; the log subscriber (logfmt or typed JSON).
//! - [`clock`], [`timefmt`], [`secret`], [`invalid`]: the wall clock (with the test clock of
//!   debug builds), UTC times, redacting secret types, and the shape of a setting out of bounds.

// A library reports through its return values and the log, never by printing.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod accounting;
pub mod admin;
pub mod auth;
pub mod authz;
pub mod clients;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod dictionary;
pub mod directory;
pub mod eap;
pub mod failover;
pub mod invalid;
mod io_runtime;
pub mod logging;
pub mod metrics;
pub mod protocol;
pub mod radsec;
pub mod secret;
pub mod server;
pub mod store;
pub mod timefmt;
pub mod tokens;
pub mod upstream;
pub mod web;
