//! The pipeline of a run, verified: wait until the Iceberg tables hold what raw holds (or
//! the drain timeout), close gold's windows, then check `bronze-events`, the tables, the DLQ
//! and gold, and describe it all as result.json's `lakehouse` section.

use std::time::{Duration, Instant};

use streamproof_loadgen::ledger::{Ledger, SendId};
use streamproof_loadgen::spec::Rate;
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::pipeline::{PipelineStage, RawValues, BRONZE_TOPIC, DLQ_TOPIC};
use streamproof_result::{GoldWindows, Lakehouse, VerificationStep};

use super::LakehouseFindings;
use super::{check_lakehouse, expected_silver, BronzeText, LakehouseCheck, LakehouseCheckError};
use crate::bronze::{check_bronze, copies_downstream, BronzeCheck, BronzeFindings};
use crate::cost;
use crate::gold::{verify_gold, Closed, GoldFindings, GoldReplay};
use crate::lakehouse::{Warehouse, BRONZE, SILVER};

/// The DLQ is read to its end; this is how long a record may take to become visible.
const DLQ_TIMEOUT: Duration = Duration::from_secs(10);

/// A pipeline run to verify.
pub struct PipelineRun<'a> {
    /// The running pipeline (with the catalog its tables are in).
    pub stage: &'a PipelineStage,
    /// The cluster.
    pub connection: &'a KafkaConnection,
    /// The run id.
    pub run_id: &'a str,
    /// The generator's ledger.
    pub ledger: &'a Ledger,
    /// Copies of each send present in raw, from the raw check.
    pub raw_copies: &'a [Vec<u8>],
    /// Sends the platform removed from raw, from the raw check.
    pub removed: &'a [SendId],
    /// How long the tables may take to catch up.
    pub timeout: Duration,
    /// The run's events, replayed to recompute gold (open-loop runs).
    pub replay: &'a GoldReplay<'a>,
}

/// What the pipeline's verification found.
pub struct PipelineFindings {
    /// The `bronze-events` topic against raw.
    pub bronze_topic: BronzeFindings,
    /// The Iceberg tables and the DLQ.
    pub lakehouse: LakehouseFindings,
    /// Gold's closed windows against the ledger's recomputation (open-loop runs).
    pub gold: Option<GoldFindings>,
    /// What reading and recomputing gold cost (open-loop runs).
    pub gold_cost: Option<VerificationStep>,
    /// The result section.
    pub section: Lakehouse,
}

/// Waits until bronze holds every raw record of the run and silver every valid event (by
/// the tables' snapshot summaries), or the timeout; then verifies every layer. Blocking.
pub fn verify_pipeline(run: &PipelineRun<'_>) -> Result<PipelineFindings, LakehouseCheckError> {
    let started = Instant::now();
    let warehouse = Warehouse::of(&run.stage.settings().catalog);
    let bronze_expected: u64 = run.raw_copies.iter().flatten().map(|c| u64::from(*c)).sum();
    let silver_expected = expected_silver(run.ledger, run.run_id, run.raw_copies).len() as u64;
    let rows = |table: (&str, &str)| {
        warehouse
            .table_snapshot_summary(table.0, table.1)
            .ok()
            .flatten()
            .and_then(|s| s.total_records)
            .unwrap_or(0)
    };
    while started.elapsed() < run.timeout
        && (rows(BRONZE) < bronze_expected || rows(SILVER) < silver_expected)
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    let drain_seconds = started.elapsed().as_secs_f64();
    let (closed, late_dropped) = match run.replay.load.rate {
        Rate::Max | Rate::FindMax => (Closed::ThroughLatestRow, run.stage.gold_late_dropped()),
        Rate::PerSecond(_) => {
            let stop = run.stage.close_gold_windows(rows(SILVER));
            let closed = if stop.every_window_closed {
                Closed::Every
            } else {
                Closed::ThroughLatestRow
            };
            (closed, stop.late_dropped)
        }
    };
    let bronze_topic = check_bronze(&BronzeCheck {
        connection: run.connection,
        run_id: run.run_id,
        topic: BRONZE_TOPIC,
        ledger: run.ledger,
        raw_copies: run.raw_copies,
        removed: run.removed,
        start: &run.stage.bronze_start,
        drain_timeout: run
            .timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_secs(5)),
    })?;
    // Records the platform removed from raw after bronze copied them count downstream.
    let copies = copies_downstream(run.raw_copies, &bronze_topic.removed_present);
    let lakehouse = check_lakehouse(&LakehouseCheck {
        run_id: run.run_id,
        ledger: run.ledger,
        raw_copies: &copies,
        removed: run.removed,
        warehouse: &warehouse,
        connection: run.connection,
        dlq_topic: DLQ_TOPIC,
        dlq_start: &run.stage.dlq_start,
        timeout: DLQ_TIMEOUT,
        bronze_text: match run.stage.settings().values {
            RawValues::Json => BronzeText::Utf8,
            RawValues::Registered(_) => BronzeText::Latin1,
        },
    })?;
    let gold_started = Instant::now();
    let gold = match run.replay.load.rate {
        // Closed-loop runs have no schedule to replay send times from.
        Rate::Max | Rate::FindMax => None,
        Rate::PerSecond(_) => {
            let rows = warehouse.read_gold()?.rows;
            let window = run.stage.settings().window;
            Some(verify_gold(
                run.replay, run.ledger, &copies, window, &rows, closed,
            )?)
        }
    };
    let gold_cost = gold
        .as_ref()
        .map(|found| cost("gold.metrics", gold_started, found.gold_rows));
    let section = section(run, &lakehouse, gold.as_ref(), drain_seconds, late_dropped);
    Ok(PipelineFindings {
        bronze_topic,
        lakehouse,
        gold,
        gold_cost,
        section,
    })
}

fn section(
    run: &PipelineRun<'_>,
    found: &LakehouseFindings,
    gold: Option<&GoldFindings>,
    drain_seconds: f64,
    gold_late_dropped: u64,
) -> Lakehouse {
    let settings = run.stage.settings();
    Lakehouse {
        engine: run.stage.engine(),
        guarantee: settings.guarantee.name().to_owned(),
        checkpoint_interval_ms: settings.checkpoint_interval.as_millis() as u64,
        table_format: settings.catalog.table_format().name().to_owned(),
        warehouse: settings.catalog.location(),
        jobs: run.stage.jobs(),
        drain_seconds,
        bronze_rows: found.bronze_rows,
        bronze_expected: found.bronze.expected,
        bronze_missing: found.bronze.missing,
        bronze_duplicates: found.bronze.duplicates,
        bronze_corrupted: found.bronze.corrupted,
        silver_rows: found.silver_rows,
        silver_expected: found.silver_expected,
        silver_missing: found.silver_missing,
        silver_duplicates: found.silver_duplicates,
        silver_duplicate_ids: found.silver_duplicate_ids,
        silver_unexpected: found.silver_unexpected,
        dlq_expected: found.dlq_expected,
        dlq_present: found.dlq_present,
        dlq_missing: found.dlq_missing,
        dlq_duplicates: found.dlq_duplicates,
        dlq_unexpected: found.dlq_unexpected,
        gold: gold.map(|g| g.windows(gold_late_dropped)),
        checkpoint_series: run.stage.checkpoint_series(),
        silver_visible: found.silver_visible,
    }
}

impl GoldFindings {
    /// The result's summary of gold's windows, with the records gold dropped as late.
    pub fn windows(&self, late_dropped: u64) -> GoldWindows {
        GoldWindows {
            rows: self.gold_rows,
            windows_checked: self.windows_checked,
            windows_matching: self.windows_matching,
            windows_mismatched: self.windows_mismatched,
            windows_missing: self.windows_missing,
            windows_unexpected: self.windows_unexpected,
            windows_duplicated: self.windows_duplicated,
            windows_late_admitted: self.windows_late_admitted,
            windows_open: self.windows_open,
            late_excluded: self.late_excluded,
            late_dropped,
            replay_mismatches: self.replay_mismatches,
        }
    }
}
