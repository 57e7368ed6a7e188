//! Single-read fan-out of one blob: a reader task reads the file once, hashes it on the way
//! (the layout's digest is verified while streaming, not in a separate pass), and hands each
//! chunk to every region that needs the blob. Chunks are shared (`Bytes`), so memory is one
//! bounded buffer per region, whatever the blob's size.
//!
//! Reading starts once every region's upload has begun taking its body (its upload session is
//! open), or [`START_GRACE`] after the first one did: regions whose sessions open a round trip
//! apart start together instead of the later ones being detached at once. From then on the
//! reader goes at the pace of the fastest region. A region that falls a whole buffer behind is
//! not waited for: it is detached at the offset it has received, and its stream reads the rest
//! of the file from disk itself (carrying on the hash from where the shared reader left it). A
//! slow region slows only itself; memory never grows beyond one buffer per blob.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{Notify, mpsc};

use tracing::debug;

use crate::image::{BlobFile, ChunkReader, Sha256Hasher, hashed_from};

/// Bytes per chunk read from disk.
pub const CHUNK: usize = 256 * 1024;
/// How far (in chunks, 8 MiB) a region may fall behind the fastest before it is detached.
pub const BUFFER_CHUNKS: usize = 32;
/// How long the reader waits for the other regions' uploads to begin once the first has.
pub const START_GRACE: Duration = Duration::from_secs(1);

pub use crate::registry::BlobBody;

/// Where a detached region takes over: the offset it has received and the hash state there.
type Handover = Arc<Mutex<Option<(u64, Sha256Hasher)>>>;

/// What the reader did, for the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Regions that fell a buffer behind and read the rest from disk themselves.
    pub detached: usize,
}

/// Starts feeding `blob` to `regions` bodies. Drive the returned reader future alongside the
/// uploads; it ends when the file is read (or every region dropped its body).
pub fn feed_blob(
    blob: &BlobFile,
    regions: usize,
) -> (
    impl Future<Output = FeedStats> + Send + 'static,
    Vec<BlobBody>,
) {
    feed_blob_with(blob, regions, START_GRACE)
}

/// [`feed_blob`] with another start grace.
fn feed_blob_with(
    blob: &BlobFile,
    regions: usize,
    grace: Duration,
) -> (
    impl Future<Output = FeedStats> + Send + 'static,
    Vec<BlobBody>,
) {
    let start = Arc::new(StartSignal::default());
    let mut senders = Vec::with_capacity(regions);
    let mut bodies = Vec::with_capacity(regions);
    for _ in 0..regions {
        let (sender, receiver) = mpsc::channel(BUFFER_CHUNKS);
        let handover: Handover = Arc::default();
        let started = Arc::new(AtomicBool::new(false));
        senders.push(Some(Subscription {
            sender,
            handover: handover.clone(),
            started: started.clone(),
        }));
        let first_poll = FirstPoll {
            started,
            signal: start.clone(),
        };
        bodies.push(region_body(receiver, handover, first_poll, blob.clone()));
    }
    (read_once(blob.clone(), senders, start, grace), bodies)
}

/// Wakes the reader when a region's body is first polled.
#[derive(Default)]
struct StartSignal(Notify);

/// A body's link to the start signal.
struct FirstPoll {
    started: Arc<AtomicBool>,
    signal: Arc<StartSignal>,
}

impl FirstPoll {
    fn mark(&self) {
        if !self.started.load(Ordering::Acquire) && !self.started.swap(true, Ordering::AcqRel) {
            self.signal.0.notify_one();
        }
    }
}

impl Drop for FirstPoll {
    /// A body dropped unpolled (its upload gave up before sending) must not keep the reader
    /// waiting.
    fn drop(&mut self) {
        self.started.store(true, Ordering::Release);
        self.signal.0.notify_one();
    }
}

/// The reader's side of one region.
struct Subscription {
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
    handover: Handover,
    started: Arc<AtomicBool>,
}

impl Subscription {
    /// Its upload has begun taking the body, or has dropped it.
    fn has_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }
}

type Subscriber = Option<Subscription>;

/// Waits until every region's upload has begun, or `grace` after the first one did.
async fn wait_for_start(subscribers: &[Subscriber], signal: &StartSignal, grace: Duration) {
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let live = subscribers.iter().flatten();
        let started = live.clone().filter(|s| s.has_started()).count();
        if started == live.count() {
            return;
        }
        if started > 0 && deadline.is_none() {
            deadline = Some(tokio::time::Instant::now() + grace);
        }
        match deadline {
            None => signal.0.notified().await,
            Some(deadline) => {
                tokio::select! {
                    () = signal.0.notified() => {}
                    () = tokio::time::sleep_until(deadline) => return,
                }
            }
        }
    }
}

async fn read_once(
    blob: BlobFile,
    mut subscribers: Vec<Subscriber>,
    start: Arc<StartSignal>,
    grace: Duration,
) -> FeedStats {
    let mut stats = FeedStats::default();
    // A blob still arriving from a source registry is read as it lands.
    let mut reader = ChunkReader::new(&blob, 0, CHUNK);
    wait_for_start(&subscribers, &start, grace).await;
    let mut hasher = Sha256Hasher::new();
    let mut offset = 0u64;
    loop {
        if subscribers.iter().all(Option::is_none) {
            return stats;
        }
        let chunk = match reader.next_chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                fail_all(&mut subscribers, &blob, &format!("read: {e}")).await;
                return stats;
            }
        };
        let n = chunk.len();
        // Pace: wait until the fastest region can take the chunk, then offer it to the rest.
        let Some(first) = wait_for_room(&subscribers, &chunk).await else {
            return stats;
        };
        for (index, slot) in subscribers.iter_mut().enumerate() {
            if index == first {
                continue;
            }
            let Some(subscription) = slot else {
                continue;
            };
            match subscription.sender.try_send(Ok(chunk.clone())) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // A full buffer behind the fastest region: detach it at this offset.
                    if let Ok(mut place) = subscription.handover.lock() {
                        *place = Some((offset, hasher.clone()));
                    }
                    debug!(blob = %blob.digest, offset, size = blob.size,
                           "a region fell a whole buffer behind; it reads the rest itself");
                    stats.detached += 1;
                    *slot = None;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => *slot = None,
            }
        }
        hasher.update(&chunk);
        offset += n as u64;
    }
    let (read, digest) = (hasher.bytes_hashed(), hasher.finish());
    if digest != blob.digest || read != blob.size {
        let message = format!(
            "changed on disk: expected {} ({} bytes), read {digest} ({read} bytes)",
            blob.digest, blob.size
        );
        fail_all(&mut subscribers, &blob, &message).await;
    }
    stats
}

/// Sends `chunk` to the first region with room and returns its index; `None` when every
/// region has gone (their uploads failed or finished early).
async fn wait_for_room(subscribers: &[Subscriber], chunk: &Bytes) -> Option<usize> {
    let waiting: Vec<_> = subscribers
        .iter()
        .enumerate()
        .filter_map(|(i, slot)| slot.as_ref().map(|s| (i, &s.sender)))
        .map(|(i, sender)| Box::pin(async move { (i, sender.reserve().await) }))
        .collect();
    if waiting.is_empty() {
        return None;
    }
    let ((index, permit), _, _) = futures::future::select_all(waiting).await;
    // A closed body (its upload ended) takes nothing; `try_send` skips it afterwards.
    if let Ok(permit) = permit {
        permit.send(Ok(chunk.clone()));
    }
    Some(index)
}

async fn fail_all(subscribers: &mut [Subscriber], blob: &BlobFile, message: &str) {
    for Subscription { sender, .. } in subscribers.iter_mut().filter_map(Option::take) {
        let error = std::io::Error::other(format!("blob file {}: {message}", blob.path.display()));
        let _ = sender.send(Err(error)).await;
    }
}

/// One region's body: the shared chunks, then, if detached, the rest read from disk (hashed
/// on from where the shared reader left it).
fn region_body(
    receiver: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    handover: Handover,
    first_poll: FirstPoll,
    blob: BlobFile,
) -> BlobBody {
    enum State {
        Shared(
            mpsc::Receiver<Result<Bytes, std::io::Error>>,
            Handover,
            BlobFile,
        ),
        Own(BlobBody),
    }
    let stream = futures::stream::unfold(State::Shared(receiver, handover, blob), move |state| {
        first_poll.mark();
        async {
            match state {
                State::Shared(mut receiver, handover, blob) => match receiver.recv().await {
                    Some(item) => Some((item, State::Shared(receiver, handover, blob))),
                    None => {
                        let taken = handover.lock().ok().and_then(|mut h| h.take());
                        let (offset, hasher) = taken?;
                        let mut own: BlobBody = Box::pin(hashed_from(&blob, offset, hasher, CHUNK));
                        own.next().await.map(|item| (item, State::Own(own)))
                    }
                },
                State::Own(mut own) => own.next().await.map(|item| (item, State::Own(own))),
            }
        }
    });
    Box::pin(stream)
}

#[cfg(test)]
mod tests;
