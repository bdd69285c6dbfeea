//! `radotp bench --calibrate`: how many argon2 verifications this machine does per second at the
//! configured cost, on every core at once. The server verifies exactly one hash per
//! Access-Request, so this is the ceiling for authentications per second; the median time of
//! one verification on an otherwise idle machine is the floor for a login's latency.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::BenchError;
use radotp_server::auth::password;
use radotp_server::auth::password::PasswordCost;
use radotp_server::secret::random_bytes;

/// Verifications timed one by one for the median (fewer if they are slow).
const SINGLE_SAMPLES: usize = 21;

/// What calibration measured.
#[derive(Debug, Clone)]
pub struct Calibration {
    pub cost: PasswordCost,
    pub threads: usize,
    /// Median of single verifications, one thread, nothing else running.
    pub single_median: Duration,
    pub single_samples: usize,
    /// Verifications done by all threads together, and the time they took.
    pub verifies: u64,
    pub elapsed: Duration,
}

impl Calibration {
    pub fn per_second(&self) -> f64 {
        self.verifies as f64 / self.elapsed.as_secs_f64()
    }

    pub fn to_json(&self) -> Value {
        json!({
            "memory_kib": self.cost.memory_kib,
            "iterations": self.cost.iterations,
            "parallelism": self.cost.parallelism,
            "threads": self.threads,
            "verifies": self.verifies,
            "elapsed_s": round3(self.elapsed.as_secs_f64()),
            "verifies_per_s": round3(self.per_second()),
            "single_median_ms": round3(self.single_median.as_secs_f64() * 1000.0),
            "single_samples": self.single_samples,
        })
    }

    pub fn to_text(&self) -> String {
        format!(
            "argon2id m={} KiB, t={}, p={}\n\
             one verification (median of {}): {:.2} ms\n\
             {} threads for {:.1} s: {} verifications, {:.1} per second\n\
             ceiling: about {:.0} authentications per second on this machine\n",
            self.cost.memory_kib,
            self.cost.iterations,
            self.cost.parallelism,
            self.single_samples,
            self.single_median.as_secs_f64() * 1000.0,
            self.threads,
            self.elapsed.as_secs_f64(),
            self.verifies,
            self.per_second(),
            self.per_second(),
        )
    }
}

/// Time single verifications (a quarter of `duration` at most), then keep `threads` threads
/// verifying for `duration`.
pub fn calibrate(
    cost: PasswordCost,
    duration: Duration,
    threads: usize,
) -> Result<Calibration, BenchError> {
    let password = random_bytes::<16>();
    let hash = password::hash(cost, &password)?;
    // A wrong password costs the same as the right one; the right one proves the hash works.
    if !password::verify(&password, &hash)? {
        return Err(BenchError::Hash(password::HashError::Argon2(
            "a fresh hash did not verify".into(),
        )));
    }

    let mut single = Vec::with_capacity(SINGLE_SAMPLES);
    let budget = Instant::now() + duration / 4;
    while single.len() < SINGLE_SAMPLES && (single.len() < 3 || Instant::now() < budget) {
        let started = Instant::now();
        password::verify(&password, &hash)?;
        single.push(started.elapsed());
    }
    single.sort_unstable();
    let single_median = single[single.len() / 2];

    let threads = threads.max(1);
    let started = Instant::now();
    let deadline = started + duration;
    let counts: Vec<Result<u64, BenchError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = 0u64;
                    while Instant::now() < deadline {
                        password::verify(&password, &hash)?;
                        done += 1;
                    }
                    Ok(done)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a verification thread panicked"))
            .collect()
    });
    // Each thread finishes the verification it started before the deadline: count until then.
    let elapsed = started.elapsed();
    let mut verifies = 0;
    for count in counts {
        verifies += count?;
    }
    Ok(Calibration {
        cost,
        threads,
        single_median,
        single_samples: single.len(),
        verifies,
        elapsed,
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::TEST_COST;

    #[test]
    fn counts_verifications_on_every_thread() {
        let c = calibrate(TEST_COST, Duration::from_millis(200), 2).unwrap();
        assert_eq!(c.threads, 2);
        assert_eq!(c.single_samples, SINGLE_SAMPLES);
        assert!(c.verifies >= 2, "{c:?}");
        assert!(c.elapsed >= Duration::from_millis(200));
        assert!(c.per_second() > 0.0);
        let doc = c.to_json();
        assert_eq!(doc["memory_kib"], TEST_COST.memory_kib);
        assert_eq!(doc["threads"], 2);
        assert_eq!(doc["verifies"], c.verifies);
    }
}
