//! The lease lock's inputs (`lock-table`, `lock-region`, `lock-lease`, `lock-timeout`,
//! `lock-on-unavailable`, `lock-create-table`) and `tag-order`: their
//! validation into [`LockOptions`] and [`TagOrder`]. Every bad value is an input error (exit 2)
//! before any network call.

use std::time::Duration;

use super::names::check_region;
use super::raw::RawInputs;
use crate::error::InputError;

/// The default `lock-lease`, in seconds.
pub const DEFAULT_LEASE_SECS: u64 = 60;
/// The shortest `lock-lease`: renewals run every third of it.
pub const MIN_LEASE_SECS: u64 = 2;
/// The default `lock-timeout`, in seconds.
pub const DEFAULT_LOCK_TIMEOUT_SECS: u64 = 600;

/// What a run does when the lock table's region cannot be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnUnavailable {
    /// The run fails (exit 1) and no tag moves (the default).
    Fail,
    /// The run moves its tags without the lock, with a warning.
    Proceed,
}

/// The DynamoDB lease lock around phase 2 and the convergence check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockOptions {
    /// The DynamoDB table holding one item per (registry id, repository, tag).
    pub table: String,
    /// The table's region: `lock-region`, else the primary destination's region.
    pub region: String,
    /// How long a lease lasts without renewal [default: 60 s, at least 2 s].
    pub lease: Duration,
    /// How long the run waits for another holder [default: 600 s].
    pub timeout: Duration,
    pub on_unavailable: OnUnavailable,
    /// Create a missing table (on-demand, TTL on the expiry attribute).
    pub create_table: bool,
    /// Who holds the lock, as waiting runs are told: the CI run's id, else host and pid
    /// (set by the commands from the CI environment; `ecr-fanout` until then).
    pub run_id: String,
}

/// Whether a tag may move to an older image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagOrder {
    /// Tags move to this run's image whatever they point at (the default).
    Any,
    /// A tag never moves to an image created before the one it points at in any destination.
    Newer,
}

/// Validates the lock inputs; `primary_region` is the default `lock-region`. Without
/// `lock-table` there is no lock, but the other inputs are still checked (the action passes
/// each one's default).
pub fn resolve_lock(
    raw: &RawInputs,
    primary_region: &str,
) -> Result<Option<LockOptions>, InputError> {
    let region = match raw.get("lock-region").map(str::trim) {
        Some(region) => {
            check_region(region).map_err(|m| InputError::new("lock-region", m))?;
            region.to_string()
        }
        None => primary_region.to_string(),
    };
    let lease = raw.seconds("lock-lease", DEFAULT_LEASE_SECS, MIN_LEASE_SECS..=3600)?;
    let timeout = raw.seconds("lock-timeout", DEFAULT_LOCK_TIMEOUT_SECS, 0..=86_400)?;
    let on_unavailable = raw.choice(
        "lock-on-unavailable",
        &[
            ("fail", OnUnavailable::Fail),
            ("proceed", OnUnavailable::Proceed),
        ],
    )?;
    let create_table = raw.bool("lock-create-table", false)?;
    let Some(table) = raw.get("lock-table").map(str::trim) else {
        return Ok(None);
    };
    check_table_name(table).map_err(|m| InputError::new("lock-table", m))?;
    Ok(Some(LockOptions {
        table: table.to_string(),
        region,
        lease,
        timeout,
        on_unavailable,
        create_table,
        run_id: "ecr-fanout".to_string(),
    }))
}

/// `tag-order`: `any` (the default) or `newer`.
pub fn resolve_tag_order(raw: &RawInputs) -> Result<TagOrder, InputError> {
    raw.choice(
        "tag-order",
        &[("any", TagOrder::Any), ("newer", TagOrder::Newer)],
    )
}

/// DynamoDB's rule for table names: 3 to 255 of `[A-Za-z0-9_.-]`.
fn check_table_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if (3..=255).contains(&name.len()) && valid_chars {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a DynamoDB table name; use 3 to 255 letters, digits, '_', '-' or '.'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(pairs: &[(&'static str, &str)]) -> Result<Option<LockOptions>, String> {
        resolve_lock(&RawInputs::from_pairs(pairs), "us-east-1").map_err(|e| e.to_string())
    }

    #[test]
    fn no_table_is_no_lock_but_its_settings_are_still_checked() {
        assert_eq!(resolve(&[]), Ok(None));
        assert_eq!(resolve(&[("lock-lease", "30")]), Ok(None));
        assert!(resolve(&[("lock-lease", "1")]).is_err());
    }

    #[test]
    fn defaults_are_the_primary_region_a_minute_and_ten_minutes() {
        let lock = resolve(&[("lock-table", "ecr-locks")]).unwrap().unwrap();
        assert_eq!(lock.region, "us-east-1");
        assert_eq!(lock.lease, Duration::from_secs(60));
        assert_eq!(lock.timeout, Duration::from_secs(600));
        assert_eq!(lock.on_unavailable, OnUnavailable::Fail);
        assert!(!lock.create_table);
    }

    #[test]
    fn every_bad_value_names_its_input() {
        let table = ("lock-table", "ecr-locks");
        let cases: [(&[(&'static str, &str)], &str); 5] = [
            (
                &[("lock-table", "a b")],
                "invalid input `lock-table`: 'a b' is not a DynamoDB",
            ),
            (
                &[table, ("lock-lease", "1")],
                "invalid input `lock-lease`: '1' is not valid; use whole seconds from 2 to 3600",
            ),
            (
                &[table, ("lock-timeout", "soon")],
                "invalid input `lock-timeout`: 'soon'",
            ),
            (
                &[table, ("lock-region", "mars")],
                "invalid input `lock-region`: 'mars' is not an AWS region",
            ),
            (
                &[table, ("lock-on-unavailable", "wait")],
                "invalid input `lock-on-unavailable`: 'wait' is not valid; use fail or proceed",
            ),
        ];
        for (pairs, expected) in cases {
            let error = resolve(pairs).unwrap_err();
            assert!(error.starts_with(expected), "{pairs:?}: {error}");
        }
    }

    #[test]
    fn tag_order_is_any_or_newer() {
        let order =
            |value: &str| resolve_tag_order(&RawInputs::from_pairs(&[("tag-order", value)]));
        assert_eq!(order("newer").unwrap(), TagOrder::Newer);
        assert_eq!(
            resolve_tag_order(&RawInputs::default()).unwrap(),
            TagOrder::Any
        );
        assert!(order("older").is_err());
    }
}
