//! argon2id password hashes: creating them at the configured cost, and verifying them with the
//! cost stored in each hash — bounded, so a planted hash cannot make one request take minutes
//! or gigabytes.

use std::cell::RefCell;

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::invalid::Invalid;

/// Largest cost a hash may ask for — stored or configured: 1 GiB, 64 passes, 16 lanes. A
/// configured cost above them would make hashes this server refuses to verify.
pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
pub const MAX_ITERATIONS: u32 = 64;
pub const MAX_PARALLELISM: u32 = 16;

/// argon2id cost of new password hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl PasswordCost {
    /// OWASP's recommendation, and the default.
    pub const RECOMMENDED: PasswordCost = PasswordCost {
        memory_kib: 19456,
        iterations: 2,
        parallelism: 1,
    };

    /// Within the bounds every hash is verified against (argon2 itself needs 8 KiB a lane).
    pub fn check(&self) -> Vec<Invalid> {
        let mut problems = Vec::new();
        if !(1..=MAX_PARALLELISM).contains(&self.parallelism) {
            problems.push(Invalid::new(
                "parallelism",
                format!("must be between 1 and {MAX_PARALLELISM}"),
            ));
        }
        let least = 8 * self.parallelism.clamp(1, MAX_PARALLELISM);
        if !(least..=MAX_MEMORY_KIB).contains(&self.memory_kib) {
            problems.push(Invalid::new(
                "memory_kib",
                format!(
                    "must be between 8 × parallelism and {MAX_MEMORY_KIB} (1 GiB, the most a \
                     stored hash may ask for); {} is recommended",
                    Self::RECOMMENDED.memory_kib
                ),
            ));
        }
        if !(1..=MAX_ITERATIONS).contains(&self.iterations) {
            problems.push(Invalid::new(
                "iterations",
                format!(
                    "must be between 1 and {MAX_ITERATIONS}; {} is recommended",
                    Self::RECOMMENDED.iterations
                ),
            ));
        }
        problems
    }

    /// Weaker than recommended: new hashes would be easier to crack.
    pub fn is_weak(&self) -> bool {
        self.memory_kib < Self::RECOMMENDED.memory_kib
            || self.iterations < Self::RECOMMENDED.iterations
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("not an argon2 PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash): {0}")]
    Unparsable(String),
    #[error("the hash uses {0}; only argon2id, argon2i and argon2d are accepted")]
    NotArgon2(String),
    #[error(
        "the hash asks for m={m} KiB, t={t}, p={p}; the limits are m≤{MAX_MEMORY_KIB}, t≤{MAX_ITERATIONS}, p≤{MAX_PARALLELISM}"
    )]
    CostOutOfBounds { m: u32, t: u32, p: u32 },
    #[error("argon2 failed: {0}")]
    Argon2(String),
}

/// Hash a password with a fresh random salt at the configured cost.
pub fn hash(cost: PasswordCost, password: &[u8]) -> Result<String, HashError> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|e| HashError::Argon2(e.to_string()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Argon2(e.to_string()))
}

/// Parse a PHC string and check that its cost is within bounds; its parameters with it.
fn parse(phc: &str) -> Result<(PasswordHash, Params), HashError> {
    let parsed = PasswordHash::new(phc).map_err(|e| HashError::Unparsable(e.to_string()))?;
    let ident = parsed.algorithm.as_str();
    if !matches!(ident, "argon2id" | "argon2i" | "argon2d") {
        return Err(HashError::NotArgon2(ident.to_owned()));
    }
    let params = Params::try_from(&parsed).map_err(|e| HashError::Unparsable(e.to_string()))?;
    let (m, t, p) = (params.m_cost(), params.t_cost(), params.p_cost());
    if m > MAX_MEMORY_KIB || t > MAX_ITERATIONS || p > MAX_PARALLELISM {
        return Err(HashError::CostOutOfBounds { m, t, p });
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(HashError::Unparsable("salt or hash missing".to_owned()));
    }
    Ok((parsed, params))
}

/// Check that a PHC string is an argon2 hash we would verify (for imports).
pub fn validate(phc: &str) -> Result<(), HashError> {
    parse(phc).map(|_| ())
}

/// Verify `password` against a stored hash, using the hash's own parameters.
///
/// The argon2 memory (19 MiB at the default cost) comes from a buffer kept by the calling thread
/// and reused, not from a fresh allocation per verification: with the allocator's own reuse,
/// freed 19 MiB blocks fragmented the heap and resident memory climbed past 300 MiB under load,
/// while handing them back to the system each time halved the verification rate (every hash
/// faulted its pages in again). Kept this way, memory is one buffer per thread, and in the
/// server one per `HashSlots` slot (handed from thread to thread).
pub fn verify(password: &[u8], phc: &str) -> Result<bool, HashError> {
    let (parsed, params) = parse(phc)?;
    let argon2_error = |e: argon2::Error| HashError::Argon2(e.to_string());
    let algorithm = Algorithm::new(parsed.algorithm.as_str()).map_err(argon2_error)?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(argon2_error)?,
        None => Version::default(),
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(HashError::Unparsable("salt or hash missing".to_owned()));
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let mut computed = [0u8; Output::MAX_LENGTH];
    let computed = &mut computed[..expected.len()];
    with_memory(argon2.params().block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password, salt, computed, blocks)
    })
    .map_err(argon2_error)?;
    let computed = Output::new(computed).map_err(|e| HashError::Argon2(e.to_string()))?;
    // `Output`'s equality is constant-time.
    Ok(&computed == expected)
}

/// Largest argon2 memory a thread keeps between verifications (64 MiB, over three times the
/// default cost). A stored hash asking for more gets a buffer of its own, returned afterwards.
const MAX_KEPT_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// This thread's argon2 memory, grown to the largest cost seen (up to `MAX_KEPT_BLOCKS`).
    /// Its contents are overwritten by each hash before they are read.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// A limit on verifications at once, each with argon2 memory kept from the start: a thread
/// takes a slot for the length of one hash (waiting while all are taken) and hands it on. The
/// server runs more threads than slots, so the store and directory round trips of some
/// requests overlap the hashing of others, while the cores never hash more at once than there
/// are slots, and the memory stays one buffer per slot.
pub struct HashSlots {
    free: std::sync::Mutex<Vec<Vec<Block>>>,
    returned: std::sync::Condvar,
}

impl std::fmt::Debug for HashSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashSlots").finish_non_exhaustive()
    }
}

impl HashSlots {
    /// `slots` (at least one); their memory grows on first use, or at once by `reserve`.
    pub fn new(slots: usize) -> Self {
        Self {
            free: std::sync::Mutex::new(vec![Vec::new(); slots.max(1)]),
            returned: std::sync::Condvar::new(),
        }
    }

    /// Set the memory for hashes of `cost` aside in every free slot now, pages touched, so the
    /// footprint is fixed from the start (nothing for a cost above what is kept: such hashes
    /// get a buffer of their own). Returns the bytes set aside per slot.
    pub fn reserve(&self, cost: PasswordCost) -> usize {
        let blocks = kept_blocks(cost);
        for memory in self.free().iter_mut() {
            if memory.len() < blocks {
                memory.resize(blocks, Block::default());
            }
        }
        blocks * size_of::<Block>()
    }

    /// Run `hash` (password verifications) in a slot: it waits while every slot is taken, and
    /// the slot's memory is this thread's argon2 memory meanwhile.
    pub fn run<R>(&self, hash: impl FnOnce() -> R) -> R {
        let mut free = self.free();
        let memory = loop {
            match free.pop() {
                Some(memory) => break memory,
                None => free = self.returned.wait(free).unwrap_or_else(|p| p.into_inner()),
            }
        };
        drop(free);
        /// The slot, taken: its memory is the thread's until the guard goes, also when the
        /// hash panics, and then goes back to the slot.
        struct Taken<'a>(&'a HashSlots);
        impl Drop for Taken<'_> {
            fn drop(&mut self) {
                let memory = MEMORY.with_borrow_mut(std::mem::take);
                self.0.free().push(memory);
                self.0.returned.notify_one();
            }
        }
        MEMORY.with_borrow_mut(|kept| *kept = memory);
        let _taken = Taken(self);
        hash()
    }

    fn free(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The bytes of argon2 memory `HashSlots::reserve(cost)` sets aside in each slot, without
/// doing it (for the start-up log).
pub fn reserved_bytes(cost: PasswordCost) -> usize {
    kept_blocks(cost) * size_of::<Block>()
}

/// Blocks a thread keeps for hashes of `cost`: 0 if that is over `MAX_KEPT_BLOCKS` or invalid.
fn kept_blocks(cost: PasswordCost) -> usize {
    match Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None) {
        Ok(params) if params.block_count() <= MAX_KEPT_BLOCKS => params.block_count(),
        _ => 0,
    }
}

/// Run `hash` with `blocks` blocks of argon2 memory: the thread's own, grown if need be, or for
/// a cost above `MAX_KEPT_BLOCKS` a buffer of its own.
fn with_memory<R>(blocks: usize, hash: impl FnOnce(&mut [Block]) -> R) -> R {
    if blocks > MAX_KEPT_BLOCKS {
        return hash(&mut vec![Block::default(); blocks]);
    }
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        hash(&mut memory[..blocks])
    })
}

/// A hash of a random password at the configured cost. Unknown users are verified against it,
/// so a reject for a name that does not exist costs what any other reject costs.
#[derive(Clone)]
pub struct DummyHash(String);

impl std::fmt::Debug for DummyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DummyHash")
    }
}

impl DummyHash {
    pub fn new(cost: PasswordCost) -> Result<Self, HashError> {
        let random = crate::secret::random_bytes::<32>();
        hash(cost, &random).map(DummyHash)
    }

    /// Spend one verification; the answer is always "no".
    pub fn verify(&self, password: &[u8]) {
        let _ = verify(password, &self.0);
    }
}

#[cfg(test)]
pub(crate) const TEST_COST: PasswordCost = PasswordCost {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let phc = hash(TEST_COST, "pässwörd".as_bytes()).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert_eq!(verify("pässwörd".as_bytes(), &phc), Ok(true));
        assert_eq!(verify(b"passwor", &phc), Ok(false));
        assert_eq!(verify(b"", &phc), Ok(false));
        assert!(validate(&phc).is_ok());
    }

    /// Hashes made by the reference C implementation (Debian's `argon2` command), e.g.
    /// `echo -n pässwörd | argon2 somesalt0123 -id -t 2 -m 10 -p 1 -e`: all three variants,
    /// both versions, two lanes, a 48-byte output.
    const REFERENCE: [&str; 4] = [
        "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQwMTIz$QV8FIU+GT2a7fGOxqfg9ZH9yQJ8r2slr0R0KL/2JQkM",
        "$argon2i$v=19$m=512,t=3,p=2$c29tZXNhbHQwMTIz$4f5luZHkcfPmrHc1UdAO8dYQ2T85zYsZ9RsWo3acmR0",
        "$argon2d$v=19$m=256,t=1,p=1$c29tZXNhbHQwMTIz$5s5LQxCh+7JWgq2dXWshC3yKVn1VFV0LqP8mNYY7Hb/NzDyy1L8+Mq/J1ZqE+wty",
        "$argon2id$v=16$m=1024,t=2,p=1$c29tZXNhbHQwMTIz$5gkw0ySctunDvAZElhKuYI19n3sXpV/84uLNvYwlPd4",
    ];

    #[test]
    fn verifies_hashes_of_the_reference_implementation() {
        // Twice round, so each hash also runs in memory left over by a different cost (the
        // thread's buffer grows to 1024 blocks, then serves the smaller ones).
        for _ in 0..2 {
            for phc in REFERENCE {
                assert_eq!(verify("pässwörd".as_bytes(), phc), Ok(true), "{phc}");
                assert_eq!(verify("pässwörD".as_bytes(), phc), Ok(false), "{phc}");
            }
        }
    }

    #[test]
    fn reused_memory_gives_the_same_answers_as_fresh_memory() {
        let small = hash(TEST_COST, b"small").unwrap();
        let cost = PasswordCost {
            memory_kib: 2048,
            iterations: 2,
            parallelism: 2,
        };
        let large = hash(cost, b"large").unwrap();
        for _ in 0..3 {
            assert_eq!(verify(b"large", &large), Ok(true));
            assert_eq!(verify(b"small", &small), Ok(true));
            assert_eq!(verify(b"large", &small), Ok(false));
            assert_eq!(verify(b"small", &large), Ok(false));
        }
        MEMORY.with_borrow(|memory| assert_eq!(memory.len(), 2048));
    }

    #[test]
    fn slots_bound_the_hashes_at_once_and_lend_their_memory() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let cost = PasswordCost {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        };
        let slots = HashSlots::new(2);
        assert_eq!(slots.reserve(cost), 256 * 1024);
        let phc = hash(cost, b"pw").unwrap();
        let (inside, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..3 {
                        slots.run(|| {
                            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            // The slot's memory is this thread's while it hashes …
                            MEMORY.with_borrow(|memory| assert_eq!(memory.len(), 256));
                            assert_eq!(verify(b"pw", &phc), Ok(true));
                            std::thread::sleep(std::time::Duration::from_millis(5));
                            inside.fetch_sub(1, Ordering::SeqCst);
                        });
                        // … and goes back with the slot.
                        MEMORY.with_borrow(|memory| assert!(memory.is_empty()));
                    }
                });
            }
        });
        assert_eq!(most.into_inner(), 2, "never more hashes at once than slots");
        // A hash that panics gives its slot and memory back.
        let one = HashSlots::new(1);
        one.reserve(cost);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            one.run(|| panic!("the hash failed"))
        }));
        assert!(panicked.is_err());
        MEMORY.with_borrow(|memory| assert!(memory.is_empty()));
        one.run(|| MEMORY.with_borrow(|memory| assert_eq!(memory.len(), 256)));
    }

    #[test]
    fn reserved_memory_is_the_memory_verifications_use() {
        let cost = PasswordCost {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        let slots = HashSlots::new(1);
        assert_eq!(slots.reserve(cost), 1024 * 1024);
        assert_eq!(reserved_bytes(cost), 1024 * 1024);
        let phc = hash(cost, b"pw").unwrap();
        slots.run(|| {
            MEMORY.with_borrow(|memory| assert_eq!(memory.len(), 1024));
            assert_eq!(verify(b"pw", &phc), Ok(true));
            MEMORY.with_borrow(|memory| assert_eq!(memory.len(), 1024));
        });
        let too_big = PasswordCost {
            memory_kib: (MAX_KEPT_BLOCKS + 1024) as u32,
            ..cost
        };
        assert_eq!(HashSlots::new(1).reserve(too_big), 0);
        assert_eq!(reserved_bytes(too_big), 0);
    }

    #[test]
    fn a_cost_above_the_kept_size_gets_its_own_memory() {
        let cost = PasswordCost {
            memory_kib: (MAX_KEPT_BLOCKS + 1024) as u32,
            iterations: 1,
            parallelism: 1,
        };
        let phc = hash(cost, b"big").unwrap();
        assert_eq!(verify(b"big", &phc), Ok(true));
        assert_eq!(verify(b"bog", &phc), Ok(false));
        MEMORY.with_borrow(|memory| assert!(memory.len() <= MAX_KEPT_BLOCKS));
    }

    #[test]
    fn refuses_unbounded_or_foreign_hashes() {
        let huge = "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A";
        assert!(matches!(
            verify(b"x", huge),
            Err(HashError::CostOutOfBounds { m: 4194304, .. })
        ));
        assert!(matches!(
            validate("plaintext"),
            Err(HashError::Unparsable(_))
        ));
        let bcrypt_like = "$pbkdf2-sha256$i=1000$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        assert!(matches!(
            validate(bcrypt_like),
            Err(HashError::NotArgon2(_))
        ));
    }

    #[test]
    fn dummy_is_a_real_hash_at_the_configured_cost() {
        // If the dummy failed to parse, an unknown user would be refused without argon2 and
        // timing would tell who exists: it must be a verifiable hash of the same cost.
        let dummy = DummyHash::new(TEST_COST).unwrap();
        assert!(
            dummy.0.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
            "{}",
            dummy.0
        );
        assert_eq!(verify(b"anything", &dummy.0), Ok(false));
        assert_eq!(verify(b"", &dummy.0), Ok(false));
    }
}
