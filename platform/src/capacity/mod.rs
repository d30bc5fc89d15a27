//! Capacity formulas for sizing topics: partitions, replication and retention storage.

mod plan;
pub use plan::{assemble_plan, PlanInputs, KNEE_GAIN};

pub use streamproof_result::plan::{Bytes, Recovery, TopicPlan};

/// Partitions a topic needs: `max(ceil(target / per_partition), consumers)`, so it both carries
/// the target throughput and gives every consumer of a group a partition. Both throughputs use
/// the same unit (events/s or MB/s).
pub fn partitions(
    target_throughput: f64,
    partition_throughput: f64,
    consumers: u32,
) -> Result<u32, CapacityError> {
    if !(partition_throughput.is_finite() && partition_throughput > 0.0) {
        return Err(CapacityError::NotPositive("partition throughput"));
    }
    if !(target_throughput.is_finite() && target_throughput >= 0.0) {
        return Err(CapacityError::NotPositive("target throughput"));
    }
    let for_throughput = (target_throughput / partition_throughput).ceil() as u32;
    Ok(for_throughput.max(consumers).max(1))
}

/// Replication factor on a cluster of `brokers`: `min(brokers, 3)`.
pub fn replication(brokers: u32) -> u32 {
    brokers.clamp(1, 3)
}

/// Storage a topic needs to keep `retention_days` of traffic:
/// `avg message size × messages per day × retention days`, times the replication factor
/// when given (every replica stores a full copy).
pub fn retention_storage(
    avg_message_bytes: u64,
    messages_per_day: u64,
    retention_days: u64,
    replication: Option<u32>,
) -> Bytes {
    let copies = u64::from(replication.unwrap_or(1));
    Bytes(
        avg_message_bytes
            .saturating_mul(messages_per_day)
            .saturating_mul(retention_days)
            .saturating_mul(copies),
    )
}

/// A topic's demand, as a capacity plan states it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicDemand {
    /// Topic name.
    pub topic: String,
    /// Its layer's name.
    pub layer: String,
    /// Target events per second.
    pub target_eps: f64,
    /// Average record size, bytes.
    pub record_bytes: u64,
    /// Instances of its largest consumer group.
    pub largest_group: u32,
    /// Retention, whole days.
    pub retention_days: u64,
}

/// What calibration measured on a cluster, as the formulas take it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// Events per second one partition sustains at the objective.
    pub partition_throughput_eps: f64,
    /// Events per second one consumer drains a backlog at.
    pub catch_up_eps_per_consumer: f64,
}

/// How a plan grows and what outage it plans recovery for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizing {
    /// Growth factor on every target (1.0 for none).
    pub headroom: f64,
    /// Brokers of the planned cluster (replication is `min(brokers, 3)`).
    pub brokers: u32,
    /// Consumer outage to plan recovery for, seconds.
    pub outage_seconds: f64,
}

/// Sizes one topic with the formulas: partitions for the planned rate and the largest group,
/// replication, retention storage and recovery from an outage.
pub fn plan_topic(
    demand: &TopicDemand,
    measured: Measured,
    sizing: Sizing,
) -> Result<TopicPlan, CapacityError> {
    if !(sizing.headroom.is_finite() && sizing.headroom >= 1.0) {
        return Err(CapacityError::NotPositive("headroom (at least 1)"));
    }
    let planned_eps = demand.target_eps * sizing.headroom;
    let partition_count = partitions(
        planned_eps,
        measured.partition_throughput_eps,
        demand.largest_group,
    )?;
    let for_throughput = partitions(planned_eps, measured.partition_throughput_eps, 1)?;
    let replicas = replication(sizing.brokers);
    let per_day = (planned_eps * 86_400.0).ceil() as u64;
    let one_copy = retention_storage(demand.record_bytes, per_day, demand.retention_days, None);
    let replicated = retention_storage(
        demand.record_bytes,
        per_day,
        demand.retention_days,
        Some(replicas),
    );
    // A group reads with at most one instance per partition.
    let readers = demand.largest_group.clamp(1, partition_count);
    Ok(TopicPlan {
        topic: demand.topic.clone(),
        layer: demand.layer.clone(),
        target_eps: demand.target_eps,
        planned_eps,
        record_bytes: demand.record_bytes,
        planned_bytes_per_s: planned_eps * demand.record_bytes as f64,
        partitions: partition_count,
        partitions_for_throughput: for_throughput,
        largest_group: demand.largest_group,
        replication_factor: replicas,
        retention_days: demand.retention_days as f64,
        storage_bytes: one_copy.0,
        storage_bytes_replicated: replicated.0,
        recovery: recovery(
            planned_eps,
            sizing.outage_seconds,
            measured.catch_up_eps_per_consumer * f64::from(readers),
        ),
    })
}

/// Recovery from an outage of `outage_seconds` at `arriving_eps`: the backlog, drained at
/// `catch_up_eps` while records keep arriving.
pub fn recovery(arriving_eps: f64, outage_seconds: f64, catch_up_eps: f64) -> Recovery {
    let backlog = arriving_eps * outage_seconds;
    let net = catch_up_eps - arriving_eps;
    Recovery {
        outage_seconds,
        backlog_records: backlog.ceil() as u64,
        catch_up_eps,
        seconds: (net > 0.0).then(|| backlog / net),
    }
}

/// Where adding partitions stops paying: the first count after which the next one raised the
/// sustainable rate by less than `min_gain` (e.g. 0.1 for 10%). `points` are (partitions,
/// sustainable events/s) in increasing partition order; `None` while every step up paid.
pub fn knee(points: &[(u32, f64)], min_gain: f64) -> Option<u32> {
    points
        .windows(2)
        .find(|pair| pair[1].1 < pair[0].1 * (1.0 + min_gain))
        .map(|pair| pair[0].0)
}

/// Brokers for `planned_eps` when `calibrated` brokers sustain `ceiling_eps`, scaling linearly:
/// the calibrated count while the planned rate fits.
pub fn brokers_needed(calibrated: u32, planned_eps: f64, ceiling_eps: f64) -> u32 {
    if ceiling_eps <= 0.0 || planned_eps <= ceiling_eps {
        return calibrated.max(1);
    }
    let scaled = (f64::from(calibrated.max(1)) * planned_eps / ceiling_eps).ceil();
    scaled.min(f64::from(u32::MAX)) as u32
}

/// An input a formula cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapacityError {
    /// The named quantity must be a positive, finite number.
    #[error("{0} must be a positive number")]
    NotPositive(&'static str),
    /// Calibration found no rate at which the objective held.
    #[error(
        "no rate tried met the objective; loosen the objective or lower calibration.search.start"
    )]
    NothingSustained,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_worked_example() {
        // max(1000/100, 6) = 10
        assert_eq!(partitions(1000.0, 100.0, 6), Ok(10));
    }

    #[test]
    fn replication_worked_example() {
        // min(5, 3) = 3
        assert_eq!(replication(5), 3);
        assert_eq!(replication(1), 1);
    }

    #[test]
    fn retention_worked_example() {
        // 1KB * 1M * 7 = 7GB
        let storage = retention_storage(1_000, 1_000_000, 7, None);
        assert_eq!(storage, Bytes(7_000_000_000));
        assert_eq!(storage.to_string(), "7 GB");
        assert_eq!(
            retention_storage(1_000, 1_000_000, 7, Some(3)).to_string(),
            "21 GB"
        );
    }

    #[test]
    fn partitions_round_up_and_cover_consumers() {
        assert_eq!(partitions(1001.0, 100.0, 1), Ok(11));
        assert_eq!(partitions(10.0, 100.0, 12), Ok(12));
        assert_eq!(partitions(0.0, 100.0, 0), Ok(1));
        assert!(partitions(10.0, 0.0, 1).is_err());
    }

    #[test]
    fn a_topic_is_sized_with_the_measured_inputs() {
        let demand = TopicDemand {
            topic: "raw-events".to_owned(),
            layer: "raw".to_owned(),
            target_eps: 1000.0,
            record_bytes: 1000,
            largest_group: 6,
            retention_days: 7,
        };
        let measured = Measured {
            partition_throughput_eps: 100.0,
            catch_up_eps_per_consumer: 500.0,
        };
        let sizing = Sizing {
            headroom: 1.5,
            brokers: 5,
            outage_seconds: 600.0,
        };
        let plan = plan_topic(&demand, measured, sizing).unwrap();
        // max(ceil(1500 / 100), 6) = 15, replicated min(5, 3) = 3 times.
        assert_eq!((plan.partitions, plan.replication_factor), (15, 3));
        // 1 KB × 1500/s × 86400 s × 7 days = 907.2 GB per copy.
        assert_eq!(plan.storage_bytes, 907_200_000_000);
        assert_eq!(plan.storage_bytes_replicated, 3 * 907_200_000_000);
        // 6 readers × 500/s drain 3000/s against 1500/s arriving: 900,000 records in 600 s.
        assert_eq!(plan.recovery.backlog_records, 900_000);
        assert_eq!(plan.recovery.seconds, Some(600.0));
    }

    #[test]
    fn a_group_slower_than_the_arrivals_never_recovers() {
        assert_eq!(recovery(1000.0, 60.0, 900.0).seconds, None);
        assert_eq!(recovery(1000.0, 60.0, 2000.0).seconds, Some(60.0));
    }

    #[test]
    fn the_knee_is_where_adding_partitions_stops_paying() {
        let points = [(1, 1000.0), (2, 1900.0), (4, 3500.0), (8, 3600.0)];
        assert_eq!(knee(&points, 0.1), Some(4));
        assert_eq!(knee(&points[..3], 0.1), None);
    }

    #[test]
    fn brokers_scale_with_the_ceiling() {
        assert_eq!(brokers_needed(1, 50_000.0, 100_000.0), 1);
        assert_eq!(brokers_needed(3, 250_000.0, 100_000.0), 8);
    }

    #[test]
    fn bytes_display_in_decimal_units() {
        assert_eq!(Bytes(999).to_string(), "999 B");
        assert_eq!(Bytes(1_500_000).to_string(), "1.50 MB");
    }
}
