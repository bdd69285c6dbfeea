//! The driver, on tokio: several UDP sockets (each with its own 256 Identifiers), one receiving
//! task per socket, and one task per request in flight that waits for its answer or its
//! timeout. No retransmissions: a request without a valid answer in time is `lost`.
//!
//! - Open loop (`Load::Rate`): requests leave on schedule whether or not earlier ones were
//!   answered, as from many independent NASes; a request due when every Identifier is in use
//!   is not sent and is counted (a generator that waited would hide the server's slowness).
//! - Closed loop (`Load::Concurrency`): N workers, each sending its next request when the last
//!   one ended: the server's throughput at N outstanding.
//!
//! Both stop sending at the duration or the count, whichever comes first, then wait at most one
//! timeout for the answers still due.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::pool::Pick;
use super::report::Tally;
use super::scenario::{Factory, Kind, Made};
use super::slots::{Offered, Slots};
use super::{BenchError, unix_now};
use crate::client::{self, Request};
use radotp_server::protocol::MAX_PACKET_LEN;

/// How the load is offered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Load {
    /// Open loop: this many requests per second.
    Rate(f64),
    /// Closed loop: this many requests outstanding.
    Concurrency(usize),
}

/// One run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Where the requests go: one server, or the nodes of one cluster sharing the load (each
    /// socket sends to one of them, the sockets taken in turn). Never empty.
    pub servers: Vec<SocketAddr>,
    pub load: Load,
    /// Stop sending after this long …
    pub duration: Duration,
    /// … or after this many requests.
    pub count: Option<u64>,
    /// How long each request waits for its answer.
    pub timeout: Duration,
    pub sockets: usize,
}

impl Plan {
    /// The first server: where the shared secret and the reports point.
    pub fn server(&self) -> SocketAddr {
        self.servers[0]
    }

    /// Enough sockets that Identifiers do not run out: 256 outstanding requests each; in open
    /// loop, room for a full timeout's worth of requests, at most 64 sockets.
    pub fn default_sockets(load: Load, timeout: Duration) -> usize {
        match load {
            Load::Concurrency(n) => n.div_ceil(256).max(1),
            Load::Rate(rate) => {
                let in_flight = rate * timeout.as_secs_f64() * 1.25;
                ((in_flight / 256.0).ceil() as usize).clamp(1, 64)
            }
        }
    }
}

/// A valid answer, as the receiving task saw it.
struct Answered {
    code: u8,
    at: Instant,
}

type Token = oneshot::Sender<Answered>;

struct Lane {
    socket: UdpSocket,
    /// The server this socket sends to and takes answers from.
    server: SocketAddr,
    slots: Mutex<Slots<Token>>,
}

struct Shared {
    plan: Plan,
    factory: Arc<Factory>,
    lanes: Vec<Lane>,
    tally: Mutex<Tally>,
    /// Set when a worker met an error: everyone stops sending.
    stop: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Run `plan` on a new runtime with `threads` worker threads; the counts and the time taken.
pub fn run_blocking(
    plan: Plan,
    factory: Arc<Factory>,
    threads: usize,
) -> Result<(Tally, Duration), BenchError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| BenchError::Runtime(e.to_string()))?
        .block_on(run(plan, factory))
}

/// Run `plan`; the counts and the time taken.
pub async fn run(plan: Plan, factory: Arc<Factory>) -> Result<(Tally, Duration), BenchError> {
    // At least a socket per server (the command line already asks for as many).
    let count = plan.sockets.max(plan.servers.len()).max(1);
    let mut lanes = Vec::with_capacity(count);
    for k in 0..count {
        let server = plan.servers[k % plan.servers.len()];
        let socket_error = |e: std::io::Error| BenchError::Socket {
            server,
            reason: e.to_string(),
        };
        let socket = client::bind_for(server).map_err(socket_error)?;
        socket.set_nonblocking(true).map_err(socket_error)?;
        lanes.push(Lane {
            socket: UdpSocket::from_std(socket).map_err(socket_error)?,
            server,
            slots: Mutex::new(Slots::new()),
        });
    }
    let load = plan.load;
    let shared = Arc::new(Shared {
        plan,
        factory,
        lanes,
        tally: Mutex::new(Tally::default()),
        stop: AtomicBool::new(false),
    });
    let receivers: Vec<_> = (0..shared.lanes.len())
        .map(|lane| tokio::spawn(receive(Arc::clone(&shared), lane)))
        .collect();
    let started = Instant::now();
    let result = match load {
        Load::Rate(rate) => open_loop(&shared, rate).await,
        Load::Concurrency(n) => closed_loop(&shared, n).await,
    };
    let elapsed = started.elapsed();
    for receiver in receivers {
        receiver.abort();
    }
    result?;
    let tally = std::mem::take(&mut *lock(&shared.tally));
    Ok((tally, elapsed))
}

/// Hand each datagram to the request it answers, or count it as late or bad.
async fn receive(shared: Arc<Shared>, lane: usize) {
    let lane = &shared.lanes[lane];
    let mut buffer = vec![0u8; MAX_PACKET_LEN];
    loop {
        let (len, from) = match lane.socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(_) => {
                tokio::task::yield_now().await;
                continue;
            }
        };
        let at = Instant::now();
        let offered = lock(&lane.slots).offer(
            from,
            lane.server,
            &buffer[..len],
            shared.factory.shared_secret(),
        );
        match offered {
            Offered::Answer { token, reply } => {
                // The waiting task may have timed out this very moment; then it finds the
                // Identifier already answered and takes the answer from the channel.
                let _ = token.send(Answered {
                    code: reply.code,
                    at,
                });
            }
            Offered::Late => lock(&shared.tally).late += 1,
            Offered::Bad(reason) => lock(&shared.tally).record_bad(reason),
        }
    }
}

/// Send one request and wait for its answer or its timeout.
async fn exchange(shared: &Shared, lane: usize, request: Request, kind: Kind) {
    let lane = &shared.lanes[lane];
    let identifier = request.identifier();
    let bytes = request.bytes().to_vec();
    let (token, mut answer) = oneshot::channel();
    lock(&lane.slots).register(request, token);
    let sent_at = Instant::now();
    if lane.socket.send_to(&bytes, lane.server).await.is_err() {
        lock(&lane.slots).expire(identifier);
        lock(&shared.tally).send_errors += 1;
        return;
    }
    lock(&shared.tally).record_sent(sent_at);
    let answered = match tokio::time::timeout(shared.plan.timeout, &mut answer).await {
        Ok(answered) => answered.ok(),
        Err(_) => match lock(&lane.slots).expire(identifier) {
            Some(_) => None,
            None => answer.try_recv().ok(),
        },
    };
    let mut tally = lock(&shared.tally);
    match answered {
        Some(a) => tally.record_answer(kind, a.code, a.at.saturating_duration_since(sent_at), a.at),
        None => tally.lost += 1,
    }
}

/// Count a request that could not be made for want of a user.
fn count_no_user(shared: &Shared, pick: Pick) {
    let mut tally = lock(&shared.tally);
    match pick {
        Pick::LockoutLimit => tally.no_user_below_lockout += 1,
        Pick::NextStep | Pick::User(_) => tally.no_user_this_step += 1,
    }
}

async fn open_loop(shared: &Arc<Shared>, rate: f64) -> Result<(), BenchError> {
    let plan = &shared.plan;
    let start = Instant::now();
    let deadline = start + plan.duration;
    let mut tasks = JoinSet::new();
    let (mut due_sent, mut made, mut next_lane) = (0u64, 0u64, 0usize);
    'sending: loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let due = (now.duration_since(start).as_secs_f64() * rate) as u64 + 1;
        while due_sent < due {
            if plan.count.is_some_and(|count| made >= count) {
                break 'sending;
            }
            let n = due_sent;
            due_sent += 1;
            let lanes = shared.lanes.len();
            let free = (0..lanes).find_map(|k| {
                let lane = (next_lane + k) % lanes;
                lock(&shared.lanes[lane].slots)
                    .allocate()
                    .map(|id| (lane, id))
            });
            next_lane = (next_lane + 1) % lanes;
            let Some((lane, identifier)) = free else {
                lock(&shared.tally).no_identifier += 1;
                continue;
            };
            match shared.factory.make(n, identifier, unix_now()) {
                Ok(Made::Request(request, kind)) => {
                    made += 1;
                    let shared = Arc::clone(shared);
                    tasks.spawn(async move { exchange(&shared, lane, request, kind).await });
                }
                Ok(Made::NoUser(pick)) => {
                    lock(&shared.lanes[lane].slots).release(identifier);
                    count_no_user(shared, pick);
                }
                Err(e) => {
                    while tasks.join_next().await.is_some() {}
                    return Err(e);
                }
            }
        }
        while let Some(result) = tasks.try_join_next() {
            joined(result)?;
        }
        let next_at = start + Duration::from_secs_f64(due_sent as f64 / rate);
        tokio::time::sleep_until(next_at.min(deadline).into()).await;
    }
    while let Some(result) = tasks.join_next().await {
        joined(result)?;
    }
    Ok(())
}

async fn closed_loop(shared: &Arc<Shared>, concurrency: usize) -> Result<(), BenchError> {
    let deadline = Instant::now() + shared.plan.duration;
    let counters = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let mut workers = JoinSet::new();
    for worker in 0..concurrency {
        let lane = worker % shared.lanes.len();
        let (shared, counters) = (Arc::clone(shared), Arc::clone(&counters));
        workers.spawn(async move { work(&shared, lane, deadline, &counters).await });
    }
    let mut first_error = None;
    while let Some(result) = workers.join_next().await {
        if let Err(e) = joined(result).and_then(|worked| worked) {
            shared.stop.store(true, Ordering::Relaxed);
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// What a generator task returned, or why it returned nothing (it panicked): a run with a
/// failed task is a failed run, never a short one.
fn joined<T>(result: Result<T, tokio::task::JoinError>) -> Result<T, BenchError> {
    result.map_err(|e| BenchError::Generator(e.to_string()))
}

/// One closed-loop worker. `counters`: requests numbered so far, and requests made (which
/// `--count` bounds; a slot is reserved before making and given back if nothing was sent).
async fn work(
    shared: &Shared,
    lane: usize,
    deadline: Instant,
    counters: &(AtomicU64, AtomicU64),
) -> Result<(), BenchError> {
    let (numbered, made) = counters;
    loop {
        if Instant::now() >= deadline || shared.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if let Some(count) = shared.plan.count {
            let reserve = |m: u64| (m < count).then_some(m + 1);
            if made
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, reserve)
                .is_err()
            {
                return Ok(());
            }
        }
        let unreserve = || {
            if shared.plan.count.is_some() {
                made.fetch_sub(1, Ordering::SeqCst);
            }
        };
        let Some(identifier) = lock(&shared.lanes[lane].slots).allocate() else {
            // Only while a timed-out request's Identifier is being handed back.
            unreserve();
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        };
        let n = numbered.fetch_add(1, Ordering::Relaxed);
        match shared.factory.make(n, identifier, unix_now()) {
            Ok(Made::Request(request, kind)) => exchange(shared, lane, request, kind).await,
            Ok(Made::NoUser(pick)) => {
                lock(&shared.lanes[lane].slots).release(identifier);
                unreserve();
                count_no_user(shared, pick);
                if pick == Pick::LockoutLimit {
                    return Ok(());
                }
                let wait = until_next_step(shared.factory.period());
                let wake = (Instant::now() + wait).min(deadline);
                tokio::time::sleep_until(wake.into()).await;
            }
            Err(e) => {
                lock(&shared.lanes[lane].slots).release(identifier);
                shared.stop.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
    }
}

/// Time left until the next TOTP step of `period` seconds begins.
fn until_next_step(period: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let period = Duration::from_secs(period.max(1));
    let into = Duration::from_nanos((now.as_nanos() % period.as_nanos()) as u64);
    period - into + Duration::from_millis(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_sockets_leave_room_for_what_can_be_outstanding() {
        let second = Duration::from_secs(1);
        assert_eq!(Plan::default_sockets(Load::Concurrency(1), second), 1);
        assert_eq!(Plan::default_sockets(Load::Concurrency(256), second), 1);
        assert_eq!(Plan::default_sockets(Load::Concurrency(257), second), 2);
        assert_eq!(Plan::default_sockets(Load::Rate(100.0), second * 5), 3);
        assert_eq!(Plan::default_sockets(Load::Rate(1e6), second * 5), 64);
    }

    #[test]
    fn a_task_that_panicked_fails_the_run_with_its_message() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let result =
            runtime.block_on(async { tokio::spawn(async { panic!("the store exploded") }).await });
        let error: BenchError = joined::<()>(result).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("the store exploded") && text.contains("stopped"),
            "{text}"
        );
    }

    #[test]
    fn the_next_step_is_at_most_one_period_away() {
        let wait = until_next_step(30);
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(30_010));
    }
}
