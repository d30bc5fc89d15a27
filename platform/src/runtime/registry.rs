//! Every platform directory streamproof started processes in, recorded under a state
//! directory (one small file per platform directory), so that `status --all` and `down --all`
//! find platforms whose owner is gone: kept by `up` or `run --keep-platform`, or left behind
//! by a version of streamproof that did not tie its processes to itself.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::cluster::{ClusterState, LocalCluster, StopOutcome, STATE_FILE};
use super::flink::{recorded_flink_processes, FlinkCluster};
use super::owner::{Lifetime, Owner};
use super::schema_registry::{schema_registry_dir, LocalSchemaRegistry};
use super::{io_error, RuntimeError};

/// The directory for streamproof's state: `$STREAMPROOF_STATE_DIR`, else
/// `$XDG_STATE_HOME/streamproof`, else `~/.local/state/streamproof`.
pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STREAMPROOF_STATE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(dir).join("streamproof");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local").join("state").join("streamproof")
}

/// The platform directories recorded under one state directory.
#[derive(Debug, Clone)]
pub struct Registry {
    entries: PathBuf,
}

impl Registry {
    /// The registry under [`default_state_dir`].
    pub fn from_env() -> Self {
        Registry::at(&default_state_dir())
    }

    /// The registry under `state_dir`.
    pub fn at(state_dir: &Path) -> Self {
        Registry {
            entries: state_dir.join("platforms"),
        }
    }

    /// Where the entries are kept.
    pub fn path(&self) -> &Path {
        &self.entries
    }

    /// Records `platform_dir` (idempotent).
    pub fn register(&self, platform_dir: &Path) -> Result<(), RuntimeError> {
        std::fs::create_dir_all(&self.entries).map_err(io_error("create", &self.entries))?;
        let entry = self.entry_file(platform_dir);
        let text = format!("{}\n", platform_dir.display());
        // Written aside and renamed, so a concurrent `--all` never reads half a path.
        let partial = entry.with_extension(format!("partial-{}", std::process::id()));
        std::fs::write(&partial, text).map_err(io_error("write", &partial))?;
        std::fs::rename(&partial, &entry).map_err(io_error("write", &entry))
    }

    /// Forgets `platform_dir`.
    pub fn unregister(&self, platform_dir: &Path) {
        let _ = std::fs::remove_file(self.entry_file(platform_dir));
    }

    /// Every recorded platform directory with its entry file.
    fn entries(&self) -> Result<Vec<(PathBuf, PathBuf)>, RuntimeError> {
        let listing = match std::fs::read_dir(&self.entries) {
            Ok(listing) => listing,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(io_error("read", &self.entries)(error)),
        };
        let mut found: Vec<(PathBuf, PathBuf)> = listing
            .flatten()
            .map(|entry| entry.path())
            .filter(|file| !file.to_string_lossy().contains(".partial-"))
            .filter_map(|file| {
                let text = std::fs::read_to_string(&file).ok()?;
                let dir = text.lines().next()?.trim();
                (!dir.is_empty()).then(|| (PathBuf::from(dir), file))
            })
            .collect();
        found.sort();
        Ok(found)
    }

    /// Every recorded platform with its owner and processes. Entries whose directory holds
    /// nothing running and whose owner is gone are forgotten on the way.
    pub fn platforms(&self) -> Result<Vec<RecordedPlatform>, RuntimeError> {
        let mut platforms = Vec::new();
        for (dir, file) in self.entries()? {
            let platform = RecordedPlatform::inspect(&dir)?;
            if platform.is_idle() && platform.ownership != Ownership::InUse {
                let _ = std::fs::remove_file(&file);
            } else {
                platforms.push(platform);
            }
        }
        // Flink before the brokers it reads from, so that stopping them in this order never
        // leaves jobs failing over against a vanished cluster.
        platforms.sort_by_key(|p| !p.processes.iter().any(|p| p.kind == ProcessKind::Flink));
        Ok(platforms)
    }

    /// Stops every recorded platform whose owner is gone (kept on purpose or orphaned),
    /// only by recorded pids that still run their recorded command line; platforms whose
    /// owner still runs are left alone and reported.
    pub fn down_unowned(&self, grace: Duration) -> Result<Vec<PlatformStop>, RuntimeError> {
        let mut stops = Vec::new();
        for platform in self.platforms()? {
            if platform.ownership == Ownership::InUse {
                stops.push(PlatformStop {
                    platform,
                    stopped: Vec::new(),
                    left_alone: true,
                });
                continue;
            }
            let stopped = stop_platform(&platform, grace)?;
            if RecordedPlatform::inspect(&platform.dir)?.is_idle() {
                self.unregister(&platform.dir);
            }
            stops.push(PlatformStop {
                platform,
                stopped,
                left_alone: false,
            });
        }
        Ok(stops)
    }

    /// Forgets `platform_dir` when nothing recorded there runs any more.
    pub(crate) fn forget_if_idle(&self, platform_dir: &Path) {
        if RecordedPlatform::inspect(platform_dir).is_ok_and(|p| p.is_idle()) {
            self.unregister(platform_dir);
        }
    }

    /// The entry of `platform_dir`: named by a stable hash of its path (FNV-1a, not std's
    /// hasher, whose output may change between Rust releases).
    fn entry_file(&self, platform_dir: &Path) -> PathBuf {
        let hash = platform_dir
            .as_os_str()
            .as_encoded_bytes()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
            });
        self.entries.join(format!("{hash:016x}"))
    }
}

/// Records `platform_dir` in the default registry. Best effort: the registry only helps to
/// find abandoned platforms later, and a run must not fail because, say, the home directory
/// is read-only.
pub(crate) fn register_quietly(platform_dir: &Path) {
    let _ = Registry::from_env().register(platform_dir);
}

/// What kind of process a platform runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessKind {
    /// A Kafka broker (and KRaft controller).
    Broker,
    /// A Flink JobManager, TaskManager or SQL Gateway.
    Flink,
    /// The schema registry.
    SchemaRegistry,
}

/// One recorded process of a platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformProcess {
    /// `broker 1`, `jobmanager`, `taskmanager`, `sql-gateway`.
    pub name: String,
    /// Which kind.
    pub kind: ProcessKind,
    /// The recorded pid.
    pub pid: i32,
    /// Whether that pid still runs the recorded command line.
    pub running: bool,
}

/// Whose a platform is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// The streamproof process that started it still runs (a run in progress, an `up`
    /// still starting): never touched by `down --all`.
    InUse,
    /// Kept on purpose (`up`, `run --keep-platform`) by a process that has ended.
    Kept,
    /// Meant to end with its owner, which is gone, yet something still runs.
    Orphaned,
    /// Recorded without an owner (by an older streamproof).
    Unknown,
}

/// A recorded platform directory as it is now.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedPlatform {
    /// The platform directory.
    pub dir: PathBuf,
    /// The streamproof process that started it.
    pub owner: Option<Owner>,
    /// Whose it is now.
    pub ownership: Ownership,
    /// Its recorded processes.
    pub processes: Vec<PlatformProcess>,
}

impl RecordedPlatform {
    /// Reads what `dir` records: the brokers of its `cluster.json`, the Flink processes of
    /// its pid files.
    pub fn inspect(dir: &Path) -> Result<Self, RuntimeError> {
        let mut processes = Vec::new();
        let mut owner = None;
        // A state file another version cannot read is shown as holding no brokers rather
        // than hiding every other platform.
        if let Ok(Some(state)) = ClusterState::load(dir) {
            owner = state.owner;
            processes.extend(state.brokers.iter().map(|broker| PlatformProcess {
                name: format!("broker {}", broker.node_id),
                kind: ProcessKind::Broker,
                pid: broker.pid,
                running: broker.is_running(),
            }));
        }
        if let Some(recorded) = LocalSchemaRegistry::recorded(&schema_registry_dir(dir)) {
            owner = owner.or(recorded.owner);
            processes.push(PlatformProcess {
                name: "schema-registry".to_owned(),
                kind: ProcessKind::SchemaRegistry,
                pid: recorded.pid,
                running: recorded.is_running(),
            });
        }
        for (role, recorded) in recorded_flink_processes(dir) {
            owner = owner.or(recorded.owner);
            processes.push(PlatformProcess {
                name: role.to_owned(),
                kind: ProcessKind::Flink,
                pid: recorded.pid,
                running: recorded.is_running(),
            });
        }
        let ownership = match owner {
            Some(owner) if owner.is_alive() => Ownership::InUse,
            Some(Owner {
                lifetime: Lifetime::Kept,
                ..
            }) => Ownership::Kept,
            Some(_) => Ownership::Orphaned,
            None => Ownership::Unknown,
        };
        Ok(RecordedPlatform {
            dir: dir.to_owned(),
            owner,
            ownership,
            processes,
        })
    }

    /// Whether none of its processes runs.
    pub fn is_idle(&self) -> bool {
        !self.processes.iter().any(|p| p.running)
    }
}

/// How one process of a platform was stopped by `down --all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessStop {
    /// Its name, as in [`PlatformProcess`].
    pub name: String,
    /// Its pid.
    pub pid: i32,
    /// What happened.
    pub outcome: StopOutcome,
}

/// What `down --all` did to one platform.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformStop {
    /// The platform as found.
    pub platform: RecordedPlatform,
    /// Its processes and how each was stopped.
    pub stopped: Vec<ProcessStop>,
    /// Its owner still runs, so it was not touched.
    pub left_alone: bool,
}

fn stop_platform(
    platform: &RecordedPlatform,
    grace: Duration,
) -> Result<Vec<ProcessStop>, RuntimeError> {
    let mut stopped: Vec<ProcessStop> = FlinkCluster::down(&platform.dir, grace)
        .into_iter()
        .map(|(role, pid, killed)| ProcessStop {
            name: role.to_owned(),
            pid,
            outcome: if killed {
                StopOutcome::Killed
            } else {
                StopOutcome::Graceful
            },
        })
        .collect();
    if let Some((pid, killed)) =
        LocalSchemaRegistry::down(&schema_registry_dir(&platform.dir), grace)
    {
        stopped.push(ProcessStop {
            name: "schema-registry".to_owned(),
            pid,
            outcome: if killed {
                StopOutcome::Killed
            } else {
                StopOutcome::Graceful
            },
        });
    }
    if platform.dir.join(STATE_FILE).exists() {
        let report = LocalCluster::down(&platform.dir, grace)?;
        stopped.extend(
            report
                .brokers
                .into_iter()
                .map(|(node_id, pid, outcome)| ProcessStop {
                    name: format!("broker {node_id}"),
                    pid,
                    outcome,
                }),
        );
    }
    Ok(stopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_one_file_per_directory() {
        let state = tempfile::tempdir().unwrap();
        let registry = Registry::at(state.path());
        let a = state.path().join("a");
        let b = state.path().join("b");
        registry.register(&a).unwrap();
        registry.register(&a).unwrap();
        registry.register(&b).unwrap();
        let dirs: Vec<PathBuf> = registry
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(dirs, vec![a.clone(), b.clone()]);
        registry.unregister(&a);
        let dirs: Vec<PathBuf> = registry
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(dirs, vec![b]);
    }

    #[test]
    fn an_empty_registry_lists_nothing() {
        let state = tempfile::tempdir().unwrap();
        assert!(Registry::at(&state.path().join("never-created"))
            .platforms()
            .unwrap()
            .is_empty());
    }

    /// A platform directory whose one "broker" is a waiting shell (its command line holds
    /// the recorded config path, the marker), owned by `owner`.
    fn fake_platform(dir: &Path, owner: Owner) -> std::process::Child {
        std::fs::create_dir_all(dir).unwrap();
        let config = dir.join("server.properties");
        // `read` blocks on the open pipe without a child process of its own, and the
        // config path is the shell's `$0`, on its command line.
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg("read -r line")
            .arg(&config)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let marker = config.display().to_string();
        let started = std::time::Instant::now();
        while !super::super::process::runs(child.id() as i32, &marker) {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "sh did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let state = serde_json::json!({
            "cluster_id": "test",
            "kafka_version": "test",
            "started_at": "2026-01-01T00:00:00Z",
            "bootstrap_servers": "127.0.0.1:1",
            "dir": dir,
            "owner": owner,
            "brokers": [{
                "node_id": 1,
                "pid": child.id(),
                "port": 1,
                "controller_port": 2,
                "config": config,
                "server_log": dir.join("server.log"),
                "output_log": dir.join("stdout.log"),
                "data_dir": dir.join("data"),
            }],
        });
        std::fs::write(dir.join(STATE_FILE), state.to_string()).unwrap();
        child
    }

    #[test]
    fn ownership_follows_the_owner_and_idle_entries_are_forgotten() {
        let state = tempfile::tempdir().unwrap();
        let registry = Registry::at(state.path());
        let live_dir = state.path().join("live");
        let gone_dir = state.path().join("gone");
        let mut live = fake_platform(
            &live_dir,
            Owner::this_process(Lifetime::EndsWithThisProcess),
        );
        let gone_owner = Owner {
            start_ticks: Owner::this_process(Lifetime::Kept).start_ticks + 1,
            ..Owner::this_process(Lifetime::Kept)
        };
        let mut gone = fake_platform(&gone_dir, gone_owner);
        registry.register(&live_dir).unwrap();
        registry.register(&gone_dir).unwrap();

        let platforms = registry.platforms().unwrap();
        let ownership: Vec<(PathBuf, Ownership, bool)> = platforms
            .iter()
            .map(|p| (p.dir.clone(), p.ownership, p.processes[0].running))
            .collect();
        assert_eq!(
            ownership,
            vec![
                (gone_dir.clone(), Ownership::Kept, true),
                (live_dir.clone(), Ownership::InUse, true)
            ]
        );

        let stops = registry.down_unowned(Duration::from_secs(5)).unwrap();
        assert_eq!(stops.len(), 2);
        let gone_stop = stops.iter().find(|s| s.platform.dir == gone_dir).unwrap();
        assert!(!gone_stop.left_alone);
        assert_eq!(gone_stop.stopped.len(), 1);
        assert_eq!(gone_stop.stopped[0].outcome, StopOutcome::Graceful);
        assert!(stops
            .iter()
            .any(|s| s.platform.dir == live_dir && s.left_alone));
        gone.wait().unwrap();
        assert!(matches!(live.try_wait(), Ok(None)), "the live one runs on");

        // The stopped platform is forgotten; the live one stays even once idle, while its
        // owner runs.
        live.kill().unwrap();
        live.wait().unwrap();
        let left: Vec<PathBuf> = registry
            .platforms()
            .unwrap()
            .into_iter()
            .map(|p| p.dir)
            .collect();
        assert_eq!(left, vec![live_dir]);
    }

    #[test]
    fn flink_pid_files_are_found_and_stopped_when_orphaned() {
        let state = tempfile::tempdir().unwrap();
        let registry = Registry::at(state.path());
        let dir = state.path().join("flink");
        std::fs::create_dir_all(&dir).unwrap();
        let marker = format!("-Dstreamproof.flink=jobmanager@{}", dir.display());
        let mut jobmanager = std::process::Command::new("sh")
            .arg("-c")
            .arg("read -r line")
            .arg(&marker)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = jobmanager.id() as i32;
        let started = std::time::Instant::now();
        while !super::super::process::runs(pid, &marker) {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "sh did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // Meant to end with an owner that is gone (the pid of this process, but another
        // start time: a recycled pid).
        let owner = Owner {
            start_ticks: Owner::this_process(Lifetime::Kept).start_ticks + 1,
            ..Owner::this_process(Lifetime::EndsWithThisProcess)
        };
        std::fs::write(
            dir.join("jobmanager.pid"),
            format!("{pid}\n{marker}\n{}\n", owner.to_line()),
        )
        .unwrap();
        registry.register(&dir).unwrap();

        let platforms = registry.platforms().unwrap();
        assert_eq!(platforms.len(), 1);
        assert_eq!(platforms[0].ownership, Ownership::Orphaned);
        assert_eq!(
            platforms[0].processes,
            vec![PlatformProcess {
                name: "jobmanager".to_owned(),
                kind: ProcessKind::Flink,
                pid,
                running: true,
            }]
        );
        let stops = registry.down_unowned(Duration::from_secs(5)).unwrap();
        assert_eq!(
            stops[0].stopped,
            vec![ProcessStop {
                name: "jobmanager".to_owned(),
                pid,
                outcome: StopOutcome::Graceful,
            }]
        );
        jobmanager.wait().unwrap();
        assert!(
            registry.platforms().unwrap().is_empty(),
            "forgotten once stopped"
        );
    }
}
