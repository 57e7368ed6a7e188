//! Reading a blob file as a stream of chunks, from any offset, also while it is still being
//! written (a blob read from a registry while it is pushed on; see `arrival`): a reader reads
//! only what has landed and waits for the rest; when the writer fails, every reader ends with
//! the writer's error. One reader for the shared fan-out, for a destination that fell behind,
//! and for a retried upload.

use std::io::SeekFrom;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use futures::Stream;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::arrival::Arrival;
use super::digest::{Digest, Sha256Hasher};
use super::local::BlobFile;

/// Reads a blob's file in chunks of at most `chunk` bytes from an offset, waiting for the
/// bytes of a file still arriving. Unhashed: see [`hashed_from`] for a checked stream.
pub struct ChunkReader {
    path: PathBuf,
    file: Option<tokio::fs::File>,
    offset: u64,
    chunk: usize,
    arrival: Arrival,
}

impl ChunkReader {
    /// A reader of `blob` starting at `offset`; the file is opened at the first read (a file
    /// still arriving may not exist yet).
    pub fn new(blob: &BlobFile, offset: u64, chunk: usize) -> ChunkReader {
        ChunkReader {
            path: blob.path.clone(),
            file: None,
            offset,
            chunk,
            arrival: blob.arrival.clone(),
        }
    }

    /// The next chunk; `None` at the end of the file.
    pub async fn next_chunk(&mut self) -> std::io::Result<Option<Bytes>> {
        let limit = self.arrival.readable_beyond(self.offset).await?;
        let file = match self.file.as_mut() {
            Some(file) => file,
            None => {
                let mut file = tokio::fs::File::open(&self.path).await?;
                if self.offset > 0 {
                    file.seek(SeekFrom::Start(self.offset)).await?;
                }
                self.file.insert(file)
            }
        };
        let want = match limit {
            Some(limit) => usize::try_from(limit - self.offset)
                .unwrap_or(usize::MAX)
                .min(self.chunk),
            None => self.chunk,
        };
        let mut buffer = BytesMut::with_capacity(want);
        let mut limited = file.take(want as u64);
        let n = limited.read_buf(&mut buffer).await?;
        if n == 0 {
            if limit.is_some() {
                return Err(std::io::Error::other(format!(
                    "blob file {} is shorter than its writer said",
                    self.path.display()
                )));
            }
            return Ok(None);
        }
        self.offset += n as u64;
        Ok(Some(buffer.freeze()))
    }
}

/// The bytes of `blob` from `offset` on, hashed on the way (continuing `hasher`, which has
/// hashed the bytes before `offset`); the stream ends with an error instead of its end when
/// the whole does not match the blob's digest and size.
pub fn hashed_from(
    blob: &BlobFile,
    offset: u64,
    hasher: Sha256Hasher,
    chunk: usize,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    struct State {
        reader: ChunkReader,
        hasher: Option<Sha256Hasher>,
        digest: Digest,
        size: u64,
    }
    let state = State {
        reader: ChunkReader::new(blob, offset, chunk),
        hasher: Some(hasher),
        digest: blob.digest.clone(),
        size: blob.size,
    };
    futures::stream::unfold(state, |mut state| async move {
        let hasher = state.hasher.as_mut()?;
        match state.reader.next_chunk().await {
            Err(e) => {
                state.hasher = None;
                Some((Err(e), state))
            }
            Ok(Some(bytes)) => {
                hasher.update(&bytes);
                Some((Ok(bytes), state))
            }
            Ok(None) => {
                let hasher = state.hasher.take()?;
                let (read, got) = (hasher.bytes_hashed(), hasher.finish());
                if got == state.digest && read == state.size {
                    None
                } else {
                    let message = format!(
                        "blob file {} changed on disk: expected {} ({} bytes), read {got} ({read} bytes)",
                        state.reader.path.display(),
                        state.digest,
                        state.size
                    );
                    Some((Err(std::io::Error::other(message)), state))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;

    use super::*;

    fn blob_at(dir: &std::path::Path, content: &[u8], arrival: Arrival) -> BlobFile {
        BlobFile {
            digest: Digest::of_bytes(content),
            size: content.len() as u64,
            media_type: "application/octet-stream".into(),
            path: dir.join("blob"),
            arrival,
        }
    }

    async fn collect(
        stream: impl Stream<Item = std::io::Result<Bytes>>,
    ) -> (Vec<u8>, Option<String>) {
        let mut stream = std::pin::pin!(stream);
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(bytes) => out.extend_from_slice(&bytes),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
        (out, None)
    }

    #[tokio::test]
    async fn a_file_on_disk_is_read_whole_from_any_offset() {
        let dir = tempfile::tempdir().unwrap();
        let content: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let blob = blob_at(dir.path(), &content, Arrival::on_disk());
        std::fs::write(&blob.path, &content).unwrap();
        assert_eq!(
            collect(hashed_from(&blob, 0, Sha256Hasher::new(), 4096)).await,
            (content.clone(), None)
        );
        let mut hasher = Sha256Hasher::new();
        hasher.update(&content[..5000]);
        let (rest, error) = collect(hashed_from(&blob, 5000, hasher, 4096)).await;
        assert_eq!(error, None);
        assert_eq!(rest, content[5000..]);
    }

    #[tokio::test]
    async fn an_arriving_file_is_read_as_it_lands_and_only_as_far() {
        let dir = tempfile::tempdir().unwrap();
        let content: Vec<u8> = (0..3000u32).map(|i| (i % 7) as u8).collect();
        let (landing, arrival) = Arrival::pending();
        let blob = blob_at(dir.path(), &content, arrival);
        let mut reader = ChunkReader::new(&blob, 0, 1 << 20);
        let mut file = tokio::fs::File::create(&blob.path).await.unwrap();
        // Bytes beyond what the writer reported are not read, even if they are in the file.
        file.write_all(&content[..2000]).await.unwrap();
        file.flush().await.unwrap();
        landing.written(1000);
        assert_eq!(reader.next_chunk().await.unwrap().unwrap(), content[..1000]);
        let waiting = tokio::spawn(async move {
            let next = reader.next_chunk().await.unwrap().unwrap();
            (reader, next)
        });
        file.write_all(&content[2000..]).await.unwrap();
        file.flush().await.unwrap();
        landing.complete();
        let (mut reader, next) = waiting.await.unwrap();
        assert_eq!(next, content[1000..]);
        assert_eq!(reader.next_chunk().await.unwrap(), None);
    }

    #[tokio::test]
    async fn readers_of_a_failed_arrival_end_with_the_writers_error() {
        let dir = tempfile::tempdir().unwrap();
        let (landing, arrival) = Arrival::pending();
        let blob = blob_at(dir.path(), b"never whole", arrival);
        let stream = hashed_from(&blob, 0, Sha256Hasher::new(), 4096);
        landing.failed("source: download blob: no progress for 2 s");
        assert_eq!(
            collect(stream).await,
            (
                Vec::new(),
                Some("source: download blob: no progress for 2 s".into())
            )
        );
        let (landing, arrival) = Arrival::pending();
        let blob = blob_at(dir.path(), b"never whole", arrival);
        drop(landing);
        let (_, error) = collect(hashed_from(&blob, 0, Sha256Hasher::new(), 4096)).await;
        assert!(error.unwrap().contains("abandoned"));
    }

    #[tokio::test]
    async fn other_bytes_end_the_stream_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let blob = blob_at(dir.path(), b"expected", Arrival::on_disk());
        std::fs::write(&blob.path, b"tampered").unwrap();
        let (_, error) = collect(hashed_from(&blob, 0, Sha256Hasher::new(), 4096)).await;
        assert!(error.unwrap().contains("changed on disk"));
    }
}
