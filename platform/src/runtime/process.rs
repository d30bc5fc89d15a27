//! Processes the runtime starts and later signals, always by their recorded pid and only
//! after checking that the pid still runs the command line we started.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Sender};
use std::sync::OnceLock;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::owner::{Lifetime, Owner};
use super::{io_error, RuntimeError};

/// A process of the platform shared between the run that started it and the faults that
/// act on it.
pub type SharedProcess = std::sync::Arc<std::sync::Mutex<ManagedProcess>>;

/// What must follow a platform process's restart before the platform works again, e.g. the
/// pipeline's jobs resubmitted from their last checkpoint after a JobManager without high
/// availability came back empty. The run provides it.
pub trait AfterRestart: Send + Sync {
    /// Brings the platform back around the restarted process; returns what was done.
    fn recover(&self) -> Result<String, String>;
}

/// The load generator's producer clients, as faults see them. The load generator provides
/// it; faults never create clients themselves.
pub trait ProducerSwitch: Send + Sync {
    /// Kills every producer client abruptly: queued sends fail, in-flight ones are abandoned
    /// with their outcome unknown, nothing is sent until [`ProducerSwitch::start_again`].
    /// Returns what was done.
    fn kill(&self) -> Result<String, String>;
    /// Starts new producer clients after a kill (new producer ids, as a restarted
    /// application would have).
    fn start_again(&self) -> Result<String, String>;
    /// Graceful restart: waits for every in-flight send, then replaces the clients.
    fn restart(&self) -> Result<String, String>;
}

/// Starts `command` in its own process group (so a Ctrl-C at the terminal reaches only the
/// streamproof process, which then stops it in order), output appended to `output_log`.
pub(crate) fn spawn_detached(
    mut command: Command,
    output_log: &Path,
    lifetime: Lifetime,
) -> Result<Child, RuntimeError> {
    let log = File::create(output_log).map_err(io_error("create", output_log))?;
    let log_err = log.try_clone().map_err(io_error("open", output_log))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .process_group(0);
    spawn(command, lifetime).map_err(io_error("start a process logging to", output_log))
}

/// Starts `command`; with [`Lifetime::EndsWithThisProcess`] the kernel kills it (SIGKILL)
/// when this process ends, however it ends.
pub(crate) fn spawn(command: Command, lifetime: Lifetime) -> std::io::Result<Child> {
    match lifetime {
        Lifetime::Kept => {
            let mut command = command;
            command.spawn()
        }
        Lifetime::EndsWithThisProcess => spawn_tied(command),
    }
}

/// A command for the spawner thread and where its answer goes.
type SpawnRequest = (Command, Sender<std::io::Result<Child>>);

/// Forks every tied process from one thread that lives as long as this process: the
/// parent-death signal fires when the *thread* that forked ends, so a process started (or
/// restarted by a fault) from a short-lived thread would otherwise die with that thread.
fn spawn_tied(command: Command) -> std::io::Result<Child> {
    static SPAWNER: OnceLock<Sender<SpawnRequest>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = channel::<SpawnRequest>();
        // Should the thread not start, `incoming` is dropped with the closure and every
        // request fails on the closed channel below.
        let _ = std::thread::Builder::new()
            .name("streamproof-spawner".to_owned())
            .spawn(move || {
                for (mut command, reply) in incoming {
                    let _ = reply.send(spawn_with_death_signal(&mut command));
                }
            });
        requests
    });
    let gone = || std::io::Error::other("the thread that starts platform processes is not running");
    let (reply, answer) = channel();
    spawner.send((command, reply)).map_err(|_| gone())?;
    answer.recv().map_err(|_| gone())?
}

/// Spawns `command` so that the kernel sends it SIGKILL when the calling thread ends.
fn spawn_with_death_signal(command: &mut Command) -> std::io::Result<Child> {
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs between fork and exec and makes only two system calls,
    // prctl and getppid, both async-signal-safe; it allocates nothing (an OS error carries
    // just its number).
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)?;
            // This process may have died between the fork and the prctl: then the death
            // signal will never come, and the child must not run unowned.
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(nix::libc::ESRCH));
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Whether `pid` is a live (not zombie) process whose command line contains `marker`.
pub(crate) fn runs(pid: i32, marker: &str) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after_name = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            Some(after_name == 'Z' || after_name == 'X')
        })
        .unwrap_or(true);
    !zombie && String::from_utf8_lossy(&cmdline).contains(marker)
}

/// Sends `signal` to `pid` if it still runs `marker`; returns whether it was sent.
pub(crate) fn signal_if_ours(pid: i32, marker: &str, signal: Signal) -> bool {
    runs(pid, marker) && kill(Pid::from_raw(pid), signal).is_ok()
}

/// What [`ManagedProcess::launch`] starts.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// The executable.
    pub program: std::path::PathBuf,
    /// Its arguments; one of them holds `marker`.
    pub args: Vec<String>,
    /// A string unique to this process that appears in `args`: what identifies the process
    /// before it is ever signalled.
    pub marker: String,
    /// Standard output and error are appended here.
    pub log: std::path::PathBuf,
    /// Working directory.
    pub dir: Option<std::path::PathBuf>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Where its pid, marker and owner are written at every start, so another streamproof
    /// process can find and stop it (`stop_recorded`).
    pub pid_file: Option<std::path::PathBuf>,
    /// Whether it ends with this process or is kept; restarts keep it.
    pub lifetime: Lifetime,
}

impl ProcessSpec {
    /// `program args`, output appended to `log`, ending with this process.
    pub fn new(program: &Path, args: Vec<String>, marker: &str, log: &Path) -> Self {
        ProcessSpec {
            program: program.to_owned(),
            args,
            marker: marker.to_owned(),
            log: log.to_owned(),
            dir: None,
            env: Vec::new(),
            pid_file: None,
            lifetime: Lifetime::EndsWithThisProcess,
        }
    }
}

/// A helper process of the platform (such as the copier) that streamproof starts, may signal
/// and restart, and stops when dropped. Only its recorded pid is ever signalled, and only while
/// that pid still runs a command line containing the process's unique marker.
pub struct ManagedProcess {
    spec: ProcessSpec,
    detached: bool,
    child: Option<Child>,
    pid: i32,
}

impl ManagedProcess {
    /// Starts `program args`, output appended to `log`, ending with this process; `marker`
    /// must appear in `args` and be unique to this process.
    pub fn start(
        program: &Path,
        args: Vec<String>,
        marker: &str,
        log: &Path,
    ) -> Result<Self, RuntimeError> {
        Self::launch(ProcessSpec::new(program, args, marker, log))
    }

    /// Starts the process `spec` describes; restarts use the same spec.
    pub fn launch(spec: ProcessSpec) -> Result<Self, RuntimeError> {
        let mut process = ManagedProcess {
            spec,
            detached: false,
            child: None,
            pid: 0,
        };
        process.start_again()?;
        Ok(process)
    }

    /// The current pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Whether the process runs.
    pub fn is_running(&mut self) -> bool {
        // Our own child: its exit status is the truth. Its command line is not: right after
        // the fork, before the exec, /proc still shows ours, without the marker.
        if let Some(child) = &mut self.child {
            return matches!(child.try_wait(), Ok(None));
        }
        runs(self.pid, &self.spec.marker)
    }

    /// Starts the process again when it is not running; returns the pid.
    pub fn start_again(&mut self) -> Result<i32, RuntimeError> {
        if self.pid != 0 && self.is_running() {
            return Ok(self.pid);
        }
        let spec = &self.spec;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .map_err(io_error("open", &spec.log))?;
        let log_err = log.try_clone().map_err(io_error("open", &spec.log))?;
        let mut command = Command::new(&spec.program);
        if let Some(dir) = &spec.dir {
            command.current_dir(dir);
        }
        command
            .args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0);
        let child = spawn(command, spec.lifetime).map_err(io_error("start", &spec.program))?;
        self.pid = child.id() as i32;
        self.child = Some(child);
        if let Some(file) = &spec.pid_file {
            let owner = Owner::this_process(spec.lifetime);
            std::fs::write(
                file,
                format!("{}\n{}\n{}\n", self.pid, spec.marker, owner.to_line()),
            )
            .map_err(io_error("write", file))?;
        }
        Ok(self.pid)
    }

    /// Sends `signal`; returns the pid signalled, `None` when it was not running.
    pub fn signal(&mut self, signal: Signal) -> Option<i32> {
        signal_if_ours(self.pid, &self.spec.marker, signal).then_some(self.pid)
    }

    /// Waits up to `limit` for the process to exit; returns whether it did.
    pub fn wait_exit(&mut self, limit: std::time::Duration) -> bool {
        let started = std::time::Instant::now();
        while self.is_running() {
            if started.elapsed() > limit {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        true
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: std::time::Duration) {
        if self.signal(Signal::SIGTERM).is_some() && !self.wait_exit(grace) {
            self.signal(Signal::SIGKILL);
            self.wait_exit(std::time::Duration::from_secs(5));
        }
    }
}

impl ManagedProcess {
    /// Leaves the process running when this handle is dropped (its pid file stays).
    pub fn detach(&mut self) {
        self.detached = true;
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        if !self.detached {
            self.stop(std::time::Duration::from_secs(10));
        }
    }
}

/// A process recorded in a pid file by [`ManagedProcess`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedProcess {
    /// Its pid.
    pub pid: i32,
    /// The string its command line holds.
    pub marker: String,
    /// Who started it; `None` in files written before owners were recorded.
    pub owner: Option<Owner>,
}

impl RecordedProcess {
    /// Reads `pid_file`; `None` when there is none or it is not one of ours.
    pub fn load(pid_file: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(pid_file).ok()?;
        let mut lines = text.lines();
        let pid: i32 = lines.next()?.trim().parse().ok()?;
        let marker = lines.next()?.to_owned();
        let owner = lines.next().and_then(Owner::from_line);
        Some(RecordedProcess { pid, marker, owner })
    }

    /// Whether the recorded pid still runs the recorded command line.
    pub fn is_running(&self) -> bool {
        runs(self.pid, &self.marker)
    }
}

/// Stops the process recorded in `pid_file` by [`ManagedProcess::launch`]: SIGTERM,
/// SIGKILL after `grace`, and only while the pid still runs the recorded marker. Returns the
/// pid and whether it had to be killed; `None` when nothing recorded there runs.
pub fn stop_recorded(pid_file: &Path, grace: std::time::Duration) -> Option<(i32, bool)> {
    let RecordedProcess { pid, marker, .. } = RecordedProcess::load(pid_file)?;
    if !signal_if_ours(pid, &marker, Signal::SIGTERM) {
        return None;
    }
    let started = std::time::Instant::now();
    while runs(pid, &marker) && started.elapsed() < grace {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let killed = signal_if_ours(pid, &marker, Signal::SIGKILL);
    Some((pid, killed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// `sleep` adds up its arguments, so a tiny unique second one is a marker that changes
    /// nothing and is on the command line from the exec on.
    fn sleeper(tag: u32, log: &Path) -> ProcessSpec {
        let marker = format!("0.000{}{tag}", std::process::id());
        ProcessSpec::new(
            Path::new("sleep"),
            vec!["30".to_owned(), marker.clone()],
            &marker,
            log,
        )
    }

    fn runs_for_a_while(process: &mut ManagedProcess) -> bool {
        std::thread::sleep(Duration::from_millis(300));
        process.is_running() && runs(process.pid(), &process.spec.marker)
    }

    #[test]
    fn a_tied_process_outlives_the_thread_that_started_or_restarted_it() {
        let dir = tempfile::tempdir().unwrap();
        let spec = sleeper(1, &dir.path().join("sleep.log"));
        let mut process = std::thread::spawn(move || ManagedProcess::launch(spec))
            .join()
            .unwrap()
            .unwrap();
        assert!(
            runs_for_a_while(&mut process),
            "started from an ended thread"
        );

        let first = process.pid();
        process.signal(Signal::SIGKILL);
        assert!(process.wait_exit(Duration::from_secs(5)));
        let shared = std::sync::Arc::new(std::sync::Mutex::new(process));
        let restarter = shared.clone();
        std::thread::spawn(move || restarter.lock().unwrap().start_again().unwrap())
            .join()
            .unwrap();
        let mut process = std::sync::Arc::into_inner(shared)
            .unwrap()
            .into_inner()
            .unwrap();
        assert_ne!(process.pid(), first);
        assert!(
            runs_for_a_while(&mut process),
            "restarted from an ended thread"
        );
        process.stop(Duration::from_secs(5));
        assert!(!process.is_running());
    }

    #[test]
    fn a_kept_process_writes_its_owner_to_its_pid_file() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("sleep.pid");
        let mut process = ManagedProcess::launch(ProcessSpec {
            pid_file: Some(pid_file.clone()),
            lifetime: Lifetime::Kept,
            ..sleeper(2, &dir.path().join("sleep.log"))
        })
        .unwrap();
        let recorded = RecordedProcess::load(&pid_file).unwrap();
        assert_eq!(recorded.pid, process.pid());
        assert_eq!(
            recorded.owner,
            Some(Owner::this_process(Lifetime::Kept)),
            "this process, kept"
        );
        assert!(runs_for_a_while(&mut process));
        assert_eq!(
            stop_recorded(&pid_file, Duration::from_secs(5)),
            Some((recorded.pid, false))
        );
        assert!(process.wait_exit(Duration::from_secs(5)));
    }
}
