//! The arrival of a blob file that is still being written (a blob downloaded from a registry
//! while it is pushed on): the writer tells, through its [`Landing`], how far the file is
//! written, or that it is whole, or that it failed; readers hold the [`Arrival`] and wait for
//! what has not landed yet.

use std::sync::Arc;

use tokio::sync::watch;

/// How far a file being written has got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Landed {
    /// This many bytes are written and readable; more are coming.
    Writing(u64),
    /// The whole file is written and its digest checked.
    Complete,
    /// The writer gave up: why.
    Failed(Arc<str>),
}

/// The reading side of a blob file's arrival: on disk already, or being written.
#[derive(Clone, Debug, Default)]
pub struct Arrival(Option<watch::Receiver<Landed>>);

/// Where a blob stands in its arrival is not part of what the blob is: two files of one blob
/// are equal whether or not one of them is still being written.
impl PartialEq for Arrival {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Arrival {}

impl Arrival {
    /// A file that is on disk, whole.
    pub fn on_disk() -> Arrival {
        Arrival(None)
    }

    /// A file that its writer will write; the writer reports through the [`Landing`].
    pub fn pending() -> (Landing, Arrival) {
        let (sender, receiver) = watch::channel(Landed::Writing(0));
        (Landing(sender), Arrival(Some(receiver)))
    }

    /// Waits until the first bytes are readable (at once for a file on disk, or an empty one
    /// that is complete); an error when the writer failed first.
    pub async fn begun(&self) -> std::io::Result<()> {
        self.clone().readable_beyond(0).await.map(drop)
    }

    /// Waits until bytes beyond `offset` are readable; how far the file may be read (`None`:
    /// to its end). An error when the writer failed or went away.
    pub(super) async fn readable_beyond(&mut self, offset: u64) -> std::io::Result<Option<u64>> {
        let Some(receiver) = self.0.as_mut() else {
            return Ok(None);
        };
        loop {
            let landed = receiver.borrow_and_update().clone();
            match landed {
                Landed::Complete => return Ok(None),
                Landed::Failed(why) => return Err(std::io::Error::other(why.to_string())),
                Landed::Writing(written) if written > offset => return Ok(Some(written)),
                Landed::Writing(_) => {
                    if receiver.changed().await.is_err() {
                        return Err(std::io::Error::other(
                            "the blob's download was abandoned before it completed",
                        ));
                    }
                }
            }
        }
    }
}

/// The writing side of an arrival: tells the readers how far the file has been written.
#[derive(Debug)]
pub struct Landing(watch::Sender<Landed>);

impl Landing {
    /// `written` bytes are on disk (flushed to the file, readable through another handle).
    pub fn written(&self, written: u64) {
        self.0.send_replace(Landed::Writing(written));
    }

    /// The file is whole and checked.
    pub fn complete(&self) {
        self.0.send_replace(Landed::Complete);
    }

    /// The file will not be completed; readers end with `why`.
    pub fn failed(&self, why: &str) {
        self.0.send_replace(Landed::Failed(why.into()));
    }

    /// Whether the file is whole already (an earlier write completed it).
    pub fn is_complete(&self) -> bool {
        *self.0.borrow() == Landed::Complete
    }
}
