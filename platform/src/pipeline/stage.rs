//! The pipeline as a stage of a run: its jobs submitted on a Flink session cluster and
//! watched until every task runs, their checkpoint statistics sampled once a second, the
//! jobs resubmitted from their newest checkpoints after a JobManager restart, and gold
//! stopped with a final watermark so that every window of the run closes.
//!
//! It never reads what the jobs wrote: the checker does.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use streamproof_result::{CheckpointPoint, PipelineJob};

use super::{
    latest_checkpoint, submit, submit_layer, FlinkEndpoint, FlinkRest, Guarantee, PipelineError,
    PipelineJobs, PipelineSettings, SqlGateway,
};
use crate::connection::KafkaConnection;
use crate::offsets::StartOffsets;
use crate::runtime::{AfterRestart, FLINK_VERSION};

/// The pipeline's Kafka output of bronze (the copy of raw).
pub const BRONZE_TOPIC: &str = "bronze-events";
/// The pipeline's dead-letter topic.
pub const DLQ_TOPIC: &str = "dlq-events";
/// How long the jobs may take from submission until every task runs (2 cores, 3 jobs).
const JOBS_START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long gold may take to read silver's last rows before it is stopped anyway.
const GOLD_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Seconds gold's read count must hold still to count as caught up (a restored job's count
/// starts at its restore, so it never reaches silver's row count).
const GOLD_STEADY_POLLS: u32 = 5;
/// How long the final savepoint of gold may take.
const GOLD_STOP_TIMEOUT: Duration = Duration::from_secs(90);

/// What starting the pipeline needs.
pub struct PipelineStart<'a> {
    /// Where the jobs run.
    pub flink: &'a FlinkEndpoint,
    /// The cluster the jobs read and write.
    pub connection: &'a KafkaConnection,
    /// What the SQL is rendered with.
    pub settings: PipelineSettings,
    /// Cancel the jobs when the stage ends: on a session cluster streamproof did not start,
    /// nothing else would.
    pub cancel_at_end: bool,
}

/// A running pipeline.
pub struct PipelineStage {
    flink: FlinkEndpoint,
    /// Replaced when the jobs are resubmitted after a JobManager restart.
    jobs: SharedJobs,
    settings: PipelineSettings,
    checkpoints: CheckpointSampler,
    cancel_at_end: AtomicBool,
    /// Where `bronze-events` stood before the jobs started.
    pub bronze_start: StartOffsets,
    /// Where `dlq-events` stood before the jobs started.
    pub dlq_start: StartOffsets,
}

/// How gold ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoldStop {
    /// Whether gold was stopped with a final watermark, so every window of the run fired.
    pub every_window_closed: bool,
    /// Records gold dropped as late (read just before the stop: a finished job has no
    /// metrics); 0 when Flink cannot say.
    pub late_dropped: u64,
}

/// The pipeline's current jobs (layer, job id).
type SharedJobs = Arc<Mutex<PipelineJobs>>;

fn current(jobs: &SharedJobs) -> Vec<(String, String)> {
    jobs.lock()
        .map(|jobs| jobs.jobs.clone())
        .unwrap_or_default()
}

impl PipelineStage {
    /// Notes where the pipeline's output topics stand, creates the catalog and tables,
    /// submits the bronze, silver and gold jobs and waits until every task runs.
    pub fn start(start: PipelineStart<'_>) -> Result<Self, PipelineError> {
        let snapshot = |topic: &str| {
            StartOffsets::snapshot(start.connection, &[topic]).map_err(|error| {
                PipelineError::Kafka {
                    action: format!("read {topic}' offsets"),
                    message: error.to_string(),
                }
            })
        };
        let bronze_start = snapshot(BRONZE_TOPIC)?;
        let dlq_start = snapshot(DLQ_TOPIC)?;
        let jobs = submit(&SqlGateway::new(&start.flink.gateway_url), &start.settings)?;
        FlinkRest::new(&start.flink.rest_url).wait_until_running(&jobs, JOBS_START_TIMEOUT)?;
        let jobs = Arc::new(Mutex::new(jobs));
        let checkpoints = CheckpointSampler::start(start.flink.rest_url.clone(), jobs.clone());
        Ok(PipelineStage {
            flink: start.flink.clone(),
            jobs,
            settings: start.settings,
            checkpoints,
            cancel_at_end: AtomicBool::new(start.cancel_at_end),
            bronze_start,
            dlq_start,
        })
    }

    /// What follows a restart of the JobManager: without high availability it comes back
    /// without jobs, so they are resubmitted from their newest completed checkpoints. None
    /// when the checkpoints are not where this process can read them.
    pub fn after_jobmanager_restart(&self) -> Option<Arc<dyn AfterRestart>> {
        let checkpoints = self.flink.checkpoints.clone()?;
        Some(Arc::new(JobRecovery {
            flink: self.flink.clone(),
            checkpoints,
            settings: self.settings.clone(),
            jobs: self.jobs.clone(),
        }))
    }

    /// What the SQL was rendered with.
    pub fn settings(&self) -> &PipelineSettings {
        &self.settings
    }

    /// The consumer group of the pipeline's Kafka source (its offsets are committed on
    /// checkpoints).
    pub fn source_group(&self) -> String {
        format!("{}-bronze", self.settings.prefix)
    }

    /// The engine, as the result names it.
    pub fn engine(&self) -> String {
        format!("flink {FLINK_VERSION}")
    }

    /// The pipeline's guarantee, as the bronze topic's mode in the result.
    pub fn mode(&self) -> String {
        format!("flink {}", self.settings.guarantee.name())
    }

    /// Every job's state and checkpoint statistics now.
    pub fn jobs(&self) -> Vec<PipelineJob> {
        let rest = FlinkRest::new(&self.flink.rest_url);
        current(&self.jobs)
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
            .collect()
    }

    /// Stops sampling checkpoints; returns the samples (once).
    pub fn checkpoint_series(&self) -> Vec<CheckpointPoint> {
        self.checkpoints.finish()
    }

    /// Records gold dropped as late so far, with gold still running.
    pub fn gold_late_dropped(&self) -> u64 {
        self.job("gold")
            .and_then(|job| {
                FlinkRest::new(&self.flink.rest_url)
                    .late_records_dropped(&job)
                    .ok()
            })
            .unwrap_or(0)
    }

    /// Stops gold with a final watermark once it has read silver (every one of
    /// `silver_rows`, or its count held still for a few seconds: a restored job counts from
    /// its restore only), so that every window of the run fires and is committed. Should the
    /// stop fail, gold keeps running and only its closed windows can be compared.
    pub fn close_gold_windows(&self, silver_rows: u64) -> GoldStop {
        let Some(job) = self.job("gold") else {
            return GoldStop {
                every_window_closed: false,
                late_dropped: 0,
            };
        };
        let rest = FlinkRest::new(&self.flink.rest_url);
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
        let late_dropped = self.gold_late_dropped();
        let every_window_closed = match rest.stop_draining(&job, GOLD_STOP_TIMEOUT) {
            Ok(_) => true,
            Err(error) => {
                eprintln!("warning: {error}; gold is compared up to its latest window only");
                false
            }
        };
        GoldStop {
            every_window_closed,
            late_dropped,
        }
    }

    /// The current job id of a layer.
    fn job(&self, layer: &str) -> Option<String> {
        current(&self.jobs)
            .into_iter()
            .find(|(name, _)| name == layer)
            .map(|(_, job)| job)
    }
}

impl Drop for PipelineStage {
    fn drop(&mut self) {
        if self.cancel_at_end.load(Ordering::Relaxed) {
            let rest = FlinkRest::new(&self.flink.rest_url);
            for (_, job) in current(&self.jobs) {
                // A job that already finished (gold, stopped with a savepoint) refuses; fine.
                let _ = rest.cancel(&job);
            }
        }
    }
}

impl Guarantee {
    /// The guarantee as scenarios and results name it.
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::ExactlyOnce => "exactly-once",
            Guarantee::AtLeastOnce => "at-least-once",
        }
    }
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

/// Resubmits the pipeline's jobs from their newest completed checkpoints after a JobManager
/// restart. Without high availability the JobManager forgets its jobs; their checkpoints stay
/// on disk (retained), so everything up to the newest one is recovered and everything after
/// it is replayed from Kafka and the Iceberg sources. Lost for good: nothing, as long as a
/// checkpoint completed; the jobs' ids, and their checkpoint and metric histories.
struct JobRecovery {
    flink: FlinkEndpoint,
    checkpoints: PathBuf,
    settings: PipelineSettings,
    jobs: SharedJobs,
}

impl JobRecovery {
    fn resubmit(&self) -> Result<String, PipelineError> {
        let rest = FlinkRest::new(&self.flink.rest_url);
        let lost = current(&self.jobs);
        rest.wait_for_slots(lost.len() as u64, JOBS_START_TIMEOUT)?;
        let gateway = SqlGateway::new(&self.flink.gateway_url);
        let mut resubmitted = PipelineJobs::default();
        let mut restored_from = Vec::new();
        for (layer, job) in &lost {
            let checkpoint = latest_checkpoint(&self.checkpoints, job).ok_or_else(|| {
                PipelineError::NoCheckpoint {
                    layer: layer.clone(),
                    job: job.clone(),
                }
            })?;
            let new_job = submit_layer(&gateway, &self.settings, layer, Some(&checkpoint))?
                .ok_or_else(|| PipelineError::NotRunning {
                    layer: layer.clone(),
                    state: "not started".to_owned(),
                    cause: "the resubmission started no job".to_owned(),
                })?;
            restored_from.push(format!(
                "{layer} from {}",
                checkpoint
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ));
            resubmitted.jobs.push((layer.clone(), new_job));
        }
        rest.wait_until_running(&resubmitted, JOBS_START_TIMEOUT)?;
        if let Ok(mut jobs) = self.jobs.lock() {
            *jobs = resubmitted;
        }
        Ok(format!("jobs resubmitted ({})", restored_from.join(", ")))
    }
}

impl AfterRestart for JobRecovery {
    fn recover(&self) -> Result<String, String> {
        self.resubmit().map_err(|error| error.to_string())
    }
}
