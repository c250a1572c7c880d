//! Reading timestamps given from Python.

use crate::errors::{DoraErr, DoraResult};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use dora_core::Timestamp;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Parse RFC 3339, an ISO date-time without offset (taken as UTC) or a date
/// (`YYYY-MM-DD`, midnight UTC).
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    if let Ok(offset) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(offset.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A timestamp from a `str`, `datetime.datetime` (naive means UTC), pandas
/// `Timestamp` or `datetime.date`; `field` names the argument in errors.
pub fn extract_timestamp(value: &Bound<'_, PyAny>, field: &str) -> DoraResult<Timestamp> {
    let text: String = if let Ok(s) = value.cast::<PyString>() {
        s.to_cow()?.into_owned()
    } else if value.hasattr("isoformat")? {
        value.call_method0("isoformat")?.extract()?
    } else {
        return Err(DoraErr::Config(format!(
            "{field}: expected a datetime, date or RFC 3339 string, got {}",
            value.get_type().name()?
        )));
    };
    parse_timestamp(&text).ok_or_else(|| {
        DoraErr::Config(format!(
            "{field}: cannot read {text:?} as a time (use RFC 3339, e.g. 2026-03-01T00:00:00Z, or YYYY-MM-DD)"
        ))
    })
}

/// A timestamp as an aware `datetime.datetime` in UTC.
pub fn to_py_datetime<'py>(py: Python<'py>, t: Timestamp) -> PyResult<Bound<'py, PyAny>> {
    let datetime = py.import("datetime")?.getattr("datetime")?;
    datetime.call_method1(
        "fromisoformat",
        (t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),),
    )
}

#[cfg(test)]
mod tests {
    use super::parse_timestamp;

    #[test]
    fn reads_the_usual_spellings() {
        let expected = "2026-03-01T00:00:00+00:00";
        for text in [
            "2026-03-01",
            "2026-03-01T00:00:00Z",
            "2026-03-01T01:00:00+01:00",
            "2026-03-01T00:00:00",
            "2026-03-01 00:00:00",
            "2026-03-01T00:00:00.000000",
        ] {
            let t = parse_timestamp(text).map(|t| t.to_rfc3339());
            assert_eq!(t.as_deref(), Some(expected), "{text}");
        }
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2026-13-01"), None);
    }
}
