//! What every transport does with a `Step` the pipeline returned: send it now, hold a reply for
//! its time (the reject delay) on a task of its own, or run the decision on the worker pool and
//! answer when it is done. The transport gives a `ReplyPath`: a UDP socket, or the writer of a
//! RadSec connection.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::outcome::DropReason;
use super::pipeline::{Pending, Pipeline, Reply, Step};
use super::pool::WorkerPool;

/// Where a transport's replies go.
#[derive(Debug, Clone)]
pub(super) enum ReplyPath {
    /// A datagram from this socket to the request's peer.
    Udp(Arc<UdpSocket>),
    /// A packet on this connection (its writer task sends them in the order they come).
    Stream(mpsc::Sender<Arc<[u8]>>),
}

impl ReplyPath {
    /// Send without waiting; a full socket buffer or writer queue loses the reply, as a lost
    /// datagram would (the NAS retransmits, or its connection is closed for being stuck).
    fn send_now(&self, bytes: Arc<[u8]>, peer: SocketAddr) {
        let failed = match self {
            ReplyPath::Udp(socket) => socket
                .try_send_to(&bytes, peer)
                .err()
                .map(|e| e.to_string()),
            ReplyPath::Stream(writer) => writer
                .try_send(bytes)
                .err()
                .map(|_| "the connection's writer is full or closed".to_owned()),
        };
        if let Some(error) = failed {
            tracing::warn!(peer = %peer, error, "cannot send a reply");
        }
    }

    async fn send(&self, bytes: Arc<[u8]>, peer: SocketAddr) {
        let failed = match self {
            ReplyPath::Udp(socket) => socket
                .send_to(&bytes, peer)
                .await
                .err()
                .map(|e| e.to_string()),
            ReplyPath::Stream(writer) => writer
                .send(bytes)
                .await
                .err()
                .map(|_| "the connection has closed".to_owned()),
        };
        if let Some(error) = failed {
            tracing::warn!(peer = %peer, error, "cannot send a reply");
        }
    }
}

/// Carry out `step` (a `Dropped` one is the transport's to judge; here it is nothing).
/// `tracker` is held by every task this spawns, so a stopping server can wait for them.
pub(super) fn carry_out(
    step: Step,
    path: &ReplyPath,
    pipeline: &Arc<Pipeline>,
    pool: &WorkerPool,
    tracker: &mpsc::Sender<()>,
    peer: SocketAddr,
) {
    match step {
        Step::Dropped(_) => {}
        Step::Send(bytes) => path.send_now(bytes, peer),
        Step::Answer(reply) => {
            let (path, pipeline, token) = (path.clone(), Arc::clone(pipeline), tracker.clone());
            tokio::spawn(async move {
                send(&path, &pipeline, reply).await;
                drop(token);
            });
        }
        Step::Decide(pending) => decide(path, pipeline, pool, pending, tracker),
        Step::Converse(pending) if pending.opens() => {
            // No TLS yet: answered here, saving the opening round a trip to the workers.
            if let Ok(reply) = pipeline.converse(*pending, crate::clock::unix_now()) {
                carry_out(Step::Answer(reply), path, pipeline, pool, tracker, peer);
            }
        }
        Step::Converse(pending) => converse(path, pipeline, pool, pending, tracker),
        Step::Account(pending) => {
            // A few statements, no hashing: the blocking pool, not the password workers.
            let (path, pipeline, token) = (path.clone(), Arc::clone(pipeline), tracker.clone());
            tokio::spawn(async move {
                let recording = Arc::clone(&pipeline);
                let recorded = tokio::task::spawn_blocking(move || {
                    recording.account(*pending, crate::clock::unix_now())
                })
                .await;
                if let Ok(Ok(bytes)) = recorded {
                    path.send(bytes, peer).await;
                }
                drop(token);
            });
        }
    }
}

/// Steps 8–9 on the worker pool, then step 10 on a task that holds the reply until its time.
fn decide(
    path: &ReplyPath,
    pipeline: &Arc<Pipeline>,
    pool: &WorkerPool,
    pending: Box<Pending>,
    tracker: &mpsc::Sender<()>,
) {
    let ctx = pending.context().clone();
    let worker_pipeline = Arc::clone(pipeline);
    let job = move || {
        let decided = worker_pipeline.decide(&pending, crate::clock::unix_now());
        (pending, decided)
    };
    let Ok(receiver) = pool.try_submit(job) else {
        // The job, and with it the request's in-flight mark, is dropped: a retransmission is
        // processed afresh.
        return pipeline.dropped(&ctx, DropReason::QueueFull);
    };
    let (path, pipeline, token) = (path.clone(), Arc::clone(pipeline), tracker.clone());
    tokio::spawn(async move {
        match receiver.await {
            Ok((pending, decided)) => {
                if let Ok(reply) = pipeline.answer(*pending, decided) {
                    send(&path, &pipeline, reply).await;
                }
            }
            Err(_) => pipeline.dropped(&ctx, DropReason::WorkerFailed),
        }
        drop(token);
    });
}

/// One EAP round on the worker pool (TLS and the password check), then its reply at its time.
fn converse(
    path: &ReplyPath,
    pipeline: &Arc<Pipeline>,
    pool: &WorkerPool,
    pending: Box<super::eap::PendingEap>,
    tracker: &mpsc::Sender<()>,
) {
    let ctx = pending.context().clone();
    let worker_pipeline = Arc::clone(pipeline);
    let job = move || worker_pipeline.converse(*pending, crate::clock::unix_now());
    let Ok(receiver) = pool.try_submit(job) else {
        return pipeline.dropped(&ctx, DropReason::QueueFull);
    };
    let (path, pipeline, token) = (path.clone(), Arc::clone(pipeline), tracker.clone());
    tokio::spawn(async move {
        match receiver.await {
            Ok(Ok(reply)) => send(&path, &pipeline, reply).await,
            Ok(Err(_)) => {}
            Err(_) => pipeline.dropped(&ctx, DropReason::WorkerFailed),
        }
        drop(token);
    });
}

/// Wait for the reply's time, send it, then hand any code to delivery.
async fn send(path: &ReplyPath, pipeline: &Pipeline, reply: Reply) {
    // Only a reply that is held back (a reject's delay) waits: tokio's timer rounds a deadline
    // up to its next millisecond tick, which would add up to a millisecond to every Accept.
    if reply.send_at > std::time::Instant::now() {
        tokio::time::sleep_until(reply.send_at.into()).await;
    }
    path.send(reply.bytes, reply.peer).await;
    if let Some(code) = reply.code {
        pipeline.deliver(code);
    }
}
