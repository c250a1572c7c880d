//! Reading timestamps given from Python.

use crate::errors::{DoraErr, DoraResult};
use dora_core::Timestamp;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Parse a time as every front end does ([`dora_core::time::parse_timestamp`]):
/// RFC 3339, an ISO date-time without offset (UTC) or a date (midnight UTC).
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    dora_core::time::parse_timestamp(text).ok()
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
    dora_core::time::parse_timestamp(&text).map_err(|e| DoraErr::Config(format!("{field}: {e}")))
}

/// The window `[until - days, until)` of a Python call (`until` as
/// [`extract_timestamp`] reads it, default now), checked by
/// `dora_core::Config::window_of` like every other front end's.
pub fn window(days: i64, until: Option<&Bound<'_, PyAny>>) -> DoraResult<dora_core::TimeRange> {
    let until = until
        .filter(|u| !u.is_none())
        .map(|u| extract_timestamp(u, "until"))
        .transpose()?;
    Ok(dora_core::Config::window_of(
        days,
        until,
        chrono::Utc::now(),
    )?)
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
