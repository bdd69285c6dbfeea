//! The whole packet path without sockets, from datagram to signed reply.
//! Input format and assertions: `src/targets/packet_path.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| radotp_fuzz::targets::packet_path::run(data));
