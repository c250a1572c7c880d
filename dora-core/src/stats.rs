//! Order statistics used by every duration metric.

use crate::report::DurationStats;

/// Median (mean of the two middle values for an even count), p90 (nearest
/// rank) and mean. Sorts `values` in place.
pub fn duration_stats(values: &mut [f64]) -> DurationStats {
    let n = values.len();
    if n == 0 {
        return DurationStats::default();
    }
    values.sort_by(f64::total_cmp);
    DurationStats {
        count: n,
        median_seconds: median_sorted(values),
        p90_seconds: Some(nearest_rank(values, 0.9)),
        mean_seconds: Some(values.iter().sum::<f64>() / n as f64),
    }
}

/// Median of sorted values.
pub fn median_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Nearest-rank percentile (`p` in (0, 1]) of sorted, non-empty values.
pub fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median of unsorted values.
pub fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    median_sorted(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_median_is_mean_of_middle() {
        let s = duration_stats(&mut [4.0, 1.0, 3.0, 2.0]);
        assert_eq!(s.median_seconds, Some(2.5));
        assert_eq!(s.p90_seconds, Some(4.0));
        assert_eq!(s.mean_seconds, Some(2.5));
    }

    #[test]
    fn p90_nearest_rank() {
        let mut v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(duration_stats(&mut v).p90_seconds, Some(18.0));
        assert_eq!(duration_stats(&mut [7.0]).p90_seconds, Some(7.0));
        assert_eq!(duration_stats(&mut []).median_seconds, None);
    }
}
