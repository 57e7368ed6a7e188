//! Tests of the single-read feed: every region gets the whole blob, a region that falls behind
//! finishes from disk.

use std::time::Duration;

use futures::StreamExt;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

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
        arrival: crate::image::Arrival::on_disk(),
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
    let (reader, mut bodies) = feed_blob_with(&blob, 2, Duration::from_millis(50));
    let slow = bodies.pop().unwrap();
    let fast = bodies.pop().unwrap();
    // The reader and the fast region finish while the slow region has not read a byte: after
    // the start grace, the reader stops waiting for it.
    let (stats, fast_bytes) = tokio::join!(reader, drain(fast));
    assert_eq!(fast_bytes.unwrap(), data);
    assert_eq!(stats.detached, 1);
    assert_eq!(drain(slow).await.unwrap(), data);
}

/// Two regions' start flags, as `feed_blob_with` wires them.
fn two_regions() -> (Vec<Subscriber>, Arc<StartSignal>, Vec<FirstPoll>) {
    let signal = Arc::new(StartSignal::default());
    let mut subscribers = Vec::new();
    let mut polls = Vec::new();
    for _ in 0..2 {
        let (sender, _) = mpsc::channel(1);
        let started = Arc::new(AtomicBool::new(false));
        subscribers.push(Some(Subscription {
            sender,
            handover: Arc::default(),
            started: started.clone(),
        }));
        polls.push(FirstPoll {
            started,
            signal: signal.clone(),
        });
    }
    (subscribers, signal, polls)
}

#[tokio::test(start_paused = true)]
async fn reading_waits_until_every_region_has_begun() {
    let (subscribers, signal, polls) = two_regions();
    let mut waiting = std::pin::pin!(wait_for_start(
        &subscribers,
        &signal,
        Duration::from_secs(600)
    ));
    assert!(futures::poll!(&mut waiting).is_pending());
    polls[0].mark();
    assert!(futures::poll!(&mut waiting).is_pending());
    let before = tokio::time::Instant::now();
    polls[1].mark();
    waiting.await;
    assert_eq!(
        tokio::time::Instant::now(),
        before,
        "no time passed: the second start woke it"
    );
}

#[tokio::test(start_paused = true)]
async fn reading_begins_a_grace_after_the_first_region_without_the_late_one() {
    let (subscribers, signal, polls) = two_regions();
    let grace = Duration::from_secs(3);
    let mut waiting = std::pin::pin!(wait_for_start(&subscribers, &signal, grace));
    assert!(futures::poll!(&mut waiting).is_pending());
    let first = tokio::time::Instant::now();
    polls[0].mark();
    waiting.await;
    assert_eq!(tokio::time::Instant::now() - first, grace);
}

#[tokio::test(start_paused = true)]
async fn no_region_begun_means_no_deadline_yet() {
    let (subscribers, signal, polls) = two_regions();
    let waiting = wait_for_start(&subscribers, &signal, Duration::from_secs(1));
    let outcome = tokio::time::timeout(Duration::from_secs(3600), waiting).await;
    assert!(
        outcome.is_err(),
        "it waited for a first region, whatever the grace"
    );
    drop(polls);
}

#[tokio::test]
async fn a_region_that_drops_its_body_unread_does_not_hold_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let data = content(CHUNK * (BUFFER_CHUNKS * 2) + 5);
    let blob = blob_file(dir.path(), &data, None);
    // A grace longer than any test: only the dropped body's signal lets the reader start.
    let (reader, mut bodies) = feed_blob_with(&blob, 2, Duration::from_secs(600));
    drop(bodies.pop());
    let only = bodies.pop().unwrap();
    let (stats, bytes) = tokio::join!(reader, drain(only));
    assert_eq!(bytes.unwrap(), data);
    assert_eq!(stats.detached, 0);
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
    let (reader, mut bodies) = feed_blob_with(&blob, 2, Duration::from_millis(50));
    let slow = bodies.pop().unwrap();
    let fast = bodies.pop().unwrap();
    let (_, fast_result) = tokio::join!(reader, drain(fast));
    assert!(fast_result.is_err());
    assert!(drain(slow).await.unwrap_err().contains("changed on disk"));
}
