//! Hardware and software tokens beyond the TOTP app: the pure parts, without the store.
//!
//! - [`hotp`]: HOTP (RFC 4226) codes, look-ahead and resynchronisation.
//! - [`yubico`]: Yubico OTP — modhex, the AES-128 block a YubiKey types, its CRC and counters;
//!   the CSV that YubiKey Manager writes when it programs a slot.
//! - [`pskc`]: PSKC (RFC 6030) key containers: HOTP and TOTP key packages, plaintext or
//!   encrypted, with their MACs checked.

pub mod hotp;
pub mod pskc;
pub mod yubico;
