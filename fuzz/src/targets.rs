//! The body of each fuzz target, one module per `fuzz_targets/*.rs` binary. Each `run` takes one
//! input and panics on a bug; the binaries hand it to libFuzzer, and `tests/seeds.rs` replays
//! the committed seeds (and any local crash artifacts) through it under `cargo test`.

pub mod eap;
pub mod packet_path;
pub mod parsers;
pub mod reply;
