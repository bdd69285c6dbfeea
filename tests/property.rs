//! Property test against the real binary: arbitrary datagrams and mutations of valid ones (bit
//! flips, truncations, Length edits, attribute insertions and removals, trailing octets), half
//! of them re-signed with the right secret so they get past authentication, interleaved with
//! valid requests. The server must stay up, answer nothing it cannot authenticate, answer
//! every valid request correctly, and answer a re-signed mutation with silence or a reply a NAS
//! accepts.
//!
//! A seeded xorshift drives everything: a failure prints its seed, and
//! `RADOTP_PROPERTY_SEED=<seed> cargo test --test property` replays it.
//! `RADOTP_PROPERTY_DATAGRAMS=100000` makes a longer soak of the same test.

mod common;
#[path = "property/datagrams.rs"]
mod datagrams;

use std::collections::HashMap;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::client::*;
use common::*;
use datagrams::*;

/// Datagrams per run, unless `RADOTP_PROPERTY_DATAGRAMS` says otherwise.
const DATAGRAMS: usize = 2000;
/// A Status-Server every this many datagrams, waited for: bounds the burst the pool sees.
const PROBE_EVERY: usize = 25;
/// Every this many datagrams, a valid request (Status-Server, unknown user, wrong password).
const VALID_EVERY: usize = 6;
/// Every this many datagrams, a real login of Alice (TOTP once per step, else recovery codes).
const LOGIN_EVERY: usize = 190;

/// What a datagram is, and what it must get back.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// A valid request: exactly this reply code.
    Reply(u8),
    /// A re-signed mutation or a lucky random datagram: silence, or a verifiable reply.
    SilenceOrReply,
    /// Unauthenticated or malformed: silence.
    Silence,
}

struct Sent {
    bytes: Vec<u8>,
    expect: Expect,
    how: String,
    sent_at: Instant,
    sends: u32,
    answers: u32,
}

/// The login material of Alice: a TOTP secret, and recovery codes for when the step is used.
struct Alice {
    secret: String,
    recovery: Vec<String>,
    last_step: Option<u64>,
}

impl Alice {
    fn login(&mut self) -> Option<(Vec<u8>, String)> {
        let step = now() / 30;
        let code = if self.last_step.is_none_or(|s| step > s) {
            self.last_step = Some(step);
            code_at(&self.secret, step * 30)
        } else {
            self.recovery.pop()?
        };
        let how = format!(
            "Alice logs in with {}",
            if code.len() == 6 {
                "TOTP"
            } else {
                "a recovery code"
            }
        );
        Some((
            Request::access(SECRET, "alice", format!("alice-pw{code}").as_bytes()).encode(),
            how,
        ))
    }
}

/// Every datagram the client received, in order of arrival.
type Replies = Arc<Mutex<Vec<Vec<u8>>>>;

/// Replies, as they arrive, from a thread reading the client's socket.
fn receiver(socket: UdpSocket, stop: Arc<AtomicBool>) -> (Replies, std::thread::JoinHandle<()>) {
    let replies: Replies = Arc::default();
    let sink = Arc::clone(&replies);
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let handle = std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while !stop.load(Ordering::Relaxed) {
            if let Ok((n, _)) = socket.recv_from(&mut buf) {
                sink.lock().unwrap().push(buf[..n].to_vec());
            }
        }
        // Whatever is still queued on the socket.
        socket.set_nonblocking(true).unwrap();
        while let Ok((n, _)) = socket.recv_from(&mut buf) {
            sink.lock().unwrap().push(buf[..n].to_vec());
        }
    });
    (replies, handle)
}

struct Run {
    seed: u64,
    sent: Vec<Sent>,
    by_id: HashMap<u8, Vec<usize>>,
    failures: Vec<String>,
    seen: usize,
}

impl Run {
    fn record(&mut self, bytes: Vec<u8>, expect: Expect, how: String) -> usize {
        let index = self.sent.len();
        // Shorter than a header: nothing can answer it, and the checker needs 20 octets.
        if bytes.len() >= 20 {
            self.by_id.entry(bytes[1]).or_default().push(index);
        }
        self.sent.push(Sent {
            bytes,
            expect,
            how,
            sent_at: Instant::now(),
            sends: 1,
            answers: 0,
        });
        index
    }

    /// Match the replies that arrived since the last call to what was sent, and judge them.
    fn judge(&mut self, replies: &Mutex<Vec<Vec<u8>>>) {
        let new: Vec<Vec<u8>> = replies.lock().unwrap()[self.seen..].to_vec();
        self.seen += new.len();
        for raw in new {
            let candidates = raw
                .get(1)
                .and_then(|id| self.by_id.get(id))
                .cloned()
                .unwrap_or_default();
            let matched = candidates.into_iter().find_map(|i| {
                check_reply(&raw, &self.sent[i].bytes, SECRET.as_bytes())
                    .ok()
                    .map(|r| (i, r))
            });
            let Some((i, reply)) = matched else {
                self.failures.push(format!(
                    "a reply that verifies against nothing sent: {raw:02x?}"
                ));
                continue;
            };
            let sent = &mut self.sent[i];
            sent.answers += 1;
            let request_code = sent.bytes[0];
            let problem = match sent.expect {
                Expect::Silence => Some("answered, but it cannot be authenticated".to_string()),
                Expect::Reply(code) if reply.code != code => {
                    Some(format!("reply code {} instead of {code}", reply.code))
                }
                Expect::SilenceOrReply
                    if request_code == STATUS_SERVER && reply.code != ACCESS_ACCEPT =>
                {
                    Some(format!("Status-Server answered with code {}", reply.code))
                }
                // Mutations never carry Alice's password: nothing they carry may be accepted.
                Expect::SilenceOrReply
                    if request_code == ACCESS_REQUEST && !matches!(reply.code, ACCESS_REJECT) =>
                {
                    Some(format!("a mutation got reply code {}", reply.code))
                }
                _ => None,
            };
            if let Some(problem) = problem {
                self.failures.push(format!(
                    "datagram #{i} ({}): {problem}; datagram {:02x?}",
                    sent.how, sent.bytes
                ));
            }
        }
    }

    fn unanswered_valid(&self) -> Vec<usize> {
        (0..self.sent.len())
            .filter(|&i| {
                matches!(self.sent[i].expect, Expect::Reply(_)) && self.sent[i].answers == 0
            })
            .collect()
    }
}

#[test]
fn arbitrary_and_mutated_datagrams_never_get_a_wrong_answer() {
    let seed = std::env::var("RADOTP_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!(
        "property seed {seed} (replay: RADOTP_PROPERTY_SEED={seed} cargo test --test property)"
    );
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let mut server = Server::start();
    let secret = server.add_user("alice", "alice-pw");
    server.add_user("bob", "bob-pw");
    let out = server.cli(&["user", "recovery-codes", "alice", "--json"], "");
    assert!(
        out.status.success(),
        "recovery-codes: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let codes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut alice = Alice {
        secret,
        recovery: codes["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect(),
        last_step: None,
    };

    let client = Client::new(server.addr());
    let stop = Arc::new(AtomicBool::new(false));
    let (replies, reader) = receiver(client.sock.try_clone().unwrap(), Arc::clone(&stop));
    let mut run = Run {
        seed,
        sent: Vec::new(),
        by_id: HashMap::new(),
        failures: Vec::new(),
        seen: 0,
    };

    let datagrams = std::env::var("RADOTP_PROPERTY_DATAGRAMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DATAGRAMS);
    for n in 1..=datagrams {
        let (bytes, expect, how) = if n % LOGIN_EVERY == 0
            && let Some((bytes, how)) = alice.login()
        {
            (bytes, Expect::Reply(ACCESS_ACCEPT), how)
        } else if n % PROBE_EVERY == 0 || n % VALID_EVERY == 0 {
            match rng.below(3) {
                k if k == 0 || n % PROBE_EVERY == 0 => (
                    seeded(&mut rng, STATUS_SERVER).encode(),
                    Expect::Reply(ACCESS_ACCEPT),
                    "Status-Server".into(),
                ),
                1 => (
                    access(&mut rng, &format!("nobody{n}"), b"pw123456").encode(),
                    Expect::Reply(ACCESS_REJECT),
                    "unknown user".into(),
                ),
                _ => (
                    access(&mut rng, "bob", b"wrong-pw123456").encode(),
                    Expect::Reply(ACCESS_REJECT),
                    "bob, wrong password".into(),
                ),
            }
        } else if rng.chance(5) {
            let bytes = arbitrary(&mut rng);
            let expect = if authentic(&bytes) {
                Expect::SilenceOrReply
            } else {
                Expect::Silence
            };
            (bytes, expect, "arbitrary".into())
        } else {
            let (mut bytes, what) = base(&mut rng);
            let mutation = mutate(&mut rng, &mut bytes);
            let signed = rng.chance(2);
            if signed {
                resign(&mut bytes);
            }
            let expect = if authentic(&bytes) {
                Expect::SilenceOrReply
            } else {
                Expect::Silence
            };
            (
                bytes,
                expect,
                format!(
                    "{what}, {mutation}{}",
                    if signed { ", re-signed" } else { "" }
                ),
            )
        };
        client.send(&bytes);
        let index = run.record(bytes, expect, how);
        if n % PROBE_EVERY == 0 {
            // Wait for the probe: everything before it has been read by the server.
            let deadline = Instant::now() + Duration::from_secs(5);
            while run.sent[index].answers == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
                run.judge(&replies);
            }
            if run.sent[index].answers == 0 {
                run.failures.push(format!(
                    "no answer to the Status-Server after datagram #{}",
                    index - 1
                ));
                break;
            }
        }
    }

    // Valid requests a busy pool dropped are retransmitted, as a NAS does.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !run.unanswered_valid().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        run.judge(&replies);
        for i in run.unanswered_valid() {
            if run.sent[i].sent_at.elapsed() > Duration::from_secs(1) && run.sent[i].sends < 4 {
                client.send(&run.sent[i].bytes);
                run.sent[i].sent_at = Instant::now();
                run.sent[i].sends += 1;
            }
        }
    }
    // Late replies to anything else: a graceful stop answers everything in flight before the
    // server exits (and asserts it exits 0: nothing crashed); then the reader takes what is
    // queued on the socket.
    server.stop();
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    run.judge(&replies);
    for i in run.unanswered_valid() {
        let s = &run.sent[i];
        run.failures.push(format!(
            "valid datagram #{i} ({}) never answered in {} sends: {:02x?}",
            s.how, s.sends, s.bytes
        ));
    }
    // Nothing panicked on the way (the probes showed it answering throughout).
    if server.logs().contains("panicked") {
        run.failures.push("the server log shows a panic".into());
    }

    let valid = run
        .sent
        .iter()
        .filter(|s| matches!(s.expect, Expect::Reply(_)))
        .count();
    let accepted = run
        .sent
        .iter()
        .filter(|s| s.expect == Expect::Reply(ACCESS_ACCEPT) && s.bytes[0] == ACCESS_REQUEST)
        .count();
    let allowed = run
        .sent
        .iter()
        .filter(|s| s.expect == Expect::SilenceOrReply)
        .count();
    let answered = run
        .sent
        .iter()
        .filter(|s| s.expect == Expect::SilenceOrReply && s.answers > 0)
        .count();
    eprintln!(
        "{} datagrams in {:.1?}: {valid} valid ({accepted} logins), {allowed} authentic mutations ({answered} answered), {} never to be answered",
        run.sent.len(),
        started.elapsed(),
        run.sent.len() - valid - allowed,
    );
    assert!(
        run.failures.is_empty(),
        "seed {} (replay: RADOTP_PROPERTY_SEED={} cargo test --test property): {} failure(s):\n{}",
        run.seed,
        run.seed,
        run.failures.len(),
        run.failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        accepted >= 2,
        "seed {seed}: too few logins exercised ({accepted})"
    );
}
