//! Weekly trends: the window cut into 7-day buckets from its start.

use crate::TimeRange;
use crate::model::Timestamp;
use crate::report::WeekPoint;
use chrono::{Datelike, Duration};

/// Weekly buckets of the window: calendar weeks (ISO, Monday 00:00 UTC), so
/// week starts do not move with the window's end; the first and last weeks
/// may be partial (clipped to the window).
pub(crate) struct Weeks {
    start: Timestamp,
    count: usize,
}

impl Weeks {
    /// The weeks of a window; the last one may be short, and there is at least one.
    pub(crate) fn new(window: TimeRange) -> Self {
        let start = iso_week_start(window.start);
        let days = (window.end - start).num_seconds().max(0) as f64 / 86_400.0;
        Self {
            start,
            count: ((days / 7.0).ceil() as usize).max(1),
        }
    }

    fn index(&self, t: Timestamp) -> usize {
        (((t - self.start).num_seconds().max(0) / (7 * 86_400)) as usize).min(self.count - 1)
    }

    /// One point a week: the items falling in it and `value` of them.
    pub(crate) fn series<T>(
        &self,
        items: impl Iterator<Item = (Timestamp, T)>,
        value: impl Fn(&mut Vec<T>) -> Option<f64>,
    ) -> Vec<WeekPoint> {
        let mut buckets: Vec<Vec<T>> = (0..self.count).map(|_| Vec::new()).collect();
        for (t, v) in items {
            buckets[self.index(t)].push(v);
        }
        buckets
            .into_iter()
            .enumerate()
            .map(|(i, mut b)| WeekPoint {
                week_start: self.start + Duration::days(7 * i as i64),
                count: b.len(),
                value: value(&mut b),
            })
            .collect()
    }
}

/// Monday 00:00 UTC of the ISO week holding `t`.
fn iso_week_start(t: Timestamp) -> Timestamp {
    let monday = t.date_naive() - Duration::days(i64::from(t.weekday().num_days_from_monday()));
    monday.and_time(chrono::NaiveTime::MIN).and_utc()
}
