//! `token resync` (and `user resync`): a token brought back in step from two consecutive codes.

use std::path::Path;

use super::ResyncArgs;
use crate::cli::user::{find_user, now, store_failure};
use crate::cli::{Failure, load_config, open_store};
use radotp_server::auth::otp;
use radotp_server::store::{Store, StoreError, Token, TokenSecret, UserRecord};
use radotp_server::tokens::hotp::{Hotp, RESYNC_RANGE};

pub(super) fn run(config_path: &Path, args: ResyncArgs) -> Result<(), Failure> {
    let store = open_store(&load_config(config_path)?)?;
    let user = find_user(store.as_ref(), &args.name)?;
    let token = user.token(args.id).ok_or_else(|| {
        store_failure(StoreError::TokenNotFound {
            user: args.name.clone(),
            id: args.id,
        })
    })?;
    println!(
        "{}",
        resync(store.as_ref(), &user, token, &args.code1, &args.code2)?
    );
    Ok(())
}

/// Seconds either way that a TOTP resync searches.
const RESYNC_RANGE_SECS: u64 = 24 * 3600;

/// Bring `token` back in step from two consecutive codes; what happened, in a sentence.
pub(crate) fn resync(
    store: &dyn Store,
    user: &UserRecord,
    token: &Token,
    code1: &str,
    code2: &str,
) -> Result<String, Failure> {
    let (code1, code2) = (code1.trim(), code2.trim());
    let name = &user.name;
    match &token.secret {
        TokenSecret::Totp(seed) => {
            let now = u64::try_from(now()).unwrap_or(0);
            let range = RESYNC_RANGE_SECS / seed.params.period;
            let step = otp::consecutive_steps(&seed.secret, seed.params, code1, code2, now, range)
                .ok_or_else(|| {
                    Failure::Runtime(format!(
                        "no two consecutive codes of {name}'s {} match within ±24 h; check the \
                         order and take two codes in a row",
                        token.name()
                    ))
                })?;
            let drift = step as i64 - otp::step_at(now, seed.params.period) as i64;
            store
                .resync_token(name, token.id, drift, step)
                .map_err(store_failure)?;
            let seconds = drift * seed.params.period as i64;
            Ok(format!(
                "{name}'s {} is {} s {} (drift {drift:+} steps); codes are checked around that \
                 from now on.",
                token.name(),
                seconds.abs(),
                if seconds < 0 { "behind" } else { "ahead" }
            ))
        }
        TokenSecret::Hotp { secret, digits } => {
            let hotp = Hotp::new(secret, *digits).ok_or_else(|| {
                Failure::Runtime(format!("{}'s secret is unusable", token.name()))
            })?;
            let next = token.last_used.map_or(0, |c| c + 1);
            let counter = hotp
                .consecutive(code1, code2, next, RESYNC_RANGE)
                .ok_or_else(|| {
                    Failure::Runtime(format!(
                        "no two consecutive codes of {name}'s {} match within the next \
                         {RESYNC_RANGE} presses; press the button twice and give both codes in order",
                        token.name()
                    ))
                })?;
            store
                .resync_token(name, token.id, 0, counter)
                .map_err(store_failure)?;
            Ok(format!(
                "{name}'s {} was {} presses ahead; its next code is counter {}.",
                token.name(),
                counter - next - 1,
                counter + 1
            ))
        }
        TokenSecret::Yubico { .. } => Err(Failure::Usage(format!(
            "{} is a YubiKey: its counters only go up and it needs no resync",
            token.name()
        ))),
    }
}
