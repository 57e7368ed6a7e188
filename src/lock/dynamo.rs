//! The lock table's DynamoDB calls, and nothing else: describe and create the table (with TTL
//! on the expiry attribute), take items all together in one conditional transaction, renew and
//! delete them on the holder's token, read who holds an item. Every failure says whether the
//! region answered ([`CallFailed::unreachable`]), which decides `lock-on-unavailable`.
//!
//! An item: `lock_id` (the key, `ACCOUNT/REPOSITORY:TAG`), `holder_run` (the holder's run id,
//! for people), `holder_token` (unique per run, for the conditions), `acquired_at_ms` and
//! `expires_at_ms` (the holder's clock, milliseconds since 1970) and `expires_ttl` (seconds,
//! an hour after the expiry: DynamoDB's TTL removes abandoned items eventually; expiry itself
//! is decided on `expires_at_ms`, as TTL deletion may lag by days).

use std::collections::HashMap;
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TransactWriteItem, Update,
};
use futures::future::join_all;

pub const KEY: &str = "lock_id";
const HOLDER_RUN: &str = "holder_run";
const HOLDER_TOKEN: &str = "holder_token";
const ACQUIRED_AT: &str = "acquired_at_ms";
const EXPIRES_AT: &str = "expires_at_ms";
/// The table's TTL attribute.
pub const EXPIRES_TTL: &str = "expires_ttl";
/// DynamoDB's limit of items in one transaction.
pub const MAX_ITEMS_PER_TRANSACTION: usize = 100;

/// A DynamoDB call that failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CallFailed {
    /// The region did not answer (connection, timeout, a 5xx): `lock-on-unavailable` decides.
    pub unreachable: bool,
    pub message: String,
}

/// The lock table as a DynamoDB client sees it.
#[derive(Clone, Debug)]
pub struct LockTableClient {
    client: Client,
    pub table: String,
    pub region: String,
}

/// The table's state.
#[derive(Debug, PartialEq, Eq)]
pub enum TableState {
    Active,
    /// Being created (or updated): wait.
    NotYetActive,
    Missing,
}

/// Who holds an item, and until when by their clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldItem {
    pub key: String,
    pub run_id: String,
    pub expires_at_ms: i64,
}

/// The owner's identity as items record it.
#[derive(Clone, Debug)]
pub struct Owner {
    pub run_id: String,
    /// Unique to this process: two jobs of one CI run have the same run id.
    pub token: String,
}

/// How one transaction to take items ended.
#[derive(Debug)]
pub enum Take {
    Taken,
    /// Some items are held: by whom, when the answer says (a transaction conflict does not).
    Held(Option<HeldItem>),
}

/// Attempts of the lock's calls fail after this long: the lock should not hold a run up as long
/// as a large upload may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

impl LockTableClient {
    /// A client for `table` in `region` with `shared`'s credentials (`AWS_ENDPOINT_URL_DYNAMODB`
    /// honoured, as aws-config reads it).
    pub fn new(shared: &SdkConfig, table: &str, region: &str) -> Self {
        use aws_config::timeout::TimeoutConfig;
        let config = aws_sdk_dynamodb::config::Builder::from(shared)
            .region(Region::new(region.to_string()))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .build(),
            )
            .build();
        Self {
            client: Client::from_conf(config),
            table: table.to_string(),
            region: region.to_string(),
        }
    }

    pub async fn table_state(&self) -> Result<TableState, CallFailed> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(answer) => Ok(match answer.table().and_then(|t| t.table_status()) {
                Some(TableStatus::Active) => TableState::Active,
                _ => TableState::NotYetActive,
            }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(TableState::Missing)
            }
            Err(e) => Err(failed("DescribeTable", e)),
        }
    }

    /// Creates the table (on-demand capacity); one created meanwhile by another run is fine.
    pub async fn create_table(&self) -> Result<(), CallFailed> {
        let attribute = AttributeDefinition::builder()
            .attribute_name(KEY)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(internal)?;
        let key = KeySchemaElement::builder()
            .attribute_name(KEY)
            .key_type(KeyType::Hash)
            .build()
            .map_err(internal)?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(attribute)
            .key_schema(key)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(failed("CreateTable", e)),
        }
    }

    /// Turns TTL on for [`EXPIRES_TTL`]; already on is fine.
    pub async fn enable_ttl(&self) -> Result<(), CallFailed> {
        let specification = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(EXPIRES_TTL)
            .build()
            .map_err(internal)?;
        let enabled = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(specification)
            .send()
            .await;
        match enabled {
            Ok(_) => Ok(()),
            Err(e) if e.message().is_some_and(|m| m.contains("already enabled")) => Ok(()),
            Err(e) => Err(failed("UpdateTimeToLive", e)),
        }
    }

    /// Puts every one of `keys` (at most [`MAX_ITEMS_PER_TRANSACTION`]) in one transaction, each
    /// on condition that it is absent or expired before `stale_before_ms`.
    pub async fn take(
        &self,
        keys: &[String],
        owner: &Owner,
        (now_ms, expires_at_ms): (i64, i64),
        stale_before_ms: i64,
    ) -> Result<Take, CallFailed> {
        let puts = keys
            .iter()
            .map(|key| {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item(key, owner, now_ms, expires_at_ms)))
                    .condition_expression(format!(
                        "attribute_not_exists({KEY}) OR {EXPIRES_AT} < :stale"
                    ))
                    .expression_attribute_values(":stale", number(stale_before_ms))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()
                    .map_err(internal)?;
                Ok(TransactWriteItem::builder().put(put).build())
            })
            .collect::<Result<Vec<_>, CallFailed>>()?;
        let taken = self
            .client
            .transact_write_items()
            .set_transact_items(Some(puts))
            .send()
            .await;
        let error = match taken {
            Ok(_) => return Ok(Take::Taken),
            Err(error) => error,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.as_service_error()
        else {
            return Err(failed("TransactWriteItems", error));
        };
        let held = cancelled
            .cancellation_reasons()
            .iter()
            .zip(keys)
            .find(|(reason, _)| reason.code() == Some("ConditionalCheckFailed"));
        Ok(Take::Held(match held {
            Some((reason, key)) => match reason.item().and_then(held_item) {
                Some(holder) => Some(holder),
                None => self.holder(key).await?,
            },
            // A conflict with another transaction on the same items: try again.
            None => None,
        }))
    }

    /// Who holds `key`, if anyone.
    pub async fn holder(&self, key: &str) -> Result<Option<HeldItem>, CallFailed> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failed("GetItem", e))?;
        Ok(answer.item().and_then(held_item))
    }

    /// Moves the expiry of `keys` (at most [`MAX_ITEMS_PER_TRANSACTION`]), all or none, on
    /// condition that `owner` still holds each.
    pub async fn renew(
        &self,
        keys: &[String],
        owner: &Owner,
        expires_at_ms: i64,
    ) -> Result<(), CallFailed> {
        let updates = keys
            .iter()
            .map(|key| {
                let update = Update::builder()
                    .table_name(&self.table)
                    .key(KEY, AttributeValue::S(key.clone()))
                    .update_expression(format!("SET {EXPIRES_AT} = :expires, {EXPIRES_TTL} = :ttl"))
                    .condition_expression(format!("{HOLDER_TOKEN} = :token"))
                    .expression_attribute_values(":expires", number(expires_at_ms))
                    .expression_attribute_values(":ttl", number(ttl_seconds(expires_at_ms)))
                    .expression_attribute_values(":token", AttributeValue::S(owner.token.clone()))
                    .build()
                    .map_err(internal)?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect::<Result<Vec<_>, CallFailed>>()?;
        self.client
            .transact_write_items()
            .set_transact_items(Some(updates))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(_)) => CallFailed {
                    unreachable: false,
                    message: "the lease had been taken over by another run (its items no \
                              longer carry this run's token)"
                        .to_string(),
                },
                _ => failed("TransactWriteItems (renewal)", e),
            })
    }

    /// Deletes every one of `keys` that `owner` still holds, all at once (as one transaction
    /// would fail for an item another run took over after it expired). The keys that could
    /// not be deleted, with why.
    pub async fn release(&self, keys: &[String], owner: &Owner) -> Vec<(String, String)> {
        let deletes = keys.iter().map(|key| async move {
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(KEY, AttributeValue::S(key.clone()))
                .condition_expression(format!("{HOLDER_TOKEN} = :token"))
                .expression_attribute_values(":token", AttributeValue::S(owner.token.clone()))
                .send()
                .await;
            match deleted {
                Ok(_) => None,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                {
                    Some((key.clone(), "another run holds it now".to_string()))
                }
                Err(e) => Some((key.clone(), failed("DeleteItem", e).message)),
            }
        });
        join_all(deletes).await.into_iter().flatten().collect()
    }
}

/// A new item of `key` held by `owner`.
fn item(
    key: &str,
    owner: &Owner,
    now_ms: i64,
    expires_at_ms: i64,
) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (KEY.to_string(), AttributeValue::S(key.to_string())),
        (
            HOLDER_RUN.to_string(),
            AttributeValue::S(owner.run_id.clone()),
        ),
        (
            HOLDER_TOKEN.to_string(),
            AttributeValue::S(owner.token.clone()),
        ),
        (ACQUIRED_AT.to_string(), number(now_ms)),
        (EXPIRES_AT.to_string(), number(expires_at_ms)),
        (EXPIRES_TTL.to_string(), number(ttl_seconds(expires_at_ms))),
    ])
}

/// The TTL of an item expiring at `expires_at_ms`: an hour later, in seconds.
fn ttl_seconds(expires_at_ms: i64) -> i64 {
    expires_at_ms / 1000 + 3600
}

fn held_item(item: &HashMap<String, AttributeValue>) -> Option<HeldItem> {
    let text = |name: &str| item.get(name)?.as_s().ok().cloned();
    Some(HeldItem {
        key: text(KEY)?,
        run_id: text(HOLDER_RUN).unwrap_or_else(|| "an unknown run".to_string()),
        expires_at_ms: item.get(EXPIRES_AT)?.as_n().ok()?.parse().ok()?,
    })
}

fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// A failed call, with the service's code and message when it answered.
fn failed<E>(call: &str, error: SdkError<E, HttpResponse>) -> CallFailed
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let unreachable = match &error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => service.raw().status().is_server_error(),
        _ => false,
    };
    let text = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(&error).to_string(),
    };
    CallFailed {
        unreachable,
        message: format!("{call}: {text}"),
    }
}

fn internal(error: aws_sdk_dynamodb::error::BuildError) -> CallFailed {
    CallFailed {
        unreachable: false,
        message: format!("internal: building a DynamoDB request: {error}"),
    }
}
