//! `token list`, `token remove`, `token disable` / `enable`.

use std::path::Path;

use serde_json::Value;

use super::{ListArgs, NameId};
use crate::cli::user::format::{self, token_details};
use crate::cli::user::{find_user, print_json, store_failure};
use crate::cli::{Failure, load_config, open_store};
use radotp_server::store::Token;

pub(super) fn with_user(name: &str, token: &Token) -> Value {
    let mut value = radotp_server::admin::view::token(token);
    if let Value::Object(map) = &mut value {
        map.insert("user".into(), Value::String(name.to_owned()));
    }
    value
}

pub(super) fn list(config_path: &Path, args: ListArgs) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    let users = match &args.name {
        Some(name) => vec![find_user(store.as_ref(), name)?],
        None => store.list_users().map_err(store_failure)?,
    };
    let tokens: Vec<(&str, &Token)> = users
        .iter()
        .flat_map(|u| u.tokens.iter().map(move |t| (u.name.as_str(), t)))
        .collect();
    if args.json {
        let all: Vec<Value> = tokens.iter().map(|(name, t)| with_user(name, t)).collect();
        print_json(&Value::Array(all));
        return Ok(());
    }
    if tokens.is_empty() {
        println!("No tokens. Add one with: radotp token add NAME --type totp");
        return Ok(());
    }
    let rows: Vec<[String; 8]> = tokens
        .iter()
        .map(|(name, t)| {
            [
                (*name).to_owned(),
                t.id.to_string(),
                t.kind().to_string(),
                t.label.clone(),
                t.serial.clone().unwrap_or_else(|| "-".into()),
                if t.disabled { "disabled" } else { "enabled" }.to_owned(),
                format::time(t.last_used_at),
                token_details(t),
            ]
        })
        .collect();
    crate::cli::table::print(
        [
            "USER",
            "ID",
            "TYPE",
            "LABEL",
            "SERIAL",
            "STATE",
            "LAST USED",
            "DETAILS",
        ],
        &rows,
    );
    Ok(())
}

pub(super) fn set_disabled(
    config_path: &Path,
    args: NameId,
    disabled: bool,
) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    store
        .set_token_disabled(&args.name, args.id, disabled)
        .map_err(store_failure)?;
    match disabled {
        true => println!(
            "Token {} of {} disabled: its codes are refused.",
            args.id, args.name
        ),
        false => println!("Token {} of {} enabled.", args.id, args.name),
    }
    Ok(())
}

pub(super) fn remove(config_path: &Path, args: NameId) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    store
        .remove_token(&args.name, args.id)
        .map_err(store_failure)?;
    println!(
        "Removed token {} of {}; its codes no longer work.",
        args.id, args.name
    );
    Ok(())
}
