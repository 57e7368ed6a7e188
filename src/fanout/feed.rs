//! Single-read fan-out of one blob: a reader task reads the file once, hashes it on the way
//! (the layout's digest is verified while streaming, not in a separate pass), and hands each
//! chunk to every region that needs the blob. Chunks are shared (`Bytes`), so memory is one
//! bounded buffer per region, whatever the blob's size.
//!
//! The reader goes at the pace of the fastest region. A region that falls a whole buffer
//! behind is not waited for: it is detached at the offset it has received, and its stream reads
//! the rest of the file from disk itself (carrying on the hash from where the shared reader left
//! it). A slow region slows only itself; memory never grows beyond one buffer per blob.

use std::io::SeekFrom;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

use crate::image::{BlobFile, Sha256Hasher};

/// Bytes per chunk read from disk.
pub const CHUNK: usize = 256 * 1024;
/// How far (in chunks, 4 MiB) a region may fall behind the fastest before it is detached.
pub const BUFFER_CHUNKS: usize = 16;

pub use crate::registry::BlobBody;

/// Where a detached region takes over: the offset it has received and the hash state there.
type Handover = Arc<Mutex<Option<(u64, Sha256Hasher)>>>;

/// Starts feeding `blob` to `regions` bodies. Drive the returned reader future alongside the
/// uploads; it ends when the file is read (or every region dropped its body).
pub fn feed_blob(
    blob: &BlobFile,
    regions: usize,
) -> (impl Future<Output = ()> + Send + 'static, Vec<BlobBody>) {
    let mut senders = Vec::with_capacity(regions);
    let mut bodies = Vec::with_capacity(regions);
    for _ in 0..regions {
        let (sender, receiver) = mpsc::channel(BUFFER_CHUNKS);
        let handover: Handover = Arc::default();
        senders.push(Some((sender, handover.clone())));
        bodies.push(region_body(receiver, handover, blob.clone()));
    }
    (read_once(blob.clone(), senders), bodies)
}

type Subscriber = Option<(mpsc::Sender<Result<Bytes, std::io::Error>>, Handover)>;

async fn read_once(blob: BlobFile, mut subscribers: Vec<Subscriber>) {
    let mut file = match tokio::fs::File::open(&blob.path).await {
        Ok(file) => file,
        Err(e) => return fail_all(&mut subscribers, &blob, &format!("cannot open: {e}")).await,
    };
    let mut hasher = Sha256Hasher::new();
    let mut offset = 0u64;
    loop {
        if subscribers.iter().all(Option::is_none) {
            return;
        }
        let mut buffer = vec![0u8; CHUNK];
        let n = match file.read(&mut buffer).await {
            Ok(n) => n,
            Err(e) => return fail_all(&mut subscribers, &blob, &format!("read: {e}")).await,
        };
        if n == 0 {
            break;
        }
        buffer.truncate(n);
        let chunk = Bytes::from(buffer);
        // Pace: wait until the fastest region can take the chunk, then offer it to the rest.
        let Some(first) = wait_for_room(&subscribers, &chunk).await else {
            return;
        };
        for (index, slot) in subscribers.iter_mut().enumerate() {
            if index == first {
                continue;
            }
            let Some((sender, handover)) = slot else {
                continue;
            };
            match sender.try_send(Ok(chunk.clone())) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // A full buffer behind the fastest region: detach it at this offset.
                    if let Ok(mut place) = handover.lock() {
                        *place = Some((offset, hasher.clone()));
                    }
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
}

/// Sends `chunk` to the first region with room and returns its index; `None` when every
/// region has gone (their uploads failed or finished early).
async fn wait_for_room(subscribers: &[Subscriber], chunk: &Bytes) -> Option<usize> {
    let waiting: Vec<_> = subscribers
        .iter()
        .enumerate()
        .filter_map(|(i, slot)| slot.as_ref().map(|(sender, _)| (i, sender)))
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
    for (sender, _) in subscribers.iter_mut().filter_map(Option::take) {
        let error = std::io::Error::other(format!("blob file {}: {message}", blob.path.display()));
        let _ = sender.send(Err(error)).await;
    }
}

/// One region's body: the shared chunks, then, if detached, the rest read from disk.
fn region_body(
    receiver: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    handover: Handover,
    blob: BlobFile,
) -> BlobBody {
    enum State {
        Shared(
            mpsc::Receiver<Result<Bytes, std::io::Error>>,
            Handover,
            BlobFile,
        ),
        Own(tokio::fs::File, Sha256Hasher, BlobFile),
        Done,
    }
    let stream = futures::stream::unfold(State::Shared(receiver, handover, blob), |state| async {
        match state {
            State::Shared(mut receiver, handover, blob) => match receiver.recv().await {
                Some(item) => Some((item, State::Shared(receiver, handover, blob))),
                None => {
                    let taken = handover.lock().ok().and_then(|mut h| h.take());
                    let (offset, hasher) = taken?;
                    match open_at(&blob, offset).await {
                        Ok(file) => next_own(file, hasher, blob).await,
                        Err(e) => Some((Err(e), State::Done)),
                    }
                }
            },
            State::Own(file, hasher, blob) => next_own(file, hasher, blob).await,
            State::Done => None,
        }
    });

    async fn open_at(blob: &BlobFile, offset: u64) -> Result<tokio::fs::File, std::io::Error> {
        let mut file = tokio::fs::File::open(&blob.path).await?;
        file.seek(SeekFrom::Start(offset)).await?;
        Ok(file)
    }

    async fn next_own(
        mut file: tokio::fs::File,
        mut hasher: Sha256Hasher,
        blob: BlobFile,
    ) -> Option<(Result<Bytes, std::io::Error>, State)> {
        let mut buffer = vec![0u8; CHUNK];
        match file.read(&mut buffer).await {
            Err(e) => Some((Err(e), State::Done)),
            Ok(0) => {
                let (read, digest) = (hasher.bytes_hashed(), hasher.finish());
                if digest == blob.digest && read == blob.size {
                    None
                } else {
                    let message = format!(
                        "blob file {} changed on disk: expected {}, read {digest}",
                        blob.path.display(),
                        blob.digest
                    );
                    Some((Err(std::io::Error::other(message)), State::Done))
                }
            }
            Ok(n) => {
                buffer.truncate(n);
                hasher.update(&buffer);
                Some((Ok(Bytes::from(buffer)), State::Own(file, hasher, blob)))
            }
        }
    }

    Box::pin(stream)
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
