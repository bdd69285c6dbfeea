//! The reply builder and the dictionary's description of what it built.
//! Input format and assertions: `src/targets/reply.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| radotp_fuzz::targets::reply::run(data));
