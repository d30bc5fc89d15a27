//! Latency histograms and one-second time series.

use hdrhistogram::Histogram;

pub use streamproof_result::{Latency, PercentilePoint};

/// Latencies up to one hour, three significant digits, in microseconds.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant histogram bounds are valid")
}

/// Per-second histograms need less precision and there are many of them.
fn coarse_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("constant histogram bounds are valid")
}

/// Records a latency in microseconds (at least 1, so zero-duration samples still count).
pub fn record(histogram: &mut Histogram<u64>, micros: u64) {
    histogram.saturating_record(micros.max(1));
}

/// The value at quantile `q` (0..=1), 0 for an empty histogram.
pub fn quantile(histogram: &Histogram<u64>, q: f64) -> u64 {
    if histogram.is_empty() {
        0
    } else {
        histogram.value_at_quantile(q)
    }
}

/// The percentiles of `histogram` (all zero when it is empty).
pub fn summarize(histogram: &Histogram<u64>) -> Latency {
    if histogram.is_empty() {
        return Latency::default();
    }
    Latency {
        count: histogram.len(),
        p50_us: histogram.value_at_quantile(0.50),
        p90_us: histogram.value_at_quantile(0.90),
        p99_us: histogram.value_at_quantile(0.99),
        p999_us: histogram.value_at_quantile(0.999),
        max_us: histogram.max(),
    }
}

/// The distribution at log-spaced percentiles (50, 75, 90, 99, 99.9, ... up to the max), as
/// HdrHistogram's percentile plots show it.
pub fn percentile_curve(histogram: &Histogram<u64>) -> Vec<PercentilePoint> {
    if histogram.is_empty() {
        return Vec::new();
    }
    let mut points = Vec::new();
    let mut tail = 0.5_f64;
    while tail > 1e-6 {
        for fraction in [1.0, 0.5, 0.25] {
            let percentile = 100.0 * (1.0 - tail * fraction);
            points.push(PercentilePoint {
                percentile,
                value_us: histogram.value_at_quantile(percentile / 100.0),
            });
        }
        tail /= 10.0;
    }
    points.push(PercentilePoint {
        percentile: 100.0,
        value_us: histogram.max(),
    });
    points
}

/// What happened in one second of the run, for the time series.
#[derive(Debug, Clone)]
pub struct Second {
    /// Records handed to the client.
    pub sent: u64,
    /// Acknowledged.
    pub acked: u64,
    /// Failed (definitely or with unknown outcome).
    pub failed: u64,
    /// Records consumed (all groups).
    pub consumed: u64,
    /// Produce latency (intended send to ack) of sends acknowledged in this second.
    pub produce: Histogram<u64>,
    /// End-to-end latency (intended send to consumed) of records consumed in this second.
    pub end_to_end: Histogram<u64>,
}

impl Default for Second {
    fn default() -> Self {
        Second {
            sent: 0,
            acked: 0,
            failed: 0,
            consumed: 0,
            produce: coarse_histogram(),
            end_to_end: coarse_histogram(),
        }
    }
}

/// A growable one-second series.
#[derive(Debug, Clone, Default)]
pub struct Seconds(Vec<Second>);

impl Seconds {
    /// The bucket of second `index` (from the start of the load), created on demand.
    pub fn at(&mut self, index: usize) -> &mut Second {
        if self.0.len() <= index {
            self.0.resize_with(index + 1, Second::default);
        }
        &mut self.0[index]
    }

    /// Adds another series into this one, second by second.
    pub fn merge(&mut self, other: &Seconds) {
        for (index, second) in other.0.iter().enumerate() {
            let mine = self.at(index);
            mine.sent += second.sent;
            mine.acked += second.acked;
            mine.failed += second.failed;
            mine.consumed += second.consumed;
            let _ = mine.produce.add(&second.produce);
            let _ = mine.end_to_end.add(&second.end_to_end);
        }
    }

    /// The buckets in order.
    pub fn buckets(&self) -> &[Second] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_read_percentiles() {
        let mut histogram = latency_histogram();
        for value in 1..=1000 {
            record(&mut histogram, value);
        }
        let summary = summarize(&histogram);
        assert_eq!(summary.count, 1000);
        assert_eq!(summary.p50_us, 500);
        assert_eq!(summary.p99_us, 990);
        assert_eq!(summary.max_us, 1000);
        assert_eq!(summarize(&latency_histogram()), Latency::default());
    }

    #[test]
    fn the_percentile_curve_rises_to_the_max() {
        let mut histogram = latency_histogram();
        for value in 1..=10_000 {
            record(&mut histogram, value);
        }
        let curve = percentile_curve(&histogram);
        assert_eq!(curve.first().map(|p| p.percentile), Some(50.0));
        assert_eq!(curve.last().map(|p| p.value_us), Some(histogram.max()));
        assert!(histogram.max() >= 10_000);
        assert!(curve.windows(2).all(|w| w[0].value_us <= w[1].value_us));
    }

    #[test]
    fn series_merge_second_by_second() {
        let mut a = Seconds::default();
        a.at(0).sent = 2;
        let mut b = Seconds::default();
        b.at(0).sent = 3;
        b.at(2).acked = 1;
        a.merge(&b);
        assert_eq!(a.buckets().len(), 3);
        assert_eq!(a.buckets()[0].sent, 5);
        assert_eq!(a.buckets()[2].acked, 1);
    }
}
