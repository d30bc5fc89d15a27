//! Replaying the run's events from the ledger with the generator's own event factory, and
//! each send's intended time.

use super::*;

/// Each send's intended time, which the event timestamp is made from.
#[derive(Debug, Clone, Copy)]
pub enum SendTimes<'a> {
    /// An open-loop run (`rate: <n>`): the schedule follows from the run clock's start
    /// (`LoadOutcome::clock.start_unix_us`) and the load's rate and producer count.
    OpenLoop {
        /// `RunClock::start_unix_us` of the run.
        start_unix_us: i64,
    },
    /// Times read from the records' `streamproof.intended_us` headers (a closed-loop run).
    Recorded(&'a IntendedTimes),
}

/// Intended send times read from record headers, by send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntendedTimes {
    tasks: Vec<Vec<Option<i64>>>,
}

impl IntendedTimes {
    /// Room for every send of `ledger`.
    pub fn new(ledger: &Ledger) -> Self {
        IntendedTimes {
            tasks: (0..ledger.tasks())
                .map(|t| vec![None; ledger.task_len(t)])
                .collect(),
        }
    }

    /// Notes a record's headers (records of other runs must be filtered out before).
    pub fn observe(&mut self, meta: &RecordMeta) {
        if let Some(slot) = self
            .tasks
            .get_mut(meta.send_id.task())
            .and_then(|t| t.get_mut(meta.send_id.index()))
        {
            *slot = Some(meta.intended_us);
        }
    }

    /// The intended time of a send, if a record of it was seen.
    pub fn get(&self, send: SendId) -> Option<i64> {
        *self.tasks.get(send.task())?.get(send.index())?
    }
}

/// The intended send time of send `index` of task `task` in an open-loop run, in wall-clock
/// µs: the run clock's start plus the generator's own schedule ([`Schedule::offset_of`]).
pub fn open_loop_intended_us(
    start_unix_us: i64,
    rate: f64,
    tasks: usize,
    task: usize,
    index: usize,
) -> i64 {
    let offset = Schedule::open(rate, tasks, task)
        .offset_of(index)
        .unwrap_or_default();
    start_unix_us + offset.as_micros() as i64
}

/// Everything the replay needs besides the ledger.
#[derive(Debug, Clone, Copy)]
pub struct GoldReplay<'a> {
    /// The scenario's `load:` section, as the run used it.
    pub load: &'a LoadSpec,
    /// The scenario seed (`LoadPlan::seed`).
    pub seed: u64,
    /// The run id (salts the event ids).
    pub run_id: &'a str,
    /// Where the send times come from.
    pub times: SendTimes<'a>,
}

/// Why the replay cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GoldError {
    /// The load spec cannot be generated.
    #[error(transparent)]
    Factory(#[from] FactoryError),
    /// A closed loop sends "now": its times are only in the records.
    #[error("a closed-loop run (`rate: max`) needs the recorded send times (SendTimes::Recorded)")]
    ClosedLoopTimes,
    /// The ledger was not made with this load.
    #[error("the ledger has {ledger} producer tasks, the load {load}")]
    Tasks {
        /// Tasks in the ledger.
        ledger: usize,
        /// `load.producers`.
        load: usize,
    },
}

/// What a replay counted besides the events it yielded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Sends replayed (all of them, in ledger order).
    pub sends: u64,
    /// Events yielded (late ones included).
    pub events: u64,
    /// Of those, late.
    pub late: u64,
    /// Sends whose replay disagreed with the ledger.
    pub replay_mismatches: u64,
    /// Events that count but have no known send time.
    pub untimed: u64,
    /// Events silver's derivation could not read.
    pub unparsable: u64,
    /// Up to ten descriptions per kind.
    pub examples: BTreeMap<String, Vec<String>>,
}

impl ReplayStats {
    fn example(&mut self, kind: &str, text: impl FnOnce() -> String) {
        let examples = self.examples.entry(kind.to_owned()).or_default();
        if examples.len() < MAX_EXAMPLES {
            examples.push(text());
        }
    }
}

/// The events silver must hold, replayed: each valid event present in raw once, as a
/// [`GoldInput`], task by task in send order. Read [`GoldInputs::stats`] when done.
pub struct GoldInputs<'a> {
    ledger: &'a Ledger,
    times: Times<'a>,
    factories: Vec<EventFactory>,
    counts: Vec<Vec<bool>>,
    task: usize,
    index: usize,
    stats: ReplayStats,
}

enum Times<'a> {
    Open {
        start_unix_us: i64,
        rate: f64,
        tasks: usize,
    },
    Recorded(&'a IntendedTimes),
}

impl<'a> GoldInputs<'a> {
    /// A replay of the run's events. `raw_copies` are the copies of each send found in the
    /// raw topics (`KafkaFindings::copies`).
    pub fn new(
        replay: &GoldReplay<'a>,
        ledger: &'a Ledger,
        raw_copies: &[Vec<u8>],
    ) -> Result<Self, GoldError> {
        let tasks = replay.load.producers;
        if ledger.tasks() != tasks && !ledger.is_empty() {
            return Err(GoldError::Tasks {
                ledger: ledger.tasks(),
                load: tasks,
            });
        }
        let times = match (replay.times, replay.load.rate) {
            (SendTimes::Recorded(recorded), _) => Times::Recorded(recorded),
            (SendTimes::OpenLoop { start_unix_us }, Rate::PerSecond(rate)) => Times::Open {
                start_unix_us,
                rate,
                tasks,
            },
            (SendTimes::OpenLoop { .. }, Rate::Max | Rate::FindMax) => {
                return Err(GoldError::ClosedLoopTimes)
            }
        };
        let salt = streamproof_loadgen::id_salt(replay.run_id);
        let factories = (0..ledger.tasks())
            .map(|task| EventFactory::new(replay.load, replay.seed, salt, task, tasks))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GoldInputs {
            ledger,
            times,
            factories,
            counts: counted_events(ledger, raw_copies),
            task: 0,
            index: 0,
            stats: ReplayStats::default(),
        })
    }

    /// What the replay counted so far.
    pub fn stats(&self) -> &ReplayStats {
        &self.stats
    }

    fn intended_us(&self, send: SendId) -> Option<i64> {
        match self.times {
            Times::Open {
                start_unix_us,
                rate,
                tasks,
            } => Some(open_loop_intended_us(
                start_unix_us,
                rate,
                tasks,
                send.task(),
                send.index(),
            )),
            Times::Recorded(recorded) => recorded.get(send),
        }
    }
}

/// Which sends' events silver holds, by task and index: the origin of every non-invalid send
/// present in raw (as [`crate::pipeline::expected_silver`]).
fn counted_events(ledger: &Ledger, raw_copies: &[Vec<u8>]) -> Vec<Vec<bool>> {
    let mut counted: Vec<Vec<bool>> = (0..ledger.tasks())
        .map(|t| vec![false; ledger.task_len(t)])
        .collect();
    for (id, entry) in ledger.iter() {
        let present = raw_copies
            .get(id.task())
            .and_then(|t| t.get(id.index()))
            .is_some_and(|c| *c > 0);
        if present && entry.kind() != SendKind::Invalid {
            let origin = ledger.event_send(id);
            if let Some(slot) = counted
                .get_mut(origin.task())
                .and_then(|t| t.get_mut(origin.index()))
            {
                *slot = true;
            }
        }
    }
    counted
}

impl Iterator for GoldInputs<'_> {
    type Item = GoldInput;

    fn next(&mut self) -> Option<GoldInput> {
        loop {
            if self.task >= self.factories.len() {
                return None;
            }
            if self.index >= self.ledger.task_len(self.task) {
                self.task += 1;
                self.index = 0;
                continue;
            }
            let send = SendId::new(self.task, self.index);
            self.index += 1;
            self.stats.sends += 1;
            let counts = self.counts[send.task()][send.index()];
            let intended = self.intended_us(send);
            // The factory's draws do not depend on the time: any time keeps it in step.
            let planned =
                self.factories[send.task()].next_at_us(send.index(), intended.unwrap_or(0));
            if let Some(entry) = self.ledger.get(send) {
                let same = planned.kind == entry.kind()
                    && planned.topic == entry.topic()
                    && planned.late == entry.late()
                    && planned.origin_back == entry.origin_back();
                if !same {
                    self.stats.replay_mismatches += 1;
                    self.stats.example("replay_mismatches", || {
                        format!(
                            "send {} (task {}, index {}): replayed {:?} topic {} late {} back {}, ledger {:?} topic {} late {} back {}",
                            send.0, send.task(), send.index(),
                            planned.kind, planned.topic, planned.late, planned.origin_back,
                            entry.kind(), entry.topic(), entry.late(), entry.origin_back()
                        )
                    });
                }
            }
            if !counts {
                continue;
            }
            if intended.is_none() {
                self.stats.untimed += 1;
                self.stats.example("untimed", || {
                    format!(
                        "send {} (task {}, index {}): no record with its send time",
                        send.0,
                        send.task(),
                        send.index()
                    )
                });
                continue;
            }
            match gold_input_from_body(send, &planned.body, planned.late) {
                Ok(input) => {
                    self.stats.events += 1;
                    self.stats.late += u64::from(input.late);
                    return Some(input);
                }
                Err(reason) => {
                    self.stats.unparsable += 1;
                    self.stats
                        .example("unparsable", || format!("send {}: {reason}", send.0));
                }
            }
        }
    }
}
