//! Processes the runtime starts and later signals, always by their recorded pid and only
//! after checking that the pid still runs the command line we started.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{io_error, RuntimeError};

/// Starts `command` in its own process group (so a Ctrl-C at the terminal reaches only the
/// streamproof process, which then stops it in order), output appended to `output_log`.
pub(crate) fn spawn_detached(
    mut command: Command,
    output_log: &Path,
) -> Result<Child, RuntimeError> {
    let log = File::create(output_log).map_err(io_error("create", output_log))?;
    let log_err = log.try_clone().map_err(io_error("open", output_log))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .process_group(0);
    command
        .spawn()
        .map_err(io_error("start a process logging to", output_log))
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

/// A helper process of the platform (such as the copier) that streamproof starts, may signal
/// and restart, and stops when dropped. Only its recorded pid is ever signalled, and only while
/// that pid still runs a command line containing the process's unique marker.
pub struct ManagedProcess {
    program: std::path::PathBuf,
    args: Vec<String>,
    marker: String,
    log: std::path::PathBuf,
    dir: Option<std::path::PathBuf>,
    env: Vec<(String, String)>,
    pid_file: Option<std::path::PathBuf>,
    detached: bool,
    child: Option<Child>,
    pid: i32,
}

impl ManagedProcess {
    /// Starts `program args`, output appended to `log`; `marker` must appear in `args` and be
    /// unique to this process.
    pub fn start(
        program: &Path,
        args: Vec<String>,
        marker: &str,
        log: &Path,
    ) -> Result<Self, RuntimeError> {
        Self::start_with(program, args, marker, log, None, Vec::new(), None)
    }

    /// Like [`ManagedProcess::start`], in working directory `dir` with extra environment
    /// variables `env` (kept for restarts), and with its pid and marker written to
    /// `pid_file` at every start, so another streamproof process can stop it
    /// ([`stop_recorded`]).
    pub fn start_with(
        program: &Path,
        args: Vec<String>,
        marker: &str,
        log: &Path,
        dir: Option<&Path>,
        env: Vec<(String, String)>,
        pid_file: Option<&Path>,
    ) -> Result<Self, RuntimeError> {
        let mut process = ManagedProcess {
            program: program.to_owned(),
            args,
            marker: marker.to_owned(),
            log: log.to_owned(),
            dir: dir.map(Path::to_owned),
            env,
            pid_file: pid_file.map(Path::to_owned),
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
        runs(self.pid, &self.marker)
    }

    /// Starts the process again when it is not running; returns the pid.
    pub fn start_again(&mut self) -> Result<i32, RuntimeError> {
        if self.pid != 0 && self.is_running() {
            return Ok(self.pid);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(io_error("open", &self.log))?;
        let log_err = log.try_clone().map_err(io_error("open", &self.log))?;
        let mut command = Command::new(&self.program);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        let child = command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0)
            .spawn()
            .map_err(io_error("start", &self.program))?;
        self.pid = child.id() as i32;
        self.child = Some(child);
        if let Some(file) = &self.pid_file {
            std::fs::write(file, format!("{}\n{}\n", self.pid, self.marker))
                .map_err(io_error("write", file))?;
        }
        Ok(self.pid)
    }

    /// Sends `signal`; returns the pid signalled, `None` when it was not running.
    pub fn signal(&mut self, signal: Signal) -> Option<i32> {
        signal_if_ours(self.pid, &self.marker, signal).then_some(self.pid)
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

/// Stops the process recorded in `pid_file` by [`ManagedProcess::start_with`]: SIGTERM,
/// SIGKILL after `grace`, and only while the pid still runs the recorded marker. Returns the
/// pid and whether it had to be killed; `None` when nothing recorded there runs.
pub fn stop_recorded(pid_file: &Path, grace: std::time::Duration) -> Option<(i32, bool)> {
    let text = std::fs::read_to_string(pid_file).ok()?;
    let mut lines = text.lines();
    let pid: i32 = lines.next()?.trim().parse().ok()?;
    let marker = lines.next()?.to_owned();
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
