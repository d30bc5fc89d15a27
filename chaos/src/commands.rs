//! Fault actions given as shell commands (a platform file's `faults:`), for the processes of
//! a platform streamproof did not start: each runs with `sh -c`, its `{id}` and `{host}`
//! filled in, within the file's time limit, and its exit code, output and time go on the
//! fault's timeline. A scenario whose faults need a command the file does not give is
//! refused before the run starts.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use streamproof_platform::file::{FaultsSection, ProcessAction, ProcessActions};
use streamproof_platform::problem::PathStep::{Index, Key};
use streamproof_platform::problem::Problem;
use streamproof_result::FaultCommand;

use crate::spec::{FaultAction, FaultSpec, PlatformProcess, Target};

/// The most output kept of one command.
const OUTPUT_LIMIT: usize = 4096;

/// A kind of process the platform file's commands act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandTarget {
    /// A broker, by node id.
    Broker,
    /// The active KRaft controller.
    Controller,
    /// The Flink TaskManager.
    TaskManager,
    /// The Flink JobManager.
    JobManager,
}

impl CommandTarget {
    /// The section of `faults:` that holds its commands.
    pub fn key(self) -> &'static str {
        match self {
            CommandTarget::Broker => "broker",
            CommandTarget::Controller => "controller",
            CommandTarget::TaskManager => "taskmanager",
            CommandTarget::JobManager => "jobmanager",
        }
    }

    /// The placeholders its commands may use.
    pub fn placeholders(self) -> &'static [&'static str] {
        match self {
            CommandTarget::Broker | CommandTarget::TaskManager => &["{id}", "{host}"],
            CommandTarget::Controller => &["{id}"],
            CommandTarget::JobManager => &["{host}"],
        }
    }

    /// Which kind `target` is, when commands act on it; `None` for the run's own processes
    /// (the copier) and the producers.
    pub fn of(target: &Target) -> Option<Self> {
        match target {
            Target::Broker(_) | Target::Leader { .. } | Target::Random | Target::All => {
                Some(CommandTarget::Broker)
            }
            Target::Controller => Some(CommandTarget::Controller),
            Target::Process(PlatformProcess::TaskManager) => Some(CommandTarget::TaskManager),
            Target::Process(PlatformProcess::JobManager) => Some(CommandTarget::JobManager),
            Target::Process(PlatformProcess::Copier) | Target::Producers => None,
        }
    }

    fn actions(self, section: &FaultsSection) -> Option<&ProcessActions> {
        match self {
            CommandTarget::Broker => section.broker.as_ref(),
            CommandTarget::Controller => section.controller.as_ref(),
            CommandTarget::TaskManager => section.taskmanager.as_ref(),
            CommandTarget::JobManager => section.jobmanager.as_ref(),
        }
    }
}

/// What a fault's action needs of the file: `kill` kills and starts, `pause` pauses and
/// resumes, `restart` and `rolling-restart` stop and start.
pub fn needed(action: &FaultAction) -> &'static [ProcessAction] {
    match action {
        FaultAction::Kill { .. } => &[ProcessAction::Kill, ProcessAction::Start],
        FaultAction::Pause { .. } => &[ProcessAction::Pause, ProcessAction::Resume],
        FaultAction::Restart | FaultAction::RollingRestart => {
            &[ProcessAction::Stop, ProcessAction::Start]
        }
        _ => &[],
    }
}

/// The values a command's placeholders take for one victim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders {
    /// `{id}`.
    pub id: Option<String>,
    /// `{host}`.
    pub host: Option<String>,
}

impl Placeholders {
    fn fill(&self, command: &str) -> String {
        let command = match &self.id {
            Some(id) => command.replace("{id}", id),
            None => command.to_owned(),
        };
        match &self.host {
            Some(host) => command.replace("{host}", host),
            None => command,
        }
    }
}

/// The `faults:` section of a platform file, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultCommands {
    section: FaultsSection,
}

impl FaultCommands {
    /// Commands from the file's section.
    pub fn new(section: FaultsSection) -> Self {
        FaultCommands { section }
    }

    /// Whether the file gives commands for `target`.
    pub fn acts_on(&self, target: CommandTarget) -> bool {
        target.actions(&self.section).is_some()
    }

    /// Placeholders the file's commands use that their kind of process does not have, and
    /// `locate` outside `controller`, each at its path in the platform file.
    pub fn file_problems(section: &FaultsSection) -> Vec<Problem> {
        let kinds = [
            CommandTarget::Broker,
            CommandTarget::Controller,
            CommandTarget::TaskManager,
            CommandTarget::JobManager,
        ];
        let mut problems = Vec::new();
        for kind in kinds {
            let Some(actions) = kind.actions(section) else {
                continue;
            };
            for (action, command) in actions.commands() {
                let path = [Key("faults"), Key(kind.key()), Key(action.key())];
                if action == ProcessAction::Locate && kind != CommandTarget::Controller {
                    problems.push(Problem::at(
                        path,
                        format!("faults.{}.locate: only the controller is located by a command; remove it", kind.key()),
                    ));
                    continue;
                }
                let allowed = if action == ProcessAction::Locate {
                    &[][..]
                } else {
                    kind.placeholders()
                };
                if let Some(unknown) = unknown_placeholder(command, allowed) {
                    problems.push(Problem::at(
                        path,
                        placeholder_message(kind, action, &unknown, allowed),
                    ));
                }
            }
            if kind == CommandTarget::Controller
                && actions.locate.is_none()
                && actions
                    .commands()
                    .any(|(_, command)| command.contains("{id}"))
            {
                problems.push(Problem::at(
                    [Key("faults"), Key("controller")],
                    "faults.controller uses {id}, but the active controller is only known through a `locate` command that prints its node id; add one, or write the commands so that they find the controller themselves".to_owned(),
                ));
            }
        }
        problems
    }

    /// What `faults` need that the file does not give, each at the fault's path in the
    /// scenario; `local` says which targets the run acts on itself (its copier, an embedded
    /// Flink) and need no command.
    pub fn missing(
        &self,
        faults: &[FaultSpec],
        file: Option<&Path>,
        local: impl Fn(&Target) -> bool,
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (index, fault) in faults.iter().enumerate() {
            let target = fault.resolved_target();
            let path = [Key("faults"), Index(index)];
            let name = format!("faults[{index}] ({} on {target})", fault.kind());
            if fault.kind().is_network() {
                problems.push(Problem::at(
                    path,
                    format!("{name} needs streamproof's proxies in front of the brokers, which only the embedded platform has; run it without --platform"),
                ));
                continue;
            }
            let Some(kind) = CommandTarget::of(&target).filter(|_| !local(&target)) else {
                continue;
            };
            let actions = kind.actions(&self.section);
            let lacking: Vec<String> = needed(&fault.action)
                .iter()
                .filter(|action| actions.and_then(|a| a.command(**action)).is_none())
                .map(|action| format!("faults.{}.{}", kind.key(), action.key()))
                .collect();
            if !lacking.is_empty() {
                let them = if lacking.len() == 1 { "it" } else { "them" };
                let lacking = lacking.join(" and ");
                let fix = match file {
                    Some(file) => format!("`{}` has no {lacking}; add {them}", file.display()),
                    None => format!("give a platform file (--platform FILE) with {lacking}"),
                };
                problems.push(Problem::at(
                    path,
                    format!("{name} acts on a process streamproof did not start, through a platform file's commands: {fix}"),
                ));
            }
        }
        problems
    }

    /// Runs `action` on a `target` process; `None` when the file has no such command.
    pub fn run(
        &self,
        target: CommandTarget,
        action: ProcessAction,
        values: &Placeholders,
        clock: Instant,
    ) -> Option<FaultCommand> {
        let command = target.actions(&self.section)?.command(action)?;
        Some(run_shell(
            action.key(),
            &values.fill(command),
            self.section.command_timeout,
            clock,
        ))
    }
}

fn unknown_placeholder(command: &str, allowed: &[&str]) -> Option<String> {
    ["{id}", "{host}"]
        .into_iter()
        .find(|placeholder| command.contains(placeholder) && !allowed.contains(placeholder))
        .map(str::to_owned)
}

fn placeholder_message(
    kind: CommandTarget,
    action: ProcessAction,
    unknown: &str,
    allowed: &[&str],
) -> String {
    let offered = if allowed.is_empty() {
        "none".to_owned()
    } else {
        allowed.join(" and ")
    };
    format!(
        "faults.{}.{} uses {unknown}, which a {} does not have (placeholders: {offered})",
        kind.key(),
        action.key(),
        kind.key()
    )
}

/// Runs `command` with `sh -c` in a process group of its own, ended (the whole group) after
/// `timeout`.
fn run_shell(action: &str, command: &str, timeout: Duration, clock: Instant) -> FaultCommand {
    let started_at_s = clock.elapsed().as_secs_f64();
    let started = Instant::now();
    let record = |exit_code, output: String| FaultCommand {
        action: action.to_owned(),
        command: command.to_owned(),
        exit_code,
        output: last_bytes(&output, OUTPUT_LIMIT),
        started_at_s,
        seconds: started.elapsed().as_secs_f64(),
    };
    let spawned = Command::new("sh")
        .args(["-c", command])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => return record(None, format!("could not start `sh`: {error}")),
    };
    let readers = [
        child.stdout.take().map(read_all),
        child.stderr.take().map(read_all),
    ];
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) | Err(_) => {
                // The group is the one this command started: `sh` and whatever it ran.
                let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
                timed_out = true;
                break child.wait().ok();
            }
        }
    };
    let mut output: String = readers
        .into_iter()
        .flatten()
        .filter_map(|reader| reader.join().ok())
        .collect();
    if timed_out {
        output.push_str(&format!(
            "\n[ended after {} s, the platform file's faults.command_timeout]",
            timeout.as_secs()
        ));
    }
    record(status.and_then(|s| s.code()), output)
}

fn read_all(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The last `limit` bytes of `text`, cut at a character boundary.
fn last_bytes(text: &str, limit: usize) -> String {
    let mut start = text.len().saturating_sub(limit);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(yaml: &str) -> FaultsSection {
        serde_saphyr::from_str(yaml).expect("a faults section")
    }

    #[test]
    fn a_command_runs_with_its_placeholders_filled_and_its_exit_code_and_output_recorded() {
        let commands = FaultCommands::new(section(
            "broker:\n  kill: echo killing {id} on {host}; echo oops >&2; exit 3\n",
        ));
        let values = Placeholders {
            id: Some("2".to_owned()),
            host: Some("kafka-2".to_owned()),
        };
        let ran = commands
            .run(
                CommandTarget::Broker,
                ProcessAction::Kill,
                &values,
                Instant::now(),
            )
            .expect("a kill command");
        assert_eq!(
            ran.command,
            "echo killing 2 on kafka-2; echo oops >&2; exit 3"
        );
        assert_eq!(ran.exit_code, Some(3));
        assert!(!ran.succeeded());
        assert_eq!(ran.output, "killing 2 on kafka-2\noops");
        assert!(commands
            .run(
                CommandTarget::Broker,
                ProcessAction::Start,
                &values,
                Instant::now()
            )
            .is_none());
    }

    #[test]
    fn a_command_past_its_time_limit_is_ended_with_everything_it_started() {
        let commands = FaultCommands::new(section(
            "command_timeout: 1s\nbroker:\n  stop: sleep 30 & echo started; wait\n",
        ));
        let ran = commands
            .run(
                CommandTarget::Broker,
                ProcessAction::Stop,
                &Placeholders::default(),
                Instant::now(),
            )
            .expect("a stop command");
        assert_eq!(ran.exit_code, None);
        assert!(ran.seconds < 20.0, "ended after {} s", ran.seconds);
        assert!(ran.output.starts_with("started"), "{}", ran.output);
        assert!(
            ran.output.ends_with("faults.command_timeout]"),
            "{}",
            ran.output
        );
    }

    #[test]
    fn placeholders_a_kind_does_not_have_and_a_stray_locate_are_problems_at_their_key() {
        let problems = FaultCommands::file_problems(&section(concat!(
            "jobmanager:\n  kill: ssh {host} kill-jm {id}\n",
            "broker:\n  locate: find-it\n",
            "controller:\n  kill: kill-controller {id}\n",
        )));
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(problems.len(), 3, "{messages:?}");
        assert!(messages[0].starts_with("faults.broker.locate: only the controller"));
        assert!(messages[1].contains("faults.controller uses {id}, but the active controller is only known through a `locate` command"));
        assert_eq!(
            messages[2],
            "faults.jobmanager.kill uses {id}, which a jobmanager does not have (placeholders: {host})"
        );
        assert_eq!(
            problems[2].path,
            vec![Key("faults"), Key("jobmanager"), Key("kill")]
        );
    }

    #[test]
    fn faults_without_the_commands_they_need_are_named_with_what_is_missing() {
        let faults: Vec<FaultSpec> = serde_saphyr::from_str(concat!(
            "- {kind: kill, target: broker:1, at: 5s, restart_after: 5s}\n",
            "- {kind: pause, target: 'leader:raw-events/0', at: 5s, duration: 5s}\n",
            "- {kind: restart, target: controller, at: 5s}\n",
            "- {kind: latency, target: broker:2, at: 5s, duration: 5s, latency: 50ms}\n",
            "- {kind: kill, target: copier, at: 5s, restart_after: 5s}\n",
            "- {kind: kill, target: taskmanager, at: 5s, restart_after: 5s}\n",
        ))
        .expect("faults");
        let commands = FaultCommands::new(section(
            "broker:\n  kill: k {id}\n  pause: p {id}\n  resume: r {id}\n",
        ));
        let file = Path::new("ops/platform.yaml");
        let problems = commands.missing(&faults, Some(file), |target| {
            *target == Target::Process(PlatformProcess::TaskManager)
        });
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "faults[0] (kill on broker:1) acts on a process streamproof did not start, through a platform file's commands: `ops/platform.yaml` has no faults.broker.start; add it",
                "faults[2] (restart on controller) acts on a process streamproof did not start, through a platform file's commands: `ops/platform.yaml` has no faults.controller.stop and faults.controller.start; add them",
                "faults[3] (latency on broker:2) needs streamproof's proxies in front of the brokers, which only the embedded platform has; run it without --platform",
            ]
        );
        assert_eq!(problems[1].path, vec![Key("faults"), Index(2)]);
        assert!(commands.missing(&faults[4..], None, |_| true).is_empty());
        assert!(commands.missing(&faults[..1], None, |_| false)[0]
            .message
            .ends_with("give a platform file (--platform FILE) with faults.broker.start"));
    }
}
