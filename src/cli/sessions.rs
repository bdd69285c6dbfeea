//! `radotp sessions`: the open accounting sessions the store keeps (every node's, with
//! PostgreSQL).

use std::path::Path;

use super::user::format::time;
use super::{Failure, load_config, open_store};
use radotp_server::admin::view;

pub(super) fn run(config_path: &Path, json: bool) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let sessions = store
        .list_sessions()
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    if json {
        let list: Vec<_> = sessions.iter().map(view::session).collect();
        println!("{}", serde_json::Value::Array(list));
        return Ok(());
    }
    if sessions.is_empty() {
        match config.accounting {
            None => println!(
                "No open sessions: accounting is off (add [accounting] listen = [\"0.0.0.0:1813\"] \
                 and point the NASes' accounting at it)."
            ),
            Some(_) => println!("No open sessions."),
        }
        return Ok(());
    }
    let rows: Vec<[String; 5]> = sessions
        .iter()
        .map(|s| {
            [
                s.user.clone(),
                s.nas.clone(),
                time(Some(s.since)),
                s.address.clone().unwrap_or_else(|| "-".into()),
                s.session_id.clone(),
            ]
        })
        .collect();
    super::table::print(["USER", "NAS", "SINCE", "ADDRESS", "SESSION"], &rows);
    Ok(())
}
