//! The RadSec transport (RFC 6614): TLS connections from RadSec clients, each framed by the
//! RADIUS Length field and fed to the same pipeline as UDP; replies go back on the same
//! connection as they are ready, not in order.
//!
//! Bounds, so NASes that misbehave cannot keep the others out: `max_connections` in total and
//! an equal share per RadSec client, checked before any TLS work; the handshake bounded in
//! time; an idle connection closed after `idle_timeout_secs`; a packet that has begun must
//! arrive within `PACKET_TIMEOUT`; every connection is a task of its own, so a slow one holds
//! only itself.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;

use super::dispatch::{ReplyPath, carry_out};
use super::events::Closed;
use super::outcome::{DropKind, DropReason, Refusal};
use super::pipeline::{Arrival, Pipeline, Step, Transport};
use super::pool::WorkerPool;
use crate::clients::{Client, ClientTable, ClientTransport};
use crate::protocol::{HEADER_LEN, MAX_PACKET_LEN};
use crate::radsec::{HANDSHAKE_TIMEOUT, PACKET_TIMEOUT, PER_ADDRESS, Settings};

/// Replies waiting for a connection's writer; more and the NAS is not reading.
const WRITER_QUEUE: usize = 256;
/// How long a closing connection waits for the replies still being decided.
const CLOSE_DRAIN: Duration = Duration::from_secs(15);

/// Everything the RadSec listeners share: the connection bounds (fixed from start) and what a
/// reload replaces, the TLS configuration of each RadSec client.
#[derive(Debug)]
pub(crate) struct Radsec {
    max_connections: usize,
    total: Arc<Semaphore>,
    /// Connections held, by client name and by source address.
    held: Mutex<Held>,
    accepting: RwLock<Arc<Accepting>>,
}

#[derive(Debug, Default)]
struct Held {
    by_client: HashMap<String, usize>,
    by_address: HashMap<IpAddr, usize>,
}

/// How connections are accepted: each RadSec client's TLS configuration (certificate, CA,
/// `tls_name`), its share of the connections, the idle timeout.
#[derive(Debug)]
pub(crate) struct Accepting {
    configs: HashMap<String, Arc<ServerConfig>>,
    share: usize,
    idle_timeout: Duration,
}

impl Accepting {
    /// The TLS configuration of every RadSec client in `clients`, under `settings`.
    pub(crate) fn new(settings: &Settings, clients: &ClientTable) -> Result<Accepting, String> {
        let mut configs = HashMap::new();
        for client in clients.radsec() {
            let ClientTransport::Radsec { tls_name } = &client.transport else {
                continue;
            };
            let config = settings
                .tls
                .server_config(tls_name.as_deref())
                .map_err(|e| format!("client {}: {e}", client.name))?;
            configs.insert(client.name.clone(), config);
        }
        Ok(Accepting {
            share: settings.share(configs.len()),
            idle_timeout: settings.idle_timeout,
            configs,
        })
    }
}

impl Radsec {
    pub(crate) fn new(settings: &Settings, clients: &ClientTable) -> Result<Radsec, String> {
        Ok(Radsec {
            max_connections: settings.max_connections,
            total: Arc::new(Semaphore::new(settings.max_connections)),
            held: Mutex::new(Held::default()),
            accepting: RwLock::new(Arc::new(Accepting::new(settings, clients)?)),
        })
    }

    /// Accept new connections under `accepting`; open ones keep theirs.
    pub(crate) fn replace(&self, accepting: Accepting) {
        *self.accepting.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(accepting);
    }

    fn accepting(&self) -> Arc<Accepting> {
        Arc::clone(&self.accepting.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// A place for one more connection of `client` from `address`, or why there is none.
    fn admit(
        self: &Arc<Self>,
        client: &str,
        address: IpAddr,
        share: usize,
    ) -> Result<Slot, Refusal> {
        let permit = Arc::clone(&self.total)
            .try_acquire_owned()
            .map_err(|_| Refusal::ServerFull(self.max_connections))?;
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let by_client = held.by_client.get(client).copied().unwrap_or(0);
        if by_client >= share {
            return Err(Refusal::ClientFull(by_client));
        }
        let by_address = held.by_address.get(&address).copied().unwrap_or(0);
        if by_address >= PER_ADDRESS {
            return Err(Refusal::AddressFull(by_address));
        }
        *held.by_client.entry(client.to_owned()).or_default() += 1;
        *held.by_address.entry(address).or_default() += 1;
        Ok(Slot {
            radsec: Arc::clone(self),
            client: client.to_owned(),
            address,
            _permit: permit,
        })
    }
}

/// One admitted connection's place in the bounds; given back when dropped.
struct Slot {
    radsec: Arc<Radsec>,
    client: String,
    address: IpAddr,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.radsec.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.by_client.get_mut(&self.client) {
            *count = count.saturating_sub(1);
        }
        // Forget an address with nothing open: the map holds only what is connected.
        if let Some(count) = held.by_address.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.by_address.remove(&self.address);
            }
        }
    }
}

/// What a connection task needs from its listener.
#[derive(Clone)]
pub(super) struct Listener {
    pub radsec: Arc<Radsec>,
    pub pipeline: Arc<Pipeline>,
    pub pool: Arc<WorkerPool>,
    pub stop: watch::Receiver<bool>,
    pub tracker: mpsc::Sender<()>,
}

/// Accept connections on `listener` until the server stops.
pub(super) async fn accept_loop(socket: TcpListener, mut this: Listener) {
    let Ok(local) = socket.local_addr() else {
        tracing::error!("a RadSec listener has no local address; not serving it");
        return;
    };
    loop {
        let accepted = tokio::select! {
            _ = this.stop.changed() => return,
            accepted = socket.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: wait rather than spin.
                tracing::warn!(error = %e, "cannot accept a RadSec connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let events = this.pipeline.events();
        let client = match this.pipeline.snapshot().clients.lookup(peer.ip()) {
            None => {
                events.radsec_refused(peer, None, &Refusal::UnknownClient);
                continue;
            }
            Some(client) => Arc::clone(client),
        };
        let accepting = this.radsec.accepting();
        let Some(config) = accepting.configs.get(&client.name).cloned() else {
            events.radsec_refused(peer, Some(&client.name), &Refusal::NotRadsec);
            continue;
        };
        let address = peer.ip().to_canonical();
        let slot = match this.radsec.admit(&client.name, address, accepting.share) {
            Ok(slot) => slot,
            Err(why) => {
                events.radsec_refused(peer, Some(&client.name), &why);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = this.clone();
        tokio::spawn(async move {
            let token = connection.tracker.clone();
            let idle = accepting.idle_timeout;
            serve(stream, local, peer, client, config, idle, connection).await;
            drop(slot);
            drop(token);
        });
    }
}

/// One connection: the handshake, then packets until it closes.
async fn serve(
    stream: TcpStream,
    local: SocketAddr,
    peer: SocketAddr,
    client: Arc<Client>,
    config: Arc<ServerConfig>,
    idle_timeout: Duration,
    mut this: Listener,
) {
    let pipeline = Arc::clone(&this.pipeline);
    let events = pipeline.events();
    let handshake = TlsAcceptor::from(config).accept(stream);
    let tls = tokio::select! {
        _ = this.stop.changed() => return,
        done = timeout(HANDSHAKE_TIMEOUT, handshake) => done,
    };
    let tls = match tls {
        Err(_) => {
            return events.radsec_refused(peer, Some(&client.name), &Refusal::HandshakeTimeout);
        }
        Ok(Err(e)) => {
            let why = Refusal::Handshake(crate::radsec::handshake_failure(&e));
            return events.radsec_refused(peer, Some(&client.name), &why);
        }
        Ok(Ok(tls)) => tls,
    };
    let (_, session) = tls.get_ref();
    let version = session
        .protocol_version()
        .and_then(|v| v.as_str())
        .unwrap_or("TLS");
    let suite = session
        .negotiated_cipher_suite()
        .and_then(|s| s.suite().as_str())
        .unwrap_or("-");
    events.radsec_opened(peer, &client.name, &format!("{version} {suite}"));
    let (reader, writer) = tokio::io::split(tls);
    let (replies, queue) = mpsc::channel(WRITER_QUEUE);
    let (failed, writer_failed) = watch::channel(None);
    let mut writing = tokio::spawn(write_replies(writer, queue, failed));
    let (closed, packets) = read_packets(
        reader,
        (local, peer),
        idle_timeout,
        replies,
        writer_failed,
        &mut this,
    )
    .await;
    let broken = matches!(
        closed,
        Closed::BadLength(_) | Closed::Refused(_) | Closed::Failed(_)
    );
    if broken {
        // The stream is not to be trusted any more: close it now, replies and all.
        writing.abort();
    } else if timeout(CLOSE_DRAIN, &mut writing).await.is_err() {
        writing.abort();
    }
    events.radsec_closed(peer, &client.name, &closed, packets);
}

/// Read packets and hand each to the pipeline until the connection must close; returns why,
/// and how many packets came.
async fn read_packets<R: AsyncRead + Unpin>(
    mut reader: R,
    (local, peer): (SocketAddr, SocketAddr),
    idle_timeout: Duration,
    replies: mpsc::Sender<Arc<[u8]>>,
    mut writer_failed: watch::Receiver<Option<String>>,
    this: &mut Listener,
) -> (Closed, u64) {
    let transport = Transport::Radsec { local };
    let path = ReplyPath::Stream(replies.clone());
    let mut packets = 0;
    let writer_gone = |failed: &watch::Receiver<Option<String>>| {
        let why = failed.borrow().clone();
        Closed::Failed(why.unwrap_or_else(|| "the connection's writer ended".into()))
    };
    loop {
        let mut header = [0u8; 4];
        // The first octet may be long in coming (an idle connection); the rest may not.
        let first = tokio::select! {
            _ = this.stop.changed() => return (Closed::Stopping, packets),
            _ = writer_failed.changed() => return (writer_gone(&writer_failed), packets),
            first = timeout(idle_timeout, reader.read(&mut header[..1])) => first,
        };
        match first {
            Err(_) => return (Closed::Idle, packets),
            Ok(Ok(0)) => return (Closed::ByPeer, packets),
            // Between packets, a NAS that goes away without close_notify has simply gone.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return (Closed::ByPeer, packets);
            }
            Ok(Err(e)) => return (Closed::Failed(read_error(&e)), packets),
            Ok(Ok(_)) => {}
        }
        let deadline = tokio::time::Instant::now() + PACKET_TIMEOUT;
        if let Err(closed) = read_by(&mut reader, &mut header[1..], deadline).await {
            return (closed, packets);
        }
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&length) {
            return (Closed::BadLength(length), packets);
        }
        let mut packet = vec![0u8; length];
        packet[..4].copy_from_slice(&header);
        if let Err(closed) = read_by(&mut reader, &mut packet[4..], deadline).await {
            return (closed, packets);
        }
        packets += 1;
        let arrival = Arrival {
            transport,
            peer,
            at: Instant::now(),
        };
        match this.pipeline.receive(&packet, arrival) {
            Step::Dropped(reason) if closes_connection(&reason) => {
                return (Closed::Refused(reason.label()), packets);
            }
            // Answered at once (Status-Server, a resend): wait for room in the writer's queue
            // rather than lose it, so a NAS that pipelines is slowed, not answered partly.
            Step::Send(bytes) => {
                if replies.send(bytes).await.is_err() {
                    return (writer_gone(&writer_failed), packets);
                }
            }
            step => carry_out(step, &path, &this.pipeline, &this.pool, &this.tracker, peer),
        }
    }
}

/// RFC 6614 §2.6 / RFC 6613 §2.6.4: a packet that cannot be parsed, or whose authenticity
/// fails, closes its connection; overload and duplicates do not.
fn closes_connection(reason: &DropReason) -> bool {
    matches!(
        reason.kind(),
        DropKind::Malformed | DropKind::MessageAuthenticator
    )
}

async fn read_by<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut [u8],
    deadline: tokio::time::Instant,
) -> Result<(), Closed> {
    match tokio::time::timeout_at(deadline, reader.read_exact(buf)).await {
        Err(_) => Err(Closed::SlowPacket),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Closed::ByPeer),
        Ok(Err(e)) => Err(Closed::Failed(read_error(&e))),
        Ok(Ok(_)) => Ok(()),
    }
}

fn read_error(e: &std::io::Error) -> String {
    format!("reading failed: {e}")
}

/// Send each reply as it comes; a write that fails, or takes longer than `PACKET_TIMEOUT` (a
/// NAS that does not read), ends the connection, saying why on `failed`. Ends with TLS
/// close_notify once every sender is gone.
async fn write_replies<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut queue: mpsc::Receiver<Arc<[u8]>>,
    failed: watch::Sender<Option<String>>,
) {
    while let Some(bytes) = queue.recv().await {
        let written = timeout(PACKET_TIMEOUT, async {
            writer.write_all(&bytes).await?;
            writer.flush().await
        })
        .await;
        let why = match written {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => format!("writing failed: {e}"),
            Err(_) => format!(
                "a reply could not be written within {} s (the NAS does not read)",
                PACKET_TIMEOUT.as_secs()
            ),
        };
        let _ = failed.send(Some(why));
        return;
    }
    let _ = timeout(PACKET_TIMEOUT, writer.shutdown()).await;
}
