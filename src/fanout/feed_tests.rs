use futures::StreamExt;

use super::*;
use crate::image::Digest;

fn blob_file(dir: &std::path::Path, content: &[u8], digest: Option<Digest>) -> BlobFile {
    let path = dir.join("blob");
    std::fs::write(&path, content).unwrap();
    BlobFile {
        digest: digest.unwrap_or_else(|| Digest::of_bytes(content)),
        size: content.len() as u64,
        media_type: "application/octet-stream".into(),
        path,
    }
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

async fn drain(mut body: BlobBody) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(item) = body.next().await {
        out.extend_from_slice(&item.map_err(|e| e.to_string())?);
    }
    Ok(out)
}

#[tokio::test]
async fn every_region_receives_the_whole_blob() {
    let dir = tempfile::tempdir().unwrap();
    let data = content(CHUNK * 3 + 1234);
    let blob = blob_file(dir.path(), &data, None);
    let (reader, bodies) = feed_blob(&blob, 3);
    let (_, received) = tokio::join!(
        reader,
        futures::future::join_all(bodies.into_iter().map(drain))
    );
    for body in received {
        assert_eq!(body.unwrap(), data);
    }
}

#[tokio::test]
async fn a_region_that_does_not_read_is_detached_and_finishes_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let data = content(CHUNK * (BUFFER_CHUNKS + 5) + 99);
    let blob = blob_file(dir.path(), &data, None);
    let (reader, mut bodies) = feed_blob(&blob, 2);
    let slow = bodies.pop().unwrap();
    let fast = bodies.pop().unwrap();
    // The reader and the fast region finish while the slow region has not read a byte.
    let (_, fast_bytes) = tokio::join!(reader, drain(fast));
    assert_eq!(fast_bytes.unwrap(), data);
    assert_eq!(drain(slow).await.unwrap(), data);
}

#[tokio::test]
async fn a_file_that_does_not_match_its_digest_fails_every_region() {
    let dir = tempfile::tempdir().unwrap();
    let data = content(CHUNK + 10);
    let blob = blob_file(dir.path(), &data, Some(Digest::of_bytes(b"something else")));
    let (reader, bodies) = feed_blob(&blob, 2);
    let (_, received) = tokio::join!(
        reader,
        futures::future::join_all(bodies.into_iter().map(drain))
    );
    for body in received {
        assert!(body.unwrap_err().contains("changed on disk"));
    }
}

#[tokio::test]
async fn a_detached_region_still_checks_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    let data = content(CHUNK * (BUFFER_CHUNKS + 3));
    let blob = blob_file(dir.path(), &data, Some(Digest::of_bytes(b"not this")));
    let (reader, mut bodies) = feed_blob(&blob, 2);
    let slow = bodies.pop().unwrap();
    let fast = bodies.pop().unwrap();
    let (_, fast_result) = tokio::join!(reader, drain(fast));
    assert!(fast_result.is_err());
    assert!(drain(slow).await.unwrap_err().contains("changed on disk"));
}
