//! What a send carried, rebuilt from the scenario, to show where a record that arrived altered
//! first differs from it. The ledger keeps only a digest of each record's key and value;
//! the bytes themselves are replayed from the event factory, which is deterministic per task.

use std::collections::{BTreeMap, HashMap};

use streamproof_loadgen::generator::EventFactory;
use streamproof_loadgen::ledger::{Ledger, SendId};
use streamproof_loadgen::spec::Rate;
use streamproof_result::ByteDifference;

use crate::gold::{open_loop_intended_us, GoldReplay, SendTimes};

/// A record of the run that arrived altered, kept as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlteredRecord {
    /// Its send.
    pub send: SendId,
    /// Where it was found.
    pub topic: String,
    /// Partition and offset where it was found.
    pub position: (i32, i64),
    /// The intended send time its header carried, µs since the epoch.
    pub intended_us: i64,
    /// The key found.
    pub key: Vec<u8>,
    /// The value found.
    pub value: Vec<u8>,
}

/// A key and value as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRecord {
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
}

impl AlteredRecord {
    /// Where the record first differs from `sent`; `None` when it does not.
    pub fn first_difference(&self, sent: &SentRecord) -> Option<ByteDifference> {
        first_difference("key", &sent.key, &self.key)
            .or_else(|| first_difference("value", &sent.value, &self.value))
    }
}

fn first_difference(field: &str, expected: &[u8], found: &[u8]) -> Option<ByteDifference> {
    let at = expected
        .iter()
        .zip(found)
        .position(|(e, f)| e != f)
        .or_else(|| (expected.len() != found.len()).then(|| expected.len().min(found.len())))?;
    Some(ByteDifference {
        field: field.to_owned(),
        at,
        expected: expected.get(at).copied(),
        found: found.get(at).copied(),
    })
}

/// The key and value each of `records`' sends carried, replayed task by task up to the
/// latest send asked for. A send whose bytes cannot be rebuilt (its scenario cannot be
/// replayed, or a deliberate duplicate in a closed-loop run whose original's send time is
/// unknown) is left out.
pub fn rebuild(
    replay: &GoldReplay<'_>,
    ledger: &Ledger,
    records: &[AlteredRecord],
) -> HashMap<SendId, SentRecord> {
    let mut wanted: BTreeMap<usize, HashMap<usize, i64>> = BTreeMap::new();
    for record in records {
        wanted
            .entry(record.send.task())
            .or_default()
            .insert(record.send.index(), record.intended_us);
    }
    let salt = streamproof_loadgen::id_salt(replay.run_id);
    let tasks = replay.load.producers;
    let mut rebuilt = HashMap::new();
    for (task, sends) in wanted {
        let Ok(mut factory) = EventFactory::new(replay.load, replay.seed, salt, task, tasks) else {
            continue;
        };
        let last = sends.keys().copied().max().unwrap_or(0);
        for index in 0..=last.min(ledger.task_len(task).saturating_sub(1)) {
            let send = SendId::new(task, index);
            let intended = intended_us(replay, send).or_else(|| sends.get(&index).copied());
            let planned = factory.next_at_us(index, intended.unwrap_or(0));
            let origin = ledger.event_send(send);
            let origin_timed = origin == send || intended_us(replay, origin).is_some();
            if sends.contains_key(&index) && origin_timed {
                rebuilt.insert(
                    send,
                    SentRecord {
                        key: planned.key.as_bytes().to_vec(),
                        value: planned.body.clone(),
                    },
                );
            }
        }
    }
    rebuilt
}

/// A send's intended time as the replay knows it without the record itself.
fn intended_us(replay: &GoldReplay<'_>, send: SendId) -> Option<i64> {
    match (replay.times, replay.load.rate) {
        (SendTimes::OpenLoop { start_unix_us }, Rate::PerSecond(rate)) => {
            Some(open_loop_intended_us(
                start_unix_us,
                rate,
                replay.load.producers,
                send.task(),
                send.index(),
            ))
        }
        (SendTimes::Recorded(times), _) => times.get(send),
        (SendTimes::OpenLoop { .. }, Rate::Max | Rate::FindMax) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_names_field_byte_and_both_values() {
        let sent = SentRecord {
            key: b"key-1".to_vec(),
            value: b"{\"n\": 1}".to_vec(),
        };
        let record = |key: &[u8], value: &[u8]| AlteredRecord {
            send: SendId::new(0, 0),
            topic: "raw-events".into(),
            position: (0, 0),
            intended_us: 0,
            key: key.to_vec(),
            value: value.to_vec(),
        };
        assert_eq!(
            record(b"key-1", b"{\"n\": 1}").first_difference(&sent),
            None
        );
        assert_eq!(
            record(b"key-1", b"{\"n\": 2}").first_difference(&sent),
            Some(ByteDifference {
                field: "value".into(),
                at: 6,
                expected: Some(b'1'),
                found: Some(b'2'),
            })
        );
        assert_eq!(
            record(b"key-", b"{\"n\": 1}").first_difference(&sent),
            Some(ByteDifference {
                field: "key".into(),
                at: 4,
                expected: Some(b'1'),
                found: None,
            })
        );
        assert_eq!(
            record(b"key-1", b"{\"n\": 1}  ")
                .first_difference(&sent)
                .map(|d| (d.at, d.expected, d.found)),
            Some((8, None, Some(b' ')))
        );
    }
}
