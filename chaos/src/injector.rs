//! Fires the scheduled faults on a thread of their own and records every start and end on the
//! timeline. Processes the run started are signalled through their recorded pids (brokers
//! through [`LocalCluster`], which signals nothing else); the processes of a platform
//! streamproof did not start are acted on only through the platform file's commands
//! ([`FaultCommands`]), each recorded with its exit code and output.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use streamproof_platform::admin::{BrokerInfo, KafkaAdmin};
use streamproof_platform::connection::KafkaConnection;
use streamproof_platform::file::ProcessAction;
use streamproof_platform::pipeline::FlinkRest;
pub use streamproof_platform::runtime::{AfterRestart, ProducerSwitch, SharedProcess};
use streamproof_platform::runtime::{LocalCluster, ManagedProcess, Signal};

use crate::commands::{CommandTarget, FaultCommands, Placeholders};
use crate::proxy::{ProxyFaults, Shaping, SharedProxies};
use crate::spec::{Direction, FaultAction, FaultSpec, PlatformProcess, Target};

use streamproof_platform::handle::Platform;
pub use streamproof_platform::handle::SharedCluster;

/// Everything faults may act on.
pub struct Targets {
    /// The embedded cluster; `None` on a platform streamproof did not start.
    pub cluster: Option<SharedCluster>,
    /// The platform file's commands for the processes streamproof did not start.
    pub commands: Option<FaultCommands>,
    /// The pipeline's Flink REST address (for the placeholders of Flink's commands).
    pub flink_rest: Option<String>,
    /// The platform's other processes the run started (the copier, Flink's TaskManager and
    /// JobManager).
    pub processes: Vec<(PlatformProcess, SharedProcess)>,
    /// What follows a restart of one of those processes.
    pub after_restart: Vec<(PlatformProcess, Arc<dyn AfterRestart>)>,
    /// The proxies in front of the brokers, when network faults are planned.
    pub proxies: Option<SharedProxies>,
    /// The load generator's producers, when client faults are planned.
    pub producers: Option<Arc<dyn ProducerSwitch>>,
}

/// What a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Victim {
    Broker(i32),
    /// The active controller of a platform streamproof did not start: its node id when a
    /// `locate` command told it.
    Controller(Option<i32>),
    Process(PlatformProcess),
    Producers,
}

impl std::fmt::Display for Victim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Victim::Broker(id) => write!(f, "broker {id}"),
            Victim::Controller(Some(id)) => write!(f, "controller {id}"),
            Victim::Controller(None) => f.write_str("the controller"),
            Victim::Process(process) => write!(f, "the {}", process.name()),
            Victim::Producers => f.write_str("the producers"),
        }
    }
}

pub use streamproof_result::{FaultCommand, FaultRecord};

/// The running injector.
pub struct Injector {
    thread: Option<JoinHandle<Vec<FaultRecord>>>,
    stop: Arc<AtomicBool>,
}

struct Firing {
    fault: usize,
    repetition: u32,
    at: Duration,
}

impl Targets {
    /// What faults may act on in `platform`: its embedded brokers and Flink processes, plus
    /// `stages` (the copier), `after_restart`, the broker `proxies`, the `producers`, and the
    /// processes streamproof did not start through `commands`.
    pub fn on_platform(
        platform: &Platform,
        stages: Vec<(PlatformProcess, SharedProcess)>,
        after_restart: Vec<(PlatformProcess, Arc<dyn AfterRestart>)>,
        proxies: Option<SharedProxies>,
        producers: Arc<dyn ProducerSwitch>,
        commands: Option<FaultCommands>,
    ) -> Self {
        let flink = platform.flink.iter().flat_map(|flink| {
            [
                (PlatformProcess::TaskManager, flink.taskmanager.clone()),
                (PlatformProcess::JobManager, flink.jobmanager.clone()),
            ]
        });
        Targets {
            cluster: platform.cluster.clone(),
            commands,
            flink_rest: platform.flink_endpoint().map(|flink| flink.rest_url),
            processes: stages.into_iter().chain(flink).collect(),
            after_restart,
            proxies,
            producers: Some(producers),
        }
    }
}

impl Injector {
    /// Starts firing `faults` of run `run_id` relative to `start` (the start of the load).
    pub fn start(
        targets: Targets,
        connection: KafkaConnection,
        faults: Vec<FaultSpec>,
        start: Instant,
        seed: u64,
        run_id: &str,
    ) -> Self {
        let run_id = run_id.to_owned();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut firings: Vec<Firing> = faults
                .iter()
                .enumerate()
                .flat_map(|(fault, spec)| {
                    spec.firing_times()
                        .into_iter()
                        .enumerate()
                        .map(move |(repetition, at)| Firing {
                            fault,
                            repetition: repetition as u32,
                            at,
                        })
                })
                .collect();
            firings.sort_by_key(|f| f.at);
            let mut context = Context {
                cluster: targets.cluster,
                commands: targets.commands,
                flink_rest: targets.flink_rest,
                ran: Vec::new(),
                processes: targets.processes,
                after_restart: targets.after_restart,
                proxies: targets.proxies,
                producers: targets.producers,
                connection,
                start,
                rng: StdRng::seed_from_u64(seed ^ 0xC4A0_5EED),
                stop: flag,
                run_id,
            };
            firings
                .iter()
                .map_while(|firing| {
                    context.sleep_until(firing.at)?;
                    Some(context.fire(&faults[firing.fault], firing))
                })
                .collect()
        });
        Injector {
            thread: Some(thread),
            stop,
        }
    }

    /// Waits for every fault to fire and heal; returns the timeline.
    pub fn finish(mut self) -> Vec<FaultRecord> {
        self.thread
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Injector {
    /// Abandoned (the run failed): stop firing; the cluster's own drop stops the brokers.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Context {
    cluster: Option<SharedCluster>,
    commands: Option<FaultCommands>,
    flink_rest: Option<String>,
    /// The commands the fault being fired ran so far.
    ran: Vec<FaultCommand>,
    processes: Vec<(PlatformProcess, SharedProcess)>,
    after_restart: Vec<(PlatformProcess, Arc<dyn AfterRestart>)>,
    proxies: Option<SharedProxies>,
    producers: Option<Arc<dyn ProducerSwitch>>,
    connection: KafkaConnection,
    start: Instant,
    rng: StdRng,
    stop: Arc<AtomicBool>,
    /// The run the faults belong to (a label of what they show while they act).
    run_id: String,
}

/// 1 while a fault acts, 0 once it healed, per kind and target.
pub const FAULT_ACTIVE: &str = "streamproof_fault_active";

/// How long a gracefully stopped broker may take to exit before it is killed.
const GRACEFUL_EXIT: Duration = Duration::from_secs(60);
/// How long a restarted broker may take to rejoin the cluster.
const REJOIN: Duration = Duration::from_secs(120);

impl Context {
    fn now_s(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Sleeps until `at` after the start; `None` when the injector was told to stop.
    fn sleep_until(&self, at: Duration) -> Option<()> {
        while self.start.elapsed() < at {
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            std::thread::sleep(
                Duration::from_millis(20).min(at.saturating_sub(self.start.elapsed())),
            );
        }
        (!self.stop.load(Ordering::Relaxed)).then_some(())
    }

    fn with_cluster<T>(&self, action: impl FnOnce(&mut LocalCluster) -> T) -> Option<T> {
        self.cluster
            .as_ref()?
            .lock()
            .ok()
            .map(|mut cluster| action(&mut cluster))
    }

    fn resolve(&mut self, target: &Target) -> Result<Vec<Victim>, String> {
        match target {
            Target::Process(process)
                if self.process(*process).is_some() || self.commanded(target) =>
            {
                return Ok(vec![Victim::Process(*process)])
            }
            Target::Controller if self.cluster.is_none() => {
                return self
                    .locate_controller()
                    .map(|id| vec![Victim::Controller(id)])
            }
            Target::Process(process) => {
                return Err(format!(
                    "this run has no {} (set platform.copier or platform.pipeline)",
                    process.name()
                ))
            }
            Target::Producers if self.producers.is_some() => return Ok(vec![Victim::Producers]),
            Target::Producers => return Err("this run has no producers to fault".to_owned()),
            _ => {}
        }
        Ok(self
            .resolve_brokers(target)?
            .into_iter()
            .map(Victim::Broker)
            .collect())
    }

    fn resolve_brokers(&mut self, target: &Target) -> Result<Vec<i32>, String> {
        let ids = match self.with_cluster(|c| c.broker_ids()) {
            Some(ids) => ids,
            None => self.listed_brokers()?.iter().map(|b| b.id).collect(),
        };
        match target {
            Target::Process(_) | Target::Producers => Ok(Vec::new()),
            Target::Broker(id) if ids.contains(id) => Ok(vec![*id]),
            Target::Broker(id) => Err(format!(
                "broker {id} is not part of this cluster (brokers {ids:?})"
            )),
            Target::All => Ok(ids),
            Target::Random if ids.is_empty() => Err("the cluster has no brokers".to_owned()),
            Target::Random => Ok(vec![ids[self.rng.random_range(0..ids.len())]]),
            Target::Controller => self
                .with_cluster(|c| c.controller_id())
                .flatten()
                .map(|id| vec![id])
                .ok_or_else(|| "no active controller is known".to_owned()),
            Target::Leader { topic, partition } => {
                let admin = KafkaAdmin::connect(&self.connection).map_err(|e| e.to_string())?;
                let partitions = admin.partitions(topic).map_err(|e| e.to_string())?;
                partitions
                    .iter()
                    .find(|p| p.id == *partition)
                    .filter(|p| p.leader >= 0)
                    .map(|p| vec![p.leader])
                    .ok_or_else(|| format!("{topic}/{partition} has no leader right now"))
            }
        }
    }

    fn fire(&mut self, spec: &FaultSpec, firing: &Firing) -> FaultRecord {
        let target = spec.resolved_target();
        let mut record = FaultRecord {
            fault: firing.fault,
            repetition: firing.repetition,
            kind: spec.kind().to_string(),
            target: target.to_string(),
            brokers: Vec::new(),
            injected_at_s: self.now_s(),
            healed_at_s: None,
            detail: String::new(),
            applied: false,
            commands: Vec::new(),
        };
        let victims = match self.resolve(&target) {
            Ok(victims) => victims,
            Err(reason) => {
                record.detail = format!("not applied: {reason}");
                record.commands = std::mem::take(&mut self.ran);
                return record;
            }
        };
        // While the fault acts: a dashboard shades the window, as the report's charts do.
        let active = metrics::gauge!(
            FAULT_ACTIVE,
            "kind" => record.kind.clone(),
            "target" => record.target.clone(),
            "run_id" => self.run_id.clone()
        );
        active.set(1.0);
        let record = self.act(spec, victims, record);
        active.set(0.0);
        record
    }

    /// Acts on `victims` as `spec` says, heals, and completes `record`.
    fn act(
        &mut self,
        spec: &FaultSpec,
        victims: Vec<Victim>,
        mut record: FaultRecord,
    ) -> FaultRecord {
        record.brokers = victims
            .iter()
            .filter_map(|v| match v {
                Victim::Broker(id) | Victim::Controller(Some(id)) => Some(*id),
                Victim::Controller(None) | Victim::Process(_) | Victim::Producers => None,
            })
            .collect();
        let outcome = match spec.action {
            FaultAction::Latency { .. }
            | FaultAction::Bandwidth { .. }
            | FaultAction::Blackhole { .. }
            | FaultAction::Reset
            | FaultAction::Cut { .. } => self.network(victims[0], spec),
            FaultAction::Isolate { .. } => self.isolate(victims[0], spec.length()),
            FaultAction::Kill { .. } if victims[0] == Victim::Producers => {
                self.kill_producers(spec.length())
            }
            FaultAction::Restart if victims[0] == Victim::Producers => {
                self.producer_switch().and_then(|switch| switch.restart())
            }
            FaultAction::Kill { .. } => self.kill(victims[0], spec.length()),
            FaultAction::Pause { .. } => self.pause(victims[0], spec.length()),
            FaultAction::Restart => self.restart(victims[0]),
            FaultAction::RollingRestart => {
                victims.iter().try_fold(String::new(), |done, victim| {
                    self.restart(*victim)
                        .map(|detail| format!("{done}{detail}; "))
                })
            }
        };
        match outcome {
            Ok(detail) => {
                record.applied = true;
                record.healed_at_s = Some(self.now_s());
                record.detail = detail.trim_end_matches("; ").to_owned();
            }
            Err(reason) => record.detail = reason,
        }
        record.commands = std::mem::take(&mut self.ran);
        record
    }

    fn process(&self, kind: PlatformProcess) -> Option<&SharedProcess> {
        self.processes
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, process)| process)
    }

    fn with_process<T>(
        &self,
        kind: PlatformProcess,
        action: impl FnOnce(&mut ManagedProcess) -> T,
    ) -> Option<T> {
        let process = self.process(kind)?;
        process.lock().ok().map(|mut process| action(&mut process))
    }

    /// Whether the platform file's commands act on `target`'s kind of process.
    fn commanded(&self, target: &Target) -> bool {
        CommandTarget::of(target)
            .zip(self.commands.as_ref())
            .is_some_and(|(kind, commands)| commands.acts_on(kind))
    }

    /// Whether streamproof started `victim` itself, and so signals it by its recorded pid.
    fn is_local(&self, victim: Victim) -> bool {
        match victim {
            Victim::Broker(_) => self.cluster.is_some(),
            Victim::Process(kind) => self.process(kind).is_some(),
            Victim::Controller(_) | Victim::Producers => false,
        }
    }

    /// Sends `signal` to `victim`, or runs the platform file's command that does its like;
    /// how it went, for the timeline: `SIGKILL broker 2 (pid 123)` or `kill broker 2 (exit 0)`.
    fn signal(&mut self, victim: Victim, signal: Signal) -> Result<String, String> {
        if !self.is_local(victim) {
            let action = match signal {
                Signal::SIGKILL => ProcessAction::Kill,
                Signal::SIGSTOP => ProcessAction::Pause,
                Signal::SIGCONT => ProcessAction::Resume,
                _ => ProcessAction::Stop,
            };
            return self.command(victim, action);
        }
        let sent = match victim {
            Victim::Broker(id) => match self.with_cluster(|c| c.signal_broker(id, signal)) {
                Some(Ok(sent)) => sent,
                Some(Err(error)) => return Err(error.to_string()),
                None => return Err("the cluster is gone".to_owned()),
            },
            Victim::Process(kind) => self.with_process(kind, |p| p.signal(signal)).flatten(),
            Victim::Controller(_) | Victim::Producers => {
                return Err(format!("{victim} is not a process of this run"))
            }
        };
        sent.map(|pid| format!("{signal} {victim} (pid {pid})"))
            .ok_or_else(|| format!("{victim} was not running"))
    }

    /// Starts `victim` again; how it went: `started again as pid 456` or `started again by
    /// its start command (exit 0)`.
    fn start_again(&mut self, victim: Victim) -> Result<String, String> {
        if !self.is_local(victim) {
            return self
                .command(victim, ProcessAction::Start)
                .map(|ran| format!("started again: {ran}"));
        }
        let started = match victim {
            Victim::Broker(id) => self
                .with_cluster(|c| c.start_broker(id).map_err(|e| e.to_string()))
                .unwrap_or_else(|| Err("the cluster is gone".to_owned())),
            Victim::Process(kind) => self
                .with_process(kind, |p| p.start_again().map_err(|e| e.to_string()))
                .unwrap_or_else(|| Err(format!("the {} is gone", kind.name()))),
            Victim::Controller(_) | Victim::Producers => {
                Err(format!("{victim} is not a process of this run"))
            }
        };
        started
            .map(|pid| format!("started again as pid {pid}"))
            .map_err(|error| format!("restarting {victim} failed: {error}"))
    }

    /// Runs the platform file's `action` command on `victim` and records it; an error unless
    /// it exited with 0.
    fn command(&mut self, victim: Victim, action: ProcessAction) -> Result<String, String> {
        let kind = match victim {
            Victim::Broker(_) => CommandTarget::Broker,
            Victim::Controller(_) => CommandTarget::Controller,
            Victim::Process(PlatformProcess::TaskManager) => CommandTarget::TaskManager,
            Victim::Process(PlatformProcess::JobManager) => CommandTarget::JobManager,
            Victim::Process(PlatformProcess::Copier) | Victim::Producers => {
                return Err(format!("{victim} has no commands in the platform file"))
            }
        };
        let values = self.placeholders(victim)?;
        let ran = self
            .commands
            .as_ref()
            .and_then(|commands| commands.run(kind, action, &values, self.start))
            .ok_or_else(|| {
                format!(
                    "the platform file has no faults.{}.{}",
                    kind.key(),
                    action.key()
                )
            })?;
        let outcome = describe_command(&ran);
        let succeeded = ran.succeeded();
        self.ran.push(ran);
        let account = format!(
            "faults.{}.{} for {victim} {outcome}",
            kind.key(),
            action.key()
        );
        if succeeded {
            Ok(account)
        } else {
            Err(account)
        }
    }

    /// `{id}` and `{host}` of `victim`, looked up now.
    fn placeholders(&self, victim: Victim) -> Result<Placeholders, String> {
        Ok(match victim {
            Victim::Broker(id) => Placeholders {
                id: Some(id.to_string()),
                host: self
                    .listed_brokers()?
                    .into_iter()
                    .find(|broker| broker.id == id)
                    .map(|broker| broker.host),
            },
            Victim::Controller(id) => Placeholders {
                id: id.map(|id| id.to_string()),
                host: None,
            },
            Victim::Process(PlatformProcess::TaskManager) => {
                let (id, host) = self
                    .flink()?
                    .taskmanagers()
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .next()
                    .ok_or("Flink lists no TaskManager")?;
                Placeholders {
                    id: Some(id),
                    host: Some(host),
                }
            }
            Victim::Process(PlatformProcess::JobManager) => Placeholders {
                id: None,
                host: Some(self.flink()?.host()),
            },
            Victim::Process(PlatformProcess::Copier) | Victim::Producers => Placeholders::default(),
        })
    }

    fn flink(&self) -> Result<FlinkRest, String> {
        self.flink_rest
            .as_deref()
            .map(FlinkRest::new)
            .ok_or_else(|| "this run has no Flink cluster".to_owned())
    }

    fn listed_brokers(&self) -> Result<Vec<BrokerInfo>, String> {
        KafkaAdmin::connect(&self.connection)
            .map_err(|e| e.to_string())?
            .with_timeout(Duration::from_secs(10))
            .brokers()
            .map_err(|e| format!("list the cluster's brokers: {e}"))
    }

    /// The active controller, through the platform file's `locate` command when it has one.
    fn locate_controller(&mut self) -> Result<Option<i32>, String> {
        let Some(commands) = &self.commands else {
            return Err("the platform file has no faults.controller".to_owned());
        };
        let Some(ran) = commands.run(
            CommandTarget::Controller,
            ProcessAction::Locate,
            &Placeholders::default(),
            self.start,
        ) else {
            return Ok(None);
        };
        let id = ran
            .output
            .lines()
            .last()
            .and_then(|line| line.trim().parse().ok());
        let outcome = describe_command(&ran);
        self.ran.push(ran);
        id.map(Some).ok_or_else(|| {
            format!("faults.controller.locate {outcome}, without a node id as its last line")
        })
    }

    fn wait_exit(&self, victim: Victim, limit: Duration) -> bool {
        if !self.is_local(victim) {
            // The file's kill and stop commands return once the process is gone.
            return true;
        }
        match victim {
            Victim::Broker(id) => self
                .with_cluster(|c| c.wait_broker_exit(id, limit).unwrap_or(false))
                .unwrap_or(false),
            Victim::Process(kind) => self
                .with_process(kind, |p| p.wait_exit(limit))
                .unwrap_or(false),
            Victim::Controller(_) | Victim::Producers => true,
        }
    }

    /// Waits until the cluster metadata lists a restarted broker again.
    fn wait_rejoined(&self, victim: Victim) -> Result<(), String> {
        let Victim::Broker(broker) = victim else {
            return Ok(());
        };
        let admin = KafkaAdmin::connect(&self.connection)
            .map_err(|e| e.to_string())?
            .with_timeout(Duration::from_secs(2));
        let started = Instant::now();
        while started.elapsed() < REJOIN {
            if admin
                .brokers()
                .is_ok_and(|brokers| brokers.iter().any(|b| b.id == broker))
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!(
            "broker {broker} did not rejoin the cluster within {}s",
            REJOIN.as_secs()
        ))
    }

    /// Applies a network fault on the victim broker's client proxy, then heals it.
    fn network(&mut self, victim: Victim, spec: &FaultSpec) -> Result<String, String> {
        let Victim::Broker(broker) = victim else {
            return Err("network faults act on brokers".to_owned());
        };
        let index = self
            .with_cluster(|c| c.broker_ids().iter().position(|id| *id == broker))
            .flatten()
            .ok_or_else(|| format!("broker {broker} is not part of this cluster"))?;
        let proxies = self
            .proxies
            .clone()
            .ok_or("this run has no network proxies")?;
        let with_proxies = |action: &dyn Fn(&crate::proxy::ProxySet)| {
            if let Ok(proxies) = proxies.lock() {
                action(&proxies);
            }
        };
        if spec.action == FaultAction::Reset {
            with_proxies(&|p| p.reset(index));
            return Ok(format!("reset every client connection of broker {broker}"));
        }
        let faults = proxy_faults(&spec.action);
        with_proxies(&|p| p.set(index, faults));
        // Heal even when told to stop: a proxy must never be left broken.
        let _ = self.sleep_until(self.start.elapsed() + spec.length());
        with_proxies(&|p| p.clear(index));
        Ok(format!(
            "{} between clients and broker {broker} ({:?}) for {:.1}s",
            spec.kind(),
            spec.action.direction(),
            spec.length().as_secs_f64()
        ))
    }

    /// Cuts a broker off from its peers, then heals it.
    fn isolate(&mut self, victim: Victim, length: Duration) -> Result<String, String> {
        let Victim::Broker(broker) = victim else {
            return Err("isolation acts on brokers".to_owned());
        };
        let nodes: Vec<(usize, i32)> = self
            .with_cluster(|c| {
                c.state()
                    .brokers
                    .iter()
                    .map(|b| ((b.node_id - 1) as usize, b.pid))
                    .collect()
            })
            .unwrap_or_default();
        let proxies = self
            .proxies
            .clone()
            .ok_or("this run has no network proxies")?;
        let node = (broker - 1) as usize;
        if let Ok(proxies) = proxies.lock() {
            proxies.track_nodes(nodes);
            proxies.isolate(node);
        }
        // Heal even when told to stop: a partition must never be left behind.
        let _ = self.sleep_until(self.start.elapsed() + length);
        if let Ok(proxies) = proxies.lock() {
            proxies.rejoin(node);
        }
        Ok(format!(
            "broker {broker} cut off from its peers (replication and controller links) for {:.1}s; clients still reached it",
            length.as_secs_f64()
        ))
    }

    fn producer_switch(&self) -> Result<Arc<dyn ProducerSwitch>, String> {
        self.producers
            .clone()
            .ok_or_else(|| "this run has no producers to fault".to_owned())
    }

    fn kill_producers(&mut self, down_for: Duration) -> Result<String, String> {
        let switch = self.producer_switch()?;
        let killed = switch.kill()?;
        // Start again even when told to stop: the load must be able to finish.
        let _ = self.sleep_until(self.start.elapsed() + down_for);
        let started = switch.start_again()?;
        Ok(format!("{killed}; {started}"))
    }

    fn kill(&mut self, victim: Victim, down_for: Duration) -> Result<String, String> {
        let killed = self.signal(victim, Signal::SIGKILL)?;
        self.wait_exit(victim, Duration::from_secs(10));
        let back_at = self.start.elapsed() + down_for;
        self.sleep_until(back_at)
            .ok_or("stopped before the restart")?;
        let started = self.start_again(victim)?;
        let recovered = self.recover(victim)?;
        Ok(format!("{killed}, {started}{recovered}"))
    }

    /// Runs what must follow the restart of `victim`, if anything; its account, prefixed
    /// with "; ", or nothing.
    fn recover(&self, victim: Victim) -> Result<String, String> {
        let Victim::Process(kind) = victim else {
            return Ok(String::new());
        };
        match self.after_restart.iter().find(|(k, _)| *k == kind) {
            Some((_, hook)) => hook
                .recover()
                .map(|done| format!("; {done}"))
                .map_err(|error| format!("{victim} started again, but {error}")),
            None => Ok(String::new()),
        }
    }

    fn pause(&mut self, victim: Victim, paused_for: Duration) -> Result<String, String> {
        let paused = self.signal(victim, Signal::SIGSTOP)?;
        let resume_at = self.start.elapsed() + paused_for;
        // Resume even when told to stop: a stopped process must never be left behind.
        let _ = self.sleep_until(resume_at);
        let resumed = self.signal(victim, Signal::SIGCONT)?;
        Ok(format!(
            "{paused}, {resumed} after {:.1}s",
            paused_for.as_secs_f64()
        ))
    }

    fn restart(&mut self, victim: Victim) -> Result<String, String> {
        let stopped = self.signal(victim, Signal::SIGTERM)?;
        if !self.wait_exit(victim, GRACEFUL_EXIT) {
            self.signal(victim, Signal::SIGKILL)?;
            self.wait_exit(victim, Duration::from_secs(10));
        }
        let started = self.start_again(victim)?;
        self.wait_rejoined(victim)?;
        let recovered = self.recover(victim)?;
        Ok(format!("{stopped}, {started}{recovered}"))
    }
}

/// `(exit 0, 0.3 s)`, `(exit 1, 0.1 s: the last line of its output)`.
fn describe_command(ran: &FaultCommand) -> String {
    let exit = ran.exit_code.map_or_else(
        || "ended by a signal".to_owned(),
        |code| format!("exit {code}"),
    );
    let last_line = ran.output.lines().last().filter(|_| !ran.succeeded());
    match last_line {
        Some(line) => format!("({exit}, {:.1} s: {line})", ran.seconds),
        None => format!("({exit}, {:.1} s)", ran.seconds),
    }
}

/// The proxy state a network fault asks for.
fn proxy_faults(action: &FaultAction) -> ProxyFaults {
    let shaping = match *action {
        FaultAction::Latency {
            latency, jitter, ..
        } => Shaping {
            latency: latency.unwrap_or_default(),
            jitter: jitter.unwrap_or_default(),
            ..Shaping::default()
        },
        FaultAction::Bandwidth {
            bytes_per_second, ..
        } => Shaping {
            bandwidth: bytes_per_second,
            ..Shaping::default()
        },
        FaultAction::Blackhole { .. } => Shaping {
            blackhole: true,
            ..Shaping::default()
        },
        _ => Shaping::default(),
    };
    let (to_broker, to_client) = match action.direction() {
        Direction::Both => (shaping, shaping),
        Direction::ToBroker => (shaping, Shaping::default()),
        Direction::ToClient => (Shaping::default(), shaping),
    };
    ProxyFaults {
        to_broker,
        to_client,
        cut: matches!(action, FaultAction::Cut { .. }),
    }
}
