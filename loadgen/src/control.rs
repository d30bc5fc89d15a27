//! Client faults: the fault injector kills or restarts the generator's producer clients
//! mid-run through a [`ProducerControl`], and every producer task obeys at its next step.
//!
//! A kill purges the client's queue and its in-flight requests and drops the client, as a
//! crashed application would lose them: queued sends never left (failed), in-flight ones may
//! or may not have been written (unknown). Sends scheduled while the clients are down go out
//! late once new clients start, so their latency, measured from the intended time, shows
//! the outage.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use streamproof_platform::runtime::ProducerSwitch;
use tokio::sync::watch;

/// What the producer tasks are told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Send with a live client (starting a new one if the last was killed).
    Run,
    /// Purge and drop the client; send nothing until the next `Run`.
    Kill,
    /// Wait for every in-flight send, then replace the client.
    Restart,
}

/// An order and its sequence number, so a task obeys each order once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    /// Increases with every order.
    pub generation: u64,
    /// The order.
    pub order: Order,
}

/// Shared between the fault injector (which gives orders) and the producer tasks.
#[derive(Debug)]
pub struct ProducerControl {
    commands: watch::Sender<Command>,
    tasks: usize,
    obeyed: AtomicU64,
    retired: AtomicU64,
    abandoned: AtomicU64,
    failures: Mutex<Vec<String>>,
}

/// How long the tasks may take to obey an order before the injector reports it.
const OBEY_WITHIN: Duration = Duration::from_secs(60);

impl ProducerControl {
    /// A control for `tasks` producer tasks, all running.
    pub fn new(tasks: usize) -> Self {
        let (commands, _) = watch::channel(Command {
            generation: 0,
            order: Order::Run,
        });
        ProducerControl {
            commands,
            tasks,
            obeyed: AtomicU64::new(0),
            retired: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            failures: Mutex::new(Vec::new()),
        }
    }

    /// A receiver for one task.
    pub fn subscribe(&self) -> watch::Receiver<Command> {
        self.commands.subscribe()
    }

    /// Gives an order and waits until every task obeyed it (tasks that already finished
    /// their schedule count as obeying).
    fn order(&self, order: Order) -> Result<(), String> {
        self.obeyed.store(0, Ordering::Relaxed);
        self.commands.send_modify(|command| {
            command.generation += 1;
            command.order = order;
        });
        let started = Instant::now();
        while self.obeyed.load(Ordering::Relaxed) + self.retired.load(Ordering::Relaxed)
            < self.tasks as u64
        {
            if started.elapsed() > OBEY_WITHIN {
                return Err(format!(
                    "only {} of {} producer task(s) obeyed `{order:?}` within {}s",
                    self.obeyed.load(Ordering::Relaxed),
                    self.tasks,
                    OBEY_WITHIN.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        match self.failures.lock().map(|mut f| std::mem::take(&mut *f)) {
            Ok(failures) if !failures.is_empty() => Err(failures.join("; ")),
            _ => Ok(()),
        }
    }

    /// A task obeyed the current order; `abandoned` sends were in flight when it was killed.
    pub(crate) fn obeyed(&self, abandoned: usize) {
        self.abandoned
            .fetch_add(abandoned as u64, Ordering::Relaxed);
        self.obeyed.fetch_add(1, Ordering::Relaxed);
    }

    /// A task could not obey (e.g. a new client could not be created).
    pub(crate) fn failed(&self, reason: String) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.push(reason);
        }
        self.obeyed.fetch_add(1, Ordering::Relaxed);
    }

    /// A task finished its schedule: it obeys every later order trivially.
    pub(crate) fn retire(&self) {
        self.retired.fetch_add(1, Ordering::Relaxed);
    }
}

impl ProducerSwitch for ProducerControl {
    /// Kills every producer client; returns what happened.
    fn kill(&self) -> Result<String, String> {
        self.abandoned.store(0, Ordering::Relaxed);
        self.order(Order::Kill)?;
        Ok(format!(
            "killed {} producer client(s) with {} send(s) in flight or queued",
            self.tasks,
            self.abandoned.load(Ordering::Relaxed)
        ))
    }

    /// Starts new producer clients after a kill.
    fn start_again(&self) -> Result<String, String> {
        self.order(Order::Run)?;
        Ok(format!("started {} new producer client(s)", self.tasks))
    }

    /// Gracefully replaces every producer client.
    fn restart(&self) -> Result<String, String> {
        self.order(Order::Restart)?;
        Ok(format!(
            "restarted {} producer client(s) after their in-flight sends completed",
            self.tasks
        ))
    }
}
