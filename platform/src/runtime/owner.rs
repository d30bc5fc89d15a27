//! Who a started platform belongs to, and for how long its processes live.
//!
//! A platform records the streamproof process that started it (its pid and its start time, so
//! that a recycled pid is never taken for the owner) and whether its processes end with that
//! process or are kept on purpose. `status --all` and `down --all` read this to tell a run in
//! progress from a platform nobody owns any more.

use serde::{Deserialize, Serialize};

/// How long the processes of a platform live. Decided when a process is started: the kernel's
/// parent-death signal can only be set by the started process itself, before it runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lifetime {
    /// Killed by the kernel (SIGKILL) as soon as the streamproof process that started it
    /// ends, however it ends: a finished run, SIGKILL, the OOM killer.
    #[default]
    EndsWithThisProcess,
    /// Outlives the streamproof process that started it (`up`, `run --keep-platform`),
    /// until `down` stops it.
    Kept,
}

impl Lifetime {
    /// [`Lifetime::Kept`] when `keep`, else [`Lifetime::EndsWithThisProcess`].
    pub fn kept_if(keep: bool) -> Self {
        if keep {
            Lifetime::Kept
        } else {
            Lifetime::EndsWithThisProcess
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Lifetime::EndsWithThisProcess => "ends-with-owner",
            Lifetime::Kept => "kept",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "ends-with-owner" => Some(Lifetime::EndsWithThisProcess),
            "kept" => Some(Lifetime::Kept),
            _ => None,
        }
    }
}

/// The streamproof process that started a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Its pid.
    pub pid: i32,
    /// Its start time in clock ticks after boot (`/proc/PID/stat` field 22): with the pid,
    /// it names one process for the lifetime of the machine.
    pub start_ticks: u64,
    /// Whether the platform outlives it.
    pub lifetime: Lifetime,
}

impl Owner {
    /// This process as the owner of what it starts with `lifetime`.
    pub fn this_process(lifetime: Lifetime) -> Self {
        let pid = std::process::id() as i32;
        Owner {
            pid,
            // /proc is always there on Linux, the only system the local runtime runs on; a
            // start time of 0 merely makes the owner look gone, which errs towards cleaning.
            start_ticks: start_ticks(pid).unwrap_or(0),
            lifetime,
        }
    }

    /// Whether the owning process still runs: the same pid with the same start time, and
    /// not a zombie.
    pub fn is_alive(&self) -> bool {
        process_stat(self.pid)
            .is_some_and(|(state, ticks)| ticks == self.start_ticks && state != 'Z' && state != 'X')
    }

    /// One line for a pid file: `PID START_TICKS LIFETIME`.
    pub(crate) fn to_line(self) -> String {
        format!(
            "{} {} {}",
            self.pid,
            self.start_ticks,
            self.lifetime.as_str()
        )
    }

    /// Reads [`Owner::to_line`]'s format.
    pub(crate) fn from_line(line: &str) -> Option<Self> {
        let mut fields = line.split_whitespace();
        let pid = fields.next()?.parse().ok()?;
        let start_ticks = fields.next()?.parse().ok()?;
        let lifetime = Lifetime::parse(fields.next()?)?;
        Some(Owner {
            pid,
            start_ticks,
            lifetime,
        })
    }
}

/// The start time of `pid` in clock ticks after boot, `None` when it does not run.
pub(crate) fn start_ticks(pid: i32) -> Option<u64> {
    process_stat(pid).map(|(_, ticks)| ticks)
}

/// State letter and start time of `pid` from `/proc/PID/stat`.
fn process_stat(pid: i32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// The command name (field 2) may hold spaces and parentheses, so the fields are counted
/// from the last `)`: field 3 (state) is the first after it, field 22 (starttime) the 20th.
fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ticks = fields.nth(18)?.parse().ok()?;
    Some((state, ticks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive() {
        let owner = Owner::this_process(Lifetime::EndsWithThisProcess);
        assert_eq!(owner.pid, std::process::id() as i32);
        assert!(owner.start_ticks > 0);
        assert!(owner.is_alive());
    }

    #[test]
    fn a_recycled_pid_is_not_the_owner() {
        let owner = Owner {
            start_ticks: Owner::this_process(Lifetime::Kept).start_ticks + 1,
            ..Owner::this_process(Lifetime::Kept)
        };
        assert!(!owner.is_alive());
    }

    #[test]
    fn an_exited_process_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        let ticks = start_ticks(pid);
        child.wait().unwrap();
        let owner = Owner {
            pid,
            start_ticks: ticks.unwrap_or(0),
            lifetime: Lifetime::Kept,
        };
        assert!(!owner.is_alive());
    }

    #[test]
    fn a_zombie_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Not yet reaped: a zombie once it has exited.
        let started = std::time::Instant::now();
        while process_stat(pid).is_some_and(|(state, _)| state != 'Z')
            && started.elapsed() < std::time::Duration::from_secs(5)
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let (state, ticks) = process_stat(pid).unwrap();
        assert_eq!(state, 'Z');
        let owner = Owner {
            pid,
            start_ticks: ticks,
            lifetime: Lifetime::Kept,
        };
        assert!(!owner.is_alive());
        child.wait().unwrap();
    }

    #[test]
    fn stat_fields_count_from_the_last_parenthesis() {
        let stat =
            "4242 (odd ) name) S 1 4242 4242 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 987654 1000 10";
        assert_eq!(parse_stat(stat), Some(('S', 987_654)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn owner_lines_round_trip() {
        let owner = Owner {
            pid: 12,
            start_ticks: 345,
            lifetime: Lifetime::EndsWithThisProcess,
        };
        assert_eq!(owner.to_line(), "12 345 ends-with-owner");
        assert_eq!(Owner::from_line(&owner.to_line()), Some(owner));
        assert_eq!(Owner::from_line("12 345"), None);
        assert_eq!(Owner::from_line("12 x kept"), None);
    }
}
