//! `broker`: one broker of a kept local platform, acted on through its recorded pid. The
//! platform file `up` writes names these as its fault commands, so a scenario's faults reach
//! the cluster through the same path as a team's own `kubectl` or `systemctl` commands.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use streamproof_platform::admin::KafkaAdmin;
use streamproof_platform::runtime::{ClusterState, RuntimeError, Signal};

use super::print_json;
use crate::cli::{BrokerAction, BrokerArgs};

/// How long a started broker may take to appear in the cluster's metadata.
const REJOIN: Duration = Duration::from_secs(120);
/// How long a killed broker may take to exit.
const KILLED_EXIT: Duration = Duration::from_secs(10);

pub fn broker(args: &BrokerArgs, json: bool) -> Result<()> {
    let dir = &args.dir.dir;
    let mut state = ClusterState::load(dir)?.ok_or_else(|| RuntimeError::NotRunning {
        dir: dir.to_owned(),
    })?;
    let done = match (args.action, args.id) {
        (BrokerAction::Controller, _) => controller(&state)?.to_string(),
        (action, None) => anyhow::bail!(
            "name the broker: `streamproof broker {} NODE_ID`",
            action_name(action)
        ),
        (BrokerAction::Kill, Some(id)) => {
            let pid = signal(&state, id, Signal::SIGKILL)?;
            state.wait_broker_exit(id, KILLED_EXIT)?;
            format!("broker {id} (pid {pid}) killed")
        }
        (BrokerAction::Pause, Some(id)) => {
            let pid = signal(&state, id, Signal::SIGSTOP)?;
            format!("broker {id} (pid {pid}) paused")
        }
        (BrokerAction::Resume, Some(id)) => {
            let pid = signal(&state, id, Signal::SIGCONT)?;
            format!("broker {id} (pid {pid}) resumed")
        }
        (BrokerAction::Stop, Some(id)) => stop(&state, id, Duration::from_secs(args.grace_secs))?,
        (BrokerAction::Start, Some(id)) => {
            let pid = state.start_broker(id)?;
            wait_listed(&state, id)?;
            format!("broker {id} started as pid {pid} and listed by the cluster again")
        }
    };
    if json {
        print_json(&done)
    } else {
        println!("{done}");
        Ok(())
    }
}

/// The active controller's node id.
fn controller(state: &ClusterState) -> Result<i32> {
    state.controller_id().with_context(|| {
        format!(
            "no running broker of the cluster in `{}` knows the active controller",
            state.dir.display()
        )
    })
}

fn action_name(action: BrokerAction) -> &'static str {
    match action {
        BrokerAction::Kill => "kill",
        BrokerAction::Pause => "pause",
        BrokerAction::Resume => "resume",
        BrokerAction::Stop => "stop",
        BrokerAction::Start => "start",
        BrokerAction::Controller => "controller",
    }
}

/// Sends `signal` to broker `id`; its pid, or an error when it was not running.
fn signal(state: &ClusterState, id: i32, signal: Signal) -> Result<i32> {
    state
        .signal_broker(id, signal)?
        .with_context(|| format!("broker {id} is not running"))
}

/// SIGTERM, then SIGKILL when the broker has not exited after `grace`.
fn stop(state: &ClusterState, id: i32, grace: Duration) -> Result<String> {
    let pid = signal(state, id, Signal::SIGTERM)?;
    if state.wait_broker_exit(id, grace)? {
        return Ok(format!("broker {id} (pid {pid}) stopped"));
    }
    state.signal_broker(id, Signal::SIGKILL)?;
    state.wait_broker_exit(id, KILLED_EXIT)?;
    Ok(format!(
        "broker {id} (pid {pid}) killed after {} s without exiting",
        grace.as_secs()
    ))
}

/// Waits until the cluster's metadata lists broker `id`.
fn wait_listed(state: &ClusterState, id: i32) -> Result<()> {
    let admin = KafkaAdmin::connect(&state.connection()?)?.with_timeout(Duration::from_secs(2));
    let started = Instant::now();
    while started.elapsed() < REJOIN {
        if admin
            .brokers()
            .is_ok_and(|brokers| brokers.iter().any(|b| b.id == id))
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    anyhow::bail!(
        "broker {id} started but the cluster did not list it within {} s; see its logs under `{}`",
        REJOIN.as_secs(),
        state.dir.display()
    )
}
