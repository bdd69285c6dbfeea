//! The UDP transport: one receive loop per socket hands each datagram to the pipeline, sends
//! what it says to send, runs decisions on the worker pool and holds each reply until its time
//! (the reject delay) on a task of its own.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::outcome::DropReason;
use super::pipeline::{Arrival, Pending, Pipeline, Reply, Step, Transport};
use super::pool::WorkerPool;
use crate::protocol::MAX_PACKET_LEN;

pub(super) async fn receive_loop(
    socket: Arc<UdpSocket>,
    pipeline: Arc<Pipeline>,
    pool: Arc<WorkerPool>,
    mut stop: watch::Receiver<bool>,
    tracker: mpsc::Sender<()>,
) {
    let Ok(local) = socket.local_addr() else {
        tracing::error!("a listening socket has no local address; not serving it");
        return;
    };
    let transport = Transport::Udp { local };
    // One octet more than the largest packet, so an oversized datagram is seen as such rather
    // than silently truncated to a valid-looking one.
    let mut buf = vec![0u8; MAX_PACKET_LEN + 1];
    loop {
        let received = tokio::select! {
            _ = stop.changed() => return,
            received = socket.recv_from(&mut buf) => received,
        };
        let (len, peer) = match received {
            Ok(received) => received,
            Err(e) => {
                tracing::warn!(error = %e, "receive failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let arrival = Arrival {
            transport,
            peer,
            at: std::time::Instant::now(),
        };
        match pipeline.receive(&buf[..len], arrival) {
            Step::Dropped(_) => {}
            Step::Send(bytes) => {
                if let Err(e) = socket.try_send_to(&bytes, peer) {
                    tracing::warn!(peer = %peer, error = %e, "cannot send a reply");
                }
            }
            Step::Answer(reply) => {
                let (socket, pipeline, token) =
                    (Arc::clone(&socket), Arc::clone(&pipeline), tracker.clone());
                tokio::spawn(async move {
                    send(&socket, &pipeline, reply).await;
                    drop(token);
                });
            }
            Step::Decide(pending) => decide(&socket, &pipeline, &pool, pending, &tracker),
        }
    }
}

/// Steps 8–9 on the worker pool, then step 10 on a task that holds the reply until its time.
fn decide(
    socket: &Arc<UdpSocket>,
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
    let (socket, pipeline, token) = (Arc::clone(socket), Arc::clone(pipeline), tracker.clone());
    tokio::spawn(async move {
        match receiver.await {
            Ok((pending, decided)) => {
                if let Ok(reply) = pipeline.answer(*pending, decided) {
                    send(&socket, &pipeline, reply).await;
                }
            }
            Err(_) => pipeline.dropped(&ctx, DropReason::WorkerFailed),
        }
        drop(token);
    });
}

/// Wait for the reply's time, send it, then hand any code to delivery.
async fn send(socket: &UdpSocket, pipeline: &Pipeline, reply: Reply) {
    // Only a reply that is held back (a reject's delay) waits: tokio's timer rounds a deadline
    // up to its next millisecond tick, which would add up to a millisecond to every Accept.
    if reply.send_at > std::time::Instant::now() {
        tokio::time::sleep_until(reply.send_at.into()).await;
    }
    if let Err(e) = socket.send_to(&reply.bytes, reply.peer).await {
        tracing::warn!(peer = %reply.peer, error = %e, "cannot send a reply");
    }
    if let Some(code) = reply.code {
        pipeline.deliver(code);
    }
}
