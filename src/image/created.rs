//! When an image was created, as `tag-order: newer` compares it: the manifest's (or index's)
//! `org.opencontainers.image.created` annotation, else the config's label of that name, else
//! the config's `created` field; each an RFC 3339 time ([`CreatedAt`]). Reads bytes only;
//! where they come from (disk, a registry) is the caller's business.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The OCI annotation and label holding an image's creation time.
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// A point in time read from an RFC 3339 text, ordered; keeps the text for messages.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CreatedAt {
    /// Seconds and nanoseconds since 1970-01-01T00:00:00Z.
    instant: (i64, u32),
    pub text: String,
}

impl CreatedAt {
    /// `2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.123456789+02:00`; `None` otherwise.
    pub fn parse(text: &str) -> Option<CreatedAt> {
        let text = text.trim();
        let (date, time) = text.split_once(['T', 't', ' '])?;
        let mut date_parts = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
        let (year, month, day) = (
            date_parts.next()??,
            date_parts.next()??,
            date_parts.next()??,
        );
        let (clock, offset_seconds) = split_offset(time)?;
        let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
        let mut hms_parts = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
        let (hour, minute, second) = (hms_parts.next()??, hms_parts.next()??, hms_parts.next()??);
        let valid = (1..=12).contains(&month)
            && (1..=31).contains(&day)
            && (0..24).contains(&hour)
            && (0..60).contains(&minute)
            && (0..=60).contains(&second)
            && fraction.bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return None;
        }
        let nanos: u32 = format!("{fraction:0<9}").get(..9)?.parse().ok()?;
        let seconds =
            days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
                - offset_seconds;
        Some(CreatedAt {
            instant: (seconds, nanos),
            text: text.to_string(),
        })
    }
}

/// `12:00:00Z` → (`12:00:00`, 0); `12:00:00+02:00` → (`12:00:00`, 7200).
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let at = time.rfind(['+', '-'])?;
    let (clock, offset) = time.split_at(at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let (hours, minutes) = offset.get(1..)?.split_once(':')?;
    Some((
        clock,
        sign * (hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60),
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[derive(Deserialize)]
struct Annotated {
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ConfigJson {
    created: Option<String>,
    #[serde(default)]
    config: Option<ConfigLabels>,
}

#[derive(Deserialize)]
struct ConfigLabels {
    #[serde(rename = "Labels", default)]
    labels: Option<BTreeMap<String, String>>,
}

/// The `org.opencontainers.image.created` annotation of a manifest or index.
pub fn annotated(manifest: &[u8]) -> Option<CreatedAt> {
    let parsed: Annotated = serde_json::from_slice(manifest).ok()?;
    CreatedAt::parse(parsed.annotations.get(CREATED_ANNOTATION)?)
}

/// The config's `org.opencontainers.image.created` label, else its `created` field.
pub fn of_config(config: &[u8]) -> Option<CreatedAt> {
    let parsed: ConfigJson = serde_json::from_slice(config).ok()?;
    let label = parsed.config.and_then(|c| c.labels).and_then(|labels| {
        labels
            .get(CREATED_ANNOTATION)
            .and_then(|t| CreatedAt::parse(t))
    });
    label.or_else(|| CreatedAt::parse(parsed.created.as_deref()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> CreatedAt {
        CreatedAt::parse(text).unwrap_or_else(|| panic!("{text} does not parse"))
    }

    #[test]
    fn rfc3339_times_compare_as_instants_whatever_their_offset() {
        assert_eq!(at("1970-01-01T00:00:00Z").instant, (0, 0));
        assert_eq!(at("2024-03-01T00:00:00Z").instant.0, 1_709_251_200);
        assert_eq!(
            at("2024-03-01T02:00:00+02:00").instant,
            at("2024-03-01T00:00:00Z").instant
        );
        assert!(at("2024-03-01T00:00:00.5Z") > at("2024-03-01T00:00:00Z"));
        assert!(at("2024-02-29T23:59:59-01:00") > at("2024-03-01T00:00:00Z"));
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-03-01T25:00:00Z",
            "2024-03-01",
        ] {
            assert_eq!(CreatedAt::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_label_wins_over_the_config_created_field() {
        let both = br#"{"created":"2020-01-01T00:00:00Z","config":{"Labels":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"}}}"#;
        assert_eq!(of_config(both).unwrap().text, "2024-01-01T00:00:00Z");
        let field = br#"{"created":"2020-01-01T00:00:00Z","config":{"Labels":null}}"#;
        assert_eq!(of_config(field).unwrap().text, "2020-01-01T00:00:00Z");
        assert_eq!(of_config(br#"{"architecture":"amd64"}"#), None);
        let annotated_index = br#"{"manifests":[],"annotations":{"org.opencontainers.image.created":"2023-06-01T00:00:00Z"}}"#;
        assert_eq!(
            annotated(annotated_index).unwrap().text,
            "2023-06-01T00:00:00Z"
        );
        assert_eq!(annotated(br#"{"manifests":[]}"#), None);
    }
}
