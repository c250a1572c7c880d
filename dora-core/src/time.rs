//! Time: the report window as a half-open range, and durations in seconds.

use crate::model::Timestamp;
use chrono::Duration;

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

/// A duration in seconds, to the millisecond (the unit of every report figure).
pub(crate) fn seconds(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}
