//! The ground truth: every send of a run and its outcome, 20 bytes per send (with a digest of
//! the bytes sent), and the record headers that tie a record in a topic back to its send.

use rdkafka::message::{Header, Headers, OwnedHeaders};
use serde::{Deserialize, Serialize};

/// Header carrying the run id.
pub const HEADER_RUN: &str = "streamproof.run";
/// Header carrying the send id.
pub const HEADER_SEND: &str = "streamproof.send";
/// Header carrying the per-key sequence number.
pub const HEADER_SEQ: &str = "streamproof.seq";
/// Header carrying the intended send time, microseconds since the Unix epoch.
pub const HEADER_INTENDED_US: &str = "streamproof.intended_us";

/// Identifies one send of a run: the producer task in the high bits, its send counter below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SendId(pub u64);

const INDEX_BITS: u32 = 40;

impl SendId {
    /// The send id of the `index`-th send of producer task `task`.
    pub fn new(task: usize, index: usize) -> Self {
        SendId(((task as u64) << INDEX_BITS) | index as u64)
    }

    /// The producer task.
    pub fn task(self) -> usize {
        (self.0 >> INDEX_BITS) as usize
    }

    /// The position in that task's sends.
    pub fn index(self) -> usize {
        (self.0 & ((1 << INDEX_BITS) - 1)) as usize
    }
}

/// What became of a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Not completed yet.
    Pending,
    /// Acknowledged at a partition and offset.
    Acked,
    /// Definitely not written (refused before or by the broker without appending).
    Failed,
    /// The client gave up without knowing (a timeout, a lost connection): it may or may not be
    /// in the topic.
    Unknown,
}

/// Why an event was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendKind {
    /// An ordinary valid event.
    Fresh,
    /// A deliberate re-send of an earlier event with the same event_id.
    Duplicate,
    /// A record that breaks the schema or is not JSON.
    Invalid,
}

/// A 32-bit digest of a record's key and value as sent, so the checker can tell a record
/// that arrived altered from one that arrived as sent without keeping the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordDigest(u32);

impl RecordDigest {
    /// The digest of `key` and `value` (a missing key digests as an empty one). The key's hash
    /// seeds the value's, so moving bytes between key and value changes the digest.
    pub fn of(key: &[u8], value: &[u8]) -> Self {
        let key_hash = twox_hash::XxHash3_64::oneshot(key);
        let hash = twox_hash::XxHash3_64::oneshot_with_seed(key_hash, value);
        RecordDigest((hash ^ (hash >> 32)) as u32)
    }
}

/// One send: where it went, what it carried and what became of it. Kept to 20 bytes so a
/// ten-million-send run needs 200 MB of ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(4))]
pub struct LedgerEntry {
    offset: i64,
    /// For duplicates, how many sends back (in the same task) the original is.
    origin_back: u32,
    digest: u32,
    partition: u16,
    topic: u8,
    flags: u8,
}

const OUTCOME_MASK: u8 = 0b0000_0011;
const KIND_SHIFT: u8 = 2;
const KIND_MASK: u8 = 0b0000_1100;
const LATE_FLAG: u8 = 0b0001_0000;
const WARMUP_FLAG: u8 = 0b0010_0000;

impl LedgerEntry {
    /// A pending send to topic number `topic` of a record whose key and value digest to
    /// `digest`.
    pub fn pending(
        topic: u8,
        kind: SendKind,
        origin_back: u32,
        late: bool,
        warmup: bool,
        digest: RecordDigest,
    ) -> Self {
        let kind_bits = match kind {
            SendKind::Fresh => 0,
            SendKind::Duplicate => 1,
            SendKind::Invalid => 2,
        } << KIND_SHIFT;
        let mut flags = kind_bits;
        if late {
            flags |= LATE_FLAG;
        }
        if warmup {
            flags |= WARMUP_FLAG;
        }
        LedgerEntry {
            offset: -1,
            origin_back,
            digest: digest.0,
            partition: u16::MAX,
            topic,
            flags,
        }
    }

    /// Records the outcome; a position only for acknowledged sends.
    pub fn complete(&mut self, outcome: Outcome, position: Option<(i32, i64)>) {
        let bits = match outcome {
            Outcome::Pending => 0,
            Outcome::Acked => 1,
            Outcome::Failed => 2,
            Outcome::Unknown => 3,
        };
        self.flags = (self.flags & !OUTCOME_MASK) | bits;
        if let Some((partition, offset)) = position {
            self.partition = u16::try_from(partition).unwrap_or(u16::MAX);
            self.offset = offset;
        }
    }

    /// The outcome.
    pub fn outcome(&self) -> Outcome {
        match self.flags & OUTCOME_MASK {
            0 => Outcome::Pending,
            1 => Outcome::Acked,
            2 => Outcome::Failed,
            _ => Outcome::Unknown,
        }
    }

    /// Why it was sent.
    pub fn kind(&self) -> SendKind {
        match (self.flags & KIND_MASK) >> KIND_SHIFT {
            0 => SendKind::Fresh,
            1 => SendKind::Duplicate,
            _ => SendKind::Invalid,
        }
    }

    /// Whether its event time was deliberately old.
    pub fn late(&self) -> bool {
        self.flags & LATE_FLAG != 0
    }

    /// Whether it was sent during the warmup.
    pub fn warmup(&self) -> bool {
        self.flags & WARMUP_FLAG != 0
    }

    /// Index of its topic in [`crate::RAW_TOPICS`].
    pub fn topic(&self) -> u8 {
        self.topic
    }

    /// Partition and offset, when acknowledged.
    pub fn position(&self) -> Option<(i32, i64)> {
        (self.outcome() == Outcome::Acked).then_some((i32::from(self.partition), self.offset))
    }

    /// For a duplicate, how many sends back its original is.
    pub fn origin_back(&self) -> u32 {
        self.origin_back
    }

    /// The digest of the key and value sent.
    pub fn digest(&self) -> RecordDigest {
        RecordDigest(self.digest)
    }
}

/// Every send of a run, by producer task.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    tasks: Vec<Vec<LedgerEntry>>,
}

impl Ledger {
    /// A ledger from each producer task's entries, task 0 first.
    pub fn from_tasks(tasks: Vec<Vec<LedgerEntry>>) -> Self {
        Ledger { tasks }
    }

    /// The entry of a send id, if this run made it.
    pub fn get(&self, id: SendId) -> Option<&LedgerEntry> {
        self.tasks.get(id.task())?.get(id.index())
    }

    /// Mutable access, for tests that corrupt the ledger on purpose.
    pub fn get_mut(&mut self, id: SendId) -> Option<&mut LedgerEntry> {
        self.tasks.get_mut(id.task())?.get_mut(id.index())
    }

    /// Every send with its id.
    pub fn iter(&self) -> impl Iterator<Item = (SendId, &LedgerEntry)> {
        self.tasks.iter().enumerate().flat_map(|(task, entries)| {
            entries
                .iter()
                .enumerate()
                .map(move |(index, entry)| (SendId::new(task, index), entry))
        })
    }

    /// Number of sends.
    pub fn len(&self) -> usize {
        self.tasks.iter().map(Vec::len).sum()
    }

    /// Whether nothing was sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of producer tasks.
    pub fn tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Sends of one task.
    pub fn task_len(&self, task: usize) -> usize {
        self.tasks.get(task).map_or(0, Vec::len)
    }

    /// The event id a send carries: its own for fresh and invalid sends, its original's for a
    /// deliberate duplicate.
    pub fn event_send(&self, id: SendId) -> SendId {
        match self.get(id) {
            Some(entry) if entry.kind() == SendKind::Duplicate => {
                SendId::new(id.task(), id.index() - entry.origin_back() as usize)
            }
            _ => id,
        }
    }
}

/// What a record's headers say about the send that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMeta {
    /// The run that sent it.
    pub run_id: String,
    /// Its send id.
    pub send_id: SendId,
    /// Its sequence number among its key's sends.
    pub key_seq: u64,
    /// When it was meant to be sent, µs since the epoch.
    pub intended_us: i64,
}

/// The headers of a record streamproof sends ([`RecordMeta`]), the numbers written as
/// decimal text without an allocation.
pub fn record_headers(
    run_id: &str,
    send_id: SendId,
    key_seq: u64,
    intended_us: i64,
) -> OwnedHeaders {
    let (mut send, mut seq, mut intended) = (
        itoa::Buffer::new(),
        itoa::Buffer::new(),
        itoa::Buffer::new(),
    );
    OwnedHeaders::new_with_capacity(4)
        .insert(Header {
            key: HEADER_RUN,
            value: Some(run_id.as_bytes()),
        })
        .insert(Header {
            key: HEADER_SEND,
            value: Some(send.format(send_id.0).as_bytes()),
        })
        .insert(Header {
            key: HEADER_SEQ,
            value: Some(seq.format(key_seq).as_bytes()),
        })
        .insert(Header {
            key: HEADER_INTENDED_US,
            value: Some(intended.format(intended_us).as_bytes()),
        })
}

impl RecordMeta {
    /// The headers to attach to the record.
    pub fn to_headers(&self) -> OwnedHeaders {
        record_headers(&self.run_id, self.send_id, self.key_seq, self.intended_us)
    }

    /// Reads the headers back; `None` when a record was not sent by streamproof.
    pub fn from_headers<H: Headers>(headers: &H) -> Option<Self> {
        let stamp = RecordStamp::read(headers)?;
        Some(RecordMeta {
            run_id: std::str::from_utf8(stamp.run_id).ok()?.to_owned(),
            send_id: stamp.send_id,
            key_seq: stamp.key_seq,
            intended_us: stamp.intended_us,
        })
    }
}

/// [`RecordMeta`] borrowed from the headers it was read from: what readers of every record
/// use, since it reads a record's headers without an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordStamp<'a> {
    /// The run that sent it, as the header's bytes.
    pub run_id: &'a [u8],
    /// Its send id.
    pub send_id: SendId,
    /// Its sequence number among its key's sends.
    pub key_seq: u64,
    /// When it was meant to be sent, µs since the epoch.
    pub intended_us: i64,
}

impl<'a> RecordStamp<'a> {
    /// Reads the headers; `None` when a record was not sent by streamproof.
    pub fn read<H: Headers>(headers: &'a H) -> Option<Self> {
        let (mut run_id, mut send_id, mut key_seq, mut intended_us) = (None, None, None, None);
        for header in headers.iter() {
            let value = header.value;
            match header.key {
                HEADER_RUN => run_id = value,
                HEADER_SEND => send_id = value.and_then(decimal).map(SendId),
                HEADER_SEQ => key_seq = value.and_then(decimal),
                HEADER_INTENDED_US => intended_us = value.and_then(decimal),
                _ => {}
            }
        }
        Some(RecordStamp {
            run_id: run_id?,
            send_id: send_id?,
            key_seq: key_seq?,
            intended_us: intended_us?,
        })
    }

    /// Whether the record belongs to `run_id`.
    pub fn of_run(&self, run_id: &str) -> bool {
        self.run_id == run_id.as_bytes()
    }
}

/// A header's decimal number: the whole value, or `None`.
fn decimal<T: atoi::FromRadix10SignedChecked>(text: &[u8]) -> Option<T> {
    match T::from_radix_10_signed_checked(text) {
        (Some(number), used) if used == text.len() && used > 0 => Some(number),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: RecordDigest = RecordDigest(7);

    #[test]
    fn an_entry_is_twenty_bytes() {
        assert_eq!(std::mem::size_of::<LedgerEntry>(), 20);
    }

    #[test]
    fn digests_tell_altered_records_apart() {
        let sent = RecordDigest::of(b"key-1", b"{\"n\": 1}");
        assert_eq!(sent, RecordDigest::of(b"key-1", b"{\"n\": 1}"));
        assert_ne!(sent, RecordDigest::of(b"key-1", b"{\"n\": 2}"));
        assert_ne!(sent, RecordDigest::of(b"key-2", b"{\"n\": 1}"));
        assert_ne!(
            RecordDigest::of(b"ab", b"c"),
            RecordDigest::of(b"a", b"bc"),
            "bytes moved from key to value"
        );
    }

    #[test]
    fn entries_keep_kind_flags_outcome_and_position() {
        let mut entry = LedgerEntry::pending(3, SendKind::Duplicate, 7, true, false, DIGEST);
        assert_eq!(entry.outcome(), Outcome::Pending);
        assert_eq!(entry.position(), None);
        entry.complete(Outcome::Acked, Some((5, 1234)));
        assert_eq!(entry.outcome(), Outcome::Acked);
        assert_eq!(entry.position(), Some((5, 1234)));
        assert_eq!(entry.kind(), SendKind::Duplicate);
        assert_eq!(entry.topic(), 3);
        assert_eq!(entry.origin_back(), 7);
        assert!(entry.late());
        assert!(!entry.warmup());
        assert_eq!(entry.digest(), DIGEST);

        let mut failed = LedgerEntry::pending(0, SendKind::Invalid, 0, false, true, DIGEST);
        failed.complete(Outcome::Failed, None);
        assert_eq!(failed.outcome(), Outcome::Failed);
        assert_eq!(failed.kind(), SendKind::Invalid);
        assert!(failed.warmup());
        assert_eq!(failed.position(), None);
    }

    #[test]
    fn send_ids_split_into_task_and_index() {
        let id = SendId::new(5, 123_456);
        assert_eq!((id.task(), id.index()), (5, 123_456));
    }

    #[test]
    fn duplicates_point_back_to_their_original() {
        let mut entries =
            vec![LedgerEntry::pending(0, SendKind::Fresh, 0, false, false, DIGEST); 3];
        entries.push(LedgerEntry::pending(
            0,
            SendKind::Duplicate,
            2,
            false,
            false,
            DIGEST,
        ));
        let ledger = Ledger::from_tasks(vec![Vec::new(), entries]);
        assert_eq!(ledger.event_send(SendId::new(1, 3)), SendId::new(1, 1));
        assert_eq!(ledger.event_send(SendId::new(1, 2)), SendId::new(1, 2));
        assert_eq!(ledger.len(), 4);
    }

    #[test]
    fn headers_round_trip() {
        let meta = RecordMeta {
            run_id: "run-1".into(),
            send_id: SendId::new(2, 9),
            key_seq: 4,
            intended_us: 1_700_000_000_000_000,
        };
        assert_eq!(RecordMeta::from_headers(&meta.to_headers()), Some(meta));
        assert_eq!(RecordMeta::from_headers(&OwnedHeaders::new()), None);
    }

    #[test]
    fn a_stamp_borrows_the_run_and_refuses_numbers_with_anything_else_in_them() {
        let headers = record_headers("run-1", SendId::new(2, 9), 4, -17);
        let stamp = RecordStamp::read(&headers).expect("every header present");
        assert!(stamp.of_run("run-1") && !stamp.of_run("run-12"));
        assert_eq!(
            (stamp.send_id, stamp.key_seq, stamp.intended_us),
            (SendId::new(2, 9), 4, -17)
        );
        for bad in ["", "12x", "x12", "1 2", "99999999999999999999999"] {
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: HEADER_RUN,
                    value: Some("run-1"),
                })
                .insert(Header {
                    key: HEADER_SEND,
                    value: Some("1"),
                })
                .insert(Header {
                    key: HEADER_SEQ,
                    value: Some(bad),
                })
                .insert(Header {
                    key: HEADER_INTENDED_US,
                    value: Some("1"),
                });
            assert_eq!(RecordStamp::read(&headers), None, "sequence {bad:?}");
        }
    }
}
