//! The reference lakehouse pipeline as Flink SQL (`platform/pipeline/*.sql`) and its
//! submission through the Flink SQL Gateway's REST API:
//!
//! - `catalog.sql`: the Iceberg catalog (Hadoop catalog on a local warehouse directory,
//!   readable by any Iceberg engine) and the tables `bronze.events`, `silver.events`,
//!   `gold.metrics`;
//! - `bronze.sql`: raw-* topics → `bronze.events` (raw value with its Kafka coordinates and
//!   headers) and the `bronze-events` topic;
//! - `silver.sql`: bronze → validation (the seed's rules), deduplication by event_id (first
//!   wins, state TTL) → `silver.events` and the `silver-events` topic; invalid records →
//!   `dlq-events` with the seed's envelope;
//! - `gold.sql`: silver → event-time tumbling windows per event type and metric →
//!   `gold.metrics` and the `gold-metrics` topic.
//!
//! Exactly-once: checkpoints in EXACTLY_ONCE mode, Kafka sinks with transactions, Iceberg
//! commits on checkpoints. The at-least-once profile switches the checkpoints and the Kafka
//! sinks to at-least-once, so users can compare.
//!
//! This module submits and watches jobs; it never judges what they wrote.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const CATALOG: &str = include_str!("../pipeline/catalog.sql");
const BRONZE: &str = include_str!("../pipeline/bronze.sql");
const SILVER: &str = include_str!("../pipeline/silver.sql");
const GOLD: &str = include_str!("../pipeline/gold.sql");

/// The pipeline's processing guarantee.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    /// Checkpoints aligned, Kafka sinks transactional.
    #[default]
    ExactlyOnce,
    /// Checkpoints unaligned-tolerant, Kafka sinks without transactions: replays after a
    /// failure duplicate what the sinks wrote since the last checkpoint.
    AtLeastOnce,
}

/// What the SQL is rendered with.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// Kafka bootstrap servers.
    pub bootstrap: String,
    /// The Iceberg warehouse directory (absolute).
    pub warehouse: PathBuf,
    /// Checkpoint interval.
    pub checkpoint_interval: Duration,
    /// Processing guarantee.
    pub guarantee: Guarantee,
    /// How long silver remembers an event id for deduplication.
    pub dedup_ttl: Duration,
    /// Gold's tumbling window.
    pub window: Duration,
    /// How far event time may lag behind the newest event before gold closes a window.
    pub watermark_delay: Duration,
    /// Prefix of the Kafka consumer groups and transactional ids (unique per run).
    pub prefix: String,
}

impl PipelineSettings {
    fn variables(&self) -> Vec<(&'static str, String)> {
        let (mode, delivery) = match self.guarantee {
            Guarantee::ExactlyOnce => ("EXACTLY_ONCE", "exactly-once"),
            Guarantee::AtLeastOnce => ("AT_LEAST_ONCE", "at-least-once"),
        };
        vec![
            ("BOOTSTRAP", self.bootstrap.clone()),
            ("WAREHOUSE", format!("file://{}", self.warehouse.display())),
            (
                "CHECKPOINT_INTERVAL",
                format!("{}ms", self.checkpoint_interval.as_millis()),
            ),
            ("CHECKPOINT_MODE", mode.to_owned()),
            ("DELIVERY", delivery.to_owned()),
            (
                "STATE_TTL",
                format!("{} ms", self.dedup_ttl.as_millis().max(1)),
            ),
            ("WINDOW_SECONDS", self.window.as_secs().max(1).to_string()),
            (
                "WM_DELAY_SECONDS",
                self.watermark_delay.as_secs().to_string(),
            ),
            // Kafka brokers refuse transactions longer than transaction.max.timeout.ms (15 min).
            ("TXN_TIMEOUT_MS", "600000".to_owned()),
            ("PREFIX", self.prefix.clone()),
            (
                "GOLD_STARTING_STRATEGY",
                "TABLE_SCAN_THEN_INCREMENTAL".to_owned(),
            ),
        ]
    }

    /// `sql` with every `${NAME}` replaced; an unknown name is an error.
    pub fn render(&self, sql: &str) -> Result<String, PipelineError> {
        let mut text = sql.to_owned();
        for (name, value) in self.variables() {
            text = text.replace(&format!("${{{name}}}"), &value);
        }
        match text.find("${") {
            Some(at) => Err(PipelineError::Template(
                text[at..].chars().take(40).collect(),
            )),
            None => Ok(text),
        }
    }
}

/// Why the pipeline could not be submitted or watched.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A placeholder in the SQL has no value.
    #[error("the pipeline SQL has a placeholder without a value: `{0}`")]
    Template(String),
    /// The SQL Gateway or Flink's REST API could not be reached.
    #[error("{action}: {message}")]
    Http {
        /// What was being done.
        action: String,
        /// What went wrong.
        message: String,
    },
    /// No such layer in the pipeline.
    #[error("the pipeline has no layer `{0}` (bronze, silver or gold)")]
    UnknownLayer(String),
    /// A submitted job did not get all its tasks running.
    #[error("the {layer} job is {state}, not running: {cause}")]
    NotRunning {
        /// `bronze`, `silver` or `gold`.
        layer: String,
        /// The job's state, with its tasks when they were still starting.
        state: String,
        /// Flink's root exception, or why the wait ended.
        cause: String,
    },
    /// A job could not be stopped with a final savepoint.
    #[error("stopping job {job} with a final savepoint failed: {cause}")]
    Stop {
        /// The job id.
        job: String,
        /// Flink's reason, or why the wait ended.
        cause: String,
    },
    /// Flink refused a statement.
    #[error("Flink refused the statement `{statement}`: {cause}")]
    Statement {
        /// The start of the statement.
        statement: String,
        /// The root cause Flink reported.
        cause: String,
    },
}

/// A client of the Flink SQL Gateway's REST API (v1).
pub struct SqlGateway {
    url: String,
    agent: ureq::Agent,
}

/// What one statement returned.
#[derive(Debug, Clone, Default)]
pub struct StatementOutcome {
    /// The job it started, for INSERT statements and statement sets.
    pub job_id: Option<String>,
    /// Result rows (as JSON arrays of fields).
    pub rows: Vec<Value>,
}

impl SqlGateway {
    /// A client of the gateway at `url` (e.g. `http://127.0.0.1:8083`).
    pub fn new(url: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(180)))
            .http_status_as_error(false)
            .build()
            .into();
        SqlGateway {
            url: url.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), PipelineError> {
        let url = format!("{}{path}", self.url);
        let http = |e: ureq::Error| PipelineError::Http {
            action: format!("{method} {url}"),
            message: e.to_string(),
        };
        let mut response = match (method, body) {
            ("POST", Some(body)) => self.agent.post(&url).send_json(body).map_err(http)?,
            ("POST", None) => self.agent.post(&url).send_empty().map_err(http)?,
            ("DELETE", _) => self.agent.delete(&url).call().map_err(http)?,
            _ => self.agent.get(&url).call().map_err(http)?,
        };
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    /// Runs every statement of `sql` in one session, in order; returns each outcome.
    pub fn execute_script(
        &self,
        sql: &str,
        session_name: &str,
    ) -> Result<Vec<StatementOutcome>, PipelineError> {
        let (_, session) = self.call(
            "POST",
            "/v1/sessions",
            Some(json!({"sessionName": session_name, "properties": {}})),
        )?;
        let handle = session["sessionHandle"]
            .as_str()
            .ok_or_else(|| PipelineError::Http {
                action: "open a SQL Gateway session".to_owned(),
                message: session.to_string(),
            })?
            .to_owned();
        let outcomes = split_statements(sql)
            .iter()
            .map(|statement| self.execute(&handle, statement))
            .collect();
        let _ = self.call("DELETE", &format!("/v1/sessions/{handle}"), None);
        outcomes
    }

    fn execute(&self, session: &str, statement: &str) -> Result<StatementOutcome, PipelineError> {
        let refused = |value: &Value| PipelineError::Statement {
            statement: statement
                .split_whitespace()
                .take(12)
                .collect::<Vec<_>>()
                .join(" "),
            cause: root_cause(value),
        };
        let (status, submitted) = self.call(
            "POST",
            &format!("/v1/sessions/{session}/statements"),
            Some(json!({"statement": statement})),
        )?;
        if status != 200 {
            return Err(refused(&submitted));
        }
        let operation = submitted["operationHandle"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut outcome = StatementOutcome::default();
        let mut path =
            format!("/v1/sessions/{session}/operations/{operation}/result/0?rowFormat=JSON");
        let started = Instant::now();
        loop {
            let (status, page) = self.call("GET", &path, None)?;
            if status != 200 {
                return Err(refused(&page));
            }
            if let Some(job) = page["jobID"].as_str() {
                outcome.job_id = Some(job.to_owned());
            }
            let kind = page["resultType"].as_str().unwrap_or_default();
            if kind == "PAYLOAD" {
                if let Some(rows) = page["results"]["data"].as_array() {
                    outcome
                        .rows
                        .extend(rows.iter().map(|row| row["fields"].clone()));
                }
            }
            let next = page["nextResultUri"].as_str();
            match (kind, next) {
                ("EOS", _) | (_, None) => return Ok(outcome),
                ("NOT_READY", Some(_)) if started.elapsed() > Duration::from_secs(300) => {
                    return Err(PipelineError::Http {
                        action: "wait for a statement".to_owned(),
                        message: "no result within 300 s".to_owned(),
                    })
                }
                ("NOT_READY", Some(next)) => {
                    std::thread::sleep(Duration::from_millis(200));
                    path = next.to_owned();
                }
                (_, Some(next)) => path = next.to_owned(),
            }
        }
    }
}

/// The last "Caused by" of a gateway error, which names the real problem.
fn root_cause(value: &Value) -> String {
    let text = value["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_else(|| value.to_string());
    text.lines()
        .rfind(|line| line.starts_with("Caused by:"))
        .or_else(|| text.lines().next())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Splits a SQL script into statements at `;` line ends, keeping `EXECUTE STATEMENT SET
/// BEGIN … END;` whole and dropping `--` comment lines.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut in_set = false;
    for line in sql.lines().filter(|l| !l.trim_start().starts_with("--")) {
        if line.trim().is_empty() && current.is_empty() {
            continue;
        }
        current.push(line);
        let head = current
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase();
        if head.starts_with("EXECUTE STATEMENT SET") || head.starts_with("BEGIN STATEMENT SET") {
            in_set = true;
        }
        let trimmed = line.trim_end();
        if trimmed.ends_with(';') {
            let ends_set = trimmed
                .trim_end_matches(';')
                .trim_end()
                .to_uppercase()
                .ends_with("END");
            if in_set && !ends_set {
                continue;
            }
            let statement = current
                .join("\n")
                .trim()
                .trim_end_matches(';')
                .trim()
                .to_owned();
            if !statement.is_empty() {
                statements.push(statement);
            }
            current.clear();
            in_set = false;
        }
    }
    let rest = current
        .join("\n")
        .trim()
        .trim_end_matches(';')
        .trim()
        .to_owned();
    if !rest.is_empty() {
        statements.push(rest);
    }
    statements
}

/// The jobs of a submitted pipeline.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PipelineJobs {
    /// Job id per layer (`bronze`, `silver`, `gold`).
    pub jobs: Vec<(String, String)>,
}

/// Creates the catalog and tables, then submits the bronze, silver and gold jobs.
pub fn submit(
    gateway: &SqlGateway,
    settings: &PipelineSettings,
) -> Result<PipelineJobs, PipelineError> {
    gateway.execute_script(&settings.render(CATALOG)?, "streamproof-catalog")?;
    let mut jobs = PipelineJobs::default();
    for (layer, _) in LAYERS {
        if let Some(job) = submit_layer(gateway, settings, layer, None)? {
            jobs.jobs.push((layer.to_owned(), job));
        }
    }
    Ok(jobs)
}

/// The pipeline's layers and their SQL, in submission order.
const LAYERS: [(&str, &str); 3] = [("bronze", BRONZE), ("silver", SILVER), ("gold", GOLD)];

/// Submits one layer's job (`bronze`, `silver` or `gold`), restoring its state from a
/// checkpoint or savepoint directory when given; returns the job id.
pub fn submit_layer(
    gateway: &SqlGateway,
    settings: &PipelineSettings,
    layer: &str,
    restore_from: Option<&Path>,
) -> Result<Option<String>, PipelineError> {
    let sql = LAYERS
        .iter()
        .find(|(name, _)| *name == layer)
        .map(|(_, sql)| *sql)
        .ok_or_else(|| PipelineError::UnknownLayer(layer.to_owned()))?;
    let mut script = String::new();
    if let Some(path) = restore_from {
        script.push_str(&format!(
            "SET 'execution.savepoint.path' = 'file://{}';\n",
            path.display()
        ));
    }
    script.push_str(&settings.render(sql)?);
    let outcomes = gateway.execute_script(&script, &format!("streamproof-{layer}"))?;
    Ok(outcomes.iter().rev().find_map(|o| o.job_id.clone()))
}

/// The newest completed checkpoint of `job` under Flink's checkpoint directory
/// (`<dir>/<job>/chk-<n>` holding `_metadata`), if any.
pub fn latest_checkpoint(checkpoints: &Path, job: &str) -> Option<PathBuf> {
    std::fs::read_dir(checkpoints.join(job))
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let number: u64 = entry
                .file_name()
                .to_str()?
                .strip_prefix("chk-")?
                .parse()
                .ok()?;
            entry
                .path()
                .join("_metadata")
                .is_file()
                .then(|| (number, entry.path()))
        })
        .max_by_key(|(number, _)| *number)
        .map(|(_, path)| path)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PipelineSettings {
        PipelineSettings {
            bootstrap: "127.0.0.1:9092".to_owned(),
            warehouse: PathBuf::from("/tmp/warehouse"),
            checkpoint_interval: Duration::from_secs(5),
            guarantee: Guarantee::ExactlyOnce,
            dedup_ttl: Duration::from_secs(3600),
            window: Duration::from_secs(10),
            watermark_delay: Duration::from_secs(30),
            prefix: "run-1".to_owned(),
        }
    }

    #[test]
    fn every_pipeline_file_renders_and_splits() {
        let settings = settings();
        for sql in [CATALOG, BRONZE, SILVER, GOLD] {
            let text = settings.render(sql).unwrap();
            assert!(text.contains("file:///tmp/warehouse"));
            assert!(!split_statements(&text).is_empty());
        }
        assert!(settings.render("${NOPE}").is_err());
    }

    #[test]
    fn statement_sets_stay_whole() {
        let sql = "SET 'a' = 'b';\n-- comment;\nEXECUTE STATEMENT SET\nBEGIN\nINSERT INTO x SELECT 1;\nINSERT INTO y SELECT 2;\nEND;\nSELECT 3;";
        let statements = split_statements(sql);
        assert_eq!(statements.len(), 3, "{statements:?}");
        assert!(statements[1].starts_with("EXECUTE STATEMENT SET"));
        assert!(statements[1].ends_with("END"));
        assert_eq!(statements[2], "SELECT 3");
    }

    #[test]
    fn the_newest_checkpoint_with_metadata_is_the_one_to_restore() {
        let dir = tempfile::tempdir().unwrap();
        let job = dir.path().join("job-1");
        for (name, complete) in [
            ("chk-3", true),
            ("chk-12", true),
            ("chk-13", false),
            ("shared", false),
        ] {
            std::fs::create_dir_all(job.join(name)).unwrap();
            if complete {
                std::fs::write(job.join(name).join("_metadata"), b"x").unwrap();
            }
        }
        assert_eq!(
            latest_checkpoint(dir.path(), "job-1"),
            Some(job.join("chk-12"))
        );
        assert_eq!(latest_checkpoint(dir.path(), "job-2"), None);
    }

    #[test]
    fn the_root_cause_is_the_last_caused_by() {
        let error =
            json!({"errors": ["Internal error\nCaused by: A\nCaused by: B is wrong\n\tat x"]});
        assert_eq!(root_cause(&error), "Caused by: B is wrong");
    }
}
