//! Time: the report window as a half-open range, durations in seconds, and
//! the one way every front end (the `dora` command, `dora.toml`, Python) reads
//! a time given as text ([`parse_timestamp`]).

use crate::model::Timestamp;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

/// A half-open time range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: Timestamp,
    /// Exclusive end.
    pub end: Timestamp,
}

impl TimeRange {
    /// A range; `start` must not be after `end`.
    pub fn new(start: Timestamp, end: Timestamp) -> Self {
        Self { start, end }
    }

    /// Does the range hold `t`?
    pub fn contains(&self, t: Timestamp) -> bool {
        t >= self.start && t < self.end
    }
}

/// A text that is not a time in any spelling [`parse_timestamp`] reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read {text:?} as a time: use RFC 3339 (2026-11-01T00:00:00Z, 2026-11-01T01:00:00+01:00), a date-time without offset (2026-11-01T00:00:00, taken as UTC) or YYYY-MM-DD (midnight UTC)"
)]
pub struct TimestampError {
    /// The text given (trimmed).
    pub text: String,
}

/// Read a time the way every front end does: RFC 3339 (`2026-11-01T00:00:00Z`,
/// `2026-11-01T01:00:00+01:00`), an ISO date-time without offset, taken as UTC
/// (`2026-11-01T00:00:00`, `2026-11-01 00:00:00.5`, `2026-11-01T00:00`), one
/// with a space and an offset (`2026-11-01 01:00:00+01:00`, what Python's
/// `str(datetime)` gives), or a date (`2026-11-01`, midnight UTC).
///
/// ```
/// use dora_core::time::parse_timestamp;
/// let midnight = parse_timestamp("2026-11-01")?;
/// assert_eq!(parse_timestamp("2026-11-01T00:00:00")?, midnight);
/// assert_eq!(parse_timestamp("2026-11-01T01:00:00+01:00")?, midnight);
/// assert!(parse_timestamp("next tuesday").is_err());
/// # Ok::<(), dora_core::time::TimestampError>(())
/// ```
pub fn parse_timestamp(text: &str) -> Result<Timestamp, TimestampError> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| TimestampError {
            text: text.to_string(),
        })
}

/// A duration in seconds, to the millisecond (the unit of every report figure).
pub(crate) fn seconds(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::parse_timestamp;

    #[test]
    fn every_front_end_spelling_reads_the_same_instant() {
        let expected = "2026-11-01T00:00:00+00:00";
        for text in [
            "2026-11-01",
            " 2026-11-01 ",
            "2026-11-01T00:00:00Z",
            "2026-11-01T00:00:00+00:00",
            "2026-11-01T01:00:00+01:00",
            "2026-10-31T19:00:00-05:00",
            "2026-11-01T00:00:00",
            "2026-11-01T00:00",
            "2026-11-01 00:00:00",
            "2026-11-01 00:00",
            "2026-11-01T00:00:00.000000",
            "2026-11-01 01:00:00+01:00",
        ] {
            let t = parse_timestamp(text).map(|t| t.to_rfc3339());
            assert_eq!(t.as_deref(), Ok(expected), "{text}");
        }
    }

    #[test]
    fn errors_say_which_spellings_work() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-01T25:00:00",
            "11/01/2026",
        ] {
            let e = parse_timestamp(bad).map_err(|e| e.to_string());
            assert!(
                e.as_ref()
                    .is_err_and(|m| m.contains("YYYY-MM-DD") && m.contains("RFC 3339")),
                "{bad:?}: {e:?}"
            );
        }
    }
}
