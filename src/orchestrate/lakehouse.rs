//! The Flink pipeline as a stage of a run: the embedded Flink cluster started and the
//! bronze, silver and gold jobs submitted before the load, drained after it (until the Iceberg
//! tables hold what raw holds), and the lakehouse verified against the ledger.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use streamproof_chaos::injector::{AfterRestart, SharedProcess};
use streamproof_chaos::spec::PlatformProcess;
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_loadgen::ledger::{Ledger, SendId};
use streamproof_loadgen::spec::{LoadSpec, Rate};
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::pipeline::{
    self, FlinkRest, Guarantee, PipelineJobs, PipelineSettings, SqlGateway,
};
use streamproof_platform::runtime::{
    default_cache_root, FlinkCluster, FlinkDistribution, FlinkSpec, Lifetime, FLINK_VERSION,
};
use streamproof_reports::result::{CheckpointPoint, GoldWindows, Lakehouse, PipelineJob};
use streamproof_result::VerificationStep;
use streamproof_verify::bronze::{check_bronze, copies_downstream, BronzeCheck, BronzeFindings};
use streamproof_verify::cost;
use streamproof_verify::gold::{verify_gold, Closed, GoldFindings, GoldReplay, SendTimes};
use streamproof_verify::lakehouse::{Warehouse, BRONZE, SILVER};
use streamproof_verify::pipeline::{
    check_lakehouse, expected_silver, LakehouseCheck, LakehouseFindings,
};

use crate::scenario::PipelineSection;

const BRONZE_TOPIC: &str = "bronze-events";
const DLQ_TOPIC: &str = "dlq-events";
/// How long the jobs may take from submission until every task runs (2 cores, 3 jobs).
const JOBS_START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long gold may take to read silver's last rows before it is stopped anyway.
const GOLD_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Seconds gold's read count must hold still to count as caught up (a restored job's count
/// starts at its restore, so it never reaches silver's row count).
const GOLD_STEADY_POLLS: u32 = 5;
/// How long the final savepoint of gold may take.
const GOLD_STOP_TIMEOUT: Duration = Duration::from_secs(90);

/// A running pipeline and what its verification needs.
pub struct PipelineStage {
    cluster: FlinkCluster,
    /// Replaced when the jobs are resubmitted after a JobManager restart.
    jobs: SharedJobs,
    connection: KafkaConnection,
    settings: PipelineSettings,
    warehouse: PathBuf,
    bronze_start: StartOffsets,
    dlq_start: StartOffsets,
    checkpoints: CheckpointSampler,
}

/// The pipeline's current jobs (layer, job id).
type SharedJobs = Arc<Mutex<PipelineJobs>>;

fn current(jobs: &SharedJobs) -> Vec<(String, String)> {
    jobs.lock()
        .map(|jobs| jobs.jobs.clone())
        .unwrap_or_default()
}

/// Samples every job's checkpoint statistics once a second on a thread of its own.
struct CheckpointSampler {
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<Vec<CheckpointPoint>>>>,
}

impl CheckpointSampler {
    fn start(rest_url: String, jobs: SharedJobs) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let rest = FlinkRest::new(&rest_url);
            let mut points = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let unix_ms = chrono::Utc::now().timestamp_millis();
                for (layer, job) in &current(&jobs) {
                    if let Ok(stats) = rest.checkpoints(job) {
                        points.push(CheckpointPoint {
                            unix_ms,
                            layer: layer.clone(),
                            completed: stats.completed,
                            failed: stats.failed,
                            restored: stats.restored,
                            latest_duration_ms: stats.latest_duration_ms,
                            latest_size_bytes: stats.latest_size_bytes,
                        });
                    }
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            points
        });
        CheckpointSampler {
            stop,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Stops sampling; returns the points (once).
    fn finish(&self) -> Vec<CheckpointPoint> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .lock()
            .ok()
            .and_then(|mut thread| thread.take())
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for CheckpointSampler {
    fn drop(&mut self) {
        self.finish();
    }
}

/// What gold's recomputation needs from the run: the load as planned and its clock.
pub struct GoldInputsOfRun<'a> {
    /// The scenario's load.
    pub load: &'a LoadSpec,
    /// The scenario seed.
    pub seed: u64,
    /// The run clock's start, µs since the epoch.
    pub start_unix_us: i64,
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

impl PipelineStage {
    /// Starts Flink on `base_port`, its processes living as `lifetime` says, and submits the
    /// pipeline's jobs.
    pub fn start(
        section: &PipelineSection,
        connection: &KafkaConnection,
        run_id: &str,
        out: &Path,
        base_port: u16,
        lifetime: Lifetime,
    ) -> Result<Self> {
        let distribution = FlinkDistribution::ensure(&default_cache_root())
            .context("prepare the Flink distribution")?;
        let spec = FlinkSpec {
            dir: out.join("flink"),
            base_port,
            lifetime,
            ..FlinkSpec::default()
        };
        eprintln!(
            "starting Flink {FLINK_VERSION} (JobManager, TaskManager, SQL Gateway) on 127.0.0.1:{base_port}…"
        );
        let cluster = FlinkCluster::up(&spec, &distribution).context("start Flink")?;
        let warehouse = cluster.spec.dir.with_file_name("warehouse");
        std::fs::create_dir_all(&warehouse)
            .with_context(|| format!("create `{}`", warehouse.display()))?;
        let bronze_start = StartOffsets::snapshot(connection, &[BRONZE_TOPIC])
            .context("read bronze-events' offsets")?;
        let dlq_start =
            StartOffsets::snapshot(connection, &[DLQ_TOPIC]).context("read dlq-events' offsets")?;
        let settings = PipelineSettings {
            bootstrap: connection.bootstrap_servers().to_owned(),
            warehouse: warehouse.clone(),
            checkpoint_interval: section.checkpoint_interval,
            guarantee: section.guarantee,
            dedup_ttl: section.dedup_ttl,
            window: section.window,
            watermark_delay: section.watermark_delay,
            prefix: format!("streamproof-{}", &run_id[..8]),
        };
        eprintln!("submitting the pipeline (bronze, silver, gold) through the SQL Gateway…");
        let jobs = pipeline::submit(&SqlGateway::new(&cluster.spec.gateway_url()), &settings)
            .context("submit the pipeline")?;
        eprintln!("waiting for every task of the pipeline to run…");
        FlinkRest::new(&cluster.spec.rest_url())
            .wait_until_running(&jobs, JOBS_START_TIMEOUT)
            .context("start the pipeline's jobs")?;
        let jobs = Arc::new(Mutex::new(jobs));
        let checkpoints = CheckpointSampler::start(cluster.spec.rest_url(), jobs.clone());
        Ok(PipelineStage {
            cluster,
            jobs,
            connection: connection.clone(),
            settings,
            warehouse,
            bronze_start,
            dlq_start,
            checkpoints,
        })
    }

    /// What follows a restart of the JobManager: without high availability it comes back
    /// without jobs, so they are resubmitted from their newest completed checkpoints.
    pub fn after_restart(&self) -> Vec<(PlatformProcess, Arc<dyn AfterRestart>)> {
        let recovery = JobRecovery {
            rest_url: self.cluster.spec.rest_url(),
            gateway_url: self.cluster.spec.gateway_url(),
            checkpoints: self.cluster.spec.dir.join("checkpoints"),
            settings: self.settings.clone(),
            jobs: self.jobs.clone(),
        };
        vec![(PlatformProcess::JobManager, Arc::new(recovery))]
    }

    /// The Flink processes faults may act on.
    pub fn processes(&self) -> Vec<(PlatformProcess, SharedProcess)> {
        vec![
            (
                PlatformProcess::TaskManager,
                self.cluster.taskmanager.clone(),
            ),
            (PlatformProcess::JobManager, self.cluster.jobmanager.clone()),
        ]
    }

    /// Waits until bronze holds every raw record of the run and silver every valid event
    /// (by the tables' snapshot summaries), or `timeout`; then verifies.
    pub fn drain_and_verify(
        &self,
        run_id: &str,
        ledger: &Ledger,
        raw_copies: &[Vec<u8>],
        removed: &[SendId],
        timeout: Duration,
        run: &GoldInputsOfRun<'_>,
    ) -> Result<PipelineFindings> {
        let started = Instant::now();
        let bronze_expected: u64 = raw_copies.iter().flatten().map(|c| u64::from(*c)).sum();
        let silver_expected = expected_silver(ledger, run_id, raw_copies).len() as u64;
        let warehouse = Warehouse::new(&self.warehouse);
        let rows = |table: (&str, &str)| {
            warehouse
                .table_snapshot_summary(table.0, table.1)
                .ok()
                .flatten()
                .and_then(|s| s.total_records)
                .unwrap_or(0)
        };
        while started.elapsed() < timeout
            && (rows(BRONZE) < bronze_expected || rows(SILVER) < silver_expected)
        {
            std::thread::sleep(Duration::from_millis(500));
        }
        let drain_seconds = started.elapsed().as_secs_f64();
        let rest = FlinkRest::new(&self.cluster.spec.rest_url());
        let (closed, gold_late_dropped) = match run.load.rate {
            Rate::Max => (Closed::ThroughLatestRow, self.gold_late_dropped(&rest)),
            Rate::PerSecond(_) => self.close_gold_windows(&rest, rows(SILVER)),
        };
        let bronze_topic = check_bronze(&BronzeCheck {
            connection: &self.connection,
            run_id,
            topic: BRONZE_TOPIC,
            ledger,
            raw_copies,
            removed,
            start: &self.bronze_start,
            drain_timeout: timeout
                .saturating_sub(started.elapsed())
                .max(Duration::from_secs(5)),
        })
        .context("verify bronze-events")?;
        // Records the platform removed from raw after bronze copied them count downstream.
        let copies = copies_downstream(raw_copies, &bronze_topic.removed_present);
        let raw_copies = copies.as_slice();
        let lakehouse = check_lakehouse(&LakehouseCheck {
            run_id,
            ledger,
            raw_copies,
            removed,
            warehouse: &warehouse,
            connection: &self.connection,
            dlq_topic: DLQ_TOPIC,
            dlq_start: &self.dlq_start,
            timeout: Duration::from_secs(10),
        })
        .context("verify the lakehouse")?;
        let gold_started = Instant::now();
        let gold = self.verify_gold(&warehouse, run_id, ledger, raw_copies, run, closed)?;
        let gold_cost = gold
            .as_ref()
            .map(|found| cost("gold.metrics", gold_started, found.gold_rows));
        let section = self.section(&lakehouse, gold.as_ref(), drain_seconds, gold_late_dropped);
        Ok(PipelineFindings {
            bronze_topic,
            lakehouse,
            gold,
            gold_cost,
            section,
        })
    }

    /// Replays the run's events and compares gold's closed windows with them. Closed-loop
    /// runs have no schedule to replay send times from, so gold is not recomputed there.
    fn verify_gold(
        &self,
        warehouse: &Warehouse,
        run_id: &str,
        ledger: &Ledger,
        raw_copies: &[Vec<u8>],
        run: &GoldInputsOfRun<'_>,
        closed: Closed,
    ) -> Result<Option<GoldFindings>> {
        if run.load.rate == Rate::Max {
            return Ok(None);
        }
        let rows = warehouse.read_gold().context("read gold.metrics")?.rows;
        let replay = GoldReplay {
            load: run.load,
            seed: run.seed,
            run_id,
            times: SendTimes::OpenLoop {
                start_unix_us: run.start_unix_us,
            },
        };
        let found = verify_gold(
            &replay,
            ledger,
            raw_copies,
            self.settings.window,
            &rows,
            closed,
        )
        .context("recompute gold from the ledger")?;
        Ok(Some(found))
    }

    fn section(
        &self,
        found: &LakehouseFindings,
        gold: Option<&GoldFindings>,
        drain_seconds: f64,
        gold_late_dropped: u64,
    ) -> Lakehouse {
        let rest = FlinkRest::new(&self.cluster.spec.rest_url());
        let jobs = current(&self.jobs)
            .iter()
            .map(|(layer, job)| {
                let stats = rest.checkpoints(job).unwrap_or_default();
                PipelineJob {
                    layer: layer.clone(),
                    job_id: job.clone(),
                    state: rest.job_state(job).unwrap_or_else(|_| "UNKNOWN".to_owned()),
                    checkpoints_completed: stats.completed,
                    checkpoints_failed: stats.failed,
                    restored: stats.restored,
                    latest_checkpoint_ms: stats.latest_duration_ms,
                    latest_checkpoint_bytes: stats.latest_size_bytes,
                }
            })
            .collect();
        Lakehouse {
            engine: format!("flink {FLINK_VERSION}"),
            guarantee: guarantee_name(self.settings.guarantee).to_owned(),
            checkpoint_interval_ms: self.settings.checkpoint_interval.as_millis() as u64,
            warehouse: self.warehouse.display().to_string(),
            jobs,
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
            gold: gold.map(|g| GoldWindows {
                rows: g.gold_rows,
                windows_checked: g.windows_checked,
                windows_matching: g.windows_matching,
                windows_mismatched: g.windows_mismatched,
                windows_missing: g.windows_missing,
                windows_unexpected: g.windows_unexpected,
                windows_duplicated: g.windows_duplicated,
                windows_late_admitted: g.windows_late_admitted,
                windows_open: g.windows_open,
                late_excluded: g.late_excluded,
                late_dropped: gold_late_dropped,
                replay_mismatches: g.replay_mismatches,
            }),
            checkpoint_series: self.checkpoints.finish(),
            silver_visible: found.silver_visible,
        }
    }

    /// The consumer group of the pipeline's Kafka source (its offsets are committed on
    /// checkpoints).
    pub fn source_group(&self) -> String {
        format!("{}-bronze", self.settings.prefix)
    }

    /// Leaves Flink and its jobs running for `streamproof down`.
    pub fn keep_running(self) {
        let rest = self.cluster.spec.rest_url();
        self.cluster.detach();
        eprintln!(
            "the pipeline keeps running (Flink's web UI and REST API at {rest}); gold was stopped with a final watermark to close its windows"
        );
    }

    /// Stops gold with a final watermark once it has read silver (every silver row, or its
    /// count held still for a few seconds: a restored job counts from its restore only), so
    /// that every window of the run fires and is committed; `Closed::Every` then. Should the
    /// stop fail, gold keeps running and only its closed windows are compared. Also returns
    /// the records gold dropped as late, read just before the stop (a finished job has no
    /// metrics).
    fn close_gold_windows(&self, rest: &FlinkRest, silver_rows: u64) -> (Closed, u64) {
        let Some(job) = self.job("gold") else {
            return (Closed::ThroughLatestRow, 0);
        };
        let deadline = Instant::now() + GOLD_READ_TIMEOUT;
        let (mut last, mut steady) = (None, 0);
        while Instant::now() < deadline {
            let read = rest.source_records_out(&job).ok();
            if read.is_some_and(|read| read >= silver_rows) || steady >= GOLD_STEADY_POLLS {
                break;
            }
            steady = if read == last { steady + 1 } else { 0 };
            last = read;
            std::thread::sleep(Duration::from_secs(1));
        }
        let late_dropped = self.gold_late_dropped(rest);
        let closed = match rest.stop_draining(&job, GOLD_STOP_TIMEOUT) {
            Ok(_) => Closed::Every,
            Err(error) => {
                eprintln!("warning: {error}; gold is compared up to its latest window only");
                Closed::ThroughLatestRow
            }
        };
        (closed, late_dropped)
    }

    /// Records gold's windows dropped as late; 0 when Flink cannot say.
    fn gold_late_dropped(&self, rest: &FlinkRest) -> u64 {
        self.job("gold")
            .and_then(|job| rest.late_records_dropped(&job).ok())
            .unwrap_or(0)
    }

    /// The current job id of a layer.
    fn job(&self, layer: &str) -> Option<String> {
        current(&self.jobs)
            .into_iter()
            .find(|(name, _)| name == layer)
            .map(|(_, job)| job)
    }

    /// The pipeline's guarantee, as the bronze topic's mode in the result.
    pub fn mode(&self) -> String {
        format!("flink {}", guarantee_name(self.settings.guarantee))
    }
}

fn guarantee_name(guarantee: Guarantee) -> &'static str {
    match guarantee {
        Guarantee::ExactlyOnce => "exactly-once",
        Guarantee::AtLeastOnce => "at-least-once",
    }
}

/// Resubmits the pipeline's jobs from their newest completed checkpoints after a JobManager
/// restart. Without high availability the JobManager forgets its jobs; their checkpoints stay
/// on disk (retained), so everything up to the newest one is recovered and everything after
/// it is replayed from Kafka and the Iceberg sources. Lost for good: nothing, as long as a
/// checkpoint completed; the jobs' ids, and their checkpoint and metric histories.
struct JobRecovery {
    rest_url: String,
    gateway_url: String,
    checkpoints: PathBuf,
    settings: PipelineSettings,
    jobs: SharedJobs,
}

impl JobRecovery {
    fn resubmit(&self) -> Result<String> {
        let rest = FlinkRest::new(&self.rest_url);
        let lost = current(&self.jobs);
        rest.wait_for_slots(lost.len() as u64, JOBS_START_TIMEOUT)
            .context("wait for the TaskManager")?;
        let gateway = SqlGateway::new(&self.gateway_url);
        let mut resubmitted = PipelineJobs::default();
        let mut restored_from = Vec::new();
        for (layer, job) in &lost {
            let checkpoint =
                pipeline::latest_checkpoint(&self.checkpoints, job).with_context(|| {
                    format!("the {layer} job ({job}) completed no checkpoint to restore from")
                })?;
            let new_job =
                pipeline::submit_layer(&gateway, &self.settings, layer, Some(&checkpoint))
                    .with_context(|| format!("resubmit the {layer} job"))?
                    .with_context(|| format!("the {layer} job's resubmission started no job"))?;
            restored_from.push(format!(
                "{layer} from {}",
                checkpoint
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ));
            resubmitted.jobs.push((layer.clone(), new_job));
        }
        rest.wait_until_running(&resubmitted, JOBS_START_TIMEOUT)
            .context("run the resubmitted jobs")?;
        if let Ok(mut jobs) = self.jobs.lock() {
            *jobs = resubmitted;
        }
        Ok(format!("jobs resubmitted ({})", restored_from.join(", ")))
    }
}

impl AfterRestart for JobRecovery {
    fn recover(&self) -> Result<String, String> {
        self.resubmit().map_err(|error| format!("{error:#}"))
    }
}
