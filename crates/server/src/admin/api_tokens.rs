//! The admin API's bearer tokens: made by `radotp api-token create NAME`, shown once, stored
//! only as a keyed MAC, revoked with `api-token remove NAME`.

use super::AdminError;
use crate::secret::{SecretBytes, random_bytes};
use crate::store::{ApiToken, Store};

/// What every token starts with, so a leaked one is recognised (secret scanners, logs).
pub const PREFIX: &str = "radotp_";

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// A token's name: what the audit log calls the script that uses it.
pub fn validate_name(name: &str) -> Result<(), AdminError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
    match ok {
        true => Ok(()),
        false => Err(AdminError::invalid(
            "name",
            format!(
                "the token name {name:?} must be 1–64 letters, digits or - _ . @ (e.g. hr-sync)"
            ),
        )),
    }
}

/// Make a token named `name`; its value, to be shown once.
pub fn create(store: &dyn Store, name: &str, now: i64) -> Result<SecretBytes, AdminError> {
    validate_name(name)?;
    let token = format!(
        "{PREFIX}{}",
        super::invitations::encode_secret(&random_bytes::<TOKEN_BYTES>())
    );
    let token = SecretBytes::new(token.into_bytes());
    store.create_api_token(name, &token, now)?;
    Ok(token)
}

pub fn remove(store: &dyn Store, name: &str) -> Result<(), AdminError> {
    Ok(store.remove_api_token(name)?)
}

pub fn list(store: &dyn Store) -> Result<Vec<ApiToken>, AdminError> {
    Ok(store.list_api_tokens()?)
}

/// The name of the token a request carries, if it is one (a value of the wrong shape is not
/// looked up).
pub fn authenticate(
    store: &dyn Store,
    value: &[u8],
    now: i64,
) -> Result<Option<String>, AdminError> {
    let shaped = value.len() == PREFIX.len() + 2 * TOKEN_BYTES
        && value.starts_with(PREFIX.as_bytes())
        && value[PREFIX.len()..].iter().all(u8::is_ascii_hexdigit);
    if !shaped {
        return Ok(None);
    }
    Ok(store.authenticate_api_token(&SecretBytes::new(value.to_vec()), now)?)
}
