//! The gold check's replay against what the generator actually produced: a run is simulated
//! the way the driver makes it (factories, open-loop schedule, ledger), its bodies recorded,
//! and the replay from the ledger must yield the very same silver events.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use streamproof_loadgen::generator::EventFactory;
use streamproof_loadgen::ledger::{
    Ledger, LedgerEntry, Outcome, RecordDigest, RecordMeta, SendId, SendKind,
};
use streamproof_loadgen::spec::LoadSpec;
use streamproof_platform::events::{EventSchema, EventType};
use streamproof_verify::gold::{
    check_gold, expected_row, recompute_windows, verify_gold, Closed, GoldError, GoldInput,
    GoldInputs, GoldReplay, IntendedTimes, SendTimes, WindowAggregate, WindowKey,
};
use streamproof_verify::lakehouse::GoldRow;
use streamproof_verify::sent::{rebuild, AlteredRecord};

const RUN: &str = "9f1c2a7e-gold-replay";
const SEED: u64 = 4242;
const START_US: i64 = 1_700_000_000_123_456;
const SENDS: usize = 3000;

fn spec() -> LoadSpec {
    serde_json::from_str(
        r#"{"duration": "10s", "warmup": "1s", "rate": 300, "producers": 2,
            "mix": {"user_action": 3, "transaction": 3, "metric_event": 2, "log_event": 1, "system_event": 1},
            "keys": {"cardinality": 50}, "payload_bytes": {"min": 300, "max": 900},
            "duplicates": 0.08, "invalid": 0.05, "late": {"fraction": 0.05, "delay": "10m"}}"#,
    )
    .unwrap()
}

/// A simulated run: the ledger, the copies found in raw, each send's body and intended time.
struct Run {
    ledger: Ledger,
    copies: Vec<Vec<u8>>,
    bodies: Vec<Vec<Vec<u8>>>,
    keys: Vec<Vec<String>>,
    late: Vec<Vec<bool>>,
    intended: Vec<Vec<i64>>,
}

/// Sends as `streamproof_loadgen::run` and the driver do: one factory per task, the open-loop
/// schedule on Instants converted by the run clock, `factory.next` with the wall time.
fn simulate(spec: &LoadSpec) -> Run {
    let tasks = spec.producers;
    let rate = match spec.rate {
        streamproof_loadgen::spec::Rate::PerSecond(rate) => rate,
        _ => unreachable!(),
    };
    let salt = streamproof_loadgen::id_salt(RUN);
    let start = Instant::now();
    let mut run = Run {
        ledger: Ledger::default(),
        copies: Vec::new(),
        bodies: Vec::new(),
        keys: Vec::new(),
        late: Vec::new(),
        intended: Vec::new(),
    };
    let mut entries = Vec::new();
    for task in 0..tasks {
        let mut factory = EventFactory::new(spec, SEED, salt, task, tasks).unwrap();
        let interval = Duration::from_secs_f64(tasks as f64 / rate);
        let phase = Duration::from_secs_f64(task as f64 / rate);
        let (mut task_entries, mut copies, mut bodies, mut late, mut intended_all) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut keys = Vec::new();
        for index in 0..SENDS {
            let intended = start + phase + interval * index as u32;
            let intended_us =
                START_US + intended.saturating_duration_since(start).as_micros() as i64;
            let wall = chrono::DateTime::from_timestamp_micros(intended_us).unwrap_or_default();
            let planned = factory.next(index, wall);
            let mut entry = LedgerEntry::pending(
                planned.topic,
                planned.kind,
                planned.origin_back,
                planned.late,
                false,
                RecordDigest::of(planned.key.as_bytes(), &planned.body),
            );
            // some sends never reach raw, a few twice
            let present = match index % 13 {
                0 => 0,
                5 => 2,
                _ => 1,
            };
            if present > 0 {
                entry.complete(Outcome::Acked, Some((0, index as i64)));
            } else {
                entry.complete(Outcome::Failed, None);
            }
            task_entries.push(entry);
            copies.push(present);
            bodies.push(planned.body.clone());
            keys.push(planned.key.clone());
            late.push(planned.late);
            intended_all.push(intended_us);
        }
        entries.push(task_entries);
        run.copies.push(copies);
        run.bodies.push(bodies);
        run.keys.push(keys);
        run.late.push(late);
        run.intended.push(intended_all);
    }
    run.ledger = Ledger::from_tasks(entries);
    run
}

/// Silver's events, computed independently from the recorded bodies: the origin of every
/// valid send present in raw, once, with its columns read through the platform's own types.
fn expected_inputs(run: &Run) -> Vec<GoldInput> {
    let mut origins = std::collections::BTreeSet::new();
    for (id, entry) in run.ledger.iter() {
        if entry.kind() != SendKind::Invalid && run.copies[id.task()][id.index()] > 0 {
            origins.insert(run.ledger.event_send(id));
        }
    }
    origins
        .into_iter()
        .map(|id| {
            let body = &run.bodies[id.task()][id.index()];
            let event: EventSchema = serde_json::from_slice(body).unwrap();
            assert!(event.validate().is_empty());
            let event_type: EventType =
                serde_json::from_value(serde_json::Value::from(event.event_type.clone())).unwrap();
            let cents = |field: &str| {
                let value = event.payload[field].as_f64().unwrap();
                (value * 100.0).round() as i128 * 10_000_000
            };
            let (metric_name, value) = match event_type {
                EventType::MetricEvent => (
                    event.payload["metric_name"].as_str().unwrap().to_owned(),
                    Some(cents("metric_value")),
                ),
                EventType::Transaction => (
                    format!("amount.{}", event.payload["currency"].as_str().unwrap()),
                    Some(cents("amount")),
                ),
                _ => ("events".to_owned(), None),
            };
            let stamp = chrono::DateTime::parse_from_rfc3339(&event.event_timestamp).unwrap();
            GoldInput {
                send: id,
                event_type,
                metric_name,
                value,
                event_time_us: stamp.timestamp_millis() * 1_000,
                late: run.late[id.task()][id.index()],
            }
        })
        .collect()
}

fn replay<'a>(spec: &'a LoadSpec, times: SendTimes<'a>) -> GoldReplay<'a> {
    GoldReplay {
        load: spec,
        seed: SEED,
        run_id: RUN,
        times,
    }
}

#[test]
fn the_replay_yields_exactly_the_events_the_generator_produced() {
    let spec = spec();
    let run = simulate(&spec);
    let expected = expected_inputs(&run);
    // the simulation exercises every case
    let kinds = |kind| run.ledger.iter().filter(|(_, e)| e.kind() == kind).count();
    assert!(kinds(SendKind::Duplicate) > 100 && kinds(SendKind::Invalid) > 100);
    assert!(expected.iter().filter(|i| i.late).count() > 50);
    let only_by_duplicate = expected
        .iter()
        .filter(|i| run.copies[i.send.task()][i.send.index()] == 0)
        .count();
    assert!(
        only_by_duplicate > 0,
        "no event reached raw by its duplicate only"
    );

    let open = replay(
        &spec,
        SendTimes::OpenLoop {
            start_unix_us: START_US,
        },
    );
    let mut inputs = GoldInputs::new(&open, &run.ledger, &run.copies).unwrap();
    let replayed: Vec<GoldInput> = (&mut inputs).collect();
    assert_eq!(replayed.len(), expected.len());
    assert_eq!(replayed, expected);
    let stats = inputs.stats();
    assert_eq!(stats.sends, 2 * SENDS as u64);
    assert_eq!(stats.events, expected.len() as u64);
    assert_eq!(
        (stats.replay_mismatches, stats.untimed, stats.unparsable),
        (0, 0, 0),
        "{:?}",
        stats.examples
    );
    // the intended times the replay used are the simulated driver's
    assert!(replayed.iter().all(|i| {
        let intended = run.intended[i.send.task()][i.send.index()];
        let delay = if i.late { 600_000_000 } else { 0 };
        i.event_time_us == (intended - delay).div_euclid(1_000) * 1_000
    }));
}

#[test]
fn recorded_send_times_replay_the_same_events_and_count_the_unknown() {
    let spec = spec();
    let run = simulate(&spec);
    let expected = expected_inputs(&run);
    // the headers of every record found in raw
    let mut recorded = IntendedTimes::new(&run.ledger);
    for (id, _) in run.ledger.iter() {
        if run.copies[id.task()][id.index()] > 0 {
            recorded.observe(&RecordMeta {
                run_id: RUN.to_owned(),
                send_id: id,
                key_seq: 1,
                intended_us: run.intended[id.task()][id.index()],
            });
        }
    }
    let mut inputs = GoldInputs::new(
        &replay(&spec, SendTimes::Recorded(&recorded)),
        &run.ledger,
        &run.copies,
    )
    .unwrap();
    let replayed: Vec<GoldInput> = (&mut inputs).collect();
    // events whose original never reached raw (only a duplicate did) have no recorded time
    let timed: Vec<GoldInput> = expected
        .iter()
        .filter(|i| run.copies[i.send.task()][i.send.index()] > 0)
        .cloned()
        .collect();
    assert_eq!(replayed, timed);
    assert_eq!(
        inputs.stats().untimed,
        (expected.len() - timed.len()) as u64
    );
    assert_eq!(inputs.stats().replay_mismatches, 0);
}

#[test]
fn a_replay_with_the_wrong_seed_or_a_closed_loop_without_times_is_caught() {
    let spec = spec();
    let run = simulate(&spec);
    let mut wrong = replay(
        &spec,
        SendTimes::OpenLoop {
            start_unix_us: START_US,
        },
    );
    wrong.seed = SEED + 1;
    let mut inputs = GoldInputs::new(&wrong, &run.ledger, &run.copies).unwrap();
    let _ = (&mut inputs).count();
    assert!(inputs.stats().replay_mismatches > 100);
    assert!(!inputs.stats().examples["replay_mismatches"].is_empty());

    let mut closed = spec.clone();
    closed.rate = streamproof_loadgen::spec::Rate::Max;
    let result = GoldInputs::new(
        &replay(
            &closed,
            SendTimes::OpenLoop {
                start_unix_us: START_US,
            },
        ),
        &run.ledger,
        &run.copies,
    );
    assert!(matches!(result, Err(GoldError::ClosedLoopTimes)));

    let mut three = spec.clone();
    three.producers = 3;
    let result = GoldInputs::new(
        &replay(
            &three,
            SendTimes::OpenLoop {
                start_unix_us: START_US,
            },
        ),
        &run.ledger,
        &run.copies,
    );
    assert!(matches!(result, Err(GoldError::Tasks { .. })));
}

#[test]
fn verify_gold_accepts_the_true_windows_and_flags_a_changed_one() {
    let spec = spec();
    let run = simulate(&spec);
    let window = Duration::from_secs(2);
    // the truth from the recorded bodies, the last window still open in gold
    let truth: BTreeMap<WindowKey, WindowAggregate> =
        recompute_windows(expected_inputs(&run), window);
    let last_end = truth
        .values()
        .filter(|w| w.on_time.event_count > 0)
        .map(|w| w.window_end_us)
        .max()
        .unwrap();
    let mut gold: Vec<GoldRow> = truth
        .iter()
        .filter(|(_, w)| w.on_time.event_count > 0 && w.window_end_us < last_end)
        .map(|(k, w)| expected_row(k, w))
        .collect();
    let open = replay(
        &spec,
        SendTimes::OpenLoop {
            start_unix_us: START_US,
        },
    );
    let verify = |gold: &[GoldRow], closed| {
        verify_gold(&open, &run.ledger, &run.copies, window, gold, closed).unwrap()
    };
    let findings = verify(&gold, Closed::ThroughLatestRow);
    assert!(findings.is_clean(), "{findings:?}");
    assert_eq!(findings.windows_matching, gold.len() as u64);
    assert!(findings.windows_open > 0);
    // A drained job closed every window: the ones still open are missing.
    let drained = verify(&gold, Closed::Every);
    assert_eq!(drained.windows_open, 0);
    assert_eq!(
        drained.windows_missing, findings.windows_open,
        "{drained:?}"
    );
    assert!(findings.late_excluded > 50);

    let changed = gold
        .iter_mut()
        .find(|r| r.event_type == "transaction")
        .unwrap();
    if let Some(sum) = changed.value_sum_dec.as_mut() {
        sum.unscaled += 10_000_000; // one cent
    }
    let dropped = gold
        .iter()
        .position(|r| r.event_type == "user_action")
        .unwrap();
    gold.remove(dropped);
    let findings = verify(&gold, Closed::ThroughLatestRow);
    assert_eq!(findings.windows_mismatched, 1);
    assert_eq!(findings.windows_missing, 1);
    assert_eq!(
        findings.windows_checked,
        findings.windows_matching + 2,
        "{findings:?}"
    );
    assert_eq!(check_gold(&truth, &gold).windows_missing, 1);
}

#[test]
fn altered_records_are_rebuilt_as_sent_and_their_first_difference_found() {
    let spec = spec();
    let run = simulate(&spec);
    let duplicate = run
        .ledger
        .iter()
        .find(|(id, entry)| entry.kind() == SendKind::Duplicate && id.task() == 1)
        .map(|(id, _)| id)
        .expect("a deliberate duplicate in task 1");
    let sends = [SendId::new(0, 17), SendId::new(1, 2500), duplicate];
    let altered: Vec<AlteredRecord> = sends
        .iter()
        .map(|send| {
            let mut value = run.bodies[send.task()][send.index()].clone();
            value[40] ^= 0x20;
            AlteredRecord {
                send: *send,
                topic: "raw-events".into(),
                position: (0, send.index() as i64),
                intended_us: run.intended[send.task()][send.index()],
                key: run.keys[send.task()][send.index()].clone().into_bytes(),
                value,
            }
        })
        .collect();
    let rebuilt = rebuild(
        &replay(
            &spec,
            SendTimes::OpenLoop {
                start_unix_us: START_US,
            },
        ),
        &run.ledger,
        &altered,
    );
    for record in &altered {
        let sent = &rebuilt[&record.send];
        let (task, index) = (record.send.task(), record.send.index());
        assert_eq!(
            sent.value, run.bodies[task][index],
            "send {:?}",
            record.send
        );
        assert_eq!(
            RecordDigest::of(&sent.key, &sent.value),
            run.ledger.get(record.send).unwrap().digest()
        );
        let difference = record.first_difference(sent).expect("a difference");
        assert_eq!((difference.field.as_str(), difference.at), ("value", 40));
        assert_eq!(difference.found, difference.expected.map(|b| b ^ 0x20));
    }
}
