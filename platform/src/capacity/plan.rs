//! A capacity plan from calibration measurements: the formulas of [`super`] fed with what the
//! cluster sustained at the objective, what its consumers drained, and the workload's demand.

use std::collections::BTreeMap;

use streamproof_result::plan::{
    BrokerPlan, CalibratedOn, Calibration, CapacityPlan, Objective, PartitionPoint, Storage,
    PLAN_VERSION,
};

use super::{brokers_needed, knee, plan_topic, CapacityError, Measured, Sizing, TopicDemand};

/// Adding partitions "pays" while it raises the sustainable rate by at least this share.
pub const KNEE_GAIN: f64 = 0.1;

/// Everything a plan is made of.
#[derive(Debug, Clone)]
pub struct PlanInputs {
    /// The plan's name.
    pub name: String,
    /// streamproof version making it.
    pub streamproof_version: String,
    /// When, RFC 3339 UTC.
    pub created_at: String,
    /// The calibrated cluster.
    pub calibrated_on: CalibratedOn,
    /// The objective every step was held to.
    pub objective: Objective,
    /// Growth factor.
    pub headroom: f64,
    /// Record size the steps sent.
    pub record_bytes: u64,
    /// One measured point per partition count, increasing.
    pub points: Vec<PartitionPoint>,
    /// The workload.
    pub demands: Vec<TopicDemand>,
    /// Consumer outage to plan recovery for, seconds.
    pub outage_seconds: f64,
}

/// Makes the plan. Fails when no point sustained any rate at the objective.
pub fn assemble_plan(inputs: PlanInputs) -> Result<CapacityPlan, CapacityError> {
    let calibration = calibration(&inputs)?;
    let planned_eps: f64 = inputs
        .demands
        .iter()
        .map(|d| d.target_eps * inputs.headroom)
        .sum();
    let brokers = BrokerPlan {
        calibrated: inputs.calibrated_on.brokers,
        planned_eps,
        ceiling_eps: calibration.cluster_ceiling_eps,
        needed: brokers_needed(
            inputs.calibrated_on.brokers,
            planned_eps,
            calibration.cluster_ceiling_eps,
        ),
    };
    let measured = Measured {
        partition_throughput_eps: calibration.partition_throughput_eps,
        catch_up_eps_per_consumer: calibration.catch_up_eps_per_consumer,
    };
    let sizing = Sizing {
        headroom: inputs.headroom,
        brokers: brokers.needed,
        outage_seconds: inputs.outage_seconds,
    };
    let topics = inputs
        .demands
        .iter()
        .map(|demand| plan_topic(demand, measured, sizing))
        .collect::<Result<Vec<_>, _>>()?;
    let mut storage_by_layer: BTreeMap<String, Storage> = BTreeMap::new();
    for topic in &topics {
        let layer = storage_by_layer.entry(topic.layer.clone()).or_default();
        layer.bytes += topic.storage_bytes;
        layer.bytes_replicated += topic.storage_bytes_replicated;
    }
    let notes = notes(&inputs, &calibration, &brokers);
    Ok(CapacityPlan {
        plan_version: PLAN_VERSION,
        name: inputs.name,
        streamproof_version: inputs.streamproof_version,
        created_at: inputs.created_at,
        calibrated_on: inputs.calibrated_on,
        objective: inputs.objective,
        headroom: inputs.headroom,
        calibration,
        topics,
        storage_by_layer,
        brokers,
        proof: None,
        notes,
    })
}

/// The measured inputs: per-partition throughput from the lowest point that sustained a rate,
/// the ceiling from the best point, the catch-up rate per consumer from the lowest point.
fn calibration(inputs: &PlanInputs) -> Result<Calibration, CapacityError> {
    let sustained: Vec<(u32, f64)> = inputs
        .points
        .iter()
        .filter_map(|p| p.sustainable_eps.map(|eps| (p.partitions, eps)))
        .collect();
    let &(partitions, eps) = sustained.first().ok_or(CapacityError::NothingSustained)?;
    let ceiling = sustained.iter().map(|p| p.1).fold(0.0, f64::max);
    let catch_up = inputs
        .points
        .iter()
        .find(|p| p.catch_up_eps > 0.0)
        .map_or(0.0, |p| {
            p.catch_up_eps / f64::from(p.catch_up_instances.max(1))
        });
    // A point that held every rate up to the search's ceiling has an unknown limit: it can
    // show neither a knee nor its absence.
    let bracketed: Vec<(u32, f64)> = inputs
        .points
        .iter()
        .filter(|p| p.search.lowest_failed_eps.is_some())
        .filter_map(|p| p.sustainable_eps.map(|eps| (p.partitions, eps)))
        .collect();
    Ok(Calibration {
        record_bytes: inputs.record_bytes,
        points: inputs.points.clone(),
        knee_partitions: knee(&bracketed, KNEE_GAIN),
        partition_throughput_eps: eps / f64::from(partitions),
        cluster_ceiling_eps: ceiling,
        catch_up_eps_per_consumer: catch_up,
    })
}

/// What the reader of the plan should keep in mind, from what was and was not measured.
fn notes(inputs: &PlanInputs, calibration: &Calibration, brokers: &BrokerPlan) -> Vec<String> {
    let mut notes = Vec::new();
    let largest = inputs.points.last().map_or(0, |p| p.partitions);
    match calibration.knee_partitions {
        Some(knee) => notes.push(format!(
            "Adding partitions stopped paying after {knee} on this cluster (less than {:.0}% more sustainable rate per step up); partitions beyond it add consumer parallelism, not throughput.",
            KNEE_GAIN * 100.0
        )),
        None if inputs.points.len() > 1 => notes.push(format!(
            "Every step up to {largest} partitions still raised the sustainable rate; calibrate with more partitions to find where it stops."
        )),
        None => notes.push(
            "Calibrated at one partition count only: the per-partition throughput is assumed to scale linearly.".to_owned(),
        ),
    }
    if brokers.needed > brokers.calibrated {
        notes.push(format!(
            "The planned {:.0} events/s exceed the calibrated cluster's ceiling of {:.0} events/s: {} brokers assumes throughput grows linearly with brokers; calibrate on a cluster of that size to confirm.",
            brokers.planned_eps, brokers.ceiling_eps, brokers.needed
        ));
    }
    if inputs.points.iter().any(|p| !p.catch_up_drained) {
        notes.push("The catch-up consumers did not read a whole backlog within their budget; the rate is what they reached meanwhile.".to_owned());
    }
    let unbounded: Vec<String> = inputs
        .points
        .iter()
        .filter(|p| p.search.lowest_failed_eps.is_none() && p.sustainable_eps.is_some())
        .map(|p| p.partitions.to_string())
        .collect();
    if !unbounded.is_empty() {
        notes.push(format!(
            "At {} partition(s) every rate tried held, up to the search's ceiling: the cluster's limit lies above it, so the per-partition throughput and the ceiling are lower bounds; raise calibration.search.ceiling to find it.",
            unbounded.join(", ")
        ));
    } else if inputs.points.iter().any(|p| !p.search.converged) {
        notes.push("At least one rate search ended by its step budget or ceiling rather than its precision; raise calibration.search.max_steps or ceiling for a tighter figure.".to_owned());
    }
    notes.push("Recovery assumes each consumer of a group drains at the measured per-consumer catch-up rate, at most one consumer per partition.".to_owned());
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamproof_result::RateSearch;

    fn point(partitions: u32, sustainable: Option<f64>, catch_up: f64) -> PartitionPoint {
        PartitionPoint {
            partitions,
            sustainable_eps: sustainable,
            per_partition_eps: sustainable.map(|s| s / f64::from(partitions)),
            search: RateSearch {
                max_sustainable_eps: sustainable,
                lowest_failed_eps: sustainable.map(|s| s * 1.1),
                converged: true,
                precision: 0.1,
                steps: Vec::new(),
            },
            catch_up_instances: partitions,
            catch_up_records: 1000,
            catch_up_eps: catch_up,
            catch_up_drained: true,
            results_dir: format!("calibration/p{partitions}"),
        }
    }

    fn inputs(points: Vec<PartitionPoint>) -> PlanInputs {
        PlanInputs {
            name: "orders".to_owned(),
            streamproof_version: "0".to_owned(),
            created_at: "now".to_owned(),
            calibrated_on: CalibratedOn {
                kind: "embedded".to_owned(),
                bootstrap_servers: "127.0.0.1:9092".to_owned(),
                brokers: 1,
                producer_profile: "reliability".to_owned(),
                consumer_profile: "exactly-once".to_owned(),
            },
            objective: Objective {
                produce_p99_ms: Some(50.0),
                end_to_end_p99_ms: None,
                min_throughput: 0.95,
            },
            headroom: 2.0,
            record_bytes: 1000,
            points,
            demands: vec![TopicDemand {
                topic: "raw-events".to_owned(),
                layer: "raw".to_owned(),
                target_eps: 30_000.0,
                record_bytes: 1000,
                largest_group: 4,
                retention_days: 7,
            }],
            outage_seconds: 600.0,
        }
    }

    #[test]
    fn the_plan_uses_the_measured_inputs() {
        let plan = assemble_plan(inputs(vec![
            point(1, Some(10_000.0), 20_000.0),
            point(2, Some(18_000.0), 36_000.0),
            point(4, Some(19_000.0), 50_000.0),
        ]))
        .unwrap();
        let calibration = &plan.calibration;
        assert_eq!(calibration.partition_throughput_eps, 10_000.0);
        assert_eq!(calibration.cluster_ceiling_eps, 19_000.0);
        assert_eq!(calibration.knee_partitions, Some(2));
        assert_eq!(calibration.catch_up_eps_per_consumer, 20_000.0);
        // 60,000 planned events/s on a cluster that sustains 19,000 with one broker.
        assert_eq!(plan.brokers.needed, 4);
        let topic = &plan.topics[0];
        // max(ceil(60000 / 10000), 4) = 6 partitions, replicated min(4, 3) = 3 times.
        assert_eq!((topic.partitions, topic.replication_factor), (6, 3));
        assert_eq!(plan.storage_by_layer["raw"].bytes, topic.storage_bytes);
        assert!(plan.notes.iter().any(|n| n.contains("4 brokers")));
    }

    #[test]
    fn a_point_that_held_up_to_the_ceiling_shows_no_knee_and_says_so() {
        let mut unbounded = point(2, Some(16_000.0), 30_000.0);
        unbounded.search.lowest_failed_eps = None;
        let plan =
            assemble_plan(inputs(vec![point(1, Some(16_000.0), 20_000.0), unbounded])).unwrap();
        assert_eq!(plan.calibration.knee_partitions, None);
        assert!(
            plan.notes
                .iter()
                .any(|n| n.contains("At 2 partition(s)") && n.contains("lower bounds")),
            "{:?}",
            plan.notes
        );
    }

    #[test]
    fn a_plan_needs_a_sustained_rate() {
        let error = assemble_plan(inputs(vec![point(1, None, 0.0)])).unwrap_err();
        assert_eq!(error, CapacityError::NothingSustained);
    }
}
