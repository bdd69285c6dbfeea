//! TOTP seeds, recovery codes, splits, configuration and dictionary files.
//! Input format and assertions: `src/targets/parsers.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| radotp_fuzz::targets::parsers::run(data));
