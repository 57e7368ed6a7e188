//! The lease lock in DynamoDB (`lock-table`) that makes concurrent runs move a tag one at a
//! time: one item per (registry id, repository, tag), taken all together with conditional
//! transactions (absent, or expired by the item's own expiry plus [`CLOCK_SKEW_MARGIN`]),
//! renewed every third of the lease in the background, deleted at the end. The engine holds it
//! across phase 2 and the convergence check. The DynamoDB calls are `dynamo`'s, the timing is
//! `lease`'s; this file puts them together and reports through the observer.

mod dynamo;
mod lease;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::anyhow;
use aws_config::SdkConfig;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::lock::LockOptions;
use crate::error::PlanRefused;
use crate::observer::{LockEvent, Observer};
use dynamo::{CallFailed, HeldItem, LockTableClient, Owner, TableState, Take};
use lease::{Attempt, LeaseEnd, Waited};

pub use lease::CLOCK_SKEW_MARGIN;

/// The lock table's region could not be reached; `lock-on-unavailable` decides.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LockUnavailable(pub String);

/// One lock item: a tag of a repository in one account's registries (every region of that
/// account shares it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LockKey {
    pub registry_id: String,
    pub repository: String,
    pub tag: String,
}

impl std::fmt::Display for LockKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}:{}", self.registry_id, self.repository, self.tag)
    }
}

/// The lock table of a run.
#[derive(Clone, Debug)]
pub struct LockTable {
    client: LockTableClient,
    lease: Duration,
    timeout: Duration,
    create: bool,
    run_id: String,
}

impl LockTable {
    pub fn new(shared: &SdkConfig, options: &LockOptions) -> Self {
        Self {
            client: LockTableClient::new(shared, &options.table, &options.region),
            lease: options.lease,
            timeout: options.timeout,
            create: options.create_table,
            run_id: options.run_id.clone(),
        }
    }

    /// `lock table T (region R)`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "lock table {} (region {})",
            self.client.table, self.client.region
        )
    }

    /// Makes sure the table exists and is active: creates a missing one with
    /// `lock-create-table`, else refuses the run (exit 2) with the command that creates it.
    pub async fn prepare(&self) -> anyhow::Result<()> {
        match self
            .client
            .table_state()
            .await
            .map_err(|e| self.failure(e))?
        {
            TableState::Active => return Ok(()),
            TableState::Missing if !self.create => {
                return Err(PlanRefused(format!(
                    "{} does not exist (hint: set lock-create-table: true, or create it: {})",
                    self.describe(),
                    self.create_command()
                ))
                .into());
            }
            TableState::Missing => {
                self.client
                    .create_table()
                    .await
                    .map_err(|e| self.failure(e))?;
                tracing::info!(table = %self.client.table, region = %self.client.region, "lock table created");
            }
            TableState::NotYetActive => {}
        }
        self.await_active().await?;
        self.client.enable_ttl().await.map_err(|e| self.failure(e))
    }

    /// Polls the table until it is active, at most `lock-timeout`.
    async fn await_active(&self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            if self
                .client
                .table_state()
                .await
                .map_err(|e| self.failure(e))?
                == TableState::Active
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(anyhow!(
                    "{} did not become ACTIVE within {} s (lock-timeout)",
                    self.describe(),
                    self.timeout.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// The AWS CLI commands that create the table as `lock-create-table` would.
    fn create_command(&self) -> String {
        let (table, region) = (&self.client.table, &self.client.region);
        format!(
            "aws dynamodb create-table --region {region} --table-name {table} \
             --attribute-definitions AttributeName={key},AttributeType=S \
             --key-schema AttributeName={key},KeyType=HASH --billing-mode PAY_PER_REQUEST && \
             aws dynamodb update-time-to-live --region {region} --table-name {table} \
             --time-to-live-specification Enabled=true,AttributeName={ttl}",
            key = dynamo::KEY,
            ttl = dynamo::EXPIRES_TTL
        )
    }

    /// A failed call as the run's error: [`LockUnavailable`] when the region did not answer.
    fn failure(&self, failed: CallFailed) -> anyhow::Error {
        if failed.unreachable {
            LockUnavailable(format!(
                "{} cannot be reached: {}",
                self.describe(),
                failed.message
            ))
            .into()
        } else {
            anyhow!("{}: {}", self.describe(), failed.message)
        }
    }

    /// Takes every item of `keys`, waiting (at most `lock-timeout`) while another run holds
    /// any; at most 100 at once, in sorted order beyond that, so that two runs never wait
    /// for each other. Renewal starts with the first items held.
    pub async fn acquire(
        &self,
        mut keys: Vec<LockKey>,
        observer: &dyn Observer,
        cancel: &CancellationToken,
    ) -> anyhow::Result<HeldLock> {
        keys.sort();
        keys.dedup();
        let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
        let owner = Owner {
            run_id: self.run_id.clone(),
            token: format!("{}-{:016x}", std::process::id(), fastrand::u64(..)),
        };
        let mut held = HeldLock::new(self.clone(), owner, cancel);
        let started = tokio::time::Instant::now();
        for chunk in keys.chunks(dynamo::MAX_ITEMS_PER_TRANSACTION) {
            let remaining = self.timeout.saturating_sub(started.elapsed());
            let waited = self
                .take_waiting(chunk, &held.owner, remaining, observer, cancel)
                .await;
            let failure = match waited {
                Ok(Waited::Taken(_)) => {
                    held.add(chunk);
                    continue;
                }
                Ok(Waited::TimedOut(holder)) => anyhow!(
                    "timed out after {} s waiting for the lock on {} held by run {} \
                     (lock-timeout); no tag was moved in any region",
                    self.timeout.as_secs(),
                    holder.key,
                    holder.run_id
                ),
                Ok(Waited::Cancelled) => {
                    anyhow!("cancelled while waiting for the lock; no tag was moved in any region")
                }
                Err(e) => e,
            };
            held.release(observer).await.ok();
            return Err(failure);
        }
        observer.lock_changed(&LockEvent::Acquired {
            table: &self.client.table,
            items: keys.len(),
            waited: started.elapsed(),
        });
        Ok(held)
    }

    /// Takes `keys` in one transaction, waiting while another run holds one.
    async fn take_waiting(
        &self,
        keys: &[String],
        owner: &Owner,
        timeout: Duration,
        observer: &dyn Observer,
        cancel: &CancellationToken,
    ) -> anyhow::Result<Waited<HeldItem>> {
        let attempt = || async {
            let now = lease::now_millis();
            let expires = lease::expiry_millis(now, self.lease);
            let taken = self
                .client
                .take(keys, owner, (now, expires), lease::stale_before(now))
                .await
                .map_err(|e| self.failure(e))?;
            Ok(match taken {
                Take::Taken => Attempt::Taken,
                Take::Held(holder) => Attempt::Held(holder.unwrap_or_else(|| HeldItem {
                    key: keys.first().cloned().unwrap_or_default(),
                    run_id: "another run (a concurrent transaction)".to_string(),
                    expires_at_ms: 0,
                })),
            })
        };
        let told = |holder: &HeldItem| {
            observer.lock_changed(&LockEvent::Waiting {
                key: &holder.key,
                holder: &holder.run_id,
                timeout: self.timeout,
            });
        };
        lease::wait_for_lock(timeout, attempt, told, cancel).await
    }
}

/// Items this run holds, renewed in the background until [`HeldLock::release`].
pub struct HeldLock {
    table: LockTable,
    owner: Owner,
    keys: Arc<Mutex<Vec<String>>>,
    /// Cancelled on SIGINT/SIGTERM or when the lease is lost: no new tag put may start.
    stop: CancellationToken,
    release: CancellationToken,
    keeper: Option<JoinHandle<LeaseEnd>>,
}

impl HeldLock {
    fn new(table: LockTable, owner: Owner, cancel: &CancellationToken) -> Self {
        Self {
            table,
            owner,
            keys: Arc::default(),
            stop: cancel.child_token(),
            release: CancellationToken::new(),
            keeper: None,
        }
    }

    /// Cancelled when the run is cancelled or the lease is lost: tag puts check it.
    pub fn stop(&self) -> &CancellationToken {
        &self.stop
    }

    fn held_keys(&self) -> Vec<String> {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records `chunk` as held; the first chunk starts the renewals.
    fn add(&mut self, chunk: &[String]) {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(chunk);
        if self.keeper.is_none() {
            self.keeper = Some(self.keep_renewed());
        }
    }

    /// The renewal task; a lost lease cancels [`Self::stop`].
    fn keep_renewed(&self) -> JoinHandle<LeaseEnd> {
        let (client, owner, keys) = (
            self.table.client.clone(),
            self.owner.clone(),
            self.keys.clone(),
        );
        let (stop, release, lease) = (self.stop.clone(), self.release.clone(), self.table.lease);
        let taken_at = tokio::time::Instant::now();
        tokio::spawn(async move {
            let renew = || {
                let keys = keys.lock().unwrap_or_else(PoisonError::into_inner).clone();
                let (client, owner) = (client.clone(), owner.clone());
                async move {
                    let expires = lease::expiry_millis(lease::now_millis(), lease);
                    for chunk in keys.chunks(dynamo::MAX_ITEMS_PER_TRANSACTION) {
                        client.renew(chunk, &owner, expires).await?;
                    }
                    anyhow::Ok(())
                }
            };
            let end = lease::keep_renewed(lease, taken_at, renew, &release).await;
            if let LeaseEnd::Lost(reason) = &end {
                tracing::warn!(
                    "the lock's lease could not be renewed ({reason}); no further tag put starts"
                );
                stop.cancel();
            }
            end
        })
    }

    /// Stops the renewals and deletes the items (an item that cannot be deleted expires with
    /// its lease). An error when the lease had been lost meanwhile.
    pub async fn release(mut self, observer: &dyn Observer) -> anyhow::Result<()> {
        self.release.cancel();
        let end = match self.keeper.take() {
            Some(keeper) => keeper.await.unwrap_or(LeaseEnd::Released),
            None => LeaseEnd::Released,
        };
        let keys = self.held_keys();
        if keys.is_empty() {
            return Ok(());
        }
        for (key, why) in self.table.client.release(&keys, &self.owner).await {
            tracing::warn!(key = %key, "the lock on {key} was not released ({why}); it expires with its lease");
        }
        observer.lock_changed(&LockEvent::Released {
            table: &self.table.client.table,
            items: keys.len(),
        });
        match end {
            LeaseEnd::Released => Ok(()),
            LeaseEnd::Lost(reason) => Err(anyhow!(
                "{}: the lock's lease could not be renewed ({reason}); no tag put started \
                     after that (a re-run completes the tags)",
                self.table.describe()
            )),
        }
    }
}
