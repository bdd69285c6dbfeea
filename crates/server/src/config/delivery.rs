//! `[delivery]` → `delivery::Settings`: the command or the webhook as its sender checks it,
//! and the send limits as the store enforces them.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::problems::Problems;
use crate::delivery::webhook::{WebhookConfig, WebhookSetting};
use crate::delivery::{CommandSender, Method, Settings, command};
use crate::store::SendLimits;

/// How codes are sent out of band; one of `command` and `webhook`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    pub command: Option<Vec<String>>,
    #[serde(default = "default_command_timeout_ms")]
    pub command_timeout_ms: u64,
    pub webhook: Option<String>,
    pub webhook_ca_file: Option<String>,
    #[serde(default = "default_webhook_timeout_ms")]
    pub webhook_timeout_ms: u64,
    #[serde(default = "default_webhook_retries")]
    pub webhook_retries: u32,
    #[serde(default = "default_code_ttl_secs")]
    pub code_ttl_secs: i64,
    #[serde(default = "default_resend_cooldown_secs")]
    pub resend_cooldown_secs: i64,
    #[serde(default = "default_max_per_hour")]
    pub max_per_hour: u32,
}

fn default_command_timeout_ms() -> u64 {
    10_000
}

fn default_webhook_timeout_ms() -> u64 {
    5_000
}

fn default_webhook_retries() -> u32 {
    2
}

fn default_code_ttl_secs() -> i64 {
    300
}

fn default_resend_cooldown_secs() -> i64 {
    60
}

fn default_max_per_hour() -> u32 {
    5
}

pub(super) fn settings(
    raw: &RawDelivery,
    base_dir: &Path,
    problems: &mut Problems,
) -> Option<Settings> {
    let before = problems.len();
    let limits = SendLimits {
        ttl: raw.code_ttl_secs,
        cooldown: raw.resend_cooldown_secs,
        per_hour: raw.max_per_hour,
    };
    problems.extend("delivery", limits.check());
    let method = match (&raw.command, &raw.webhook) {
        (Some(_), Some(_)) => {
            problems.add("delivery", "set either command or webhook, not both");
            None
        }
        (None, None) => {
            problems.add(
                "delivery",
                "set command = [\"/path/to/program\"] or webhook = \"https://…\"",
            );
            None
        }
        (Some(argv), None) => command(raw, argv, base_dir, problems),
        (None, Some(url)) => {
            let checked = WebhookConfig::checked(
                url.clone(),
                raw.webhook_ca_file.as_ref().map(|f| base_dir.join(f)),
                Duration::from_millis(raw.webhook_timeout_ms),
                raw.webhook_retries,
            );
            match checked {
                Ok(config) => Some(Method::Webhook(config)),
                Err(problem) => {
                    let key = match problem.setting {
                        WebhookSetting::Url => "delivery.webhook",
                        WebhookSetting::Timeout => "delivery.webhook_timeout_ms",
                        WebhookSetting::Retries => "delivery.webhook_retries",
                        WebhookSetting::CaFile => "delivery.webhook_ca_file",
                    };
                    problems.add(key, problem.message);
                    None
                }
            }
        }
    };
    if problems.len() > before {
        return None;
    }
    Some(Settings {
        method: method?,
        limits,
    })
}

fn command(
    raw: &RawDelivery,
    argv: &[String],
    base_dir: &Path,
    problems: &mut Problems,
) -> Option<Method> {
    let program = argv.first().map(String::as_str).unwrap_or_default();
    if program.is_empty() {
        problems.add("delivery.command", "needs at least the program to run");
    } else if !base_dir.join(program).exists() {
        problems.add(
            "delivery.command",
            format!(
                "{program} does not exist (relative paths start at the configuration's folder)"
            ),
        );
    }
    let timeout = Duration::from_millis(raw.command_timeout_ms);
    if !(command::MIN_TIMEOUT..=command::MAX_TIMEOUT).contains(&timeout) {
        problems.add(
            "delivery.command_timeout_ms",
            format!(
                "must be between {} and {}",
                command::MIN_TIMEOUT.as_millis(),
                command::MAX_TIMEOUT.as_millis()
            ),
        );
    }
    let mut argv = argv.to_vec();
    if let Some(first) = argv.first_mut()
        && !first.is_empty()
    {
        *first = base_dir.join(&*first).to_string_lossy().into_owned();
    }
    Some(Method::Command(CommandSender {
        argv,
        dir: base_dir.to_owned(),
        timeout,
    }))
}
