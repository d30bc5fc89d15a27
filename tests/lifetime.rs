//! What a run leaves behind when it is killed, and how `status --all` and `down --all` find
//! and stop the platforms nobody owns any more. Real processes throughout; every check is by
//! the pids the platform recorded, and every command gets a state directory of its own so
//! that it never sees the shared test cluster.

mod common;

use common::{exclusive, explain};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use streamproof_platform::runtime::{Lifetime, Owner};

/// How long after the SIGKILL of a run every process it started may still be seen.
const DEATH_LIMIT: Duration = Duration::from_secs(10);

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn command(state: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_streamproof"));
    command
        .env_remove("STREAMPROOF_BOOTSTRAP_SERVERS")
        .env_remove("STREAMPROOF_DIR")
        .env("STREAMPROOF_STATE_DIR", state);
    command
}

fn streamproof_in(state: &Path, args: &[&str]) -> Output {
    command(state).args(args).output().expect("run streamproof")
}

/// Starts `streamproof run scenario --out out` in the background, output to files in `logs`.
fn start_run(state: &Path, scenario: &Path, out: &Path, logs: &Path) -> Child {
    let log = |name: &str| Stdio::from(std::fs::File::create(logs.join(name)).unwrap());
    command(state)
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::null())
        .stdout(log("stdout.log"))
        .stderr(log("stderr.log"))
        .spawn()
        .expect("start streamproof run")
}

/// A process a run recorded: its name, pid and the string its command line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recorded {
    name: String,
    pid: i32,
    marker: String,
}

/// Every process recorded under the run directory `out`: the brokers of
/// `platform/cluster.json`, the copier's and Flink's pid files.
fn recorded(out: &Path) -> Vec<Recorded> {
    let mut found = Vec::new();
    if let Ok(text) = std::fs::read_to_string(out.join("platform/cluster.json")) {
        if let Ok(state) = serde_json::from_str::<serde_json::Value>(&text) {
            for broker in state["brokers"].as_array().into_iter().flatten() {
                found.push(Recorded {
                    name: format!("broker {}", broker["node_id"]),
                    pid: broker["pid"].as_i64().unwrap_or(0) as i32,
                    marker: broker["config"].as_str().unwrap_or_default().to_owned(),
                });
            }
        }
    }
    for (name, file) in [
        ("copier", out.join("copier.pid")),
        ("jobmanager", out.join("flink/jobmanager.pid")),
        ("taskmanager", out.join("flink/taskmanager.pid")),
        ("sql-gateway", out.join("flink/sql-gateway.pid")),
    ] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let mut lines = text.lines();
        if let (Some(Ok(pid)), Some(marker)) = (lines.next().map(str::parse), lines.next()) {
            found.push(Recorded {
                name: name.to_owned(),
                pid,
                marker: marker.to_owned(),
            });
        }
    }
    found
}

/// Whether `pid` runs (not a zombie) a command line holding `marker`.
fn runs(pid: i32, marker: &str) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')?
                .1
                .split_whitespace()
                .next()
                .map(str::to_owned)
        });
    !matches!(state.as_deref(), None | Some("Z") | Some("X"))
        && String::from_utf8_lossy(&cmdline).contains(marker)
}

fn running(processes: &[Recorded]) -> Vec<&Recorded> {
    processes
        .iter()
        .filter(|p| runs(p.pid, &p.marker))
        .collect()
}

/// Polls `check` every 100 ms for up to `limit`; the last value.
fn wait_for<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if started.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tail(logs: &Path) -> String {
    ["stdout.log", "stderr.log"]
        .iter()
        .map(|name| std::fs::read_to_string(logs.join(name)).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Kills `run` with SIGKILL; asserts that within [`DEATH_LIMIT`] none of `processes` runs.
fn kill_and_expect_nothing_left(mut run: Child, processes: &[Recorded], logs: &Path) {
    assert!(
        matches!(run.try_wait(), Ok(None)),
        "the run ended before it was killed:\n{}",
        tail(logs)
    );
    let killed_at = Instant::now();
    run.kill().expect("SIGKILL the run");
    run.wait().expect("reap the run");
    let gone = wait_for(DEATH_LIMIT, || running(processes).is_empty().then_some(()));
    let left: Vec<&Recorded> = running(processes);
    assert!(
        gone.is_some(),
        "{} s after the SIGKILL of the run these still run: {left:?}",
        DEATH_LIMIT.as_secs()
    );
    eprintln!(
        "all {} processes of the killed run were gone {} ms after the SIGKILL",
        processes.len(),
        killed_at.elapsed().as_millis()
    );
}

#[test]
fn a_killed_kafka_run_leaves_no_process_behind_even_ones_restarted_by_faults() {
    let _one = exclusive();
    let work = tempfile::tempdir().unwrap();
    let (state, out) = (work.path().join("state"), work.path().join("out"));
    let run = start_run(
        &state,
        &repo("tests/fixtures/killed-run.yaml"),
        &out,
        work.path(),
    );
    let mut run = scopeguard(run);

    // Three brokers and the copier, then the replacements of broker 1 and the copier,
    // started by the fault injector's thread, which ends after its last fault.
    let first = wait_for(Duration::from_secs(240), || {
        let found = recorded(&out);
        (found.len() == 4 && running(&found).len() == 4).then_some(found)
    })
    .unwrap_or_else(|| {
        panic!(
            "the brokers and the copier never all ran:\n{}",
            tail(work.path())
        )
    });
    let pid_of = |processes: &[Recorded], name: &str| {
        processes.iter().find(|p| p.name == name).map(|p| p.pid)
    };
    let restarted = wait_for(Duration::from_secs(120), || {
        let found = recorded(&out);
        let replaced = ["broker 1", "copier"]
            .iter()
            .all(|name| pid_of(&found, name).is_some_and(|pid| Some(pid) != pid_of(&first, name)));
        (replaced && found.len() == 4 && running(&found).len() == 4).then_some(found)
    })
    .unwrap_or_else(|| {
        panic!(
            "the faults did not restart broker 1 and the copier:\n{}",
            tail(work.path())
        )
    });
    // Well after the injector's thread has ended, the restarted processes still run: their
    // death signal follows this process, not that thread.
    std::thread::sleep(Duration::from_secs(3));
    let copier_log = std::fs::read_to_string(out.join("copier.log")).unwrap_or_default();
    assert_eq!(
        running(&restarted).len(),
        4,
        "a restarted process died with the thread that restarted it: {restarted:?}\nrunning: {:?}\ncopier log:\n{copier_log}\n{}",
        running(&restarted),
        tail(work.path())
    );
    assert!(
        first
            .iter()
            .filter(|p| p.name == "broker 1" || p.name == "copier")
            .all(|p| !runs(p.pid, &p.marker)),
        "the killed originals are gone"
    );

    kill_and_expect_nothing_left(run.take(), &restarted, work.path());
}

#[test]
fn a_killed_pipeline_run_leaves_no_broker_and_no_flink_process_behind() {
    let _one = exclusive();
    let work = tempfile::tempdir().unwrap();
    let (state, out) = (work.path().join("state"), work.path().join("out"));
    let run = start_run(
        &state,
        &repo("scenarios/pipeline/smoke.yaml"),
        &out,
        work.path(),
    );
    let mut run = scopeguard(run);
    // The SQL Gateway starts last: once it runs, the broker and all of Flink do.
    let processes = wait_for(Duration::from_secs(600), || {
        let found = recorded(&out);
        let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
        let complete = names.contains(&"broker 1") && names.contains(&"sql-gateway");
        (complete && running(&found).len() == found.len()).then_some(found)
    })
    .unwrap_or_else(|| {
        panic!(
            "the broker and Flink's JobManager, TaskManager and SQL Gateway never all ran:\n{}",
            tail(work.path())
        )
    });
    assert_eq!(processes.len(), 4, "{processes:?}");
    kill_and_expect_nothing_left(run.take(), &processes, work.path());
}

#[test]
fn down_all_stops_kept_and_orphaned_platforms_and_leaves_a_live_one_alone() {
    let _one = exclusive();
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");

    // Kept on purpose: `up`, which has ended.
    let kept = work.path().join("kept");
    let port = free_block().to_string();
    let output = streamproof_in(
        &state,
        &[
            "up",
            "--dir",
            kept.to_str().unwrap(),
            "--base-port",
            &port,
            "--heap-mb",
            "256",
        ],
    );
    assert!(output.status.success(), "{}", explain(&output));
    let kept = kept.canonicalize().unwrap();
    let broker = {
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(kept.join("cluster.json")).unwrap())
                .unwrap();
        Recorded {
            name: "broker 1".to_owned(),
            pid: state["brokers"][0]["pid"].as_i64().unwrap() as i32,
            marker: state["brokers"][0]["config"].as_str().unwrap().to_owned(),
        }
    };
    let mut broker_guard = PidGuard(vec![broker.clone()]);

    // Orphaned: meant to end with a process that is gone (as an older streamproof, or one
    // whose process could not be tied, leaves it).
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id() as i32;
    dead.wait().unwrap();
    let orphaned = work.path().join("orphaned");
    let mut orphan = fake_platform(
        &state,
        &orphaned,
        Owner {
            pid: dead_pid,
            start_ticks: 1,
            lifetime: Lifetime::EndsWithThisProcess,
        },
    );
    // In use: its owner (this test) still runs.
    let in_use = work.path().join("in-use");
    let mut live = fake_platform(
        &state,
        &in_use,
        Owner::this_process(Lifetime::EndsWithThisProcess),
    );

    let output = streamproof_in(&state, &["status", "--all", "--json"]);
    assert!(output.status.success(), "{}", explain(&output));
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let ownership = |dir: &Path| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["dir"] == dir.to_str().unwrap())
            .map(|p| (p["ownership"].clone(), p["processes"][0]["running"].clone()))
    };
    assert_eq!(ownership(&kept), Some(("kept".into(), true.into())));
    assert_eq!(ownership(&orphaned), Some(("orphaned".into(), true.into())));
    assert_eq!(ownership(&in_use), Some(("in_use".into(), true.into())));
    let text = streamproof_in(&state, &["status", "--all"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(&format!("orphaned: its streamproof pid {dead_pid} is gone")));
    assert!(
        text.contains(&format!("pid {}  running", broker.pid)),
        "{text}"
    );

    let output = streamproof_in(&state, &["down", "--all", "--json", "--grace-secs", "20"]);
    assert!(output.status.success(), "{}", explain(&output));
    let stops: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let stop = |dir: &Path| {
        stops
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["platform"]["dir"] == dir.to_str().unwrap())
            .cloned()
            .unwrap_or_else(|| panic!("{} not in {stops}", dir.display()))
    };
    assert_eq!(stop(&kept)["stopped"][0]["pid"], broker.pid);
    assert_eq!(stop(&kept)["stopped"][0]["outcome"], "graceful");
    assert_eq!(stop(&orphaned)["stopped"][0]["outcome"], "graceful");
    assert_eq!(stop(&in_use)["left_alone"], true);
    assert!(stop(&in_use)["stopped"].as_array().unwrap().is_empty());

    assert!(
        !runs(broker.pid, &broker.marker),
        "the kept broker is stopped"
    );
    broker_guard.0.clear();
    orphan.wait().unwrap();
    assert!(
        matches!(live.try_wait(), Ok(None)),
        "the platform whose owner runs is left alone"
    );

    // What was stopped is forgotten; the live one is still listed.
    let output = streamproof_in(&state, &["status", "--all", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let dirs: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["dir"].as_str().unwrap())
        .collect();
    assert_eq!(dirs, vec![in_use.to_str().unwrap()]);
    live.kill().unwrap();
    live.wait().unwrap();
}

/// A recorded platform in `dir` whose one "broker" is a shell waiting on its stdin (the
/// recorded config path is its `$0`, so on its command line), owned by `owner`, registered
/// under `state` the way streamproof registers its own.
fn fake_platform(state: &Path, dir: &Path, owner: Owner) -> Child {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("server.properties");
    let child = Command::new("sh")
        .arg("-c")
        .arg("read -r line")
        .arg(&config)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let marker = config.display().to_string();
    wait_for(Duration::from_secs(5), || {
        runs(child.id() as i32, &marker).then_some(())
    })
    .expect("the shell runs");
    let recorded = serde_json::json!({
        "cluster_id": "fake",
        "kafka_version": "fake",
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
    std::fs::write(dir.join("cluster.json"), recorded.to_string()).unwrap();
    let entries = state.join("platforms");
    std::fs::create_dir_all(&entries).unwrap();
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::write(entries.join(name), format!("{}\n", dir.display())).unwrap();
    child
}

/// The first block of 60 ports from 45000 that is free now.
fn free_block() -> u16 {
    (45_000..60_000)
        .step_by(100)
        .find(|base| {
            (0..60).all(|offset| std::net::TcpListener::bind(("127.0.0.1", base + offset)).is_ok())
        })
        .expect("a free block of ports")
}

/// Kills the run (and so, through the kernel, its platform) should the test fail before it
/// does so on purpose.
struct RunGuard(Option<Child>);

impl RunGuard {
    fn take(&mut self) -> Child {
        self.0.take().expect("the run")
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn scopeguard(run: Child) -> RunGuard {
    RunGuard(Some(run))
}

/// SIGKILLs recorded processes still running when the test ends (a failed assertion), only
/// while their pid still runs their marker.
struct PidGuard(Vec<Recorded>);

impl Drop for PidGuard {
    fn drop(&mut self) {
        for process in &self.0 {
            if runs(process.pid, &process.marker) {
                let _ = Command::new("kill")
                    .args(["-KILL", &process.pid.to_string()])
                    .status();
            }
        }
    }
}
