//! One EAP-TTLS or PEAPv0 conversation and the EAP codecs.
//! Input format and assertions: `src/targets/eap.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| radotp_fuzz::targets::eap::run(data));
