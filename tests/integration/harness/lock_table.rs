//! Independent reads of a lock table in moto's DynamoDB, with the AWS SDK, bypassing the
//! binary: whether the table exists, its status and TTL attribute, and the items left in it.

use anyhow::{Context, Result};
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};

use super::moto::{Moto, test_credentials};

/// A lock table as moto holds it.
#[derive(Debug, PartialEq, Eq)]
pub struct LockTableState {
    /// `ACTIVE` once created.
    pub status: String,
    /// The attribute TTL is enabled on, if any.
    pub ttl_attribute: Option<String>,
    /// The `lock_id` of every item.
    pub items: Vec<String>,
}

/// A DynamoDB client for `region` against moto itself (uncounted).
pub fn dynamodb_client(moto: &Moto, region: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(ecr_fanout::ecr::https_client())
        .endpoint_url(moto.direct_url())
        .region(Region::new(region.to_string()))
        .credentials_provider(test_credentials())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The table `name` in `region`, or `None` when moto has no such table.
pub async fn lock_table_state(
    moto: &Moto,
    region: &str,
    name: &str,
) -> Result<Option<LockTableState>> {
    let client = dynamodb_client(moto, region);
    let tables = client.list_tables().send().await.context("ListTables")?;
    if !tables.table_names().iter().any(|t| t == name) {
        return Ok(None);
    }
    let described = client.describe_table().table_name(name).send().await?;
    let status = described
        .table()
        .and_then(|t| t.table_status())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let ttl = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await?;
    let ttl_attribute = ttl
        .time_to_live_description()
        .filter(|d| {
            d.time_to_live_status()
                .is_some_and(|s| s.as_str() == "ENABLED")
        })
        .and_then(|d| d.attribute_name())
        .map(str::to_string);
    let scanned = client.scan().table_name(name).send().await?;
    let mut items: Vec<String> = scanned
        .items()
        .iter()
        .filter_map(|item| item.get("lock_id")?.as_s().ok().cloned())
        .collect();
    items.sort();
    Ok(Some(LockTableState {
        status,
        ttl_attribute,
        items,
    }))
}
