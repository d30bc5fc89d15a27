//! The raw → bronze copier as a stage of a run: started beside the load as a process of its
//! own (so faults can kill it), drained, stopped, and its output verified.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use streamproof_chaos::injector::SharedProcess;
use streamproof_loadgen::consumer::StartOffsets;
use streamproof_loadgen::ledger::{Ledger, SendId};
use streamproof_loadgen::RAW_TOPICS;
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::lag::LagProbe;
use streamproof_platform::runtime::{ManagedProcess, ProcessSpec};
use streamproof_verify::bronze::{check_bronze, BronzeCheck, BronzeFindings};

use crate::scenario::CopierSection;

/// The bronze topic.
pub const BRONZE_TOPIC: &str = "bronze-events";

/// A running copier and what its verification needs.
pub struct BronzeStage {
    pub process: SharedProcess,
    group: String,
    start: StartOffsets,
    pub mode: String,
}

impl BronzeStage {
    /// Notes where bronze stands and starts the copier process.
    pub fn start(
        section: &CopierSection,
        connection: &KafkaConnection,
        run_id: &str,
        out: &Path,
    ) -> Result<Self> {
        let start =
            StartOffsets::snapshot(connection, &[BRONZE_TOPIC]).context("read bronze's offsets")?;
        let group = format!("bronze-copier-{}", &run_id[..8]);
        let exe = std::env::current_exe().context("find the streamproof executable")?;
        let args = vec![
            "copier".to_owned(),
            "--bootstrap-servers".to_owned(),
            connection.bootstrap_servers().to_owned(),
            "--group".to_owned(),
            group.clone(),
            "--mode".to_owned(),
            section.mode.as_str().to_owned(),
            "--batch".to_owned(),
            section.batch.to_string(),
        ];
        // Ends with the run in every case: the run stops it before verifying bronze. Its pid
        // file tells where it ran, should the run be killed.
        let process = ManagedProcess::launch(ProcessSpec {
            pid_file: Some(out.join("copier.pid")),
            ..ProcessSpec::new(&exe, args, &group, &out.join("copier.log"))
        })
        .context("start the copier")?;
        Ok(BronzeStage {
            process: Arc::new(Mutex::new(process)),
            group,
            start,
            mode: section.mode.as_str().to_owned(),
        })
    }

    /// Waits until the copier has committed everything in the raw topics (or `timeout`),
    /// then stops it.
    pub fn drain_and_stop(&self, connection: &KafkaConnection, timeout: Duration) {
        let topics: Vec<String> = RAW_TOPICS.iter().map(|t| (*t).to_owned()).collect();
        let started = Instant::now();
        if let Ok(probe) = LagProbe::new(connection, &self.group) {
            while started.elapsed() < timeout {
                if probe
                    .sample(Some(&topics))
                    .is_ok_and(|report| report.total == 0)
                {
                    break;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        if let Ok(mut process) = self.process.lock() {
            process.stop(Duration::from_secs(30));
        }
    }

    /// Compares bronze with what the raw check found.
    pub fn verify(
        &self,
        connection: &KafkaConnection,
        run_id: &str,
        ledger: &Ledger,
        raw_copies: &[Vec<u8>],
        removed: &[SendId],
        timeout: Duration,
    ) -> Result<BronzeFindings> {
        check_bronze(&BronzeCheck {
            connection,
            run_id,
            topic: BRONZE_TOPIC,
            ledger,
            raw_copies,
            removed,
            start: &self.start,
            drain_timeout: timeout,
        })
        .context("verify bronze")
    }
}
