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
