//! `user set` (delivery address) and `user resync` (a token whose clock drifted).

use std::path::Path;

use clap::Args;

use super::{Failure, store_failure};
use crate::cli::{load_config, open_store};
use radotp_server::admin::users;
use radotp_server::store::Delivery;

/// Where sent codes go (for `add` and `set`).
#[derive(Debug, Args)]
pub(crate) struct DeliveryArgs {
    /// Send codes by SMS to this number (international format, e.g. +41791234567).
    #[arg(long, value_name = "NUMBER", conflicts_with = "email")]
    pub sms: Option<String>,
    /// Send codes by e-mail to this address.
    #[arg(long, value_name = "ADDRESS")]
    pub email: Option<String>,
}

impl DeliveryArgs {
    /// The validated address, if one was given.
    pub(crate) fn delivery(&self) -> Result<Option<Delivery>, Failure> {
        let flagged =
            |flag: &str, e: radotp_server::admin::AdminError| Failure::Usage(format!("{flag} {e}"));
        if let Some(number) = &self.sms {
            return users::sms_delivery(number)
                .map(Some)
                .map_err(|e| flagged("--sms", e));
        }
        if let Some(address) = &self.email {
            return users::email_delivery(address)
                .map(Some)
                .map_err(|e| flagged("--email", e));
        }
        Ok(None)
    }
}

/// Groups and the user's own reply attributes (for `add` and `set`).
#[derive(Debug, Args)]
pub(crate) struct AuthzArgs {
    /// Member of this group (repeat for several); replaces the user's groups.
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
    /// A reply attribute of this user, `Name=value` (repeat for several); replaces the user's
    /// own attributes and overrides the groups' values of the same attribute.
    #[arg(long = "reply", value_name = "NAME=VALUE")]
    pub reply: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    pub name: String,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// Stop sending codes to this user.
    #[arg(long, conflicts_with_all = ["sms", "email"])]
    pub no_delivery: bool,
    #[command(flatten)]
    pub authz: AuthzArgs,
    /// Remove the user from every group.
    #[arg(long, conflicts_with = "groups")]
    pub no_groups: bool,
    /// Remove the user's own reply attributes.
    #[arg(long, conflicts_with = "reply")]
    pub no_reply: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ResyncArgs {
    pub name: String,
    /// A code the app shows…
    pub code1: String,
    /// …and the very next one.
    pub code2: String,
}

pub(super) fn set(config_path: &Path, args: SetArgs) -> Result<(), Failure> {
    let delivery = args.delivery.delivery()?;
    let changes_groups = !args.authz.groups.is_empty() || args.no_groups;
    let changes_reply = !args.authz.reply.is_empty() || args.no_reply;
    if delivery.is_none() && !args.no_delivery && !changes_groups && !changes_reply {
        return Err(Failure::Usage(format!(
            "nothing to change; e.g.: radotp user set {} --sms +41791234567 (or --email, \
             --no-delivery, --group G, --reply 'Name=value', --no-groups, --no-reply)",
            args.name
        )));
    }
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let user = super::find_user(store.as_ref(), &args.name)?;
    let groups = if changes_groups {
        args.authz.groups.clone()
    } else {
        user.groups
    };
    let reply = if changes_reply {
        args.authz.reply.clone()
    } else {
        user.reply
    };
    config
        .authorization
        .check_user(&groups, &reply)
        .map_err(|e| Failure::Usage(format!("{}: {e}", args.name)))?;
    if changes_groups {
        store
            .set_groups(&args.name, &groups)
            .map_err(store_failure)?;
    }
    if changes_reply {
        store.set_reply(&args.name, &reply).map_err(store_failure)?;
    }
    if delivery.is_some() || args.no_delivery {
        store
            .set_delivery(&args.name, delivery.as_ref())
            .map_err(store_failure)?;
    }
    match (delivery, args.no_delivery) {
        (Some(d), _) => println!(
            "Codes for {} now go by {} to {}.",
            args.name,
            d.channel.as_str(),
            d.destination
        ),
        (None, true) => println!("No codes will be sent to {}.", args.name),
        (None, false) => {}
    }
    if changes_groups {
        println!("Groups of {}: {}", args.name, list_or_none(&groups));
    }
    if changes_reply {
        println!(
            "Own reply attributes of {}: {}",
            args.name,
            list_or_none(&reply)
        );
    }
    Ok(())
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

pub(super) fn resync(config_path: &Path, args: ResyncArgs) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    let user = super::find_user(store.as_ref(), &args.name)?;
    let oath: Vec<_> = user
        .tokens
        .iter()
        .filter(|t| t.secret.digits().is_some())
        .collect();
    let token = match oath.as_slice() {
        [one] => *one,
        [] => {
            return Err(Failure::Usage(format!(
                "{} has no TOTP or HOTP token to resync; see: radotp token list {}",
                args.name, args.name
            )));
        }
        _ => {
            return Err(Failure::Usage(format!(
                "{} has several tokens; say which: radotp token resync {} ID CODE1 CODE2 (ids: \
                 radotp token list {})",
                args.name, args.name, args.name
            )));
        }
    };
    let message =
        crate::cli::token::resync(store.as_ref(), &user, token, &args.code1, &args.code2)?;
    println!("{message}");
    Ok(())
}
