//! The scan gate's inputs (`scan`, `scan-severity-threshold`, `scan-destinations`,
//! `scan-timeout`, `scan-ignore`, `scan-fixable-only`): their validation into
//! [`ScanOptions`]. Dates in `scan-ignore` are checked here; whether an entry has expired is
//! decided when the run reads the findings ([`IgnoredFinding::applies_on`]).

use std::time::Duration;

use super::raw::RawInputs;
use crate::error::InputError;
use crate::report::Severity;

/// What the scan does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanMode {
    /// No scan (the default).
    Off,
    /// Findings are reported, never a failure.
    Report,
    /// Findings at or above the threshold refuse the run: no tag moves anywhere (exit 4).
    Gate,
}

/// Which destinations are scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanDestinations {
    /// The first destination only (the default).
    Primary,
    All,
}

/// One `scan-ignore` entry: a finding id (CVE or Inspector id), until a day if given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredFinding {
    pub id: String,
    /// `YYYY-MM-DD` as written, and as days since 1970-01-01.
    pub until: Option<(String, i64)>,
}

impl IgnoredFinding {
    /// Whether the entry still ignores on `today` (days since 1970-01-01): the `until` day
    /// itself is included.
    pub fn applies_on(&self, today: i64) -> bool {
        self.until.as_ref().is_none_or(|(_, day)| today <= *day)
    }
}

/// The scan gate, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanOptions {
    pub mode: ScanMode,
    /// Findings at or above it refuse the run under `gate` [default: HIGH].
    pub threshold: Severity,
    pub destinations: ScanDestinations,
    /// How long one destination's scan may take [default: 600 s].
    pub timeout: Duration,
    pub ignore: Vec<IgnoredFinding>,
    /// Gate only on findings with a fix available (enhanced scanning says which).
    pub fixable_only: bool,
}

/// The default `scan-timeout`, in seconds.
pub const DEFAULT_SCAN_TIMEOUT_SECS: u64 = 600;

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            mode: ScanMode::Off,
            threshold: Severity::High,
            destinations: ScanDestinations::Primary,
            timeout: Duration::from_secs(DEFAULT_SCAN_TIMEOUT_SECS),
            ignore: Vec::new(),
            fixable_only: false,
        }
    }
}

/// Validates the scan inputs.
pub fn resolve_scan(raw: &RawInputs) -> Result<ScanOptions, InputError> {
    Ok(ScanOptions {
        mode: raw.choice(
            "scan",
            &[
                ("off", ScanMode::Off),
                ("report", ScanMode::Report),
                ("gate", ScanMode::Gate),
            ],
        )?,
        threshold: resolve_threshold(raw)?,
        destinations: raw.choice(
            "scan-destinations",
            &[
                ("primary", ScanDestinations::Primary),
                ("all", ScanDestinations::All),
            ],
        )?,
        timeout: resolve_timeout(raw)?,
        ignore: raw
            .list("scan-ignore")
            .iter()
            .map(|entry| parse_ignore_entry(entry))
            .collect::<Result<_, _>>()?,
        fixable_only: raw.bool("scan-fixable-only", false)?,
    })
}

/// `scan-severity-threshold`, HIGH when absent.
fn resolve_threshold(raw: &RawInputs) -> Result<Severity, InputError> {
    if raw.get("scan-severity-threshold").is_none() {
        return Ok(Severity::High);
    }
    raw.choice(
        "scan-severity-threshold",
        &[
            ("CRITICAL", Severity::Critical),
            ("HIGH", Severity::High),
            ("MEDIUM", Severity::Medium),
            ("LOW", Severity::Low),
        ],
    )
}

fn resolve_timeout(raw: &RawInputs) -> Result<Duration, InputError> {
    raw.seconds("scan-timeout", DEFAULT_SCAN_TIMEOUT_SECS, 1..=86_400)
}

/// `CVE-2024-1234` or `CVE-2024-1234 until=2026-06-30`.
fn parse_ignore_entry(entry: &str) -> Result<IgnoredFinding, InputError> {
    let invalid = || {
        InputError::new(
            "scan-ignore",
            format!(
                "'{entry}' is not valid; use a finding id, optionally followed by until=YYYY-MM-DD"
            ),
        )
    };
    let mut words = entry.split_whitespace();
    let id = words.next().ok_or_else(invalid)?.to_string();
    let until = match (words.next(), words.next()) {
        (None, _) => None,
        (Some(word), None) => {
            let date = word.strip_prefix("until=").ok_or_else(invalid)?;
            let day = days_of_date(date).ok_or_else(|| {
                InputError::new(
                    "scan-ignore",
                    format!("'{entry}': '{date}' is not a date; use until=YYYY-MM-DD"),
                )
            })?;
            Some((date.to_string(), day))
        }
        (Some(_), Some(_)) => return Err(invalid()),
    };
    Ok(IgnoredFinding { id, until })
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date; `None` unless it is a real day.
pub fn days_of_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let (year, month, day): (i64, i64, i64) =
        (year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let last = *month_days.get(usize::try_from(month - 1).ok()?)?;
    if !(1..=last).contains(&day) {
        return None;
    }
    // Days from civil (proleptic Gregorian), counting years from March.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// Today (UTC) in days since 1970-01-01.
pub fn today() -> i64 {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(seconds / 86_400).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_off_high_primary_and_ten_minutes() {
        let options = resolve_scan(&RawInputs::default()).unwrap();
        assert_eq!(options, ScanOptions::default());
        assert_eq!(options.timeout, Duration::from_secs(600));
    }

    #[test]
    fn every_input_is_read() {
        let options = resolve_scan(&RawInputs::from_pairs(&[
            ("scan", "gate"),
            ("scan-severity-threshold", "CRITICAL"),
            ("scan-destinations", "all"),
            ("scan-timeout", "30"),
            ("scan-ignore", "CVE-2024-1\nCVE-2024-2 until=2026-06-30"),
            ("scan-fixable-only", "true"),
        ]))
        .unwrap();
        assert_eq!(options.mode, ScanMode::Gate);
        assert_eq!(options.threshold, Severity::Critical);
        assert_eq!(options.destinations, ScanDestinations::All);
        assert_eq!(options.timeout, Duration::from_secs(30));
        assert!(options.fixable_only);
        assert_eq!(options.ignore[0].until, None);
        let until = options.ignore[1].until.clone().unwrap();
        assert_eq!(until.0, "2026-06-30");
        assert!(options.ignore[1].applies_on(until.1));
        assert!(!options.ignore[1].applies_on(until.1 + 1));
    }

    #[test]
    fn bad_values_name_the_input_and_what_is_valid() {
        let cases = [
            (
                "scan",
                "block",
                "invalid input `scan`: 'block' is not valid; use off, report or gate",
            ),
            (
                "scan-severity-threshold",
                "SEVERE",
                "invalid input `scan-severity-threshold`: 'SEVERE' is not valid; use CRITICAL, HIGH, MEDIUM or LOW",
            ),
            (
                "scan-destinations",
                "some",
                "invalid input `scan-destinations`: 'some' is not valid; use primary or all",
            ),
            (
                "scan-timeout",
                "0",
                "invalid input `scan-timeout`: '0' is not valid; use whole seconds from 1 to 86400",
            ),
            (
                "scan-ignore",
                "CVE-1 until=2026-02-30",
                "invalid input `scan-ignore`: 'CVE-1 until=2026-02-30': '2026-02-30' is not a date; use until=YYYY-MM-DD",
            ),
            (
                "scan-ignore",
                "CVE-1 for=ever",
                "invalid input `scan-ignore`: 'CVE-1 for=ever' is not valid; use a finding id, optionally followed by until=YYYY-MM-DD",
            ),
        ];
        for (name, value, message) in cases {
            let error = resolve_scan(&RawInputs::from_pairs(&[(name, value)])).unwrap_err();
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn dates_count_days_from_1970() {
        assert_eq!(days_of_date("1970-01-01"), Some(0));
        assert_eq!(days_of_date("2000-03-01"), Some(11_017));
        assert_eq!(days_of_date("2024-02-29"), Some(19_782));
        assert_eq!(days_of_date("2023-02-29"), None);
        assert_eq!(days_of_date("2024-1-01"), None);
        assert!(today() > days_of_date("2025-01-01").unwrap());
    }
}
