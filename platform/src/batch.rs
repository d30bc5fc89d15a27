//! Reading a consumer's assigned partitions in batches.
//!
//! The client's per-record poll (`BaseConsumer::poll`) takes a queue lock, reads the clock and
//! allocates an event for every record, which costs more than a checker's whole comparison of
//! the record. [`BatchReader`] forwards the partitions' fetch queues to one queue of its own and
//! takes up to a batch of records from it per call (`rd_kafka_consume_batch_queue`), as
//! librdkafka's own tools do. Events that are not records (errors, token refreshes) stay on the
//! consumer's queue, which [`BatchReader::take`] serves as well.
//!
//! This is the only module that calls librdkafka directly; everything it hands out borrows the
//! batch it came from, so no record outlives the client's memory.

use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::ptr::{self, NonNull};
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, Message, Timestamp};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::TopicPartitionList;

/// A consumer whose assigned partitions are read in batches.
pub struct BatchReader<C: ConsumerContext + 'static> {
    queue: NonNull<rd::rd_kafka_queue_t>,
    slots: Vec<*mut rd::rd_kafka_message_t>,
    // Dropped after `queue` (Drop destroys the queue first): the queue refers to the client.
    consumer: BaseConsumer<C>,
}

// SAFETY: the queue handle is used only through `&mut self` and librdkafka's queues are
// thread-safe; the record pointers in `slots` never outlive a call of `take`.
unsafe impl<C: ConsumerContext + 'static> Send for BatchReader<C> {}

impl<C: ConsumerContext + 'static> BatchReader<C> {
    /// Wraps `consumer`, which must have a `group.id` (so its events have their own queue).
    /// Assign partitions through [`BatchReader::assign`], which sends their records here.
    pub fn new(consumer: BaseConsumer<C>, batch: usize) -> Self {
        // SAFETY: the client pointer is valid while `consumer` lives; the queue is destroyed
        // before it (Drop).
        let queue = unsafe { rd::rd_kafka_queue_new(consumer.client().native_ptr()) };
        BatchReader {
            queue: NonNull::new(queue).expect("librdkafka returned no queue"),
            slots: vec![ptr::null_mut(); batch.max(1)],
            consumer,
        }
    }

    /// The consumer, for positions, offsets and commits.
    pub fn consumer(&self) -> &BaseConsumer<C> {
        &self.consumer
    }

    /// Assigns `partitions` to the consumer, their records sent to this reader's queue
    /// instead of the consumer's.
    pub fn assign(&self, partitions: &TopicPartitionList) -> Result<(), KafkaError> {
        for element in partitions.elements() {
            self.forward(element.topic(), element.partition())?;
        }
        self.consumer.assign(partitions)
    }

    /// Sends the records of `topic`/`partition` to this reader's queue; stays in force across
    /// assignments of the partition.
    fn forward(&self, topic: &str, partition: i32) -> Result<(), KafkaError> {
        let name = CString::new(topic).map_err(|_| {
            KafkaError::Subscription(format!("topic name {topic:?} holds a NUL byte"))
        })?;
        // SAFETY: valid client and C string; the partition queue handle is released
        // right after forwarding (the forwarding is kept by the partition itself).
        unsafe {
            let partition_queue = rd::rd_kafka_queue_get_partition(
                self.consumer.client().native_ptr(),
                name.as_ptr(),
                partition,
            );
            if partition_queue.is_null() {
                return Err(KafkaError::Subscription(format!(
                    "no queue for {topic}/{partition}"
                )));
            }
            rd::rd_kafka_queue_forward(partition_queue, self.queue.as_ptr());
            rd::rd_kafka_queue_destroy(partition_queue);
        }
        Ok(())
    }

    /// Serves the consumer's events, then hands each record the client has ready (up to the
    /// batch size, waiting up to `wait` for the first) to `each`; the number handed.
    pub fn take(
        &mut self,
        wait: Duration,
        mut each: impl FnMut(Result<Record<'_>, KafkaError>),
    ) -> usize {
        // Errors, statistics and token refreshes arrive on the consumer's own queue; a record
        // there belongs to a partition not forwarded, which is the caller's mistake.
        while let Some(message) = self.consumer.poll(Duration::ZERO) {
            each(message.and_then(|m| {
                Err(KafkaError::Subscription(format!(
                    "a record of {}/{} was not forwarded to the batch reader",
                    m.topic(),
                    m.partition()
                )))
            }));
        }
        let timeout = c_int::try_from(wait.as_millis()).unwrap_or(c_int::MAX);
        // SAFETY: `slots` has room for `slots.len()` pointers; librdkafka fills the first
        // `taken` of them with messages this function destroys before returning.
        let taken = unsafe {
            rd::rd_kafka_consume_batch_queue(
                self.queue.as_ptr(),
                timeout,
                self.slots.as_mut_ptr(),
                self.slots.len(),
            )
        };
        let taken = usize::try_from(taken).unwrap_or(0);
        for slot in &mut self.slots[..taken] {
            let message = std::mem::replace(slot, ptr::null_mut());
            // SAFETY: a message librdkafka handed over and nobody destroyed yet.
            if let Some(native) = unsafe { message.as_ref() } {
                each(Record::native(native));
                unsafe { rd::rd_kafka_message_destroy(message) };
            }
        }
        taken
    }
}

impl<C: ConsumerContext + 'static> Drop for BatchReader<C> {
    fn drop(&mut self) {
        // SAFETY: created in `new`, destroyed once, before the client.
        unsafe { rd::rd_kafka_queue_destroy(self.queue.as_ptr()) };
    }
}

/// One record of a batch, borrowed from it.
pub struct Record<'b> {
    native: &'b rd::rd_kafka_message_t,
}

impl<'b> Record<'b> {
    fn native(message: &'b rd::rd_kafka_message_t) -> Result<Self, KafkaError> {
        if message.err != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
            let code: RDKafkaErrorCode = message.err.into();
            return Err(KafkaError::MessageConsumption(code));
        }
        Ok(Record { native: message })
    }

    fn bytes(data: *mut std::ffi::c_void, len: usize) -> Option<&'b [u8]> {
        // SAFETY: librdkafka's pointer and length of a live message's key or payload.
        (!data.is_null()).then(|| unsafe { std::slice::from_raw_parts(data as *const u8, len) })
    }
}

impl<'b> Message for Record<'b> {
    type Headers = RecordHeaders;

    fn key(&self) -> Option<&[u8]> {
        Self::bytes(self.native.key, self.native.key_len)
    }

    fn payload(&self) -> Option<&[u8]> {
        Self::bytes(self.native.payload, self.native.len)
    }

    unsafe fn payload_mut(&mut self) -> Option<&mut [u8]> {
        // Records of a batch are read, never changed in place.
        None
    }

    fn topic(&self) -> &str {
        // SAFETY: a live message's topic handle and its NUL-terminated name.
        unsafe { CStr::from_ptr(rd::rd_kafka_topic_name(self.native.rkt)) }
            .to_str()
            .unwrap_or_default()
    }

    fn partition(&self) -> i32 {
        self.native.partition
    }

    fn offset(&self) -> i64 {
        self.native.offset
    }

    fn timestamp(&self) -> Timestamp {
        let mut kind = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: a live message.
        let millis = unsafe { rd::rd_kafka_message_timestamp(self.native, &mut kind) };
        match kind {
            rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_CREATE_TIME => {
                Timestamp::CreateTime(millis)
            }
            rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME => {
                Timestamp::LogAppendTime(millis)
            }
            _ => Timestamp::NotAvailable,
        }
    }

    fn headers(&self) -> Option<&RecordHeaders> {
        let mut headers = ptr::null_mut();
        // SAFETY: a live message; the header list belongs to it and lives as long.
        let found = unsafe { rd::rd_kafka_message_headers(self.native, &mut headers) };
        (found == RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR && !headers.is_null())
            // SAFETY: `RecordHeaders` is a zero-sized stand-in for the native list.
            .then(|| unsafe { &*(headers as *const RecordHeaders) })
    }
}

/// A record's headers, read in place.
pub struct RecordHeaders {
    _native: [u8; 0],
}

impl RecordHeaders {
    fn native(&self) -> *const rd::rd_kafka_headers_t {
        self as *const RecordHeaders as *const rd::rd_kafka_headers_t
    }
}

impl Headers for RecordHeaders {
    fn count(&self) -> usize {
        // SAFETY: `self` stands for a live native header list.
        unsafe { rd::rd_kafka_header_cnt(self.native()) }
    }

    fn try_get(&self, index: usize) -> Option<Header<'_, &[u8]>> {
        let (mut name, mut value, mut size) = (ptr::null(), ptr::null(), 0);
        // SAFETY: a live header list; the name and value belong to it.
        let found = unsafe {
            rd::rd_kafka_header_get_all(self.native(), index, &mut name, &mut value, &mut size)
        };
        if found != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR || name.is_null() {
            return None;
        }
        // SAFETY: NUL-terminated name and a value of `size` bytes owned by the list.
        let key = unsafe { CStr::from_ptr(name) }.to_str().ok()?;
        let value = (!value.is_null())
            .then(|| unsafe { std::slice::from_raw_parts(value as *const u8, size) });
        Some(Header { key, value })
    }
}
