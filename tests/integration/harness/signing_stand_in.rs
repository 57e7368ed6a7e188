//! `SigningStandIn`: ECR managed signing, which moto lacks (it answers its two calls with a
//! 500). The moto front ([`super::moto_counter`]) asks it for `GetSigningConfiguration` and
//! `DescribeImageSigningStatus`, always: a region without a configuration answers
//! `SigningConfigurationNotFoundException`, as ECR does.
//!
//! A test sets, per region, the signing rules (profile and repository filters) and the answers
//! of successive `DescribeImageSigningStatus` reads for any image there (the last repeats);
//! `stand_in_tests` reads them back with aws-sdk-ecr so their shapes cannot drift.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use serde_json::{Value, json};

use super::aws_json::{error, ok};

/// One `DescribeImageSigningStatus` answer for every profile of the region's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigningAnswer {
    /// No status yet (ECR has not started).
    NotStarted,
    InProgress,
    Complete,
    /// `FAILED` with this failure code and reason.
    Failed(&'static str, &'static str),
}

/// One region's managed signing.
#[derive(Clone, Debug)]
pub struct RegionSigning {
    /// `(signing profile ARN, repository filters)`; no filters signs every repository.
    pub rules: Vec<(String, Vec<String>)>,
    /// Answers in order; the last repeats.
    pub reads: Vec<SigningAnswer>,
}

impl RegionSigning {
    /// One rule signing every repository with `profile`, in progress for `in_progress` reads,
    /// then complete.
    pub fn completing_after(profile: &str, in_progress: usize) -> Self {
        let mut reads = vec![SigningAnswer::InProgress; in_progress];
        reads.push(SigningAnswer::Complete);
        Self {
            rules: vec![(profile.to_string(), Vec::new())],
            reads,
        }
    }
}

#[derive(Default)]
struct Book {
    regions: HashMap<String, RegionSigning>,
    /// Status reads answered, per region.
    reads: HashMap<String, usize>,
}

/// The stand-in's state, shared by the moto front and the test.
#[derive(Clone, Default)]
pub struct SigningStandIn {
    book: Arc<Mutex<Book>>,
}

/// A signing profile ARN for tests.
pub fn profile_arn(region: &str, name: &str) -> String {
    format!("arn:aws:signer:{region}:{ACCOUNT}:/signing-profiles/{name}")
}

const ACCOUNT: &str = "123456789012";

impl SigningStandIn {
    fn lock(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `region`'s registry signs as `signing` says.
    pub fn set_region(&self, region: &str, signing: RegionSigning) {
        self.lock().regions.insert(region.to_string(), signing);
    }

    /// `DescribeImageSigningStatus` reads answered in `region`.
    pub fn reads(&self, region: &str) -> usize {
        self.lock().reads.get(region).copied().unwrap_or(0)
    }

    /// The answer to `action` when it is a signing call; `None` for every other call.
    pub fn answer(&self, action: &str, region: &str, body: &[u8]) -> Option<Response<Full<Bytes>>> {
        let mut book = self.lock();
        match action {
            "GetSigningConfiguration" => Some(match book.regions.get(region) {
                None => error(
                    "SigningConfigurationNotFoundException",
                    &format!("No signing configuration exists for registry {ACCOUNT}"),
                ),
                Some(signing) => {
                    let rules: Vec<Value> = signing
                        .rules
                        .iter()
                        .map(|(profile, filters)| {
                            let filters: Vec<Value> = filters
                                .iter()
                                .map(|f| json!({"filter": f, "filterType": "WILDCARD_MATCH"}))
                                .collect();
                            json!({"signingProfileArn": profile, "repositoryFilters": filters})
                        })
                        .collect();
                    ok(json!({"registryId": ACCOUNT, "signingConfiguration": {"rules": rules}}))
                }
            }),
            "DescribeImageSigningStatus" => {
                let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let count = *book.reads.get(region).unwrap_or(&0);
                book.reads.insert(region.to_string(), count + 1);
                let (answer, profiles) = match book.regions.get(region) {
                    None => (SigningAnswer::NotStarted, Vec::new()),
                    Some(signing) => {
                        let index = count.min(signing.reads.len().saturating_sub(1));
                        let answer = signing
                            .reads
                            .get(index)
                            .cloned()
                            .unwrap_or(SigningAnswer::NotStarted);
                        let profiles = signing.rules.iter().map(|(p, _)| p.clone()).collect();
                        (answer, profiles)
                    }
                };
                let statuses: Vec<Value> = match answer {
                    SigningAnswer::NotStarted => Vec::new(),
                    other => profiles
                        .iter()
                        .map(|profile| status_of(profile, &other))
                        .collect(),
                };
                Some(ok(json!({"registryId": ACCOUNT,
                    "repositoryName": request["repositoryName"],
                    "imageId": request["imageId"],
                    "signingStatuses": statuses})))
            }
            _ => None,
        }
    }
}

fn status_of(profile: &str, answer: &SigningAnswer) -> Value {
    match answer {
        SigningAnswer::Failed(code, reason) => json!({"signingProfileArn": profile,
            "status": "FAILED", "failureCode": code, "failureReason": reason}),
        SigningAnswer::Complete => json!({"signingProfileArn": profile, "status": "COMPLETE"}),
        _ => json!({"signingProfileArn": profile, "status": "IN_PROGRESS"}),
    }
}

#[cfg(test)]
#[path = "signing_stand_in_tests.rs"]
mod tests;
