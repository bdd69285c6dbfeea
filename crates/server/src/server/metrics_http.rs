//! The `/metrics` endpoint: a deliberately small HTTP/1.1 responder on its own socket — one
//! request per connection, bounded in size, time and concurrency.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::pipeline::Pipeline;
use super::pool::WorkerPool;

const MAX_CONNECTIONS: usize = 16;
const MAX_REQUEST: usize = 8192;
const TIMEOUT: Duration = Duration::from_secs(5);

/// Serve until the task is dropped.
pub(super) async fn serve(listener: TcpListener, pipeline: Arc<Pipeline>, pool: Arc<WorkerPool>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue; // too many scrapers at once: drop the connection
        };
        let (pipeline, pool) = (Arc::clone(&pipeline), Arc::clone(&pool));
        tokio::spawn(async move {
            let _ = tokio::time::timeout(TIMEOUT, respond(stream, &pipeline, &pool)).await;
            drop(slot);
        });
    }
}

/// Gauges that are read rather than counted: queue depth, users in the store.
async fn refresh_gauges(pipeline: &Pipeline, pool: &WorkerPool) {
    let metrics = pipeline.events().metrics();
    metrics.queue_depth.set(pool.queued() as i64);
    let store = pipeline.authenticator().store();
    if let Ok(users) = crate::store::call(store, |s| s.count_users()).await {
        metrics.users.set(users as i64);
    }
}

async fn respond(
    mut stream: TcpStream,
    pipeline: &Pipeline,
    pool: &WorkerPool,
) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let line = request.split(|&b| b == b'\r').next().unwrap_or_default();
    let (status, content_type, body) = if line.starts_with(b"GET /metrics ") {
        refresh_gauges(pipeline, pool).await;
        (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            pipeline.events().metrics().encode(),
        )
    } else {
        (
            "404 Not Found",
            "text/plain",
            "only GET /metrics is served here\n".to_owned(),
        )
    };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
