//! The checker's findings as result.json's sections and as the counts the expectations
//! judge: the copier's bronze section, the layers' counts, what each layer's verification
//! cost and the examples of every anomaly.

use std::collections::BTreeMap;

use streamproof_result::{AnomalyExample, Bronze, Verification, VerificationStep};

use crate::bronze::BronzeFindings;
use crate::expect::{BronzeCounts, LakehouseCounts};
use crate::kafka::KafkaFindings;
use crate::pipeline::PipelineFindings;

impl BronzeFindings {
    /// The counts bronze's expectations judge.
    pub fn counts(&self) -> BronzeCounts {
        BronzeCounts {
            missing: self.missing,
            duplicates: self.duplicates,
            corrupted: self.corrupted,
        }
    }

    /// The result's bronze section, for a copier in `mode`.
    pub fn section(&self, mode: &str) -> Bronze {
        Bronze {
            copier_mode: mode.to_owned(),
            expected: self.expected,
            present: self.present,
            missing: self.missing,
            duplicates: self.duplicates,
            corrupted: self.corrupted,
            foreign: self.foreign,
        }
    }
}

impl PipelineFindings {
    /// The counts the lakehouse's expectations judge.
    pub fn counts(&self) -> LakehouseCounts {
        let found = &self.lakehouse;
        LakehouseCounts {
            bronze: found.bronze.counts(),
            silver_missing: found.silver_missing,
            silver_duplicates: found.silver_duplicates,
            silver_unexpected: found.silver_unexpected,
            dlq_missing: found.dlq_missing,
            dlq_duplicates: found.dlq_duplicates,
            dlq_unexpected: found.dlq_unexpected,
            gold_windows_wrong: self.gold.as_ref().map_or(0, |gold| {
                gold.windows_mismatched
                    + gold.windows_missing
                    + gold.windows_unexpected
                    + gold.windows_duplicated
                    + gold.replay_mismatches
            }),
            gold_late_dropped: self
                .section
                .gold
                .as_ref()
                .map_or(0, |gold| gold.late_dropped),
        }
    }
}

/// What each layer's verification read and cost, in the order the run verified them, and
/// where each raw partition stood.
pub fn verification(
    raw: &KafkaFindings,
    bronze_topic: Option<&BronzeFindings>,
    pipeline: Option<&PipelineFindings>,
) -> Verification {
    let raw_step = VerificationStep {
        layer: "raw".to_owned(),
        seconds: raw.read_seconds,
        records_read: raw.records_read,
    };
    let bronze_step = bronze_topic.map(|found| VerificationStep {
        layer: "bronze-events".to_owned(),
        seconds: found.read_seconds,
        records_read: found.records_read,
    });
    let lakehouse_steps = pipeline.into_iter().flat_map(|found| {
        found
            .lakehouse
            .costs
            .iter()
            .cloned()
            .chain(found.gold_cost.clone())
    });
    Verification {
        steps: std::iter::once(raw_step)
            .chain(bronze_step)
            .chain(lakehouse_steps)
            .collect(),
        raw_partitions: raw.partitions.clone(),
    }
}

/// Examples of every anomaly: raw, the `bronze-events` topic, the tables.
pub fn anomalies(
    raw: &KafkaFindings,
    bronze_topic: Option<&BronzeFindings>,
    pipeline: Option<&PipelineFindings>,
) -> BTreeMap<String, Vec<AnomalyExample>> {
    let mut all = raw.examples.clone();
    if let Some(found) = bronze_topic {
        all.extend(found.examples.clone());
    }
    if let Some(found) = pipeline {
        all.extend(found.lakehouse.bronze.examples.clone());
        all.extend(found.lakehouse.examples.clone());
    }
    all
}
