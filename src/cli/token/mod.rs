//! `radotp token …`: a user's tokens — an authenticator app, HOTP or TOTP key fobs, YubiKeys —
//! added, listed, disabled, resynchronised and removed one by one, or imported from the files
//! vendors ship. `add`, `manage` (list, remove, disable), `resync`, `import`; secrets are shown
//! only when radotp makes one (a TOTP secret, once).

mod add;
mod import;
mod manage;
mod resync;

use std::path::Path;

use clap::{Args, Subcommand};

use crate::cli::Failure;
pub(crate) use add::hex_secret;
pub(crate) use resync::resync;

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Give a user one more token: an authenticator app (totp), an OATH key fob (hotp), or a
    /// YubiKey in Yubico OTP mode (yubico).
    #[command(after_help = "Examples:\n  \
        radotp token add alice --type totp --verify\n  \
        radotp token add alice --type hotp --secret GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ --counter 0\n  \
        radotp token add alice --type yubico --public-id ccccccbchvth \\\n      \
        --private-id 8792ebfe26cc --aes-key ecde18dbe76fbd0c33330f1c354871db")]
    Add(Box<add::AddArgs>),
    /// List tokens (each with its id and type, never a secret): one user's, or everyone's.
    #[command(after_help = "Examples:\n  radotp token list alice\n  radotp token list --json")]
    List(ListArgs),
    /// Delete one token: its codes stop working at once.
    #[command(after_help = "Example:\n  radotp token remove alice 2")]
    Remove(NameId),
    /// Bring a fob whose counter ran ahead (HOTP, within 1,000 presses), or a TOTP token whose
    /// clock drifted (within ±24 h), back in step from two consecutive codes.
    #[command(after_help = "Example:\n  radotp token resync alice 2 123456 654321")]
    Resync(ResyncArgs),
    /// Refuse the token's codes until `token enable`.
    #[command(after_help = "Example:\n  radotp token disable alice 2")]
    Disable(NameId),
    /// Accept the token's codes again.
    #[command(after_help = "Example:\n  radotp token enable alice 2")]
    Enable(NameId),
    /// Import YubiKeys from the CSV that `ykman otp yubiotp … --config-output FILE` writes.
    #[command(after_help = import::YUBICO_HELP)]
    ImportYubico(import::YubicoArgs),
    /// Import HOTP and TOTP fobs from a vendor's PSKC file (RFC 6030), all or nothing.
    #[command(after_help = import::PSKC_HELP)]
    ImportPskc(import::PskcArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this user's tokens.
    pub name: Option<String>,
    /// One JSON array of {user, id, type, label, serial, enabled, created, last_used, …}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NameId {
    pub name: String,
    /// The token's id, as `radotp token list NAME` shows it.
    pub id: u32,
}

#[derive(Debug, Args)]
pub(crate) struct ResyncArgs {
    pub name: String,
    pub id: u32,
    /// A code of the token…
    pub code1: String,
    /// …and the one right after it.
    pub code2: String,
}

pub(crate) fn run(config_path: &Path, command: TokenCommand) -> Result<(), Failure> {
    match command {
        TokenCommand::Add(args) => add::add(config_path, *args),
        TokenCommand::List(args) => manage::list(config_path, args),
        TokenCommand::Remove(args) => manage::remove(config_path, args),
        TokenCommand::Disable(args) => manage::set_disabled(config_path, args, true),
        TokenCommand::Enable(args) => manage::set_disabled(config_path, args, false),
        TokenCommand::Resync(args) => resync::run(config_path, args),
        TokenCommand::ImportYubico(args) => import::yubico(config_path, args),
        TokenCommand::ImportPskc(args) => import::pskc(config_path, args),
    }
}
