//! A simulated WAN link in front of one registry: a loopback TCP proxy that delays every byte
//! by half the round trip in each direction, charges a new connection one extra round trip
//! (the TCP handshake a real link would cost), and paces each connection's direction to a fixed
//! bandwidth. Bytes in flight are bounded per direction, so a slow reader slows its sender.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const CHUNK: usize = 64 * 1024;
/// Chunks queued beyond the bandwidth-delay product.
const SPARE_CHUNKS: usize = 16;

/// The link's shape.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub round_trip: Duration,
    pub bytes_per_second: u64,
}

/// A running proxy; dropping it stops accepting and ends its connections.
pub struct WanProxy {
    address: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl WanProxy {
    pub async fn start(upstream: SocketAddr, link: Link) -> Result<WanProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let acceptor = tokio::spawn(accept_loop(listener, upstream, link));
        Ok(WanProxy { address, acceptor })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Link {
    /// About what a real link holds in flight (bandwidth × round trip), in chunks.
    fn queued_chunks(self) -> usize {
        let in_flight = self.bytes_per_second as f64 * self.round_trip.as_secs_f64();
        (in_flight / CHUNK as f64).ceil() as usize + SPARE_CHUNKS
    }
}

impl Drop for WanProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// How long `GET /v2/` through the proxy at `url` takes on a new connection: about two round
/// trips (the connect, then the request) when the shaping works.
pub async fn time_new_connection_request(url: &str) -> Result<Duration> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()?;
    let started = std::time::Instant::now();
    client.get(format!("{url}/v2/")).send().await?;
    Ok(started.elapsed())
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, link: Link) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((client, _)) = listener.accept().await {
        connections.spawn(async move {
            // A real connect costs a round trip before the first request byte can leave.
            tokio::time::sleep(link.round_trip).await;
            if let Ok(server) = TcpStream::connect(upstream).await {
                relay(client, server, link).await;
            }
        });
        // Forget connections that have finished (aborting the set ends the others).
        while connections.try_join_next().is_some() {}
    }
}

async fn relay(client: TcpStream, server: TcpStream, link: Link) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let upload = shaped_direction(client_read, server_write, link);
    let download = shaped_direction(server_read, client_write, link);
    tokio::join!(upload, download);
}

/// Reads chunks, stamps each with the time it may arrive, and writes them at that time, no
/// faster than the link's bandwidth. EOF is passed on (after the delay) as a write shutdown.
async fn shaped_direction(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    link: Link,
) {
    let one_way = link.round_trip / 2;
    let (sender, mut receiver) = mpsc::channel::<(Instant, Bytes)>(link.queued_chunks());
    let reader = async move {
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let read = from.read(&mut buffer).await.unwrap_or(0);
            let chunk = Bytes::copy_from_slice(&buffer[..read]);
            if sender
                .send((Instant::now() + one_way, chunk))
                .await
                .is_err()
                || read == 0
            {
                return;
            }
        }
    };
    let writer = async move {
        let mut link_free_at = Instant::now();
        while let Some((arrives_at, chunk)) = receiver.recv().await {
            let send_at = arrives_at.max(link_free_at);
            tokio::time::sleep_until(send_at).await;
            if chunk.is_empty() {
                let _ = to.shutdown().await;
                return;
            }
            if to.write_all(&chunk).await.is_err() {
                return;
            }
            let transmission = chunk.len() as f64 / link.bytes_per_second as f64;
            link_free_at = send_at + Duration::from_secs_f64(transmission);
        }
    };
    tokio::join!(reader, writer);
}
