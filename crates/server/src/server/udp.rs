//! The UDP transport: one receive loop per socket hands each datagram to the pipeline and
//! carries out what it says (`dispatch`).

use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::dispatch::{ReplyPath, carry_out};
use super::pipeline::{Arrival, Pipeline, Transport};
use super::pool::WorkerPool;
use crate::protocol::MAX_PACKET_LEN;

/// Whether a socket receives authentication or accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Authentication,
    Accounting,
}

pub(super) async fn receive_loop(
    socket: Arc<UdpSocket>,
    role: Role,
    pipeline: Arc<Pipeline>,
    pool: Arc<WorkerPool>,
    mut stop: watch::Receiver<bool>,
    tracker: mpsc::Sender<()>,
) {
    let Ok(local) = socket.local_addr() else {
        tracing::error!("a listening socket has no local address; not serving it");
        return;
    };
    let transport = match role {
        Role::Authentication => Transport::Udp { local },
        Role::Accounting => Transport::Accounting { local },
    };
    let path = ReplyPath::Udp(Arc::clone(&socket));
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
        let step = pipeline.receive(&buf[..len], arrival);
        carry_out(step, &path, &pipeline, &pool, &tracker, peer);
    }
}
