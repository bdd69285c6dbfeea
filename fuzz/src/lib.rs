//! Shared by the fuzz targets: an independent RADIUS checker (`wire`), the server's own
//! pipeline driven without sockets and judged from the outside (`pipeline`) over an in-memory
//! store with known users (`world`), direct checks of the decision core (`decision`), and a
//! byte cursor for structured inputs. The targets themselves are in `targets`, so that `cargo test` can
//! replay the seeds without libFuzzer (`tests/seeds.rs`).

pub mod decision;
pub mod pipeline;
pub mod targets;
pub mod wire;
pub mod world;

/// Reads a structured input octet by octet; zeros once it runs out, so every input is valid.
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn peek(&self) -> Option<u8> {
        self.data.first().copied()
    }

    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Up to `n` octets (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        taken
    }

    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.data.len())
    }
}
