//! `radotp api-token …`: the bearer tokens of the admin HTTP API. A token is shown once, when
//! it is made; the database keeps only a keyed MAC of it.

use std::path::Path;

use clap::{Args, Subcommand};
use serde_json::json;

use super::user::format::time;
use super::{Failure, load_config, open_store};
use radotp_server::admin::{api_tokens, view};

pub(super) const HELP: &str = "Examples:\n  \
    radotp api-token create hr-sync\n  \
    radotp api-token list\n  \
    radotp api-token remove hr-sync\n\n\
    Use a token as: curl -H \"Authorization: Bearer $TOKEN\" https://otp.example.org/api/v1/users";

#[derive(Debug, Subcommand)]
pub(crate) enum ApiTokenCommand {
    /// Make a token named NAME (the audit log names calls by it); prints it once.
    Create(NameJson),
    /// List the tokens: name, created, last used (never the tokens themselves).
    List(Json),
    /// Revoke a token: calls with it are refused at once.
    Remove(Name),
}

#[derive(Debug, Args)]
pub(crate) struct Name {
    pub name: String,
}

#[derive(Debug, Args)]
pub(crate) struct NameJson {
    pub name: String,
    /// Print one JSON object {"name", "token"} on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Json {
    /// Print one JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn run(config_path: &Path, command: ApiTokenCommand) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let now = super::user::now();
    match command {
        ApiTokenCommand::Create(args) => {
            let token = api_tokens::create(store.as_ref(), &args.name, now)?;
            let shown = String::from_utf8_lossy(token.expose());
            if args.json {
                println!("{}", json!({ "name": args.name, "token": shown }));
            } else {
                println!("API token {}: {shown}", args.name);
                println!(
                    "It is shown only now: keep it where the script that uses it can read it."
                );
                if config.web.is_none() {
                    println!(
                        "The API is served by the web listener: add a [web] section to the \
                         configuration (see the README, \"Admin API\")."
                    );
                }
            }
        }
        ApiTokenCommand::List(args) => {
            let tokens = api_tokens::list(store.as_ref())?;
            if args.json {
                let list: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        json!({
                            "name": t.name,
                            "created": view::rfc3339(Some(t.created_at)),
                            "last_used": view::rfc3339(t.last_used_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else if tokens.is_empty() {
                println!("No API tokens. Make one with: radotp api-token create NAME");
            } else {
                let rows: Vec<[String; 3]> = tokens
                    .iter()
                    .map(|t| {
                        [
                            t.name.clone(),
                            time(Some(t.created_at)),
                            time(t.last_used_at),
                        ]
                    })
                    .collect();
                super::table::print(["NAME", "CREATED", "LAST USED"], &rows);
            }
        }
        ApiTokenCommand::Remove(args) => {
            api_tokens::remove(store.as_ref(), &args.name)?;
            println!(
                "API token {} removed; calls with it are refused from now on.",
                args.name
            );
        }
    }
    Ok(())
}
