//! Every headline figure of a run, and how it is read from result.json.

use super::*;

/// How a figure is read from a run.
pub(super) struct Figure {
    pub(super) name: &'static str,
    pub(super) family: Family,
    pub(super) unit: Unit,
    pub(super) better: Better,
    pub(super) value: fn(&RunResult) -> Option<f64>,
}

pub(super) const fn figure(
    name: &'static str,
    family: Family,
    unit: Unit,
    better: Better,
    value: fn(&RunResult) -> Option<f64>,
) -> Figure {
    Figure {
        name,
        family,
        unit,
        better,
        value,
    }
}

pub(super) fn end_to_end(result: &RunResult, percentile: fn(&Latency) -> u64) -> Option<f64> {
    result
        .latency
        .end_to_end
        .as_ref()
        .filter(|l| l.count > 0)
        .map(|l| percentile(l) as f64)
}

pub(super) fn produce(latency: &Latency, percentile: fn(&Latency) -> u64) -> Option<f64> {
    (latency.count > 0).then(|| percentile(latency) as f64)
}

/// Every headline figure, in the order reports show them.
pub(super) const FIGURES: &[Figure] = {
    use Better::{Higher, Lower};
    use Family::*;
    &[
        figure(
            "throughput (acknowledged)",
            Throughput,
            Unit::EventsPerSecond,
            Higher,
            |r| Some(r.throughput.achieved_eps),
        ),
        figure(
            "throughput (bytes)",
            Throughput,
            Unit::BytesPerSecond,
            Higher,
            |r| Some(r.throughput.bytes_per_s),
        ),
        figure(
            "throughput outside faults",
            Throughput,
            Unit::EventsPerSecond,
            Higher,
            |r| r.fault_throughput.and_then(|f| f.outside_faults_eps),
        ),
        figure(
            "throughput during faults",
            Throughput,
            Unit::EventsPerSecond,
            Higher,
            |r| r.fault_throughput.and_then(|f| f.during_faults_eps),
        ),
        figure("produce latency p50", Latency, Unit::Micros, Lower, |r| {
            produce(&r.latency.produce, |l| l.p50_us)
        }),
        figure("produce latency p99", Latency, Unit::Micros, Lower, |r| {
            produce(&r.latency.produce, |l| l.p99_us)
        }),
        figure("produce latency p99.9", Latency, Unit::Micros, Lower, |r| {
            produce(&r.latency.produce, |l| l.p999_us)
        }),
        figure(
            "produce service time p99 (uncorrected)",
            Latency,
            Unit::Micros,
            Lower,
            |r| produce(&r.latency.produce_uncorrected, |l| l.p99_us),
        ),
        figure(
            "end-to-end latency p50",
            Latency,
            Unit::Micros,
            Lower,
            |r| end_to_end(r, |l| l.p50_us),
        ),
        figure(
            "end-to-end latency p99",
            Latency,
            Unit::Micros,
            Lower,
            |r| end_to_end(r, |l| l.p99_us),
        ),
        figure(
            "end-to-end latency p99.9",
            Latency,
            Unit::Micros,
            Lower,
            |r| end_to_end(r, |l| l.p999_us),
        ),
        figure("max consumer lag", Lag, Unit::Records, Lower, |r| {
            r.lag.max_records.map(|m| m as f64)
        }),
        figure("lag recovery", Recovery, Unit::Seconds, Lower, |r| {
            // Without consumers there is no lag to recover; with them, never is infinitely slow.
            r.lag
                .max_records
                .map(|_| r.lag.recovery_seconds.unwrap_or(f64::INFINITY))
        }),
        figure("undrained records", Anomaly, Unit::Records, Lower, |r| {
            Some(r.lag.undrained_records as f64)
        }),
        figure("lost", Anomaly, Unit::Count, Lower, |r| {
            Some(r.counts.lost as f64)
        }),
        figure("duplicates", Anomaly, Unit::Count, Lower, |r| {
            Some(r.counts.duplicates as f64)
        }),
        figure(
            "removed below the log start",
            Anomaly,
            Unit::Count,
            Lower,
            |r| Some(r.counts.removed_below_log_start as f64),
        ),
        figure("altered", Anomaly, Unit::Count, Lower, |r| {
            Some(r.counts.corrupted as f64)
        }),
        figure("phantoms", Anomaly, Unit::Count, Lower, |r| {
            Some(r.counts.phantoms as f64)
        }),
        figure("offset mismatches", Anomaly, Unit::Count, Lower, |r| {
            Some(r.counts.offset_mismatches as f64)
        }),
        figure("order violations", Anomaly, Unit::Count, Lower, |r| {
            Some(r.counts.order_violations as f64)
        }),
        figure(
            "invalid records missing",
            Anomaly,
            Unit::Count,
            Lower,
            |r| Some(r.counts.invalid_missing as f64),
        ),
        figure(
            "deliberate duplicates missing",
            Anomaly,
            Unit::Count,
            Lower,
            |r| Some(r.counts.deliberate_duplicates_missing as f64),
        ),
        figure("bronze missing", Anomaly, Unit::Count, Lower, |r| {
            r.bronze.as_ref().map(|b| b.missing as f64)
        }),
        figure("bronze duplicates", Anomaly, Unit::Count, Lower, |r| {
            r.bronze.as_ref().map(|b| b.duplicates as f64)
        }),
        figure("bronze altered", Anomaly, Unit::Count, Lower, |r| {
            r.bronze.as_ref().map(|b| b.corrupted as f64)
        }),
        figure("visible in silver p50", Latency, Unit::Micros, Lower, |r| {
            silver_visible(r, |l| l.p50_us)
        }),
        figure("visible in silver p99", Latency, Unit::Micros, Lower, |r| {
            silver_visible(r, |l| l.p99_us)
        }),
        figure("lakehouse anomalies", Anomaly, Unit::Count, Lower, |r| {
            r.lakehouse.as_ref().map(|l| lakehouse_anomalies(l) as f64)
        }),
        figure(
            "gold records dropped as late",
            Anomaly,
            Unit::Count,
            Lower,
            |r| {
                r.lakehouse
                    .as_ref()
                    .and_then(|l| l.gold.as_ref())
                    .map(|g| g.late_dropped as f64)
            },
        ),
    ]
};

/// Send to visible in silver (Iceberg commit), when a pipeline ran.
pub(super) fn silver_visible(result: &RunResult, percentile: fn(&Latency) -> u64) -> Option<f64> {
    let visible = result.lakehouse.as_ref()?.silver_visible.as_ref()?;
    produce(visible, percentile)
}

/// Every record the lakehouse holds wrongly: bronze and silver missing, duplicated, altered
/// or unexpected, DLQ likewise, and wrong gold windows.
pub(super) fn lakehouse_anomalies(lake: &Lakehouse) -> u64 {
    let gold = lake.gold.as_ref().map_or(0, |g| {
        g.windows_mismatched + g.windows_missing + g.windows_unexpected + g.windows_duplicated
    });
    lake.bronze_missing
        + lake.bronze_duplicates
        + lake.bronze_corrupted
        + lake.silver_missing
        + lake.silver_duplicates
        + lake.silver_unexpected
        + lake.dlq_missing
        + lake.dlq_duplicates
        + lake.dlq_unexpected
        + gold
}
