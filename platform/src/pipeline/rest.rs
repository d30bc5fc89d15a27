//! Flink's REST API, for watching jobs: their state and tasks, checkpoint statistics,
//! metrics, and stopping with a final savepoint.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{PipelineError, PipelineJobs};

/// A job's state and how many of its tasks run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobProgress {
    /// `RUNNING`, `RESTARTING`, `FAILED`, …
    pub state: String,
    /// Tasks of the job (every vertex's parallelism).
    pub tasks: u64,
    /// Of those, running.
    pub running: u64,
}

impl JobProgress {
    /// Whether the job and every one of its tasks run.
    pub fn is_running(&self) -> bool {
        self.state == "RUNNING" && self.tasks > 0 && self.running == self.tasks
    }
}

impl std::fmt::Display for JobProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} of {} tasks running)",
            self.state, self.running, self.tasks
        )
    }
}

/// Checkpoint statistics of one job, from Flink's REST API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckpointStats {
    /// Completed checkpoints.
    pub completed: u64,
    /// Failed checkpoints.
    pub failed: u64,
    /// Times the job restored from a checkpoint.
    pub restored: u64,
    /// Duration of the latest completed checkpoint, ms.
    pub latest_duration_ms: u64,
    /// State size of the latest completed checkpoint, bytes.
    pub latest_size_bytes: u64,
}

/// Flink's REST API (monitoring).
pub struct FlinkRest {
    url: String,
}

impl FlinkRest {
    /// A client of the REST API at `url` (e.g. `http://127.0.0.1:8081`).
    pub fn new(url: &str) -> Self {
        FlinkRest {
            url: url.trim_end_matches('/').to_owned(),
        }
    }

    fn get(&self, path: &str) -> Result<Value, PipelineError> {
        crate::runtime::get_json(&format!("{}{path}", self.url)).map_err(|message| {
            PipelineError::Http {
                action: format!("GET {}{path}", self.url),
                message,
            }
        })
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, PipelineError> {
        let url = format!("{}{path}", self.url);
        crate::runtime::post_json(&url, body).map_err(|message| PipelineError::Http {
            action: format!("POST {url}"),
            message,
        })
    }

    /// The TaskManagers registered now: each one's resource id and host (from its RPC
    /// address, e.g. `pekko.tcp://flink@10.0.0.5:6122/user/rpc/taskmanager_0`).
    pub fn taskmanagers(&self) -> Result<Vec<(String, String)>, PipelineError> {
        let listed = self.get("/taskmanagers")?;
        Ok(listed["taskmanagers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|tm| {
                let id = tm["id"].as_str().unwrap_or_default().to_owned();
                let host = tm["path"]
                    .as_str()
                    .and_then(|path| path.split_once('@'))
                    .and_then(|(_, rest)| rest.split([':', '/']).next())
                    .unwrap_or_default()
                    .to_owned();
                (id, host)
            })
            .collect())
    }

    /// The host of the REST address.
    pub fn host(&self) -> String {
        let without_scheme = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, rest)| rest);
        without_scheme
            .split(['/', ':'])
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// Records the job's first vertex (its sources, with what is chained to them) has sent
    /// downstream since its tasks last started.
    pub fn source_records_out(&self, job: &str) -> Result<u64, PipelineError> {
        let details = self.get(&format!("/jobs/{job}"))?;
        Ok(details["vertices"][0]["metrics"]["write-records"]
            .as_u64()
            .unwrap_or(0))
    }

    /// Stops the job with a final savepoint, draining it first: its sources emit the
    /// greatest watermark, so every event-time window fires and the sinks commit it. Returns
    /// the savepoint's location once the job has finished.
    pub fn stop_draining(&self, job: &str, timeout: Duration) -> Result<String, PipelineError> {
        let trigger = self.post(&format!("/jobs/{job}/stop"), json!({"drain": true}))?;
        let request = trigger["request-id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let deadline = Instant::now() + timeout;
        let failed = |cause: String| PipelineError::Stop {
            job: job.to_owned(),
            cause,
        };
        loop {
            let status = self.get(&format!("/jobs/{job}/savepoints/{request}"))?;
            if status["status"]["id"] == "COMPLETED" {
                let operation = &status["operation"];
                return match operation["location"].as_str() {
                    Some(location) => {
                        // The job's state is served from a cache that lags by seconds.
                        while self.job_state(job)? != "FINISHED" && Instant::now() < deadline {
                            std::thread::sleep(Duration::from_millis(250));
                        }
                        Ok(location.to_owned())
                    }
                    None => Err(failed(
                        operation["failure-cause"]["stack-trace"]
                            .as_str()
                            .and_then(|trace| trace.lines().next())
                            .unwrap_or("the savepoint failed")
                            .to_owned(),
                    )),
                };
            }
            if Instant::now() >= deadline {
                return Err(failed(format!(
                    "no final savepoint after {}s",
                    timeout.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Cancels the job (its state is discarded; what its sinks committed stays).
    pub fn cancel(&self, job: &str) -> Result<(), PipelineError> {
        crate::runtime::patch(&format!("{}/jobs/{job}?mode=cancel", self.url)).map_err(|message| {
            PipelineError::Http {
                action: format!("cancel job {job}"),
                message,
            }
        })
    }

    /// The job's state (`RUNNING`, `RESTARTING`, `FAILED`, …).
    pub fn job_state(&self, job: &str) -> Result<String, PipelineError> {
        Ok(self.get(&format!("/jobs/{job}"))?["state"]
            .as_str()
            .unwrap_or("UNKNOWN")
            .to_owned())
    }

    /// The job's state and how many of its tasks run.
    pub fn job_progress(&self, job: &str) -> Result<JobProgress, PipelineError> {
        let details = self.get(&format!("/jobs/{job}"))?;
        let vertices = details["vertices"].as_array().cloned().unwrap_or_default();
        let count = |vertex: &Value, field: &str| vertex[field].as_u64().unwrap_or(0);
        Ok(JobProgress {
            state: details["state"].as_str().unwrap_or("UNKNOWN").to_owned(),
            tasks: vertices.iter().map(|v| count(v, "parallelism")).sum(),
            running: vertices.iter().map(|v| count(&v["tasks"], "RUNNING")).sum(),
        })
    }

    /// The root exception Flink recorded for the job, if any.
    pub fn root_exception(&self, job: &str) -> Result<Option<String>, PipelineError> {
        let exceptions = self.get(&format!("/jobs/{job}/exceptions"))?;
        Ok(exceptions["root-exception"]
            .as_str()
            .and_then(|trace| trace.lines().next())
            .map(str::to_owned))
    }

    /// Records the job's window operators dropped as late (arrived after their window
    /// fired), summed over every subtask since the job's tasks last started.
    pub fn late_records_dropped(&self, job: &str) -> Result<u64, PipelineError> {
        const METRIC: &str = ".numLateRecordsDropped";
        let details = self.get(&format!("/jobs/{job}"))?;
        let mut dropped = 0;
        for vertex in details["vertices"].as_array().into_iter().flatten() {
            let Some(vertex) = vertex["id"].as_str() else {
                continue;
            };
            let path = format!("/jobs/{job}/vertices/{vertex}/metrics");
            let ids: Vec<String> = self
                .get(&path)?
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|metric| metric["id"].as_str())
                .filter(|id| id.ends_with(METRIC))
                .map(str::to_owned)
                .collect();
            if ids.is_empty() {
                continue;
            }
            let values = self.get(&format!("{path}?get={}", ids.join(",")))?;
            dropped += values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|metric| metric["value"].as_str()?.parse::<u64>().ok())
                .sum::<u64>();
        }
        Ok(dropped)
    }

    /// Waits until every task of every job runs, so that the load starts on a pipeline that
    /// reads it (a source that starts late catches up partition by partition, and the
    /// reordering can exceed gold's watermark delay). A failed job is an error at once.
    pub fn wait_until_running(
        &self,
        jobs: &PipelineJobs,
        timeout: Duration,
    ) -> Result<(), PipelineError> {
        let deadline = Instant::now() + timeout;
        for (layer, job) in &jobs.jobs {
            loop {
                // A JobManager busy deploying may not answer every poll in time.
                let progress = match self.job_progress(job) {
                    Ok(progress) => progress,
                    Err(error) if Instant::now() >= deadline => return Err(error),
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(250));
                        continue;
                    }
                };
                if progress.is_running() {
                    break;
                }
                let failed = matches!(progress.state.as_str(), "FAILED" | "CANCELED" | "FINISHED");
                if failed || Instant::now() >= deadline {
                    let cause = match self.root_exception(job)? {
                        Some(cause) => cause,
                        None if failed => "no exception recorded".to_owned(),
                        None => format!("still starting after {}s", timeout.as_secs()),
                    };
                    return Err(PipelineError::NotRunning {
                        layer: layer.clone(),
                        state: progress.to_string(),
                        cause,
                    });
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        Ok(())
    }

    /// Waits until the JobManager answers and its TaskManagers offer at least `slots` free
    /// slots (a restarted JobManager's TaskManager frees the slots of the jobs it lost only
    /// after its heartbeat to the old one times out).
    pub fn wait_for_slots(&self, slots: u64, timeout: Duration) -> Result<(), PipelineError> {
        let deadline = Instant::now() + timeout;
        loop {
            let free = self
                .get("/overview")
                .map(|overview| overview["slots-available"].as_u64().unwrap_or(0));
            match free {
                Ok(free) if free >= slots => return Ok(()),
                _ if Instant::now() >= deadline => {
                    return Err(PipelineError::Http {
                        action: format!("wait for {slots} free task slots at {}", self.url),
                        message: match free {
                            Ok(free) => format!("only {free} free after {}s", timeout.as_secs()),
                            Err(error) => error.to_string(),
                        },
                    })
                }
                _ => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }

    /// The job's checkpoint statistics.
    pub fn checkpoints(&self, job: &str) -> Result<CheckpointStats, PipelineError> {
        let stats = self.get(&format!("/jobs/{job}/checkpoints"))?;
        let counts = &stats["counts"];
        let latest = &stats["latest"]["completed"];
        Ok(CheckpointStats {
            completed: counts["completed"].as_u64().unwrap_or(0),
            failed: counts["failed"].as_u64().unwrap_or(0),
            restored: counts["restored"].as_u64().unwrap_or(0),
            latest_duration_ms: latest["end_to_end_duration"].as_u64().unwrap_or(0),
            latest_size_bytes: latest["state_size"]
                .as_u64()
                .or_else(|| latest["checkpointed_size"].as_u64())
                .unwrap_or(0),
        })
    }
}
