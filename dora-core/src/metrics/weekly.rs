//! Weekly trends: the window cut into 7-day buckets from its start.

use crate::TimeRange;
use crate::model::Timestamp;
use crate::report::WeekPoint;
use chrono::Duration;

/// Weekly buckets of the window: (start, index of each timestamp).
pub(crate) struct Weeks {
    start: Timestamp,
    count: usize,
}

impl Weeks {
    /// The weeks of a window; the last one may be short, and there is at least one.
    pub(crate) fn new(window: TimeRange) -> Self {
        let days = (window.end - window.start).num_seconds().max(0) as f64 / 86_400.0;
        Self {
            start: window.start,
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
