//! Out-of-band delivery of one-time codes: a configured command (JSON on its stdin) or an HTTPS
//! webhook (`webhook`). Sending happens after the RADIUS reply, on a small bounded set of
//! threads, so a slow gateway never delays an answer or blocks the receive loop. Failures are
//! logged with their reason — never with the code.

pub mod command;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::auth::CodeToSend;
use crate::store::SendLimits;
pub use command::CommandSender;
use webhook::Webhook;

/// Sends in progress at once; more wait, and past `MAX_WAITING` they are dropped (and logged).
const MAX_PARALLEL_SENDS: usize = 8;
const MAX_WAITING: usize = 256;

/// `[delivery]`: how codes are sent, and the limits on sending them.
#[derive(Debug, Clone)]
pub struct Settings {
    pub method: Method,
    pub limits: SendLimits,
}

/// The configured way of sending codes.
#[derive(Debug, Clone)]
pub enum Method {
    /// A program that gets the JSON document on its standard input.
    Command(CommandSender),
    /// An HTTPS POST of the JSON document.
    Webhook(webhook::WebhookConfig),
}

/// How codes leave the server.
#[derive(Debug)]
pub enum Sender {
    Command(CommandSender),
    Webhook(Webhook),
}

impl Sender {
    /// Blocking send of one code.
    fn send(&self, body: &serde_json::Value) -> Result<(), String> {
        match self {
            Sender::Command(command) => command.send(body),
            Sender::Webhook(webhook) => webhook.send(body).map_err(|e| e.to_string()),
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Sender::Command(_) => "command",
            Sender::Webhook(_) => "webhook",
        }
    }
}

/// Send one document now, blocking, with the configured sender (an invitation from the
/// command line or the admin API; codes at login go through the `Dispatcher`).
pub fn send_now(settings: &Settings, body: &serde_json::Value) -> Result<(), String> {
    let sender = match &settings.method {
        Method::Command(command) => Sender::Command(command.clone()),
        Method::Webhook(config) => Sender::Webhook(Webhook::new(config.clone())?),
    };
    sender.send(body)
}

/// The JSON document a sender receives.
fn body(code: &CodeToSend) -> serde_json::Value {
    serde_json::json!({
        "kind": "code",
        "user": code.user,
        "channel": code.delivery.channel.as_str(),
        "destination": code.delivery.destination,
        "code": String::from_utf8_lossy(code.code.expose()),
        "expires_in": code.expires_in,
    })
}

/// Dispatches codes to the sender without blocking the caller.
#[derive(Clone, Debug)]
pub struct Dispatcher {
    sender: Arc<Sender>,
    running: Arc<Semaphore>,
    waiting: Arc<Semaphore>,
}

impl Dispatcher {
    /// The dispatcher for the configured `[delivery]` (the webhook's client is built here, so
    /// a bad CA file is found when the server is built, not at someone's login).
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        let sender = match &settings.method {
            Method::Command(command) => Sender::Command(command.clone()),
            Method::Webhook(config) => Sender::Webhook(Webhook::new(config.clone())?),
        };
        Ok(Self::new(sender))
    }

    pub fn new(sender: Sender) -> Self {
        Self {
            sender: Arc::new(sender),
            running: Arc::new(Semaphore::new(MAX_PARALLEL_SENDS)),
            waiting: Arc::new(Semaphore::new(MAX_WAITING)),
        }
    }

    /// Send `code` in the background. Must be called inside the tokio runtime.
    pub fn dispatch(&self, code: CodeToSend) {
        let Ok(slot) = Arc::clone(&self.waiting).try_acquire_owned() else {
            tracing::warn!(user = %code.user, "code not sent: {MAX_WAITING} sends already waiting");
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let Ok(_running) = this.running.acquire().await else {
                return;
            };
            let sender = Arc::clone(&this.sender);
            let user = code.user.clone();
            let channel = code.delivery.channel.as_str();
            let started = std::time::Instant::now();
            let result = tokio::task::spawn_blocking(move || sender.send(&body(&code))).await;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let via = this.sender.describe();
            match result {
                Ok(Ok(())) => tracing::info!(user, channel, via, ms, "code sent"),
                Ok(Err(reason)) => {
                    tracing::warn!(user, channel, via, reason, "code could not be sent")
                }
                Err(_) => tracing::warn!(user, channel, via, "code sender failed"),
            }
        });
    }
}

/// Default time a send may take before it is abandoned.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
