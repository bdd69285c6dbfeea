//! argon2id password hashes: creating them at the configured cost, and verifying them with the
//! cost stored in each hash — bounded, so a planted hash cannot make one request take minutes
//! or gigabytes.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::PasswordCost;

/// Largest cost a stored hash may ask for: 1 GiB, 64 passes, 16 lanes.
pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
pub const MAX_ITERATIONS: u32 = 64;
pub const MAX_PARALLELISM: u32 = 16;

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

/// Parse a PHC string and check that its cost is within bounds.
fn parse(phc: &str) -> Result<PasswordHash, HashError> {
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
    Ok(parsed)
}

/// Check that a PHC string is an argon2 hash we would verify (for imports).
pub fn validate(phc: &str) -> Result<(), HashError> {
    parse(phc).map(|_| ())
}

/// Verify `password` against a stored hash, using the hash's own parameters.
pub fn verify(password: &[u8], phc: &str) -> Result<bool, HashError> {
    let parsed = parse(phc)?;
    match Argon2::default().verify_password(password, &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(HashError::Argon2(e.to_string())),
    }
}

/// A hash of a random password at the configured cost. Unknown users are verified against it,
/// so a reject for a name that does not exist costs what any other reject costs.
#[derive(Clone)]
pub struct DummyHash(String);

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
