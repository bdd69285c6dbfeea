//! One test suite for every store backend. Each case is a function of a [`Backend`] (one empty
//! database that can be opened several times: a restart, or a second node), and
//! [`store_suite!`] turns the list of cases into one `#[test]` per case for a backend, and one
//! more that runs every case from inside tokio runtimes of both flavours:
//!
//! ```ignore
//! mod suite {
//!     crate::store::suite::store_suite!(super::SqliteBackend::new());
//! }
//! ```

mod concurrency;
mod eap;
mod invitations;
mod login_state;
mod sessions;
mod throttle;
mod tokens;
mod users;

pub(crate) use concurrency::*;
pub(crate) use eap::*;
pub(crate) use invitations::*;
pub(crate) use login_state::*;
pub(crate) use sessions::*;
pub(crate) use throttle::*;
pub(crate) use tokens::*;
pub(crate) use users::*;

use crate::auth::otp::{Algorithm, TotpParams};
use crate::secret::SecretBytes;
use crate::store::{Keys, NewToken, NewUser, Store, StoreError, TokenSecret, TotpSeed, UserRecord};

/// One empty database of a backend, dropped with it.
pub(crate) trait Backend {
    /// Open (again) this database: each call is another handle on the same data, as a
    /// restarted node or a second node would have.
    fn open(&self, keys: Keys) -> Result<Box<dyn Store>, StoreError>;

    /// Rows in `table` (to check what a deletion took with it).
    fn count_rows(&self, table: &str) -> i64;

    /// Everything the database holds at rest, as bytes: what a thief of the database (the
    /// SQLite file, or every value of every PostgreSQL table) would have.
    fn raw_contents(&self) -> Vec<u8>;

    /// Write `version` as the schema version, as a newer radotp would have.
    fn set_schema_version(&self, version: i64);

    /// Create the schema as radotp's schema `version` left it, with nothing in it (what an
    /// older installation holds before an upgrade).
    fn create_at_version(&self, version: usize);

    /// `bytes` as a literal of the backend's SQL.
    fn blob(&self, bytes: &[u8]) -> String;

    /// Run one statement on the database past the store: what a hand edit or a damaged
    /// database would leave behind.
    fn execute(&self, sql: &str);
}

/// Declare one `#[test]` per suite case, each on a fresh database made by `$backend`.
macro_rules! store_suite {
    ($backend:expr) => {
        $crate::store::suite::store_suite!(@cases $backend;
            add_find_and_refuse_duplicates,
            batch_add_is_all_or_nothing,
            batch_remove_deletes_the_listed_users_that_exist,
            a_step_is_consumed_once_and_only_forwards,
            updates_name_missing_users,
            recovery_codes_are_single_use_and_replaced_as_a_set,
            remove_takes_everything_with_it,
            the_database_alone_reveals_no_seed_and_no_code,
            invalid_records_are_refused_naming_their_user,
            refuses_a_schema_from_the_future,
            users_are_listed_in_byte_order,
            failures_lock_and_each_lock_doubles,
            any_successful_login_resets_failures,
            sent_codes_respect_cooldown_hourly_limit_and_expiry,
            challenges_are_single_use_bound_to_client_and_expire,
            a_challenge_keeps_its_groups_and_relay,
            delivery_and_drift_are_stored,
            groups_and_reply_attributes_are_stored,
            racing_nodes_use_a_step_once,
            racing_nodes_take_a_challenge_once,
            failures_from_racing_nodes_all_count,
            racing_nodes_send_one_code,
            racing_nodes_use_a_recovery_code_once,
            racing_nodes_use_a_sent_code_once,
            wrong_passwords_wait_longer_and_longer,
            a_station_the_user_logged_in_from_has_its_own_gate,
            racing_nodes_get_no_more_guesses_than_the_gate_allows,
            no_code_is_accepted_while_the_account_is_locked,
            sessions_open_update_close_and_clear_with_their_nas,
            sessions_beyond_the_bound_go_least_recently_updated_first,
            a_schema_9_totp_secret_becomes_token_1,
            tokens_have_ids_kinds_and_replay_state_of_their_own,
            a_yubikey_belongs_to_one_user_and_imports_are_all_or_nothing,
            disabled_and_removed_tokens_log_no_one_in,
            resync_moves_a_token_forward_only,
            an_invitation_is_replaced_by_the_next,
            an_invitation_expires,
            wrong_tries_kill_an_invitation_at_the_limit,
            completing_an_invitation_enrolls_the_token_once,
            completing_is_refused_while_the_user_has_an_active_token,
            racing_nodes_complete_an_invitation_once,
            removing_a_user_removes_their_invitation,
            the_database_holds_no_link_and_no_api_token,
            api_tokens_are_created_listed_used_and_revoked,
            a_schema_10_database_gains_invitations_and_api_tokens,
            ticket_keys_rotate_once_for_every_node,
            racing_nodes_rotate_one_ticket_key,
            eap_sessions_end_with_the_login_they_resume,
            tls_sessions_are_kept_by_id_and_expire,
            the_database_holds_no_ticket_key_handle_or_session_id,
            a_schema_11_database_gains_eap_sessions,
        );
    };
    (@cases $backend:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let backend = $backend;
                $crate::store::suite::$case(&backend);
            }
        )*

        /// Every case again, each on a fresh database, called from inside a runtime of each
        /// flavour (as async code — the benchmark's generator, HTTP handlers — would call the
        /// store): every operation must work there, none may panic or hang.
        #[test]
        fn every_case_from_inside_a_runtime() {
            let current = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let multi = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            $(
                current.block_on(async {
                    let backend = $backend;
                    $crate::store::suite::$case(&backend);
                });
                multi.block_on(async {
                    tokio::spawn(async {
                        let backend = $backend;
                        $crate::store::suite::$case(&backend);
                    })
                    .await
                    .unwrap_or_else(|e| panic!("{} in a task: {e}", stringify!($case)));
                });
            )*
        }
    };
}
pub(crate) use store_suite;

pub(crate) fn keys() -> Keys {
    Keys::from_master(b"test master key")
}

fn open(backend: &dyn Backend) -> Box<dyn Store> {
    backend.open(keys()).expect("open the store")
}

fn seed(byte: u8) -> TotpSeed {
    TotpSeed {
        secret: SecretBytes::new(vec![byte; 20]),
        params: TotpParams {
            algorithm: Algorithm::Sha256,
            digits: 8,
            period: 60,
        },
    }
}

fn add(store: &dyn Store, name: &str, seed: &TotpSeed) {
    store
        .add_users(&[NewUser {
            name,
            password_hash: "$argon2id$x",
            password_source: crate::store::PasswordSource::Local,
            token: Some(&NewToken::app(seed.clone())),
            now: 100,
        }])
        .unwrap();
}

/// The seed of the user's first token, a TOTP one.
fn first_seed(user: &UserRecord) -> &TotpSeed {
    match &user.tokens[0].secret {
        TokenSecret::Totp(seed) => seed,
        other => panic!("token 1 is not TOTP: {other:?}"),
    }
}

/// A store holding one user `name` (SHA1, 6 digits, 30 s).
fn store_with(backend: &dyn Backend, name: &str) -> Box<dyn Store> {
    let store = open(backend);
    let seed = TotpSeed {
        secret: SecretBytes::new(vec![1; 20]),
        params: TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        },
    };
    store
        .add_users(&[NewUser {
            name,
            password_hash: "h",
            password_source: crate::store::PasswordSource::Local,
            token: Some(&NewToken::app(seed.clone())),
            now: 0,
        }])
        .unwrap();
    store
}

fn code(text: &str) -> SecretBytes {
    SecretBytes::from(text.as_bytes())
}
