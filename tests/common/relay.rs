//! A UDP relay on loopback between a supplicant's RADIUS client (eapol_test) and radotp that can
//! hold requests after a number of Access-Accepts went by, until the test releases them: the
//! test changes something (disables the user, moves the clock) between a full login and the
//! re-authentication that resumes its TLS session, in one eapol_test run. It can also stop
//! forwarding for good after some requests (a conversation abandoned halfway), or move to
//! another node after a login (a session resumed on the other node of a cluster).

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the relay does.
#[derive(Clone, Copy, Debug)]
pub enum Hold {
    /// Forward everything.
    Never,
    /// Hold requests once this many Access-Accepts went back, until `release`.
    AfterAccepts(usize),
    /// Forward this many requests, then drop every one after.
    DropAfterRequests(usize),
    /// Once this many Access-Accepts went back, forward to this other server instead (another
    /// node of the same cluster).
    MoveAfterAccepts(usize, SocketAddr),
}

pub struct Relay {
    pub addr: SocketAddr,
    accepts: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    released: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    pub fn start(server: SocketAddr, hold: Hold) -> Relay {
        let front = UdpSocket::bind("127.0.0.1:0").unwrap();
        let back = UdpSocket::bind("127.0.0.1:0").unwrap();
        front
            .set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        back.set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        let addr = front.local_addr().unwrap();
        let accepts = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let released = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, r, rel, st) = (
            Arc::clone(&accepts),
            Arc::clone(&requests),
            Arc::clone(&released),
            Arc::clone(&stop),
        );
        let held: Arc<Mutex<VecDeque<Vec<u8>>>> = Arc::default();
        let thread = std::thread::spawn(move || {
            let mut peer: Option<SocketAddr> = None;
            let mut buf = [0u8; 4096];
            // Bounded: a relay outlives no test by more than two minutes.
            let deadline = Instant::now() + Duration::from_secs(120);
            while !st.load(Ordering::Relaxed) && Instant::now() < deadline {
                if let Ok((n, from)) = front.recv_from(&mut buf) {
                    peer = Some(from);
                    let count = r.fetch_add(1, Ordering::Relaxed) + 1;
                    let holding = match hold {
                        Hold::Never | Hold::MoveAfterAccepts(..) => false,
                        Hold::AfterAccepts(k) => {
                            a.load(Ordering::Relaxed) >= k && !rel.load(Ordering::Relaxed)
                        }
                        Hold::DropAfterRequests(k) => {
                            if count > k {
                                continue;
                            }
                            false
                        }
                    };
                    let target = match hold {
                        Hold::MoveAfterAccepts(k, other) if a.load(Ordering::Relaxed) >= k => other,
                        _ => server,
                    };
                    if holding {
                        held.lock().unwrap().push_back(buf[..n].to_vec());
                    } else {
                        back.send_to(&buf[..n], target).ok();
                    }
                }
                if rel.load(Ordering::Relaxed) {
                    for packet in held.lock().unwrap().drain(..) {
                        back.send_to(&packet, server).ok();
                    }
                }
                if let Ok((n, _)) = back.recv_from(&mut buf)
                    && let Some(peer) = peer
                {
                    if buf[0] == 2 {
                        a.fetch_add(1, Ordering::Relaxed);
                    }
                    front.send_to(&buf[..n], peer).ok();
                }
            }
        });
        Relay {
            addr,
            accepts,
            requests,
            released,
            stop,
            thread: Some(thread),
        }
    }

    /// Access-Accepts relayed so far.
    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::Relaxed)
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// Wait (at most `limit`) until `n` Access-Accepts went back.
    pub fn wait_for_accepts(&self, n: usize, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if self.accepts() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Forward what is held, and everything after.
    pub fn release(&self) {
        self.released.store(true, Ordering::Relaxed);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}
